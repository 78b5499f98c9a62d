"""End-to-end throughput of the Telegram channel, beside a bare aiogram echo bot (the ceiling).

    .venv/bin/python bench/bench_telegram.py [--officers 200] [--figures 10] [--database-url URL] [--tricks]

Both bots poll the same Bot API emulator over loopback HTTP. 200 officers (registered in the
database beforehand) each send 10 figures, one after another, waiting for each reply, all
officers at once (saturation), then the same figures arriving at a steady rate; the echo bot
gets the same loads. Prints updates handled per second and the time from an update's arrival to
its reply (p50/p95). The emulator's flood limits and our sender's
rate limiter are off: this measures processing, not Telegram's limits (bench_fanout.py does).
With --database-url (a PostgreSQL server), each run of the reporting bot gets a new database there.
The reporting bot runs with the garbage-collector settings of `python -m bot run`; the echo bot is
measured bare (the ceiling the issue names) and, for comparison, with those settings too.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from aiogram import Dispatcher, Router
from aiogram.types import Message
from sqlalchemy import func, select

from bench.generated import fresh_database, plan_yaml, register_officers
from bot.app import build_app
from bot.channels.sender import Limits
from bot.channels.telegram import TelegramChannel
from bot.config import load_settings
from bot.run import settle_long_lived_objects
from models import store
from models.plans import load_plan_file
from models.tables import Submission
from tests.telegram_emulator import TelegramEmulator

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NO_LIMITS = Limits(per_second=1e9, private_burst=10**9, private_interval=1e-9, group_per_minute=10**9)


class Replies:
    """Counts the bot's messages per chat as they arrive (one watcher, not one scan per waiter)."""

    def __init__(self, emu: TelegramEmulator) -> None:
        self.emu = emu
        self.seen = 0
        self.counts: dict[int, int] = {}
        # Several waiters per chat: at a steady rate an officer's next figure may come before the
        # reply to the last one (a slow machine), and each waits for its own count.
        self.waiting: dict[int, list[tuple[int, asyncio.Future[None]]]] = {}

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(0.0005)
            new = self.emu.sent[self.seen:]
            self.seen += len(new)
            for record in new:
                chat = int(record.chat_id)
                self.counts[chat] = self.counts.get(chat, 0) + 1
                for count, future in self.waiting.get(chat, ()):
                    if self.counts[chat] >= count and not future.done():
                        future.set_result(None)

    async def until(self, chat: int, count: int) -> None:
        if self.counts.get(chat, 0) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self.waiting.setdefault(chat, [])
        waiters.append((count, future))
        try:
            await future
        finally:
            waiters.remove((count, future))


async def drive(emu: TelegramEmulator, users: list[int], messages: list[list[str]]) -> tuple[float, list[float]]:
    """Each user sends their messages in turn, waiting for a reply each time; returns the wall
    time and every update-to-reply latency in ms."""
    latencies: list[float] = []
    replies = Replies(emu)
    watcher = asyncio.create_task(replies.watch())

    async def one_user(user: int, texts: list[str]) -> None:
        for number, text in enumerate(texts, start=1):
            began = time.perf_counter()
            emu.user_message(user, text)
            await replies.until(user, number)
            latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(one_user(u, m) for u, m in zip(users, messages, strict=True)))
    elapsed = time.perf_counter() - started
    watcher.cancel()
    return elapsed, latencies


async def paced(emu: TelegramEmulator, users: list[int], messages: list[list[str]],
                rate: float) -> tuple[float, list[float]]:
    """Messages arrive at a steady `rate` per second (open loop, officers taking turns), as a
    busy reporting day looks; returns the wall time and update-to-reply latencies."""
    latencies: list[float] = []
    replies = Replies(emu)
    watcher = asyncio.create_task(replies.watch())
    sent_per_user: dict[int, int] = {}
    order = [(user, text) for round_ in zip(*messages, strict=True) for user, text in zip(users, round_, strict=True)]

    async def one(user: int, text: str) -> None:
        sent_per_user[user] = sent_per_user.get(user, 0) + 1
        number = sent_per_user[user]
        began = time.perf_counter()
        emu.user_message(user, text)
        await replies.until(user, number)
        latencies.append((time.perf_counter() - began) * 1000)

    started = time.perf_counter()
    tasks = []
    for index, (user, text) in enumerate(order):
        delay = started + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(user, text)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    watcher.cancel()
    return elapsed, latencies


def report(name: str, count: int, seconds: float, latencies: list[float]) -> float:
    q = statistics.quantiles(latencies, n=100)
    rate = count / seconds
    print(f"{name:<28} {count} updates in {seconds:6.2f} s = {rate:7.1f} updates/s   "
          f"update→reply p50 {q[49]:6.1f} ms  p95 {q[94]:6.1f} ms")
    return rate


@contextlib.contextmanager
def settled_gc() -> Iterator[None]:
    """The garbage collector as `python -m bot run` sets it (bot.run.settle_long_lived_objects),
    then as it was."""
    thresholds = gc.get_threshold()
    settle_long_lived_objects()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def echo_bot(officers: int, figures: int, rate: float | None = None) -> tuple[float, list[float]]:
    async with TelegramEmulator(username="echo_bench_bot") as emu:
        bot = emu.make_bot()
        router = Router()

        @router.message()
        async def echo(message: Message) -> None:
            await message.answer(message.text or "")

        dp = Dispatcher()
        dp.include_router(router)
        users = [500_000 + i for i in range(officers)]
        for user in users:
            emu.add_chat(user)
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
        await emu.wait_for_call("getUpdates")
        texts = [[f"{n % 5 + 1}: {random.randint(50, 100)}%" for n in range(figures)] for _ in users]
        result = await (paced(emu, users, texts, rate) if rate else drive(emu, users, texts))
        await dp.stop_polling()
        await polling
        return result


async def our_bot(officers: int, figures: int, database_url: str | None,
                  rate: float | None = None) -> tuple[float, list[float]]:
    async with fresh_database(database_url) as url:
        return await _our_bot(officers, figures, url, rate)


async def _our_bot(officers: int, figures: int, url: str, rate: float | None) -> tuple[float, list[float]]:
    now = datetime(2025, 3, 17, 9, 0, tzinfo=ZONE)
    app = build_app(load_settings(DATABASE_URL=url), clock=lambda: now)
    await app.migrate()
    with tempfile.TemporaryDirectory(prefix="dtbot-bench-") as folder:
        plan_path = Path(folder) / "plan.yaml"
        plan_path.write_text(plan_yaml(officers, figures), encoding="utf-8")
        async with app.unit_of_work() as session:
            await store.import_plan(session, load_plan_file(plan_path), "bench", now)
            plan = await store.get_plan(session, "BENCH")
            users = await register_officers(session, plan.id, "telegram", 500_000, now)
    async with TelegramEmulator(username="dtbot_bench_bot") as emu:
        bot = emu.make_bot()
        channel = TelegramChannel(app, bot, limits=NO_LIMITS)
        await channel.start()
        for user in users:
            emu.add_chat(user)
        stop = asyncio.Event()
        polling = asyncio.create_task(channel.poll(stop, timeout=1))
        await emu.wait_for_call("getUpdates")
        # Each officer reports each indicator once: every message stores a figure.
        texts = [[f"{n + 1}: {random.randint(50, 99)},5%" for n in range(figures)] for _ in users]
        with settled_gc():
            result = await (paced(emu, users, texts, rate) if rate else drive(emu, users, texts))
        stop.set()
        await polling
        await bot.session.close()
        ok = sum(1 for r in emu.sent if r.text and "Đã ghi" in r.text)
        bad = [r.text for r in emu.sent if r.text and "Đã ghi" not in r.text]
        assert ok == officers * figures, f"only {ok} figures confirmed: {bad[:3]}"
    async with app.unit_of_work() as session:
        stored = await session.scalar(select(func.count()).select_from(Submission))
    assert stored == officers * figures, stored
    await app.close()
    return result


async def main(officers: int, figures: int, database_url: str | None, rate: float) -> None:
    random.seed(5)
    total = officers * figures
    backend = (database_url or "sqlite").split(":")[0]
    print(f"saturation: {officers} officers × {figures} figures, each waiting for its reply before the next")
    echo_seconds, echo_lat = await echo_bot(officers, figures)
    ceiling = report("bare aiogram echo bot", total, echo_seconds, echo_lat)
    ours_seconds, ours_lat = await our_bot(officers, figures, database_url)
    throughput = report(f"reporting bot ({backend})", total, ours_seconds, ours_lat)
    print(f"reporting bot / echo bot throughput: {throughput / ceiling:.0%}")
    with settled_gc():  # for comparison: the echo bot with the reporting bot's GC settings
        tuned = report("echo bot, same GC settings", total, *await echo_bot(officers, figures))
    print(f"reporting bot / echo bot with the same GC settings: {throughput / tuned:.0%}")
    print(f"steady load: the same {total} figures arriving at {rate:g} per second")
    report("bare aiogram echo bot", total, *await echo_bot(officers, figures, rate))
    report(f"reporting bot ({backend})", total, *await our_bot(officers, figures, database_url, rate))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=200)
    parser.add_argument("--figures", type=int, default=10)
    parser.add_argument("--database-url", help="a PostgreSQL server to run on instead of SQLite")
    parser.add_argument("--rate", type=float, default=40.0, help="updates per second in the steady phase")
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    print(PATH)
    asyncio.run(main(args.officers, args.figures, args.database_url, args.rate))
