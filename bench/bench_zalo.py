"""The Zalo channel end to end, beside the Telegram channel in the same run, and a fan-out of
scheduled prompts at Zalo's configured rate.

    .venv/bin/python bench/bench_zalo.py [--officers 100] [--figures 5] [--steady 20] [--fanout 1000] [--rate 10]
                                         [--database-url URL]

1. Saturation: N officers (registered in the database beforehand) each send M figures, one after
   another, waiting for each reply, all at once, through the Zalo emulator (tests/zalo_emulator.py,
   loopback HTTP, getUpdates one update per call) and the real ZaloChannel; then the same load
   through the Telegram emulator and the real TelegramChannel. Rate limiters off: this measures
   processing and the one-update-per-call intake, not the platforms' limits. Prints updates per
   second and update-to-reply p50/p95; then the same figures arriving at a steady `--steady` per
   second (the reply time an officer sees below saturation), Zalo then Telegram.
2. Fan-out: one tick's prompts to `--fanout` Zalo officers, delivered by the production sender at
   `--rate` per second (ZALO_RATE_PER_SECOND) with the emulator refusing (429) anything beyond
   that rate or one a second per chat after a burst of three. Prints the delivery time, the achieved
   rate as a share of the configured one, 429 answers and duplicates. At 10/s, 1,000 take ~100 s.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench.bench_telegram import our_bot as telegram_bot, settled_gc
from bench.generated import fresh_database, plan_yaml, register_officers
from bot.app import build_app
from bot.channels.sender import Limits
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import ZaloApi
from bot.config import load_settings
from models import store
from models.plans import load_plan_file
from models.tables import OutboxMessage, Submission
from scheduler.tick import tick
from tests.zalo_emulator import ZaloEmulator

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN = "1234567890:zalo-BENCH-token"
NO_LIMITS = Limits(per_second=1e9, private_burst=10**9, private_interval=1e-9, group_per_minute=10**9)
PROMPT_AT = datetime(2025, 1, 15, 8, 0, tzinfo=ZONE)


class Replies:
    """Counts the bot's messages per chat as they arrive."""

    def __init__(self, emu: ZaloEmulator) -> None:
        self.emu = emu
        self.seen = 0
        self.counts: Counter[str] = Counter()
        self.waiting: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(0.0005)
            new = self.emu.sent[self.seen:]
            self.seen += len(new)
            for record in new:
                self.counts[record.chat_id] += 1
                for count, future in self.waiting.get(record.chat_id, ()):
                    if self.counts[record.chat_id] >= count and not future.done():
                        future.set_result(None)

    async def until(self, chat: str, count: int) -> None:
        if self.counts[chat] >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self.waiting.setdefault(chat, [])
        waiters.append((count, future))
        try:
            await future
        finally:
            waiters.remove((count, future))


async def drive(emu: ZaloEmulator, users: list[str], messages: list[list[str]]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    replies = Replies(emu)
    watcher = asyncio.create_task(replies.watch())

    async def one_user(user: str, texts: list[str]) -> None:
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


async def paced(emu: ZaloEmulator, users: list[str], messages: list[list[str]],
                rate: float) -> tuple[float, list[float]]:
    """Messages arriving at a steady `rate` per second (officers taking turns): the reply time
    an officer sees on a busy reporting day, below saturation."""
    latencies: list[float] = []
    replies = Replies(emu)
    watcher = asyncio.create_task(replies.watch())
    sent: Counter[str] = Counter()
    order = [(user, text) for round_ in zip(*messages, strict=True) for user, text in zip(users, round_, strict=True)]

    async def one(user: str, text: str) -> None:
        sent[user] += 1
        number = sent[user]
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


def report(name: str, count: int, seconds: float, latencies: list[float]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(f"{name:<28} {count} updates in {seconds:6.2f} s = {count / seconds:7.1f} updates/s   "
          f"update→reply p50 {q[49]:6.1f} ms  p95 {q[94]:6.1f} ms")


async def zalo_bot(officers: int, figures: int, database_url: str | None,
                   rate: float | None = None) -> tuple[float, list[float]]:
    async with fresh_database(database_url) as url:
        now = datetime(2025, 3, 17, 9, 0, tzinfo=ZONE)
        app = build_app(load_settings(DATABASE_URL=url), clock=lambda: now)
        await app.migrate()
        with tempfile.TemporaryDirectory(prefix="dtbot-bench-") as folder:
            plan_path = Path(folder) / "plan.yaml"
            plan_path.write_text(plan_yaml(officers, figures), encoding="utf-8")
            async with app.unit_of_work() as session:
                await store.import_plan(session, load_plan_file(plan_path), "bench", now)
                plan = await store.get_plan(session, "BENCH")
                users = [str(chat) for chat in await register_officers(session, plan.id, "zalo", 700_000, now)]
        async with ZaloEmulator(token=TOKEN) as emu:
            for user in users:
                emu.names[user] = f"Cán bộ {user}"
            api = ZaloApi(TOKEN, emu.base_url)
            channel = ZaloChannel(app, api, limits=NO_LIMITS)
            await channel.start()
            stop = asyncio.Event()
            polling = asyncio.create_task(channel.poll(stop, timeout=1))
            await emu.wait_for_call("getUpdates")
            texts = [[f"{n + 1}: {random.randint(50, 99)},5%" for n in range(figures)] for _ in users]
            with settled_gc():
                result = await (paced(emu, users, texts, rate) if rate else drive(emu, users, texts))
            stop.set()
            await polling
            await channel.sender.settle()
            await api.close()
            ok = sum(1 for r in emu.sent if r.text and "Đã ghi" in r.text)
            assert ok == officers * figures, f"only {ok} figures confirmed"
        async with app.unit_of_work() as session:
            stored = await session.scalar(select(func.count()).select_from(Submission))
        assert stored == officers * figures, stored
        await app.close()
        return result


async def fanout(officers: int, rate: float, database_url: str | None) -> None:
    started = time.monotonic()

    def clock() -> datetime:  # the prompt's morning at real speed (leases expire as they would)
        return PROMPT_AT + timedelta(seconds=time.monotonic() - started)

    async with fresh_database(database_url) as url, ZaloEmulator(token=TOKEN) as emu:
        emu.rate_limit(per_second=int(rate), per_chat_per_second=1.0, chat_burst=3)
        app = build_app(load_settings(DATABASE_URL=url, ZALO_BOT_TOKEN=TOKEN, ZALO_API_URL=emu.base_url,
                                      ZALO_RATE_PER_SECOND=str(rate)), clock=clock)
        await app.migrate()
        with tempfile.TemporaryDirectory(prefix="dtbot-fanout-") as folder:
            path = Path(folder) / "fan.yaml"
            path.write_text(plan_yaml(officers, 2, code="FAN", ratio_every=2), encoding="utf-8")
            async with app.unit_of_work() as session:
                await store.import_plan(session, load_plan_file(path), "fan", clock())
            async with app.unit_of_work() as session:
                plan = await store.get_plan(session, "FAN")
                chats = await register_officers(session, plan.id, "zalo", 20_000_000, clock())
        for chat in chats:
            emu.names[str(chat)] = "Cán bộ"
        api = ZaloApi(TOKEN, emu.base_url)
        channel = ZaloChannel(app, api)  # the production limiter at ZALO_RATE_PER_SECOND
        t0 = time.perf_counter()
        queued = await tick(app.deps, PROMPT_AT)
        t1 = time.perf_counter()
        await channel.sender.drain()
        t2 = time.perf_counter()
        again = await tick(app.deps, PROMPT_AT, senders={"zalo": channel.sender})
        await api.close()
        async with app.unit_of_work() as session:
            unsent = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                          .where(OutboxMessage.sent_at.is_(None)))
        await app.close()
    per_chat = Counter(record.chat_id for record in emu.sent)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    sending = t2 - t1
    achieved = len(emu.sent) / sending if sending else 0.0
    fastest = max(len(emu.sent) - rate, 0) / rate
    too_many = len([c for c in emu.calls_of("sendMessage") if c.status == 429])
    print(f"tick queued {len(queued.queued):,} prompts in {t1 - t0:.2f} s")
    print(f"delivered {len(emu.sent):,} messages to {len(per_chat):,} chats in {sending:.1f} s (left unsent: {unsent})")
    print(f"achieved rate: {achieved:.2f} msg/s = {achieved / rate:.1%} of the configured {rate:g}/s "
          f"({fastest / sending:.1%} of the fastest it allows: {fastest:.1f} s)")
    print(f"429 answers: {too_many}")
    print(f"duplicates: {duplicates}")
    print(f"second tick at the same instant: {len(again.queued)} queued, {again.delivered} delivered")


async def main(officers: int, figures: int, fan: int, rate: float, steady: float, database_url: str | None) -> None:
    random.seed(5)
    total = officers * figures
    backend = (database_url or "sqlite").split(":")[0]
    print(f"saturation: {officers} officers × {figures} figures, each waiting for its reply before the next")
    report(f"zalo channel ({backend})", total, *await zalo_bot(officers, figures, database_url))
    report(f"telegram channel ({backend})", total, *await telegram_bot(officers, figures, database_url))
    if steady:
        print(f"steady load: the same {total} figures arriving at {steady:g} per second")
        report(f"zalo channel ({backend})", total, *await zalo_bot(officers, figures, database_url, steady))
        report(f"telegram channel ({backend})", total, *await telegram_bot(officers, figures, database_url, steady))
    if fan:
        print(f"fan-out: one tick's prompts to {fan:,} Zalo officers at {rate:g}/s")
        await fanout(fan, rate, database_url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=100)
    parser.add_argument("--figures", type=int, default=5)
    parser.add_argument("--fanout", type=int, default=1000, help="Zalo officers prompted in the fan-out (0: none)")
    parser.add_argument("--rate", type=float, default=10.0, help="ZALO_RATE_PER_SECOND for the fan-out")
    parser.add_argument("--steady", type=float, default=20.0, help="updates per second in the steady phase (0: none)")
    parser.add_argument("--database-url", help="a PostgreSQL server to run on instead of SQLite")
    args = parser.parse_args()
    asyncio.run(main(args.officers, args.figures, args.fanout, args.rate, args.steady, args.database_url))
