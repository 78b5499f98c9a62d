"""An officer's figure while the chairman's summary is drawn: does the one wait for the other?

    .venv/bin/python bench/bench_busy.py [--units 500] [--indicators 30] [--rounds 20] [--tricks]

A plan of UNITS communes × INDICATORS monthly indicators with February's and March's figures
(bench_summary's data), a leader and an officer per commune, on SQLite in a temp folder. Each round
the leader asks /tonghop (the summary with its two charts) through the one way in
(handlers/inbox.handle), and 50 ms later a different officer sends a figure the same way; the
officer's time from sending to the reply being queued is measured, and compared with the same
figure sent while nothing else runs.

Aim (issue 11): the officer's reply in under 300 ms while the summary is drawn.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported


from bench.bench_summary import fill
from bench.generated import register_officers
from bot.app import build_app
from bot.config import load_settings
from handlers.events import Event
from handlers.inbox import Inbound, handle
from models import people

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 3, 25, 9, 0, tzinfo=ZONE)
FIRST_CHAT = 10_000
LEADERS = 201


def said(chat: int | str, text: str) -> Inbound:
    return Inbound(Event(channel="console", chat_id=str(chat), chat_kind="private", sender_id=str(chat),
                         sender_name=str(chat), text=text), key=uuid.uuid4().hex)


async def prepare(folder: str, units: int, indicators: int):  # type: ignore[no-untyped-def]
    app = build_app(load_settings(DATABASE_URL=f"sqlite+aiosqlite:///{folder}/bench.db"), clock=lambda: NOW)
    await app.migrate()
    plan = await fill(app, Path(folder), units, indicators)
    async with app.unit_of_work() as session:
        chats = await register_officers(session, plan.id, "console", FIRST_CHAT, NOW)
        for n in range(LEADERS):  # a leader may ask only so often (handlers/limits.py): one per round
            leader = await people.ensure_person(session, "console", f"boss{n}", f"Lãnh đạo {n}", f"boss{n}", NOW)
            await people.grant_role(session, person=leader, role="leader", plan_id=plan.id, unit_id=None, now=NOW)
    return app, chats


async def officer_alone(app, chat: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    outcome = await handle(app.deps, said(chat, "1: 85%"))
    assert outcome.replies, "the officer got no reply"
    return time.perf_counter() - started


async def officer_during_summary(app, chat: int, leader: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    summary = asyncio.create_task(handle(app.deps, said(f"boss{leader}", "/tonghop")))
    await asyncio.sleep(0.05)
    officer = await officer_alone(app, chat)
    outcome = await summary
    assert any(reply.attachments for reply in outcome.replies), "the summary came without its charts"
    return officer, time.perf_counter() - started


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def line(name: str, values: list[float]) -> str:
    return (f"{name:>28}: p50 {statistics.median(values) * 1000:7.1f} ms  p95 {p95(values) * 1000:7.1f} ms  "
            f"max {max(values) * 1000:7.1f} ms  (n={len(values)})")


async def main(units: int, indicators: int, rounds: int) -> None:
    print(PATH)
    with tempfile.TemporaryDirectory(prefix="dtbot-bench-") as folder:
        app, chats = await prepare(folder, units, indicators)
        await officer_during_summary(app, chats[-1], rounds)  # warm: the plan view, matplotlib's fonts
        alone = [await officer_alone(app, chats[n]) for n in range(rounds)]
        during, summaries = [], []
        for n in range(rounds):
            officer, summary = await officer_during_summary(app, chats[rounds + n], n)
            during.append(officer)
            summaries.append(summary)
        await app.close()
    print(f"{units:,} units × {indicators} indicators; {rounds} rounds")
    print(line("officer's figure, alone", alone))
    print(line("officer's figure, during", during))
    print(line("the /tonghop it overlapped", summaries))
    verdict = "ok" if p95(during) < 0.3 else "MISSED"
    print(f"aim: officer's reply < 300 ms while the summary is drawn: {verdict} (p95)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--indicators", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=20, choices=range(1, LEADERS))
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    asyncio.run(main(args.units, args.indicators, args.rounds))
