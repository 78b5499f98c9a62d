"""The steering committee's summary for a province-sized plan: 3,000 units × 30 indicators.

    .venv/bin/python bench/bench_summary.py [--database-url URL] [--units 3000] [--indicators 30]
                                            [--repeat 3] [--tricks]

Builds a plan of UNITS communes and INDICATORS monthly indicators (ratios, percentages, counts and
milestones in turn), stores March's and February's figures for 95% of the units (about 171,000
submission rows, a tenth of March's corrected once), then times, best of --repeat:

- build: build_summary (the bulk query, the roll-ups, reporting rates, on-time counts);
- render: render_summary (the chat messages);
- bullet / grid: the two charts (PNG);
- export: the spreadsheet (informative; bench_export.py measures it on its own, with its memory).

Aims (issue 6): build under 1 s, each chart under 2 s. SQLite by default, in a temp folder.
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

from sqlalchemy import insert, select

from bot.app import App, build_app
from bot.config import load_settings
from handlers.charts import bullet_chart, grid_chart
from handlers.export import export_workbook
from handlers.summary import build_summary, render_summary
from locales import translator
from models import store
from models.periods import Period
from models.plans import load_plan_file
from models.store import load_plan_view
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
    return plan


async def main(database_url: str | None, units: int, indicators: int, repeat: int) -> None:
    folder = tempfile.TemporaryDirectory(prefix="dtbot-bench-")
    url = database_url or f"sqlite+aiosqlite:///{folder.name}/bench.db"
    app = build_app(load_settings(DATABASE_URL=url))
    await app.migrate()
    plan = await fill(app, Path(folder.name), units, indicators)
    gc.collect()

    t = translator("vi")
    today = date(2025, 3, 25)
    timings: dict[str, list[float]] = {"build": [], "render": [], "bullet": [], "grid": [], "export": []}
    summary = view = None
    for round_ in range(repeat):
        async with app.unit_of_work() as session:
            view = await load_plan_view(session, plan.id)
            started = time.perf_counter()
            summary = await build_summary(session, view, Period.parse("2025-03"), today, ZONE)
            timings["build"].append(time.perf_counter() - started)
        started = time.perf_counter()
        messages = render_summary(summary, t)
        timings["render"].append(time.perf_counter() - started)
        started = time.perf_counter()
        bullet = bullet_chart(summary, t)
        timings["bullet"].append(time.perf_counter() - started)
        started = time.perf_counter()
        grid = grid_chart(summary, t)
        timings["grid"].append(time.perf_counter() - started)
        if round_ == 0:
            started = time.perf_counter()
            workbook = export_workbook(view, summary, t)
            timings["export"].append(time.perf_counter() - started)
    assert summary is not None
    print(f"summary: {summary.reports.received:,}/{summary.reports.expected:,} reports received, "
          f"{len(summary.rows)} indicators, {len(summary.to_chase):,} units to chase, "
          f"{len(messages)} message(s), charts {len(bullet):,} + {len(grid):,} bytes, "
          f"spreadsheet {len(workbook):,} bytes")
    aims = {"build": 1.0, "bullet": 2.0, "grid": 2.0}
    for name, values in timings.items():
        best = min(values)
        aim = f" (aim < {aims[name]:g} s: {'ok' if best < aims[name] else 'MISSED'})" if name in aims else ""
        print(f"{name:>7}: best {best * 1000:8.1f} ms of {len(values)}{aim}")
    await app.close()
    folder.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--indicators", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    print(PATH)
    asyncio.run(main(args.database_url, args.units, args.indicators, args.repeat))
