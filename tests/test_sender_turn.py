"""One sender per bot across processes on PostgreSQL (bot/singleton.py's SenderTurn): two webhook
"processes" (two apps, each with its own engine, channel, limiter and sender) on one database,
against the Bot API emulator with Telegram's flood limits on. Only the holder of the turn sends;
the other queues and nudges it; when the holder dies, the other takes over.

Fake time as in test_delivery: the limiters, the emulator and the apps' wall clocks read one
`Seconds`. The turns themselves retry on real time (a few hundredths of a second here).
"""
from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.channels.sender import Limits
from bot.channels.telegram import TelegramChannel
from bot.cli import import_plan_file
from bot.config import load_settings
from bot.run import serve_webhook
from bot.singleton import SenderTurn
from handlers.events import Reply
from models import outbox
from models.tables import OutboxMessage, Submission
from tests.conftest import BACKENDS
from tests.databases import throwaway_postgres
from tests.telegram_emulator import TelegramEmulator
from tests.test_delivery import LinkedClock, channel_of, count, polling, register, until_listening
from tests.test_telegram import LAN, MINH, SMALL, TOKEN, USERNAME, Seconds

SECRET = "s3cret-token-1234"
BOT_ID = TOKEN.split(":", 1)[0]


@pytest.fixture(params=[backend for backend in BACKENDS if backend == "postgresql"])
async def postgres_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with throwaway_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def clock(seconds: Seconds) -> LinkedClock:
    return LinkedClock(seconds)


@pytest.fixture
async def emu(seconds: Seconds) -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds) as emulator:
        yield emulator


@dataclass
class Process:
    """What one `run` process in webhook mode holds: its app, channel, sender and turn."""

    app: App
    channel: TelegramChannel
    url: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def turn(self) -> SenderTurn:
        assert self.channel.sender.turn is not None
        return self.channel.sender.turn

    async def kill(self) -> None:
        """As kill -9 does: everything stops where it is, its connections close."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


@contextlib.asynccontextmanager
async def webhook_process(database_url: str, emu: TelegramEmulator, seconds: Seconds, clock: LinkedClock,
                          port: int) -> AsyncIterator[Process]:
    app = build_app(load_settings(DATABASE_URL=database_url), clock=clock)
    channel = channel_of(app, emu, seconds)
    channel.sender.turn = SenderTurn(database_url, "telegram", BOT_ID, on_wake=channel.sender.wake.set, retry=0.05)
    process = Process(app, channel, f"http://127.0.0.1:{port}/telegram")
    process.tasks = [
        asyncio.create_task(process.turn.run(process.stop)),
        asyncio.create_task(channel.sender.run(process.stop, idle=3600)),  # woken only, no idle rounds
        asyncio.create_task(serve_webhook(channel, process.stop, process.url, SECRET, "127.0.0.1", port,
                                          register=False)),
    ]
    try:
        await until_listening(port)
        yield process
    finally:
        process.stop.set()
        await asyncio.gather(*process.tasks, return_exceptions=True)
        await channel.bot.session.close()
        await app.close()


async def unsent(app: App) -> int:
    return await count(app, OutboxMessage, OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


async def all_marked_sent(app: App, timeout: float = 30.0) -> bool:
    """Whether every message is marked sent within the timeout: a send is marked after its answer
    is back, so the last marks may trail the emulator's count of what it received."""
    for _ in range(int(timeout / 0.05)):
        if await unsent(app) == 0:
            return True
        await asyncio.sleep(0.05)
    return False


async def senders_of_sent(app: App, after: int) -> set[str]:
    """The workers that sent the messages queued after row `after`."""
    async with app.unit_of_work() as session:
        tokens = await session.scalars(select(OutboxMessage.claimed_by).where(
            OutboxMessage.sent_at.is_not(None), OutboxMessage.id > after))
        return {(token or "").rsplit("/", 1)[0] for token in tokens}


async def fan_out(process: Process, clock: LinkedClock, name: str, chats: range) -> None:
    """Scheduled messages, queued in `process` as a tick queues them, and its sender woken."""
    async with process.app.unit_of_work() as session:
        for chat in chats:
            await outbox.enqueue(session, key=f"{name}:{chat}", channel="telegram", chat_id=str(chat),
                                 payload=Reply(f"{name} {chat}").to_payload(), now=clock())
    process.channel.sender.wake.set()


async def test_two_webhook_processes_send_through_one_and_telegram_refuses_nothing(
        postgres_url: str, emu: TelegramEmulator, seconds: Seconds, clock: LinkedClock,
        unused_tcp_port_factory: Callable[[], int]) -> None:
    setup = build_app(load_settings(DATABASE_URL=postgres_url), clock=clock)
    try:
        await setup.migrate()
        await import_plan_file(setup, SMALL)
        async with polling(setup, emu, seconds) as h:
            await register(h)
        async with setup.unit_of_work() as session:
            registration = await session.scalar(select(func.max(OutboxMessage.id))) or 0
    finally:
        await setup.close()
    emu.rate_limit()  # Telegram's flood limits: 30 a second, about 1 a second per chat
    chats = range(2001, 2201)
    for chat in chats:
        emu.add_chat(chat)
    before = len(emu.sent)
    async with webhook_process(postgres_url, emu, seconds, clock, unused_tcp_port_factory()) as first, \
            webhook_process(postgres_url, emu, seconds, clock, unused_tcp_port_factory()) as second:
        await until(lambda: first.turn.held or second.turn.held, "one process takes the turn")
        holder, other = (first, second) if first.turn.held else (second, first)
        assert not other.turn.held and not other.channel.sender.sends

        # Scheduled messages queued in both, figures posted to both: all sent by the holder.
        await fan_out(other, clock, "a", chats[:100])
        await fan_out(holder, clock, "b", chats[100:])
        for n in range(20):
            update = emu.user_message(LAN if n % 2 else MINH, f"6: {100 + n}/150")
            assert await emu.deliver_webhook(update, (first, second)[n % 2].url, SECRET) == 200
        await until(lambda: len(emu.sent) >= before + 220, "everything is sent")
        assert await all_marked_sent(holder.app)
        assert await senders_of_sent(holder.app, registration) == {holder.channel.worker}

        # The holder dies in the middle of a fan-out; the other takes over and sends the rest.
        sent_before = len(emu.sent)
        await fan_out(other, clock, "c", chats)
        await until(lambda: len(emu.sent) >= sent_before + 40, "the fan-out is under way")
        await holder.kill()
        await until(lambda: other.turn.held, "the other process takes the turn over")
        clock.set(clock() + outbox.LEASE + timedelta(seconds=1))  # the dead holder's claims run out
        other.channel.sender.wake.set()
        await until(lambda: {record.text for record in emu.sent} >= {f"c {chat}" for chat in chats},
                    "the rest is sent")
        assert await all_marked_sent(other.app)
        assert other.channel.worker in await senders_of_sent(other.app, registration)

    assert emu.too_many_requests == 0  # the two processes together kept Telegram's limits
    for chat in chats:
        texts = emu.messages_to(chat)
        assert texts[0] == (f"a {chat}" if chat < 2101 else f"b {chat}")  # the first fan-out, once
        assert texts.count(f"c {chat}") in (1, 2) and set(texts[1:]) == {f"c {chat}"}
    repeated = sum(emu.messages_to(chat).count(f"c {chat}") - 1 for chat in chats)
    # At most the messages in flight when the holder died went twice: sends go side by side, but
    # the rate limiter lets no more than one second's worth (30) be on their way at once.
    assert repeated <= Limits().per_second
    replies = [record.text or "" for record in emu.sent[before:] if record.chat_id in (LAN, MINH)]
    assert len(replies) == 20 and all("chỉ tiêu 6 (tháng 3/2025)" in text for text in replies)  # once each
    check = build_app(load_settings(DATABASE_URL=postgres_url), clock=clock)
    try:
        assert await count(check, Submission) == 20
    finally:
        await check.close()


async def test_the_turn_is_held_by_one_process_and_passes_on_when_its_holder_stops(postgres_url: str) -> None:
    woken: list[str] = []
    first = SenderTurn(postgres_url, "telegram", BOT_ID, on_wake=lambda: woken.append("first"), retry=0.05)
    second = SenderTurn(postgres_url, "telegram", BOT_ID, on_wake=lambda: woken.append("second"), retry=0.05)
    other_bot = SenderTurn(postgres_url, "telegram", "999", on_wake=lambda: woken.append("other bot"), retry=0.05)
    stop_first, stop_rest = asyncio.Event(), asyncio.Event()
    running = [asyncio.create_task(first.run(stop_first))]
    await until(lambda: first.held, "the first takes the turn")
    running += [asyncio.create_task(second.run(stop_rest)), asyncio.create_task(other_bot.run(stop_rest))]
    try:
        await until(lambda: other_bot.held, "another bot's turn is its own")
        assert not second.held
        second.nudge()  # the other process queued something: the holder is woken
        await until(lambda: woken.count("first") == 2, "the holder hears the nudge")
        stop_first.set()
        await running[0]
        await until(lambda: second.held, "the turn passes on")
        assert not first.held and woken[-1] == "second"
    finally:
        stop_first.set()
        stop_rest.set()
        await asyncio.gather(*running)


def test_sqlite_keeps_one_sender_per_process() -> None:
    assert not SenderTurn.applies("sqlite+aiosqlite:///bot.db")
    assert SenderTurn.applies("postgresql+asyncpg://postgres@127.0.0.1/bot")
