"""Gap answers with 100,000 stored submissions: time from a typed question to the reply, through
the whole conversation path (understanding, unit of work, queries, arithmetic, formatting).

    .venv/bin/python bench/bench_gap.py [--database-url URL] [--questions 300] [--tricks]

With --database-url (a PostgreSQL server), a throwaway database is created on that server and
dropped afterwards; the database the URL names is never written.

Builds a plan of 300 communes × 28 monthly indicators, stores a year of figures for each
(100,800 rows), registers an officer per commune, then asks "chỉ tiêu N còn thiếu bao nhiêu?"
as random officers and prints p50/p95/p99 in milliseconds. SQLite by default, in a temp folder.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from sqlalchemy import insert, select

from bench.generated import fresh_database, plan_yaml
from bot.app import build_app
from bot.channels.console import ConsoleChannel
from bot.config import load_settings
from models import people, store
from models.plans import load_plan_file
from models.tables import IndicatorPart, Submission, Unit

UNITS, INDICATORS, MONTHS = 300, 28, 12
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


async def main(server_url: str | None, questions: int) -> None:
    """On a throwaway database: a SQLite file, or a new database on the PostgreSQL server of
    --database-url (never the database the URL names)."""
    async with fresh_database(server_url) as url:
        await run(url, questions)


async def run(url: str, questions: int) -> None:
    folder = tempfile.TemporaryDirectory(prefix="dtbot-bench-")
    clock_now = datetime(2025, 12, 18, 9, 0, tzinfo=ZONE)
    app = build_app(load_settings(DATABASE_URL=url), clock=lambda: clock_now)
    await app.migrate()
    plan_path = Path(folder.name) / "bench.yaml"
    plan_path.write_text(plan_yaml(UNITS, INDICATORS, ratio_every=2), encoding="utf-8")
    started = time.perf_counter()
    async with app.unit_of_work() as session:
        await store.import_plan(session, load_plan_file(plan_path), "bench", clock_now)
    codes: list[str] = []
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "BENCH")
        units = [u for u in await session.scalars(select(Unit).where(Unit.plan_id == plan.id)) if u.kind == "commune"]
        parts = list(await session.scalars(select(IndicatorPart).where(IndicatorPart.plan_id == plan.id)))
        rng = random.Random(7)
        rows = []
        for unit in units:
            for part in parts:
                for month in range(1, MONTHS + 1):
                    base = dict(plan_id=plan.id, part_id=part.id, unit_id=unit.id, period=f"2025-{month:02d}",
                                version=1, channel="bench", submitted_at=clock_now, value=None,
                                numerator=None, denominator=None)
                    if part.measure == "ratio":
                        den = rng.randint(50, 500)
                        base.update(numerator=str(rng.randint(0, den)), denominator=str(den))
                    else:
                        base.update(value=str(Decimal(rng.randint(300, 1000)) / 10))
                    rows.append(base)
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Submission), rows[start:start + 5000])
        for unit in units:
            issued = await people.create_invite(session, role="officer", plan=plan, unit=unit, now=clock_now)
            codes.append(issued.code)
    print(f"setup: {len(rows):,} submissions for {len(units)} units × {len(parts)} parts × {MONTHS} months "
          f"in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})")

    channel = ConsoleChannel(app.deps, write=lambda _text: None)
    for number, code in enumerate(codes):
        await channel.send(f"officer{number}", f"/start {code}")
    rng = random.Random(11)
    timings = []
    for _ in range(questions):
        who = rng.randrange(len(codes))
        indicator = rng.randint(1, INDICATORS)
        began = time.perf_counter()
        replies = await channel.send(f"officer{who}", f"chỉ tiêu {indicator} còn thiếu bao nhiêu?")
        timings.append((time.perf_counter() - began) * 1000)
        assert replies and "Chỉ tiêu" in replies[0].text, replies
    timings.sort()
    q = statistics.quantiles(timings, n=100)
    print(f"gap answers: {questions} questions, p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms, "
          f"max {timings[-1]:.1f} ms")
    await app.close()
    folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    print(PATH)
    asyncio.run(main(args.database_url, args.questions))
