"""Onboarding a province at once (issue 16): `invite --all` for 3,000 units, with every file.

    .venv/bin/python bench/bench_invites.py [--database-url URL] [--units 3000]

Imports a generated plan (a city and UNITS - 1 communes, one indicator) into a throwaway database
(SQLite in a temp folder, or with --database-url a new database on that PostgreSQL server, dropped
afterwards), then runs the command as an operator would, in-process: `invite --plan BENCH --role
officer --all --out FILE` for .pdf (printable cards with QR codes), then again with --replace for
.xlsx and .csv. Prints each run's wall and CPU time and the file's size, and checks that the
first and last pages' QR codes read back to their links (zxing-cpp, as the tests do).

Aim (issue 16): 3,000 invites and their PDF in under 30 s.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from argparse import Namespace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generated import fresh_database, plan_yaml
from bot import cli
from bot.app import build_app
from bot.config import load_settings
from models import store
from models.plans import load_plan_file


async def username(_app: object) -> str:
    return "dtbot_bench"


async def run(url: str, units: int) -> None:
    cli.telegram_username = username  # the links as with a token, without asking Telegram
    app = build_app(load_settings(database_url=url))
    try:
        await app.migrate()
        with tempfile.TemporaryDirectory(prefix="dtbot-bench-invites-") as folder:
            path = Path(folder) / "bench.yaml"
            path.write_text(plan_yaml(units - 1, 1), encoding="utf-8")
            started = time.perf_counter()
            async with app.unit_of_work() as session:
                await store.import_plan(session, load_plan_file(path), "bench", datetime.now(UTC))
            print(f"plan imported: {units:,} units in {time.perf_counter() - started:.1f} s")
            for suffix, replace in ((".pdf", False), (".xlsx", True), (".csv", True)):
                out = Path(folder) / f"moi{suffix}"
                args = Namespace(role="officer", plan="BENCH", unit=None, days=14, json=False, all=True, kind=None,
                                 replace=replace, out=str(out))
                wall, cpu = time.perf_counter(), time.process_time()
                await cli.cmd_invite(app, args)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(f"  {suffix:<5} {wall:5.1f} s wall, {cpu:5.1f} s CPU, {out.stat().st_size / 1e6:.1f} MB")
                if suffix == ".pdf":
                    check_qr(out.read_bytes())
    finally:
        await app.close()


def check_qr(pdf: bytes) -> None:
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = len(document)
        for index in (0, pages - 1):
            page = document[index]
            found = [r.text for r in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
            page.close()
            assert found and all(text.startswith("https://t.me/dtbot_bench?start=") for text in found), found
        print(f"  {pages:,} pages; QR codes of the first and last pages read back to their links")
    finally:
        document.close()


async def main(server_url: str | None, units: int) -> None:
    async with fresh_database(server_url) as url:
        await run(url, units)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (postgresql+asyncpg://…); default: SQLite")
    parser.add_argument("--units", type=int, default=3000)
    options = parser.parse_args()
    asyncio.run(main(options.database_url, options.units))
