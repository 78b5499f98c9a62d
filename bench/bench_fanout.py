"""Fan-out of one tick's prompts to thousands of officers through Telegram's flood limits.

    .venv/bin/python bench/bench_fanout.py [--officers 5000] [--database-url URL] [--tricks]

Builds a plan of N communes (two monthly indicators each), registers one Telegram officer per
commune directly in the database, starts the Telegram emulator (tests/telegram_emulator.py) with its
flood limits on (30 messages/s overall, 1/s per chat), then performs the tick of the January prompt
(15/01/2025 08:00) and lets the real TelegramChannel sender (aiogram over HTTP, its RateLimiter at
Telegram's limits, the outbox's claim → send → mark sent) deliver everything. Prints the time to
plan and queue, the delivery time, the achieved rate as a share of the 30/s limit, the 429 answers
and the duplicates (chats that got the prompt more than once). SQLite by default, in a temp folder.
At 30/s, 5,000 messages take about 167 s; `--officers 300` is a quick run.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from sqlalchemy import func, select

from bench.generated import plan_yaml, register_officers
from bot.app import build_app
from bot.channels.telegram import TelegramChannel, make_bot
from bot.config import load_settings
from models import store
from models.plans import load_plan_file
from models.tables import OutboxMessage
from scheduler.tick import tick
from tests.telegram_emulator import TelegramEmulator

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LIMIT = 30  # messages per second, Telegram's overall limit, enforced by the emulator
FIRST_CHAT = 10_000_000
PROMPT_AT = datetime(2025, 1, 15, 8, 0, tzinfo=ZONE)


async def prepare(app, folder: Path, officers: int) -> list[int]:  # type: ignore[no-untyped-def]
    path = folder / "fan.yaml"
    path.write_text(plan_yaml(officers, 2, code="FAN", ratio_every=2), encoding="utf-8")
    now = app.now()
    async with app.unit_of_work() as session:
        await store.import_plan(session, load_plan_file(path), "fan", now)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "FAN")
        return await register_officers(session, plan.id, "telegram", FIRST_CHAT, now)


async def main(officers: int, database_url: str | None) -> None:
    folder = tempfile.TemporaryDirectory(prefix="dtbot-fanout-")
    url = database_url or f"sqlite+aiosqlite:///{folder.name}/fanout.db"
    started = time.monotonic()

    def clock() -> datetime:  # the prompt's morning, running at real speed (leases expire as they would)
        return PROMPT_AT + timedelta(seconds=time.monotonic() - started)

    async with TelegramEmulator() as emu:
        emu.rate_limit(per_second=LIMIT)
        app = build_app(load_settings(DATABASE_URL=url, BOT_TOKEN=emu.token, TELEGRAM_API_URL=emu.base_url),
                        clock=clock)
        await app.migrate()
        setup = time.perf_counter()
        chats = await prepare(app, Path(folder.name), officers)
        for chat in chats:
            emu.add_chat(chat, "private", first_name="Cán bộ")
        print(f"plan of {officers:,} communes and {len(chats):,} officers ready in {time.perf_counter() - setup:.1f} s")

        bot = make_bot(app.settings.bot_token.get_secret_value(), app.settings.telegram_api_url)
        channel = TelegramChannel(app, bot)  # the production sender and rate limiter (Limits())
        try:
            t0 = time.perf_counter()
            report = await tick(app.deps, PROMPT_AT)  # plan and queue: every prompt under its key
            t1 = time.perf_counter()
            delivered = await channel.sender.drain()
            t2 = time.perf_counter()
            again = await tick(app.deps, PROMPT_AT, senders={"telegram": channel.sender})  # the same instant again
        finally:
            await bot.session.close()
        async with app.unit_of_work() as session:
            unsent = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                          .where(OutboxMessage.sent_at.is_(None)))
        await app.close()

    per_chat = Counter(record.chat_id for record in emu.sent)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    sending = t2 - t1
    rate = len(emu.sent) / sending if sending else 0.0
    print(f"tick queued {len(report.queued):,} prompts in {t1 - t0:.2f} s")
    print(f"delivered {len(emu.sent):,} messages to {len(per_chat):,} chats in {sending:.1f} s "
          f"(claimed and handled by the sender: {delivered:,}; left unsent: {unsent})")
    print(f"total time (tick + delivery): {t2 - t0:.1f} s")
    # A sliding one-second window lets the first LIMIT messages go at once, so the fastest N can go
    # is (N - LIMIT) / LIMIT seconds; the share of the limit is measured against that too.
    fastest = max(len(emu.sent) - LIMIT, 0) / LIMIT
    print(f"achieved rate: {rate:.2f} msg/s = {rate / LIMIT:.1%} of the {LIMIT}/s limit "
          f"({fastest / sending:.1%} of the fastest the limit allows: {fastest:.1f} s)")
    print(f"429 answers: {emu.too_many_requests}")
    print(f"duplicates: {duplicates}")
    print(f"second tick at the same instant: {len(again.queued)} queued, {again.delivered} delivered")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officers", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(FLAG, action="store_true", help=HELP)
    arguments = parser.parse_args()
    print(PATH)
    asyncio.run(main(arguments.officers, arguments.database_url))
