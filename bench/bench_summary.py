"""The steering committee's summary for a province-sized plan: 3,000 units × 30 indicators.

    .venv/bin/python bench/bench_summary.py [--database-url URL] [--units 3000 10000] [--indicators 30]
                                            [--repeat 3] [--export] [--tricks]

Builds a plan of UNITS communes and INDICATORS monthly indicators (ratios, percentages, counts and
milestones in turn), stores March's and February's figures for 95% of the units (about 171,000
submission rows, a tenth of March's corrected once), then times, best of --repeat:

- build (aggregates): build_summary(cells=False): SQL aggregation, the roll-ups, reporting rates,
  on-time counts, the units to chase;
- build + cells: build_summary as /tonghop calls it, with each unit's current figure for the grid;
- before (raw rows): every version read and computed in Python (models.standing.compute_summary,
  the path the aggregation replaced and is tested against);
- render: render_summary (the chat messages);
- bullet / grid: the two charts (PNG);
- export (with --export): the spreadsheet (informative; bench_export.py measures it on its own, with
  its memory);

then the database's size and bytes per stored figure. Aims (issue 19): build under 0.5 s at
10,000 units on PostgreSQL; each chart under 2 s. Each --units row on its own throwaway database
(bench.generated.fresh_database): SQLite in a temp folder, or with --database-url a new database on
that PostgreSQL server, dropped afterwards.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from sqlalchemy import func, insert, select, text

from bench.generated import fresh_database
from bot.app import App, build_app
from bot.config import load_settings
from handlers.charts import bullet_chart, grid_chart
from handlers.export import export_workbook
from handlers.summary import build_summary, render_summary
from locales import translator
from models import store
from models.periods import Period
from models.plans import load_plan_file
from models.standing import compute_summary, covered_periods, end_of_day, periods_to_read
from models.store import load_plan_view
from models.summary_queries import figure_versions
from models.tables import IndicatorPart, Plan, Submission, Unit

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
KINDS = ("ratio", "percent", "count", "milestone")


def plan_yaml(units: int, indicators: int) -> str:
    lines = ["format: 1", "plan: {code: BENCH, title: Bench tỉnh, year: 2025}", "units:",
             "  - {code: tinh, name: UBND tỉnh, kind: city}"]
    lines += [f"  - {{code: x{i}, name: Xã Số {i}, kind: commune, parent: tinh}}" for i in range(units)]
    lines.append("indicators:")
    for n in range(1, indicators + 1):
        kind = KINDS[n % len(KINDS)]
        lines += [f'  - code: "{n}"', f'    title: "Chỉ tiêu số {n}"', '    coordinating: "UBND các xã, phường"']
        if kind == "ratio":
            lines += [f'    text: "Tỷ lệ hồ sơ số {n} đạt 90%"', '    target: "90%"',
                      '    formula: "Số hồ sơ trực tuyến / Tổng số hồ sơ"']
        elif kind == "percent":
            lines += [f'    text: "Tỷ lệ số {n} đạt 80%"', '    target: "80%"']
        elif kind == "count":
            lines += [f'    text: "Ít nhất 5 điểm số {n}"', '    target: "5 điểm"']
        else:
            lines += [f'    text: "Hoàn thành việc số {n}"', '    target: "Hoàn thành"']
    return "\n".join(lines) + "\n"


def submission_rows(plan_id: int, unit_ids: list[int], parts: list[Any], rng: random.Random) -> list[dict[str, Any]]:
    """February's and March's figures for 95% of the units, a tenth of March's corrected once."""
    rows: list[dict[str, Any]] = []
    deadline = datetime(2025, 3, 20, 17, 0, tzinfo=UTC)
    for period, month in (("2025-02", 2), ("2025-03", 3)):
        for unit_id in unit_ids:
            if rng.random() < 0.05:
                continue  # 5% of units send nothing
            for part_id, measure in parts:
                at = deadline - timedelta(days=30 * (3 - month)) + timedelta(hours=rng.randint(-200, 30))
                row = dict(plan_id=plan_id, part_id=part_id, unit_id=unit_id, period=period, version=1,
                           value=None, numerator=None, denominator=None, done=None, channel="console",
                           submitted_at=at)
                if measure == "ratio":
                    den = rng.randint(10, 500)
                    row.update(numerator=Decimal(rng.randint(0, den)), denominator=Decimal(den))
                elif measure == "percent":
                    row.update(value=Decimal(rng.randint(400, 1000)) / 10)
                elif measure == "count":
                    row.update(value=Decimal(rng.randint(0, 8)))
                else:
                    row.update(done=rng.random() < 0.7)
                rows.append(row)
                if period == "2025-03" and rng.random() < 0.1:
                    rows.append(dict(row, version=2, submitted_at=at + timedelta(days=2)))
    return rows


async def fill(app: App, folder: Path, units: int, indicators: int) -> Plan:
    """The generated plan, imported, with February's and March's figures; timings printed."""
    path = folder / "bench.yaml"
    path.write_text(plan_yaml(units, indicators), encoding="utf-8")
    started = time.perf_counter()
    spec = load_plan_file(path)
    async with app.unit_of_work() as session:
        await store.import_plan(session, spec, "bench", datetime.now(UTC))
    print(f"plan imported: {units:,} units × {indicators} indicators in {time.perf_counter() - started:.1f} s")

    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "BENCH")
        assert plan is not None
        unit_ids = list(await session.scalars(select(Unit.id).where(Unit.plan_id == plan.id, Unit.code != "tinh")))
        parts = list(await session.execute(select(IndicatorPart.id, IndicatorPart.measure)
                                           .where(IndicatorPart.plan_id == plan.id)))
    rows = submission_rows(plan.id, unit_ids, parts, random.Random(6))
    started = time.perf_counter()
    async with app.unit_of_work() as session:
        connection = await session.connection()
        for start in range(0, len(rows), 20_000):
            await connection.execute(insert(Submission.__table__), rows[start:start + 20_000])
    print(f"{len(rows):,} submission rows stored in {time.perf_counter() - started:.1f} s")
    if app.engine.dialect.name == "postgresql":
        # What autovacuum does within a minute of a bulk load on a server that runs it (the test
        # server here does not): without statistics the planner's guesses make a scan of
        # 180,000 rows take minutes.
        async with app.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("ANALYZE")
    return plan


async def database_size(app: App) -> tuple[int, int, int]:
    """(whole database, the submissions table with its indexes, submission rows), in bytes."""
    async with app.engine.connect() as connection:
        rows = await connection.scalar(select(func.count()).select_from(Submission))
        if connection.dialect.name == "postgresql":
            total = await connection.scalar(text("SELECT pg_database_size(current_database())"))
            table = await connection.scalar(text("SELECT pg_total_relation_size('submissions')"))
        else:
            total = await connection.scalar(text(
                "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()"))
            table = await connection.scalar(text(
                "SELECT sum(pgsize) FROM dbstat WHERE name IN "
                "(SELECT name FROM sqlite_master WHERE tbl_name = 'submissions')"))
    return int(total), int(table or 0), int(rows or 0)


async def reference(app: App, view: Any, period: Period, today: date) -> float:
    """The Python path the SQL one replaced: every version of every figure read, then computed."""
    started = time.perf_counter()
    async with app.unit_of_work() as session:
        chosen = covered_periods(view, period, today)
        parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
        cutoffs = {p.id: end_of_day(view.deadline(p), ZONE) for p in chosen.values()}
        rows = await figure_versions(session, view.plan.id, periods_to_read(parts, chosen), cutoffs)
        compute_summary(view, period, chosen, parts, rows, {}, today, ZONE)
    return time.perf_counter() - started


async def measure(url: str, units: int, indicators: int, repeat: int, export: bool) -> None:
    folder = tempfile.TemporaryDirectory(prefix="dtbot-bench-")
    app = build_app(load_settings(DATABASE_URL=url))
    await app.migrate()
    plan = await fill(app, Path(folder.name), units, indicators)
    gc.collect()

    t = translator("vi")
    today = date(2025, 3, 25)
    march = Period.parse("2025-03")
    timings: dict[str, list[float]] = {"build": [], "cells": [], "before": [], "render": [], "bullet": [],
                                       "grid": [], "export": []}
    summary = view = None
    for round_ in range(repeat):
        async with app.unit_of_work() as session:
            view = await load_plan_view(session, plan.id)
            started = time.perf_counter()
            await build_summary(session, view, march, today, ZONE, cells=False)
            timings["build"].append(time.perf_counter() - started)
            started = time.perf_counter()
            summary = await build_summary(session, view, march, today, ZONE)
            timings["cells"].append(time.perf_counter() - started)
        timings["before"].append(await reference(app, view, march, today))
        started = time.perf_counter()
        messages = render_summary(summary, t)
        timings["render"].append(time.perf_counter() - started)
        started = time.perf_counter()
        bullet = bullet_chart(summary, t)
        timings["bullet"].append(time.perf_counter() - started)
        started = time.perf_counter()
        grid = grid_chart(summary, t)
        timings["grid"].append(time.perf_counter() - started)
        if round_ == 0 and export:
            started = time.perf_counter()
            export_workbook(view, summary, t)
            timings["export"].append(time.perf_counter() - started)
    assert summary is not None
    total, table, rows = await database_size(app)
    print(f"summary: {summary.reports.received:,}/{summary.reports.expected:,} reports received, "
          f"{len(summary.rows)} indicators, {len(summary.to_chase):,} units to chase, "
          f"{len(messages)} message(s), charts {len(bullet):,} + {len(grid):,} bytes")
    per_figure = table / rows if rows else 0
    print(f"database: {total / 2**20:,.1f} MiB; submissions {table / 2**20:,.1f} MiB for {rows:,} rows "
          f"= {per_figure:,.0f} bytes a stored figure (with its indexes); "
          f"growth ≈ {per_figure * indicators * 12 * 1.1 / 2**10:,.0f} KiB per unit-year "
          f"({indicators} monthly indicators, a tenth corrected once)")
    aims = {"build": 0.5, "bullet": 2.0, "grid": 2.0}
    labels = {"build": "build (aggregates)", "cells": "build + cells", "before": "before (raw rows)"}
    for name, values in timings.items():
        if not values:
            continue
        best = min(values)
        aim = f" (aim < {aims[name]:g} s: {'ok' if best < aims[name] else 'MISSED'})" if name in aims else ""
        print(f"{labels.get(name, name):>18}: best {best * 1000:8.1f} ms of {len(values)}{aim}")
    await app.close()
    folder.cleanup()


async def main(server_url: str | None, units: list[int], indicators: int, repeat: int, export: bool) -> None:
    """One row per --units, each on its own throwaway database: a SQLite file in a temp folder, or
    a new database on the PostgreSQL server of --database-url (never the one the URL names)."""
    for count in units:
        print(f"--- {count:,} units × {indicators} indicators ({'PostgreSQL' if server_url else 'SQLite'})")
        async with fresh_database(server_url) as url:
            await measure(url, count, indicators, repeat, export)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server: a throwaway database is made on it")
    parser.add_argument("--units", type=int, nargs="+", default=[3000, 10000])
    parser.add_argument("--indicators", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--export", action="store_true", help="also time the spreadsheet (slow: one sheet a unit)")
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    print(PATH)
    asyncio.run(main(args.database_url, args.units, args.indicators, args.repeat, args.export))
