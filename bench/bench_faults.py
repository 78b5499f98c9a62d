"""A fan-out through send faults, in real time: nothing lost, nothing twice, and how long it takes.

    .venv/bin/python bench/bench_faults.py [--messages 200] [--postgres SERVER_URL] [--tricks]

Queues one message for each of N private chats and lets the real TelegramChannel sender (aiogram
over HTTP, its rate limiter, the outbox's claim → send → mark) deliver them to the Telegram emulator
with its flood limits on (30/s overall, about 1/s per chat), three times: without faults; with 30
faults (10 requests dropped on the way, 10 × 429 retry after 2 s, 10 × 502); and with 10 answers
lost after Telegram delivered the message (each such message is sent once more, by design, and
never a third time). Between drains the driver sleeps until the next retry is due, as `run` does.
Prints, per run: time, messages lost, duplicates, and the 429s the bot's own pace drew. SQLite in
a temp folder, or a throwaway database on the PostgreSQL server given.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from sqlalchemy import func, select

from bot.app import build_app
from bot.channels.telegram import TelegramChannel, make_bot
from bot.config import load_settings
from handlers.events import Reply
from models import outbox
from models.tables import OutboxMessage
from tests.databases import throwaway_postgres
from tests.telegram_emulator import TelegramEmulator

FIRST_CHAT = 20_000_000


async def main(messages: int, postgres: str | None) -> None:
    if postgres is None:
        with tempfile.TemporaryDirectory(prefix="dtbot-faults-") as folder:
            await run(messages, f"sqlite+aiosqlite:///{folder}/faults.db")
        return
    async with throwaway_postgres(postgres, prefix="bench") as url:
        await run(messages, url)


async def run(messages: int, url: str) -> None:
    start = datetime.now(UTC)
    started = time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - started)

    chats = range(FIRST_CHAT, FIRST_CHAT + messages)
    async with TelegramEmulator() as emu:
        emu.rate_limit()
        for chat in chats:
            emu.add_chat(chat, "private", first_name="Cán bộ")
        app = build_app(load_settings(DATABASE_URL=url, BOT_TOKEN=emu.token, TELEGRAM_API_URL=emu.base_url),
                        clock=clock)
        await app.migrate()
        bot = make_bot(emu.token, emu.base_url)
        channel = TelegramChannel(app, bot)

        async def fan_out(name: str) -> tuple[float, int, int, int]:
            async with app.unit_of_work() as session:
                for chat in chats:
                    await outbox.enqueue(session, key=f"{name}:{chat}", channel="telegram", chat_id=str(chat),
                                         payload=Reply(f"{name} {chat}").to_payload(), now=clock())
            refused, sent_before = emu.too_many_requests, len(emu.sent)
            t0 = time.perf_counter()
            while True:
                await channel.sender.drain()
                async with app.unit_of_work() as session:
                    due = await session.scalar(select(func.min(OutboxMessage.not_before)).where(
                        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)))
                if due is None:
                    break
                await asyncio.sleep(max(0.0, (due - clock()).total_seconds()))
            took = time.perf_counter() - t0
            texts = Counter(record.text for record in emu.sent[sent_before:])
            lost = sum(1 for chat in chats if texts[f"{name} {chat}"] == 0)
            twice = sum(n - 1 for n in texts.values() if n > 1)
            return took, lost, twice, emu.too_many_requests - refused

        try:
            results = [("no faults", await fan_out("calm"))]
            await asyncio.sleep(3.5)  # the per-chat windows empty
            emu.lose_answers("sendMessage", times=10, performed=False)
            emu.fail_next("sendMessage", error_code=429, retry_after=2, times=10)
            emu.fail_with_5xx("sendMessage", times=10)
            results.append(("30 faults: 10 dropped, 10 × 429, 10 × 502", await fan_out("stormy")))
            await asyncio.sleep(3.5)
            emu.lose_answers("sendMessage", times=10)
            results.append(("10 answers lost after delivery", await fan_out("lossy")))
        finally:
            await bot.session.close()
            await app.close()
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{messages} messages per run, {backend}")
    for name, (took, lost, twice, refused) in results:
        print(f"{name}: {took:.1f} s, lost {lost}, duplicates {twice}, 429s drawn by our pace {refused}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL (a throwaway database is made)")
    parser.add_argument(FLAG, action="store_true", help=HELP)
    arguments = parser.parse_args()
    print(PATH)
    asyncio.run(main(arguments.messages, arguments.postgres))
