"""The period's spreadsheet (/xuat, `python -m bot export`) for a province or a nation.

    .venv/bin/python bench/bench_export.py [--database-url URL] [--units 3000] [--indicators 30]
                                           [--tricks]

Fills a throwaway database (SQLite in a temp folder, or with --database-url a new database on that
PostgreSQL server, dropped afterwards) with bench_summary's data: UNITS communes × INDICATORS
monthly indicators, February's and March's figures for 95% of the units. Then, in a fresh process
(so that its peak memory is the export's, not the filling's), prints:

- read: the plan view and the detailed summary read from the database;
- write: the workbook written (handlers.export.export_workbook), its size and layout;
- the CPU time those took (on a shared machine, steadier than the wall clock);
- peak RSS of that process (the whole of it: interpreter, libraries, data and workbook);
- loop lag: the longest the event loop waited for its turn while the data was read, and while the
  workbook was written in a worker thread (what an officer's reply would wait on top of its own
  handling).

- report: the official report's DOCX and PDF (handlers/official_report.py) from the same summary.

Aims (issue 19): the whole export of 3,000 units under 5 s, 10,000 under 20 s, peak under 300 MiB;
(issue 18) export and report of 3,000 units under 10 s.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from bench.bench_summary import fill
from bench.generated import fresh_database
from bot.app import build_app
from bot.config import load_settings

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PROBE = 0.005  # the lag probe's sleep, seconds


def peak_mib() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss across
    exec, so a child would report the parent's peak (the filling's) as its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def lag_while(work: asyncio.Future[object]) -> float:
    """The longest a short sleep overran while `work` ran: the loop's worst wait for its turn."""
    worst = 0.0
    while not work.done():
        started = time.perf_counter()
        await asyncio.sleep(PROBE)
        worst = max(worst, time.perf_counter() - started - PROBE)
    return worst


async def measure(url: str, whole: bool) -> None:
    """In the fresh process: read, write in a worker thread while probing the loop, print.
    `whole`: the summary read with every unit's figures before writing (as before the grid read
    them a chunk of units at a time while writing), for comparison in the same run."""
    from handlers.export import export_streamed, export_workbook, summary_cells, summary_details, unit_layout
    from locales import translator
    from models import store
    from models.periods import Period
    from models.plan_view import PlanView
    from models.store import load_plan_view
    from models.summary_data import Summary
    from models.summary_queries import build_summary

    app = build_app(load_settings(DATABASE_URL=url))
    baseline = peak_mib()
    async def read(session: Any) -> tuple[PlanView, Summary]:
        plan = await store.get_plan(session, "BENCH")
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        period = Period.parse("2025-03")
        summary = await build_summary(session, view, period, date(2025, 3, 25), ZONE,
                                      details=summary_details(view), cells=whole or summary_cells(view))
        return view, summary

    async with app.unit_of_work() as session:  # as export_command: read, then written in the same session
        started, cpu = time.perf_counter(), time.process_time()
        reading = asyncio.ensure_future(read(session))
        read_lag = await lag_while(reading)
        view, summary = await reading
        read_time = time.perf_counter() - started
        started = time.perf_counter()
        if whole:
            work = asyncio.ensure_future(asyncio.to_thread(export_workbook, view, summary, translator("vi")))
        else:
            work = asyncio.ensure_future(export_streamed(session, view, summary, translator("vi")))
        lag = await lag_while(work)
        content = await work
        write = time.perf_counter() - started
        cpu = time.process_time() - cpu
    # The official report from the same summary (handlers/official_report.py): the DOCX, then the
    # PDF where LibreOffice is installed (its start-up is most of that).
    from handlers.official_report import pdf_of, render_report

    started = time.perf_counter()
    document = await asyncio.to_thread(render_report, view, summary)
    docx_time = time.perf_counter() - started
    started = time.perf_counter()
    pdf, why = await asyncio.to_thread(pdf_of, document, translator("vi"))
    pdf_time = time.perf_counter() - started
    await app.close()
    pdf_note = f"PDF {pdf_time:5.2f} s ({len(pdf) / 1e6:.1f} MB)" if pdf else f"no PDF: {why}"
    print(f"report: DOCX {docx_time:5.2f} s ({len(document) / 1e6:.2f} MB), {pdf_note}; "
          f"export + report {read_time + write + docx_time + pdf_time:6.2f} s")
    print(f"{'whole summary, then written' if whole else 'streamed'}: "
          f"read {read_time:6.2f} s   write {write:6.2f} s   total {read_time + write:6.2f} s (CPU {cpu:.2f} s)   "
          f"peak RSS {peak_mib():6.0f} MiB (after imports {baseline:.0f})   "
          f"loop lag: reading {read_lag * 1000:5.0f} ms, writing {lag * 1000:5.0f} ms   "
          f"{len(content) / 1e6:.1f} MB, {unit_layout(view)} layout")


async def main(server_url: str | None, units: int, indicators: int, compare: bool) -> None:
    async with fresh_database(server_url) as url:
        app = build_app(load_settings(DATABASE_URL=url))
        await app.migrate()
        with tempfile.TemporaryDirectory(prefix="dtbot-bench-") as folder:
            await fill(app, Path(folder), units, indicators)
        await app.close()
        gc.collect()
        # A fresh process, so that the peak is the export's own.
        subprocess.run([sys.executable, __file__, "--measure", url], check=True)
        if compare:
            subprocess.run([sys.executable, __file__, "--measure", url, "--whole"], check=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server: a throwaway database is made on it")
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--indicators", type=int, default=30)
    parser.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the child's part
    parser.add_argument("--whole", action="store_true", help=argparse.SUPPRESS)  # the child: as before streaming
    parser.add_argument("--compare", action="store_true",
                        help="also export as before the grid was streamed (every figure read first)")
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    if args.measure:
        asyncio.run(measure(args.measure, args.whole))
    else:
        print(PATH)
        print(f"{args.units:,} units × {args.indicators} indicators, {'PostgreSQL' if args.database_url else 'SQLite'}")
        asyncio.run(main(args.database_url, args.units, args.indicators, args.compare))
