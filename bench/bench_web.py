"""The web desk for a province: the plan page and the API at 3,000 units, and an officer's chat
reply while 20 people load that page.

    .venv/bin/python bench/bench_web.py [--database-url URL] [--units 3000] [--indicators 30]
                                        [--users 20] [--rounds 20]

Fills a throwaway database with bench_summary's data (UNITS communes × INDICATORS monthly
indicators, February's and March's figures for 95% of the units), serves the desk on loopback in
this process (as `run` does with WEB_LISTEN: one event loop for the chat and the desk), signs a
leader in and prints, p50 / p95 / max over --rounds requests:

- plan page: GET /plans/BENCH?period=2025-03 (the rates, the indicator table, the first page of
  the grid), answered and read whole;
- API results: GET /api/v1/plans/BENCH/results?period=2025-03 with a Bearer key;
- officer's figure while USERS web users open the plan page at once, each round after a new figure
  (so the page is rebuilt as on a deadline day): the chat reply's time (handlers.inbox.handle, the
  path every channel takes), and the pages' times meanwhile;
- the review table of one indicator (an admin: the first 200 of 3,000 units, their evidence and
  states), and each indicator's chart over the year: the first (a summary per period so far, built
  one after another), an officer's figure meanwhile, then the charts kept.

Aims (issue 23): the plan page, the review table and the API under 300 ms server-side; the
officer's reply under 300 ms meanwhile.
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web

from bench.bench_summary import fill
from bench.generated import fresh_database, register_officers
from bot.app import build_app
from bot.config import load_settings
from bot.web.server import COOKIE, Desk
from handlers.events import Event
from handlers.inbox import Inbound, handle
from models import people, web_access

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 3, 25, 9, 0, tzinfo=ZONE)
FIRST_CHAT = 10_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    return (f"{name:>34}: p50 {statistics.median(values) * 1000:7.1f} ms  p95 {p95(values) * 1000:7.1f} ms  "
            f"max {max(values) * 1000:7.1f} ms  (n={len(values)})")


def said(chat: int, text: str) -> Inbound:
    return Inbound(Event(channel="console", chat_id=str(chat), chat_kind="private", sender_id=str(chat),
                         sender_name=str(chat), text=text), key=uuid.uuid4().hex)


async def timed_get(http: aiohttp.ClientSession, url: str, **options: object) -> float:
    started = time.perf_counter()
    async with http.get(url, **options) as response:
        await response.read()
        assert response.status == 200, (url, response.status)
    return time.perf_counter() - started


async def run(url: str, folder: Path, units: int, indicators: int, users: int, rounds: int) -> None:
    app = build_app(load_settings(DATABASE_URL=url), clock=lambda: NOW)
    await app.migrate()
    plan = await fill(app, folder, units, indicators)
    async with app.unit_of_work() as session:
        chats = await register_officers(session, plan.id, "console", FIRST_CHAT, NOW)
        leader = await people.ensure_person(session, "console", "boss", "Lãnh đạo", "boss", NOW)
        await people.grant_role(session, person=leader, role="leader", plan_id=plan.id, unit_id=None, now=NOW)
        token, _ = await web_access.start_session(session, leader.id, NOW)
        office = await people.ensure_person(session, "console", "office", "Văn phòng", "office", NOW)
        await people.grant_role(session, person=office, role="admin", plan_id=plan.id, unit_id=None, now=NOW)
        office_token, _ = await web_access.start_session(session, office.id, NOW)
        key = await web_access.new_api_key(session, plan.id, NOW)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    runner = web.AppRunner(Desk(app, base).application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    page = f"{base}/plans/BENCH?period=2025-03"
    api = f"{base}/api/v1/plans/BENCH/results?period=2025-03"
    review = f"{base}/plans/BENCH/review?period=2025-03&indicator=1"
    chart = f"{base}/plans/BENCH/charts/1.svg?period=2025-03"
    jar = aiohttp.CookieJar(unsafe=True)
    jar.update_cookies({COOKIE: token}, response_url=aiohttp.client.URL(base))
    office_jar = aiohttp.CookieJar(unsafe=True)
    office_jar.update_cookies({COOKIE: office_token}, response_url=aiohttp.client.URL(base))
    try:
        async with aiohttp.ClientSession(cookie_jar=office_jar) as desk:
            # The year's charts: the first asks for a summary of every period so far (built one
            # after the other); an officer's figure meanwhile; then the charts kept.
            building = asyncio.create_task(timed_get(desk, chart))
            await asyncio.sleep(0.05)
            while_charting = []
            for n in range(5):
                started = time.perf_counter()
                assert (await handle(app.deps, said(chats[2 * rounds + n], "2: 85%"))).replies
                while_charting.append(time.perf_counter() - started)
            first_chart = [await building]
            # The first chart after those figures waits for the plan page's summary to be rebuilt,
            # as the plan page itself does (measured above); then the charts kept.
            after_figures = [await timed_get(desk, chart)]
            charts = [await timed_get(desk, chart.replace("/1.svg", f"/{1 + n % indicators}.svg"))
                      for n in range(rounds)]
            await timed_get(desk, review)
            reviews = [await timed_get(desk, review) for _ in range(rounds)]
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            await timed_get(http, page)  # warm: the plan view, the templates
            pages = [await timed_get(http, page) for _ in range(rounds)]
            apis = [await timed_get(http, api, headers={"Authorization": f"Bearer {key}"}) for _ in range(rounds)]
            alone = []
            for n in range(rounds):
                started = time.perf_counter()
                assert (await handle(app.deps, said(chats[n], "1: 85%"))).replies
                alone.append(time.perf_counter() - started)
            loads: list[float] = []
            during = []
            for n in range(rounds):
                # USERS open the page at once (the figure before this round changed it: the first
                # of them finds it rebuilding); the officer's figure arrives meanwhile.
                crowd = [asyncio.create_task(timed_get(http, page)) for _ in range(users)]
                await asyncio.sleep(0.01)
                started = time.perf_counter()
                assert (await handle(app.deps, said(chats[rounds + n], "1: 85%"))).replies
                during.append(time.perf_counter() - started)
                loads += await asyncio.gather(*crowd)
    finally:
        await runner.cleanup()
        await app.close()
    print(f"{units:,} units × {indicators} indicators on {url.split(':')[0]}; {rounds} rounds, {users} web users")
    print(line("plan page (first 100 units)", pages))
    print(line("API results", apis))
    print(line("officer's figure, alone", alone))
    print(line(f"officer's figure, {users} loading the page", during))
    print(line("the page meanwhile", loads))
    print(line("review table (one indicator, 200 rows)", reviews))
    print(line("year chart, first (every period's summary)", first_chart))
    print(line("officer's figure while it is built", while_charting))
    print(line("year chart, first after new figures (summary rebuilt)", after_figures))
    print(line("year chart, kept", charts))
    for name, values in (("plan page", pages), ("API", apis), ("officer meanwhile", during), ("review table", reviews),
                         ("year chart kept", charts), ("officer while charting", while_charting)):
        print(f"aim: {name} < 300 ms (p95): {'ok' if p95(values) < 0.3 else 'MISSED'}")


async def main(server_url: str | None, units: int, indicators: int, users: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dtbot-bench-") as folder:
        async with fresh_database(server_url) as url:
            await run(url, Path(folder), units, indicators, users, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to create the throwaway database on")
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--indicators", type=int, default=30)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.units, args.indicators, args.users, args.rounds))
