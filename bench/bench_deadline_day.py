"""Deadline day for a province: every officer sends the month's figures in a burst while the day's
reminders go out, through the Telegram emulator with Telegram's limits on.

    .venv/bin/python bench/bench_deadline_day.py [--officers 3000] [--messages 2] [--figures 30]
        [--window 120] [--latency 0.05] [--database-url URL | --sqlite] [--tricks]

A plan of N communes × M monthly indicators, one registered officer per commune. At the reminder
instant of the month's deadline day (the clock runs at real speed from there), the scheduler's tick
queues the day's reminders, and every officer, at a random moment within `--window` seconds, sends
the month's figures as `--messages` messages back to back (a list of "n: value" lines each), without
waiting for replies. The real TelegramChannel polls the emulator, whose flood limits are on (30 per
second overall, about 1 per second per chat) and whose every send takes `--latency` seconds on the
network; the real sender delivers replies and reminders.

Prints, for the figures: time from sending a message to its figures being stored (p50/p95/max), and
to its reply; the replies' and reminders' rate while the bot was sending, as a share of the 30/s
Telegram allows; 429 answers; and checks nothing was lost or doubled (every figure stored once, one
reply per message, at most one reminder per officer). PostgreSQL on loopback by default (a
throwaway database on the server), `--sqlite` for a SQLite file.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from sqlalchemy import select

from bench.generated import fresh_database, plan_yaml, register_officers
from bot.app import build_app
from bot.channels.telegram import TelegramChannel, make_bot
from bot.config import load_settings
from bot.run import settle_long_lived_objects
from handlers.schedule import plan_schedule
from models import store
from models.due import Kind
from models.plans import load_plan_file
from models.tables import Submission
from scheduler.tick import tick
from tests.telegram_emulator import TelegramEmulator

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LIMIT = 30  # Telegram's messages per second, enforced by the emulator
FIRST_CHAT = 20_000_000
POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    q = statistics.quantiles(values, n=100) if len(values) > 1 else [values[0]] * 99
    return f"p50 {q[49]:8.0f} ms   p95 {q[94]:8.0f} ms   max {max(values):8.0f} ms"


def messages_of(figures: int, messages: int, rng: random.Random) -> list[str]:
    """The month's figures of one officer, as `messages` lists of "n: value" lines."""
    lines = [f"{n}: {rng.randint(50, 99)},{rng.randint(0, 9)}%" for n in range(1, figures + 1)]
    size = -(-figures // messages)
    return ["\n".join(lines[start:start + size]) for start in range(0, figures, size)]


async def reminder_instant(app, plan_id: int) -> datetime:  # type: ignore[no-untyped-def]
    """When the plan's first reminder of March falls (deadline day's morning by default)."""
    async with app.sessions() as session:
        _, _, items = await plan_schedule(session, app.deps, plan_id)
    march = datetime(2025, 3, 1, tzinfo=ZONE)
    return min(item.fire_at for item in items if item.kind == Kind.REMINDER and item.fire_at >= march)


async def run(args: argparse.Namespace, url: str) -> None:
    rng = random.Random(19)
    base = time.monotonic()
    start_at = datetime(2025, 3, 20, 8, 0, tzinfo=ZONE)  # replaced by the reminder's instant below

    def clock() -> datetime:  # the deadline day's morning, running at real speed
        return start_at + timedelta(seconds=time.monotonic() - base)

    async with TelegramEmulator(username="dtbot_deadline_bot") as emu:
        emu.rate_limit(per_second=LIMIT)
        emu.latency = args.latency
        app = build_app(load_settings(DATABASE_URL=url, BOT_TOKEN=emu.token, TELEGRAM_API_URL=emu.base_url),
                        clock=clock)
        await app.migrate()
        setup = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="dtbot-deadline-") as folder:
            path = Path(folder) / "plan.yaml"
            # Collected from March: the officers owe this month only (no overdue February notices).
            text = plan_yaml(args.officers, args.figures, code="DEADLINE").replace(
                "year: 2025}", 'year: 2025, collect_from: "2025-03"}')
            path.write_text(text, encoding="utf-8")
            async with app.unit_of_work() as session:
                await store.import_plan(session, load_plan_file(path), "deadline", clock())
            async with app.unit_of_work() as session:
                plan = await store.get_plan(session, "DEADLINE")
                # Registered in the month's first days: an officer who registers after a reminder's
                # time is welcomed instead of reminded (scheduler/tick.py), which would leave the
                # deadline day without its reminders.
                chats = await register_officers(session, plan.id, "telegram", FIRST_CHAT,
                                                datetime(2025, 3, 2, 9, 0, tzinfo=ZONE))
        start_at = await reminder_instant(app, plan.id)
        base = time.monotonic()
        for chat in chats:
            emu.add_chat(chat, "private", first_name="Cán bộ")
        print(f"{args.officers:,} officers, {args.figures} monthly indicators; ready in "
              f"{time.perf_counter() - setup:.1f} s; the day's reminders fall at {start_at:%d/%m/%Y %H:%M}")

        bot = make_bot(app.settings.bot_token.get_secret_value(), app.settings.telegram_api_url)
        channel = TelegramChannel(app, bot)  # production limits, sender and intake
        await channel.start()
        settle_long_lived_objects()
        stop = asyncio.Event()
        sending = asyncio.create_task(channel.sender.run(stop))
        polling = asyncio.create_task(channel.poll(stop, timeout=1))
        await emu.wait_for_call("getUpdates")

        sent_at: dict[tuple[int, int], float] = {}  # (chat, message id) -> time.monotonic() it was sent
        stored_at: dict[tuple[int, int], float] = {}  # -> when its unit of work was committed
        deliver = channel.intake_queue.deliver

        async def committed(item, outcome):  # type: ignore[no-untyped-def]
            if item.event.message_id:  # called as soon as the event's unit of work is committed
                stored_at[(int(item.event.chat_id), int(item.event.message_id))] = time.monotonic()
            await deliver(item, outcome)

        channel.intake_queue.deliver = committed
        order: dict[int, list[int]] = {}  # chat -> its officer's message ids, in order
        texts = {chat: messages_of(args.figures, args.messages, rng) for chat in chats}

        async def officer(chat: int) -> None:
            await asyncio.sleep(rng.uniform(0, args.window))
            for text in texts[chat]:
                now = time.monotonic()
                update = emu.user_message(chat, text)
                message_id = emu.updates[update]["message"]["message_id"]
                sent_at[(chat, message_id)] = now
                order.setdefault(chat, []).append(message_id)

        began, cpu = time.monotonic(), time.process_time()
        officers = asyncio.gather(*(officer(chat) for chat in chats))
        report = await tick(app.deps, clock())  # the day's reminders, queued the same minute
        channel.sender.wake.set()
        await officers
        per_officer = len(next(iter(texts.values())))
        expected = len(chats) * per_officer + len(report.queued)
        deadline = time.monotonic() + args.timeout
        while len(emu.sent) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        busy = time.process_time() - cpu
        await asyncio.sleep(2)  # anything sent twice would show now
        stop.set()
        await polling
        await sending
        await bot.session.close()
        async with app.sessions() as session:
            rows = (await session.execute(select(Submission.message_ref, Submission.submitted_at,
                                                 Submission.version))).all()
        await app.close()

    figures_per_message: Counter[tuple[int, int]] = Counter()
    for ref, _, version in rows:
        chat, message = (int(x) for x in ref.split(":"))
        figures_per_message[(chat, message)] += 1 if version == 1 else 1000
    store_ms = [(stored_at[key] - sent) * 1000 for key, sent in sent_at.items() if key in stored_at]

    reply_ms: list[float] = []
    bot_sends: list[float] = []
    replies: Counter[int] = Counter()
    reminded: Counter[int] = Counter()
    for record in sorted(emu.sent, key=lambda r: r.time):
        bot_sends.append(record.time)
        if record.text and "Đã ghi" in record.text:
            replies[record.chat_id] += 1
            message_id = order[record.chat_id][replies[record.chat_id] - 1]
            reply_ms.append((record.time - sent_at[(record.chat_id, message_id)]) * 1000)
        else:
            reminded[record.chat_id] += 1

    total = len(bot_sends)
    span = bot_sends[-1] - bot_sends[0] if total > 1 else 0.0
    # A sliding one-second window lets the first LIMIT go at once: the fastest N can go is (N - LIMIT) / LIMIT s.
    fastest = max(total - LIMIT, 0) / LIMIT
    # While a backlog waits (the middle 90% of the bot's messages, leaving out the start and the tail
    # of the last chats' own one-a-second), as a share of 30/s and of what a guarantee of no 429 can
    # reach when each send takes `latency` (a send counts in Telegram's window from its release until
    # its answer: at most 30 per 1 + latency seconds).
    low, high = bot_sends[total // 20], bot_sends[total - 1 - total // 20]
    busy_rate = (total - 2 * (total // 20) - 1) / (high - low) if high > low else 0.0
    ceiling = LIMIT / (1 + args.latency)
    messages = len(sent_at)
    print(f"{messages:,} messages with {sum(figures_per_message.values()):,} figures from {len(chats):,} officers "
          f"over {args.window:g} s; {len(report.queued):,} reminders queued by the tick; network latency "
          f"{args.latency * 1000:.0f} ms per send")
    print(f"sent → stored:  {quantiles(store_ms)}")
    print(f"sent → replied: {quantiles(reply_ms)}")
    print(f"bot messages: {total:,} in {span:.1f} s from the first to the last = {total / span if span else 0:.1f}/s, "
          f"{(fastest / span if span else 0):.1%} of the fastest {LIMIT}/s allows ({fastest:.1f} s); "
          f"whole run {time.monotonic() - began:.1f} s")
    print(f"while a backlog waited (middle 90%): {busy_rate:.1f}/s = {busy_rate / LIMIT:.1%} of {LIMIT}/s, "
          f"{busy_rate / ceiling:.1%} of the {ceiling:.1f}/s a no-429 guarantee allows at this latency")
    stored = sorted(stored_at.values())
    print(f"messages stored: {len(stored) / (stored[-1] - stored[0]):.1f}/s from the first to the last; "
          f"the bot process (and the emulator in it) used {busy:.1f} s of CPU in {time.monotonic() - began:.1f} s")
    print(f"429 answers: {emu.too_many_requests}")
    lost = [key for key in sent_at if key not in figures_per_message]
    doubled = [key for key, n in figures_per_message.items() if n != -(-args.figures // args.messages)
               and n != args.figures - (args.messages - 1) * -(-args.figures // args.messages)]
    unanswered = sum(1 for chat in chats if replies[chat] != per_officer)
    twice = sum(1 for n in reminded.values() if n > 1)
    print(f"messages not stored: {len(lost)}; messages stored other than once: {len(doubled)}; "
          f"officers without exactly one reply per message: {unanswered}; officers reminded twice: {twice}")


async def main(args: argparse.Namespace) -> None:
    server = None if args.sqlite else args.database_url
    async with fresh_database(server) as url:
        print(PATH, "·", "SQLite" if server is None else "PostgreSQL (throwaway database)")
        await run(args, url)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officers", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=2, help="messages per officer, back to back")
    parser.add_argument("--figures", type=int, default=30, help="monthly indicators, all reported")
    parser.add_argument("--window", type=float, default=120.0, help="seconds over which the officers start")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds each send takes on the network")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--database-url", default=POSTGRES, help="a PostgreSQL server (a throwaway database on it)")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument(FLAG, action="store_true", help=HELP)
    asyncio.run(main(parser.parse_args()))
