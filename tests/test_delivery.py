"""Nothing sent twice, nothing lost: delivery and intake under send faults, crashes, a second poller
and database outages, through the real aiogram bot and the Bot API emulator over loopback.

Time is fake throughout: the emulator's flood limits, the bot's rate limiter and the app's wall
clock all read one `Seconds`, which moves only when something sleeps or a test sets it.
"""
from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.channels.sender import Limits, OutboxSender, RateLimiter, SendResult
from bot.channels.telegram import TelegramChannel
from bot.cli import import_plan_file
from bot.config import load_settings
from bot.db import make_engine, make_sessionmaker
from bot.run import serve_webhook
from bot.sqlite_inline import Patience, inline_creator
from handlers.events import Reply
from models import outbox
from models.kinds import Urgency
from models.tables import OutboxMessage, Person, Submission
from tests.telegram_emulator import TelegramEmulator
from tests.test_telegram import LAN, MINH, SMALL, TOKEN, USERNAME, Harness, Seconds

BUSY = "Hệ thống đang bận, tin nhắn của anh/chị sẽ được ghi trong ít phút, không cần gửi lại."


class LinkedClock:
    """The app's wall clock, moving with the fake seconds of the limiter and the emulator."""

    START = datetime(2025, 3, 17, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hanoi

    def __init__(self, seconds: Seconds) -> None:
        self.seconds = seconds
        self.origin = seconds.now

    def __call__(self) -> datetime:
        return self.START + timedelta(seconds=self.seconds.now - self.origin)

    def set(self, now: datetime) -> None:
        self.seconds.now = self.origin + (now - self.START).total_seconds()


@pytest.fixture
def seconds() -> Seconds:
    return Seconds()


@pytest.fixture
def clock(seconds: Seconds) -> LinkedClock:  # the app fixture's clock, in this module
    return LinkedClock(seconds)


@pytest.fixture
async def emu(seconds: Seconds) -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds) as emulator:
        yield emulator


def channel_of(app: App, emu: TelegramEmulator, seconds: Seconds) -> TelegramChannel:
    return TelegramChannel(app, emu.make_bot(), limits=Limits(), sleep=seconds.sleep, monotonic=seconds)


@asynccontextmanager
async def polling(app: App, emu: TelegramEmulator, seconds: Seconds) -> AsyncIterator[Harness]:
    """A channel polling the emulator, its sender woken only when told (no idle rounds racing
    the test's own drains)."""
    channel = channel_of(app, emu, seconds)
    await channel.start()
    harness = Harness(app, emu, channel)
    stop = asyncio.Event()
    polls = len(emu.calls_of("getUpdates"))
    harness.polling = asyncio.create_task(channel.poll(harness.stop_poll, timeout=1))
    sending = asyncio.create_task(channel.sender.run(stop, idle=3600))
    await emu.wait_for_call("getUpdates", polls + 1)
    try:
        yield harness
    finally:
        stop.set()
        await harness.stop_polling()
        await sending
        await channel.bot.session.close()


async def latest_reply(app: App) -> OutboxMessage:
    async with app.unit_of_work() as session:
        row = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    assert row is not None
    return row


async def count(app: App, table: type, *where: Any) -> int:
    async with app.unit_of_work() as session:
        return await session.scalar(select(func.count()).select_from(table).where(*where)) or 0


async def register(h: Harness) -> None:
    await h.say(LAN, f"/start {await h.invite('officer', 'an-sinh')}")
    await h.say(MINH, f"/start {await h.invite('officer', 'mao-khe')}")


# --- sending ------------------------------------------------------------------------------------


async def test_a_send_whose_answer_was_lost_goes_once_more_later_and_never_a_third_time(
        app: App, emu: TelegramEmulator, seconds: Seconds, clock: LinkedClock) -> None:
    await import_plan_file(app, SMALL)
    async with polling(app, emu, seconds) as h:
        await register(h)
        emu.lose_answers("sendMessage", times=2)
        [answer] = await h.say(LAN, "6: 120/150")  # it arrived, but the bot cannot know that
        row = await latest_reply(app)
        assert row.sent_at is None and row.claimed_by is None and row.unknown_outcomes == 1
        assert row.not_before == clock() + OutboxSender.UNKNOWN_RETRY
        clock.set(row.not_before)
        assert await h.channel.sender.drain() == 1  # the one retry, whose answer is lost too
        row = await latest_reply(app)
        assert row.failed_at is not None and row.unknown_outcomes == 2
        clock.set(clock() + timedelta(hours=1))
        assert await h.channel.sender.drain() == 0
        assert emu.messages_to(LAN).count(answer) == 2
        async with app.unit_of_work() as session:
            assert await outbox.unknown_outcomes(session) == 2  # for /metrics
        assert await count(app, Person, Person.unreachable_at.is_not(None)) == 0  # it may well have arrived
        assert h.channel.sender.unknown == 2


async def test_a_failing_chat_holds_up_neither_the_poll_loop_nor_the_other_chats(
        app: App, emu: TelegramEmulator, seconds: Seconds, clock: LinkedClock) -> None:
    await import_plan_file(app, SMALL)
    async with polling(app, emu, seconds) as h:
        await register(h)
        emu.fail_with_5xx("sendMessage", times=1)
        assert await h.say(LAN, "6: 120/150") == []  # Telegram failed: back to the queue
        [to_minh] = await h.say(MINH, "6: 90/150")  # the next update is answered at once
        assert "Đã ghi chỉ tiêu 6" in to_minh
        clock.set(clock() + timedelta(seconds=2))
        assert await h.channel.sender.drain() == 1
        assert len([text for text in emu.messages_to(LAN) if "Đã ghi chỉ tiêu 6" in text]) == 1
        assert seconds.slept == [] or max(seconds.slept) < 2  # nothing slept through a backoff


async def test_each_message_is_marked_sent_as_soon_as_it_is_sent(app: App, clock: LinkedClock) -> None:
    """Replies handed over together are marked one by one, not all after the last: a crash
    re-sends at most the one in flight."""
    async with app.unit_of_work() as session:
        rows = [outbox.new_message(key=f"m{n}", channel="console", chat_id="c", payload=Reply(f"m{n}").to_payload(),
                                   now=clock(), claim_by="here") for n in range(5)]
        session.add_all(rows)
    release = asyncio.Event()
    in_flight = asyncio.Event()
    sent: list[str] = []

    async def stalls_at_the_third(row: OutboxMessage) -> SendResult:
        if row.key == "m2":
            in_flight.set()
            await release.wait()
        sent.append(row.key)
        return SendResult(True)

    sender = OutboxSender(app.sessions, "console", stalls_at_the_third, worker="here", wall_clock=clock)
    sender.hand_over(rows)
    await in_flight.wait()
    assert await count(app, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 2
    release.set()
    await sender.settle()
    assert sent == ["m0", "m1", "m2", "m3", "m4"]
    assert await count(app, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 5


class Killed(BaseException):
    """kill -9: nothing after it runs in the process."""


@pytest.mark.parametrize("kill_at", [1, 17, 40])
async def test_a_sender_killed_mid_fan_out_loses_nothing_and_re_sends_only_what_was_in_flight(
        app: App, clock: LinkedClock, kill_at: int) -> None:
    async with app.unit_of_work() as session:
        for n in range(40):
            await outbox.enqueue(session, key=f"f{n}", channel="console", chat_id=f"c{n}",
                                 payload=Reply("prompt").to_payload(), now=clock())
    sent: list[str] = []
    dead = False

    async def dies(row: OutboxMessage) -> SendResult:
        nonlocal dead
        if dead:  # the process is gone: nothing more goes out
            raise Killed()
        sent.append(row.key)
        if len(sent) == kill_at:
            dead = True
            raise Killed()  # the message went out; the process dies before recording it
        return SendResult(True)

    async def lives(row: OutboxMessage) -> SendResult:
        sent.append(row.key)
        return SendResult(True)

    with pytest.raises(Killed):
        await OutboxSender(app.sessions, "console", dies, worker="dying", wall_clock=clock).drain(limit=10)
    clock.set(clock() + outbox.LEASE + timedelta(seconds=1))  # its claims run out
    await OutboxSender(app.sessions, "console", lives, worker="restarted", wall_clock=clock).drain()
    assert sorted(set(sent)) == sorted(f"f{n}" for n in range(40))  # nothing lost
    again = {key for key in sent if sent.count(key) > 1}
    # The one in flight goes once more, and so may those sent side by side whose marks the kill
    # beat; none more than once more, and never more than the sender has in flight.
    assert sent[kill_at - 1] in again and all(sent.count(key) == 2 for key in again)
    assert len(again) <= min(kill_at, OutboxSender.IN_FLIGHT)


async def test_a_sender_whose_lease_ran_out_neither_sends_nor_marks_what_another_took(
        app: App, clock: LinkedClock) -> None:
    async with app.unit_of_work() as session:
        for n in range(3):
            await outbox.enqueue(session, key=f"k{n}", channel="console", chat_id="c",
                                 payload=Reply(f"k{n}").to_payload(), now=clock())
    sent: list[tuple[str, str]] = []

    def sender(worker: str) -> OutboxSender:
        async def transport(row: OutboxMessage) -> SendResult:
            sent.append((worker, row.key))
            return SendResult(True, channel_message_id=worker)
        return OutboxSender(app.sessions, "console", transport, worker=worker, wall_clock=clock)

    stalled, other = sender("stalled"), sender("other")
    async with app.unit_of_work() as session:
        held = await outbox.claim(session, channel="console", worker="stalled", now=clock())
    clock.set(clock() + outbox.LEASE + timedelta(seconds=1))  # it stalls past its lease ...
    assert await other.drain() == 3  # ... another sender takes the rows over and sends them
    await stalled.deliver(held)
    assert sent == [("other", "k0"), ("other", "k1"), ("other", "k2")] and stalled.taken_over == 3
    assert await count(app, OutboxMessage, OutboxMessage.channel_message_id == "other") == 3


async def test_a_lease_that_ran_out_unclaimed_is_renewed_and_the_message_sent(app: App, clock: LinkedClock) -> None:
    async with app.unit_of_work() as session:
        await outbox.enqueue(session, key="k", channel="console", chat_id="c", payload=Reply("k").to_payload(),
                             now=clock())
    sent: list[str] = []

    async def transport(row: OutboxMessage) -> SendResult:
        sent.append(row.key)
        return SendResult(True)

    sender = OutboxSender(app.sessions, "console", transport, worker="slow", wall_clock=clock)
    async with app.unit_of_work() as session:
        held = await outbox.claim(session, channel="console", worker="slow", now=clock())
    clock.set(clock() + outbox.LEASE + timedelta(seconds=1))
    await sender.deliver(held)
    assert sent == ["k"] and await count(app, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 1


async def deliver_everything(app: App, sender: OutboxSender, clock: LinkedClock) -> float:
    """Drain, then move time on to the next retry, until nothing is left; the fake seconds taken."""
    start = clock()
    while True:
        await sender.drain()
        async with app.unit_of_work() as session:
            due = await session.scalar(select(func.min(OutboxMessage.not_before)).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)))
        if due is None:
            return (clock() - start).total_seconds()
        clock.set(max(due, clock()))


async def test_a_fan_out_through_30_faults_is_delivered_once_each_within_twice_the_time(
        app: App, emu: TelegramEmulator, seconds: Seconds, clock: LinkedClock) -> None:
    emu.rate_limit()  # Telegram's flood limits: 30 a second, about 1 a second per chat
    chats = range(1, 201)
    for chat in chats:
        emu.add_chat(chat)
    channel = channel_of(app, emu, seconds)

    async def fan_out(name: str) -> float:
        async with app.unit_of_work() as session:
            for chat in chats:
                await outbox.enqueue(session, key=f"{name}:{chat}", channel="telegram", chat_id=str(chat),
                                     payload=Reply(f"{name} {chat}").to_payload(), now=clock())
        return await deliver_everything(app, channel.sender, clock)

    try:
        calm = await fan_out("calm")
        clock.set(clock() + timedelta(minutes=1))
        emu.lose_answers("sendMessage", times=10, performed=False)  # dropped on the way
        emu.fail_next("sendMessage", error_code=429, retry_after=2, times=10)
        emu.fail_with_5xx("sendMessage", times=10)
        stormy = await fan_out("stormy")
    finally:
        await channel.bot.session.close()
    for chat in chats:
        assert emu.messages_to(chat) == [f"calm {chat}", f"stormy {chat}"]  # none lost, none twice
    assert emu.too_many_requests == 0  # the bot's own pace never drew a 429
    assert calm >= 6 and stormy <= 2 * calm, (calm, stormy)
    assert await count(app, OutboxMessage, OutboxMessage.sent_at.is_(None)) == 0


# --- the rate limiter ---------------------------------------------------------------------------


class VirtualTime:
    """Fake time for several tasks at once: sleeping tasks wake in order of their deadlines,
    and time jumps to the next deadline once every task is waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        waker = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), waker))
        await waker

    async def run(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(50):  # let every task that can run, run
                await asyncio.sleep(0)
            if self._sleepers and not task.done():
                self.now, _, waker = heapq.heappop(self._sleepers)
                waker.set_result(None)
        await task


@settings(max_examples=25, deadline=None)
@given(delays=st.lists(st.tuples(st.floats(0.0, 0.4), st.floats(0.0, 0.4)), min_size=60, max_size=120),
       senders=st.integers(1, 12))
def test_telegram_never_counts_more_than_30_arrivals_in_a_second(delays: list[tuple[float, float]],
                                                                 senders: int) -> None:
    """However long a request takes to reach Telegram and its answer to come back, no second of
    arrivals holds more than 30 messages, nor any chat more than 3 in 3 seconds."""
    time = VirtualTime()
    limiter = RateLimiter(Limits(), clock=time, sleep=time.sleep)
    arrivals: list[tuple[float, str]] = []
    queue = list(enumerate(delays))

    async def sender() -> None:
        while queue:
            number, (there, back) = queue.pop()
            chat = f"chat{number % 7}"
            async with limiter.slot(chat, group=False):
                await time.sleep(there)
                arrivals.append((time.now, chat))
                await time.sleep(back)

    async def everyone() -> None:
        await asyncio.gather(*(sender() for _ in range(senders)))

    asyncio.run(time.run(everyone()))
    assert len(arrivals) == len(delays)
    moments = sorted(moment for moment, _ in arrivals)
    for index, first in enumerate(moments):
        assert sum(1 for moment in moments[index:] if moment < first + 1.0) <= 30
    for chat in {chat for _, chat in arrivals}:
        mine = sorted(moment for moment, other in arrivals if other == chat)
        for index, first in enumerate(mine):
            assert sum(1 for moment in mine[index:] if moment < first + 3.0) <= 3


def test_the_most_urgent_waiting_send_goes_first_and_first_come_first_served_within_it() -> None:
    """One message a second allowed: while the first goes, summaries, reminders and replies queue
    up in that order; the replies go next, then the reminders, then the summaries."""
    time = VirtualTime()
    limiter = RateLimiter(Limits(per_second=1), clock=time, sleep=time.sleep)
    order: list[str] = []

    async def send(name: str, priority: int) -> None:
        async with limiter.slot(name, group=False, priority=priority):
            order.append(name)

    async def everyone() -> None:
        first = asyncio.ensure_future(send("first", Urgency.ROUTINE))
        await asyncio.sleep(0)
        queued = [("summary1", Urgency.BULK), ("summary2", Urgency.BULK), ("reminder1", Urgency.ROUTINE),
                  ("reminder2", Urgency.ROUTINE), ("reply1", Urgency.REPLY), ("reply2", Urgency.REPLY)]
        await asyncio.gather(first, *(send(name, priority) for name, priority in queued))

    asyncio.run(time.run(everyone()))
    assert order == ["first", "reply1", "reply2", "reminder1", "reminder2", "summary1", "summary2"]


def test_a_chat_held_by_its_own_limit_holds_up_no_other_chat() -> None:
    """A busy officer's ten replies (three at once, then one a second in the chat) and nine
    other officers' single replies, all at once: the others are not kept behind the busy chat."""
    time = VirtualTime()
    limiter = RateLimiter(Limits(), clock=time, sleep=time.sleep)
    granted: list[tuple[str, float]] = []

    async def chat(name: str, messages: int) -> None:
        for _ in range(messages):  # one chat's messages go in order, one after another
            async with limiter.slot(name, group=False):
                granted.append((name, time.now))

    async def everyone() -> None:
        await asyncio.gather(chat("busy", 10), *(chat(f"other{n}", 1) for n in range(9)))

    asyncio.run(time.run(everyone()))
    others = [moment for name, moment in granted if name != "busy"]
    busy = [moment for name, moment in granted if name == "busy"]
    assert len(others) == 9 and max(others) == 0.0  # all at once
    assert len(busy) == 10 and busy[2] == 0.0 and busy[3] > 0.0  # the busy chat waits for its own limit


async def test_a_message_waiting_in_the_process_past_its_lease_is_kept_and_sent_once(
        app: App, clock: LinkedClock) -> None:
    """A reminder waits minutes behind a deadline day's replies: its lease is renewed while it
    waits, so neither another sender nor this one's own drain takes it over and sends it too."""
    async with app.unit_of_work() as session:
        await outbox.enqueue(session, key="reminder", channel="console", chat_id="c",
                             payload=Reply("reminder").to_payload(), now=clock())
    release = asyncio.Event()
    sent: list[str] = []

    def sender(worker: str) -> OutboxSender:
        async def transport(row: OutboxMessage) -> SendResult:
            if worker == "waiting":
                await release.wait()  # waiting for its place at the rate limiter
            sent.append(worker)
            return SendResult(True)
        made = OutboxSender(app.sessions, "console", transport, worker=worker, wall_clock=clock)
        made.RENEW_EVERY = 0.01
        return made

    waiting = sender("waiting")
    async with app.unit_of_work() as session:
        rows = await outbox.claim(session, channel="console", worker="waiting", now=clock())
    waiting.hand_over(rows)
    for _ in range(3):  # three leases' time passes while it waits
        clock.set(clock() + outbox.LEASE - timedelta(seconds=10))
        await asyncio.sleep(0.1)  # the renewer's round
    assert await sender("other").drain() == 0  # nothing to take over
    release.set()
    await waiting.settle()
    assert sent == ["waiting"]
    assert await count(app, OutboxMessage, OutboxMessage.sent_at.is_not(None)) == 1


async def test_a_drain_claims_replies_before_reminders_before_summaries(app: App, clock: LinkedClock) -> None:
    async with app.unit_of_work() as session:
        for key, priority in (("summary", Urgency.BULK), ("reminder", Urgency.ROUTINE), ("reply", Urgency.REPLY)):
            await outbox.enqueue(session, key=key, channel="console", chat_id=key,
                                 payload=Reply(key).to_payload(), now=clock(), priority=priority)
    async with app.unit_of_work() as session:
        claimed = await outbox.claim(session, channel="console", worker="w", now=clock(), limit=2)
    assert [row.key for row in claimed] == ["reply", "reminder"]


# --- intake -------------------------------------------------------------------------------------


class Outage:
    """Sessions that fail as they do while the database is away, whenever `down` is set."""

    def __init__(self, sessions: Callable[[], Any]) -> None:
        self.sessions = sessions
        self.down = False

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Any]:
        if self.down:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "Connection refused"))
        async with self.sessions() as session:
            yield session


async def test_figures_sent_while_the_database_is_away_wait_and_are_stored_once(
        app: App, emu: TelegramEmulator, seconds: Seconds, caplog: pytest.LogCaptureFixture) -> None:
    await import_plan_file(app, SMALL)
    outage = Outage(app.sessions)
    app.sessions = app.deps.sessions = outage  # what the channel, its sender and the handlers use
    async with polling(app, emu, seconds) as h:
        await register(h)
        before = len(emu.sent)
        outage.down = True
        waiting = [emu.user_message(LAN, "6: 120/150"), emu.user_message(MINH, "6: 90/150"),
                   emu.user_message(LAN, "6: 121/150")]
        await emu.wait_for_sent(before + 2)
        polls = len(emu.calls_of("getUpdates"))
        await emu.wait_for_call("getUpdates", polls + 3)  # tried again and again, never confirmed
        assert [update["update_id"] for update in emu.pending_updates] == waiting
        assert sorted(record.text or "" for record in emu.sent[before:]) == [BUSY, BUSY]  # once per officer
        outage.down = False
        await emu.wait_until_updates_consumed()
        await h.channel.settle()
    assert await count(app, Submission) == 3
    recorded = [record.text or "" for record in emu.sent[before + 2:]]
    assert len(recorded) == 3 and all("chỉ tiêu 6 (tháng 3/2025)" in text for text in recorded)
    warnings = [record for record in caplog.records if "database is unavailable" in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None  # one line, no traceback


async def test_a_webhook_update_is_refused_with_503_while_the_database_is_away(
        app: App, emu: TelegramEmulator, seconds: Seconds, unused_tcp_port: int) -> None:
    await import_plan_file(app, SMALL)
    outage = Outage(app.sessions)
    app.sessions = app.deps.sessions = outage
    async with polling(app, emu, seconds) as h:
        await register(h)
        await h.stop_polling()
    url = f"http://127.0.0.1:{unused_tcp_port}/telegram"
    stop = asyncio.Event()
    server = asyncio.create_task(serve_webhook(h.channel, stop, url, "s3cret-token-1234", "127.0.0.1",
                                               unused_tcp_port, register=False))
    try:
        await until_listening(unused_tcp_port)
        update = emu.user_message(LAN, "6: 120/150")
        outage.down = True
        assert await emu.deliver_webhook(update, url, "s3cret-token-1234") == 503
        assert await emu.deliver_webhook(update, url, "s3cret-token-1234") == 503  # Telegram tries again
        outage.down = False
        assert await emu.deliver_webhook(update, url, "s3cret-token-1234") == 200
        assert await emu.deliver_webhook(update, url, "s3cret-token-1234") == 200  # a duplicate post
        await h.channel.settle()
    finally:
        stop.set()
        await server
        await h.channel.bot.session.close()
    assert await count(app, Submission) == 1
    assert [text for text in emu.messages_to(LAN) if text == BUSY] == [BUSY]
    assert len([text for text in emu.messages_to(LAN) if "Đã ghi chỉ tiêu 6" in text]) == 1


async def until_listening(port: int) -> None:
    for _ in range(500):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        return
    raise AssertionError("the webhook server never listened")


async def test_a_second_poller_crashes_neither_and_every_update_is_handled_once(
        app: App, database_url: str, emu: TelegramEmulator, seconds: Seconds, clock: LinkedClock,
        caplog: pytest.LogCaptureFixture) -> None:
    await import_plan_file(app, SMALL)
    other = build_app(load_settings(DATABASE_URL=database_url), clock=clock)  # another process's
    try:
        async with polling(app, emu, seconds) as first:
            await register(first)
            async with polling(other, emu, seconds) as second:
                before = len(emu.sent)
                for n in range(20):
                    emu.user_message(LAN if n % 2 else MINH, f"6: {100 + n}/150")
                await emu.wait_until_updates_consumed()
                # One poller's getUpdates confirms what the other still handles: wait for the answers.
                await emu.wait_for_sent(before + 20)
                await first.channel.settle()
                await second.channel.settle()
                assert first.polling is not None and not first.polling.done()
                assert second.polling is not None and not second.polling.done()
            conflicts = [first.channel.conflicts, second.channel.conflicts]
    finally:
        await other.close()
    assert sum(conflicts) >= 1
    assert await count(app, Submission) == 20  # each figure stored once (a version each)
    replies = [record.text or "" for record in emu.sent[before:]]
    assert len(replies) == 20 and all("chỉ tiêu 6 (tháng 3/2025)" in text for text in replies)  # once each
    told = sum("409 Conflict, 1 so far" in record.getMessage() for record in caplog.records)
    assert told == sum(1 for seen in conflicts if seen)  # said once in each process that saw it (then at 10, 100, ...)


@asynccontextmanager
async def database_away(database_url: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """A real outage while inside: on SQLite another process holds the write lock; on PostgreSQL
    the database refuses connections and every open one is killed. Yields what kills the open
    connections again (PostgreSQL's pg_terminate_backend), for use after the outage."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the write lock, as a long import-plan holds it
        try:
            yield _nothing
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    async def kill_connections() -> None:
        async with admin.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                          "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": url.database})

    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        await kill_connections()
        try:
            yield kill_connections
        finally:
            async with admin.connect() as connection:
                await connection.exec_driver_sql(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
    finally:
        await admin.dispose()


async def _nothing() -> None:
    return None


@pytest.fixture
def garbage_collected_last() -> Iterator[None]:
    """Connections PostgreSQL killed are dropped by the pool, their sockets left to the garbage
    collector, which complains: collected when the test's other fixtures are gone, so that it
    complains in this test (which expects it) rather than in whichever runs next."""
    yield
    gc.collect()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
async def test_a_real_outage_and_killed_connections_lose_no_figure(
        garbage_collected_last: None, database_url: str, emu: TelegramEmulator, seconds: Seconds,
        clock: LinkedClock) -> None:
    url = make_url(database_url)
    options: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":  # waits for the lock on the fake clock, briefly
        options["async_creator"] = inline_creator(url, Patience(timeout=5.0, clock=seconds, sleep=seconds.sleep))
    engine = make_engine(database_url, **options)
    app = App(settings=load_settings(DATABASE_URL=database_url), engine=engine, sessions=make_sessionmaker(engine),
              clock=clock)
    try:
        await app.migrate()
        await import_plan_file(app, SMALL)
        async with polling(app, emu, seconds) as h:
            await register(h)
            before = len(emu.sent)
            async with database_away(database_url) as kill_connections:
                waiting = [emu.user_message(LAN if n % 2 else MINH, f"6: {100 + n}/150") for n in range(6)]
                await emu.wait_for_sent(before + 2)  # each officer hears once that it will be recorded
                polls = len(emu.calls_of("getUpdates"))
                await emu.wait_for_call("getUpdates", polls + 2)
                assert [update["update_id"] for update in emu.pending_updates] == waiting
            await emu.wait_until_updates_consumed()
            await h.channel.settle()
            for n in range(3):  # connections killed under the pool: found before use, replaced
                await kill_connections()
                await h.say(LAN, f"6: {110 + n}/150")
            await h.channel.settle()
        assert await count(app, Submission) == 9
        assert sorted(record.text or "" for record in emu.sent[before:before + 2]) == [BUSY, BUSY]
        assert len(emu.sent) == before + 2 + 9  # and every figure answered once
    finally:
        await app.close()
