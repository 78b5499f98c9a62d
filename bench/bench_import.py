"""Importing a province's plan, and what it costs the people using the bot (issue 19, item 4).

    .venv/bin/python bench/bench_import.py [--database-url SERVER_URL] [--units 3000 10000]
                                           [--indicators 30] [--changes 20]

For each size, in a throwaway database (a SQLite file; with --database-url, a new database on that
PostgreSQL server, dropped afterwards), a generated plan of UNITS communes × INDICATORS monthly
indicators (bench/generated.py plan_yaml) and one registered officer per commune:

- import / re-import unchanged / re-import with CHANGES units renamed and one target changed:
  `python -m bot import-plan FILE` as a fresh process each, wall time and peak RSS, and the rows
  the import says it wrote;
- first question after import: a running bot (its plan views warmed, the warmer in the background)
  is asked "chỉ tiêu 1 còn thiếu bao nhiêu?" by an officer right after a re-import finished in
  another process; beside it the same question when the view must be built by the question
  itself (as every first question after an import did before), and how long the warmer took;
- tick with nothing due: `python -m bot tick --now …` as a fresh process at an instant whose
  overdue notices, escalation and summary were all made by a tick before it (wall, peak RSS);
  the first tick, which queues every officer's overdue notice, is shown too.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bench.generated import fresh_database, plan_yaml
from bot.app import App, build_app
from bot.channels.console import ConsoleChannel
from bot.config import load_settings
from handlers.plan_views import keep_plan_views_warm, warm_plan_views
from models import people, store
from models.tables import Identity, Person, Role, Unit

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 3, 25, 14, 0, tzinfo=ZONE)  # March: February's notices are overdue
QUESTION = "chỉ tiêu 1 còn thiếu bao nhiêu?"
ROOT = Path(__file__).resolve().parent.parent


def child(args: list[str], url: str) -> tuple[float, int, str]:
    """Run `python -m bot ARGS` against the database: (wall seconds, peak RSS in MiB, its output)."""
    env = {**os.environ, "DATABASE_URL": url, "BOT_LOCALE": "en"}
    env.pop("BOT_TOKEN", None)  # a tick only queues: no channel to send through
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest child's so far
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if process.returncode not in (0,):
        raise SystemExit(f"`{' '.join(args)}` failed:\n{output}")
    return wall, usage.ru_maxrss // 1024, output


def rows_line(output: str) -> str:
    found = re.search(r"(\d[\d,]*) rows written", output)
    return f"{found.group(1)} rows written" if found else "?"


def changed_plan(text: str, changes: int, round_: int) -> str:
    """The plan with `changes` communes renamed and indicator 1's target moved."""
    for number in range(changes):
        text = text.replace(f"name: Xã Số {number},", f"name: Xã Số {number} mới {round_},", 1)
    return text.replace('text: "Tỷ lệ số 1 đạt 90%"\n    coordinating: "UBND các xã, phường"\n    target: "90%"',
                        f'text: "Tỷ lệ số 1 đạt 9{round_}%"\n    coordinating: "UBND các xã, phường"\n'
                        f'    target: "9{round_}%"', 1)


async def register(app: App, plan_code: str) -> str:
    """One officer per commune in bulk (chat ids 10,000,000 + n) but the first commune's, whose
    officer joins through the console with an invite; returns the console user's name."""
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        assert plan is not None
        units = list(await session.scalars(
            select(Unit).where(Unit.plan_id == plan.id, Unit.kind == "commune").order_by(Unit.id)))
        invite = await people.create_invite(session, role="officer", plan=plan, unit=units[0], now=NOW)
        rest = units[1:]
        before = await session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) or 0
        await session.execute(insert(Person), [{"display_name": f"Cán bộ {u.code}", "created_at": NOW} for u in rest])
        person_ids = list(await session.scalars(select(Person.id).where(Person.id > before).order_by(Person.id)))
        await session.execute(insert(Identity), [
            {"person_id": pid, "channel": "telegram", "external_id": str(10_000_000 + n),
             "chat_id": str(10_000_000 + n), "created_at": NOW} for n, pid in enumerate(person_ids)])
        await session.execute(insert(Role), [
            {"person_id": pid, "plan_id": plan.id, "role": "officer", "unit_id": unit.id, "started_at": NOW}
            for pid, unit in zip(person_ids, rest, strict=True)])
    channel = ConsoleChannel(app.deps, write=lambda _text: None, now=NOW)
    await channel.send("officer0", f"/start {invite.code}")
    return "officer0"


async def ask(channel: ConsoleChannel, user: str) -> float:
    began = time.perf_counter()
    replies = await channel.send(user, QUESTION)
    assert replies and "1" in replies[0].text, replies
    return (time.perf_counter() - began) * 1000


async def one_size(server_url: str | None, units: int, indicators: int, changes: int) -> None:
    async with fresh_database(server_url) as url:
        folder = tempfile.TemporaryDirectory(prefix="dtbot-bench-")
        path = Path(folder.name) / "plan.yaml"
        text = plan_yaml(units, indicators)
        path.write_text(text, encoding="utf-8")
        app = build_app(load_settings(DATABASE_URL=url), clock=lambda: NOW)
        await app.migrate()
        print(f"{units:,} units × {indicators} indicators ({units * indicators:,} assignments), "
              f"{url.split(':')[0]}")
        wall, rss, output = child(["import-plan", str(path)], url)
        print(f"  import                  {wall:6.1f} s  {rss:4d} MiB  {rows_line(output)}")
        wall, rss, output = child(["import-plan", str(path)], url)
        print(f"  re-import, unchanged    {wall:6.1f} s  {rss:4d} MiB  {rows_line(output)}")
        path.write_text(changed_plan(text, changes, 1), encoding="utf-8")
        wall, rss, output = child(["import-plan", str(path)], url)
        print(f"  re-import, {changes} changes   {wall:6.1f} s  {rss:4d} MiB  {rows_line(output)}")

        user = await register(app, "BENCH")
        channel = ConsoleChannel(app.deps, write=lambda _text: None, now=NOW)
        await warm_plan_views(app.deps)  # as `run` does before the first update
        stop = asyncio.Event()
        warmer = asyncio.create_task(keep_plan_views_warm(app.deps, stop))
        warm = await ask(channel, user)
        plan_id = next(iter(app.deps.plan_views))
        before = app.deps.plan_views[plan_id][0]  # the stamp of the view in hand
        path.write_text(changed_plan(text, changes, 2), encoding="utf-8")
        await asyncio.to_thread(child, ["import-plan", str(path)], url)
        imported = time.perf_counter()
        first = await ask(channel, user)
        while app.deps.plan_views[plan_id][0] == before:  # until the warmer has the new view
            await asyncio.sleep(0.02)
        rebuilt = time.perf_counter() - imported
        stop.set()
        await warmer
        app.deps.plan_views.clear()  # no warmer: the question builds the view, as before issue 19
        app.deps.plan_views.warmed_at = None
        cold = await ask(channel, user)
        print(f"  question, view warm     {warm:8.0f} ms")
        print(f"  first question after a re-import, warmer running {first:6.0f} ms "
              f"(new view in place {rebuilt:.1f} s after the import ended)")
        print(f"  question that builds the view itself (no warmer)  {cold:6.0f} ms")
        await app.close()

        instant = NOW.isoformat()
        wall, rss, output = child(["tick", "--now", instant], url)
        print(f"  tick, first (queues the overdue notices)  {wall:5.1f} s  {rss:4d} MiB  {output.splitlines()[0]}")
        wall, rss, output = child(["tick", "--now", instant], url)
        print(f"  tick, nothing new due                     {wall:5.1f} s  {rss:4d} MiB  {output.splitlines()[0]}")
        folder.cleanup()


async def main(server_url: str | None, sizes: list[int], indicators: int, changes: int) -> None:
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} on {os.cpu_count()} CPUs")
    for units in sizes:
        await one_size(server_url, units, indicators, changes)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server: a throwaway database is made on it")
    parser.add_argument("--units", type=int, nargs="+", default=[3000, 10000])
    parser.add_argument("--indicators", type=int, default=30)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.units, args.indicators, args.changes))
