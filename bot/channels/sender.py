"""Delivery that survives the messenger, crashes and other processes: rate limits, retries, and
the durable outbox.

Each channel's sender claims due messages under a lease, waits for the rate limiter, sends, and
marks each message sent as soon as its send returns and the database takes the write, so a crash
re-sends at most the messages in flight. A sender only sends and marks rows whose claim it still
holds (the claim's token is checked in the same statement), so a sender whose lease ran out never
sends what another took over. A failed send goes back to the queue with a backoff instead of being
retried in place, so neither the drain nor the poll loop waits for it; a send whose answer was lost
is retried once, later.
With several processes on one PostgreSQL database, only the one holding the bot's sender turn
(bot/singleton.py) sends; the others queue and nudge it.
The clock and the sleep are injected, so tests run without waiting for real time.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from models import outbox
from models.availability import database_unavailable
from models.kinds import Urgency
from models.tables import OutboxMessage

if TYPE_CHECKING:
    from bot.singleton import SenderTurn
    from handlers.inbox import Inbound, Outcome

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass
class Limits:
    """Telegram's published limits: about 30 messages a second overall, one a second in a chat
    (short bursts tolerated), and no more than 20 a minute in a group."""

    per_second: float = 30
    private_burst: int = 3
    private_interval: float = 1.0
    group_per_minute: int = 20


class _Slot:
    """One message's place in the windows: from its release until its answer came (`end`)."""

    __slots__ = ("end",)

    def __init__(self) -> None:
        self.end = math.inf  # in flight


def _wait(window: deque[_Slot], span: float, allowed: int, now: float) -> float:
    """Seconds until one more message fits `allowed` per `span` (inf: when one in flight ends)."""
    while window and window[0].end <= now - span:
        window.popleft()
    counting = sorted(slot.end for slot in window if slot.end > now - span)
    if len(counting) < allowed:
        return 0.0
    return counting[len(counting) - allowed] + span - now


@dataclass(eq=False)
class _Waiter:
    """A send waiting for its place: granted the slot it will hold, or given up (cancelled)."""

    chat_id: str
    group: bool
    granted: asyncio.Future[_Slot]


@dataclass
class RateLimiter:
    """Keeps within Telegram's limits as Telegram counts them: when a message arrives, which is
    somewhere between our release of it and its answer. A message holds its place in every window
    from its release until its answer plus the window's span, so no window of arrivals can hold
    more than allowed, whatever the network's delays. One limiter serves every sender of a bot in
    the process (replies and scheduled messages alike).

    Who goes next: the waiting send of the most urgent priority (a reply before a reminder before
    a summary), first come first served within a priority, whose chat may receive now. A chat
    that must wait (its own limits) does not hold up the others, and a busy chat gets its turn
    after every other waiting chat of its priority, since each chat's sends come one at a time
    (OutboxSender keeps each chat's messages in order). Places are given out when one is asked
    for, when a send ends, and when a window frees up (a timer), never by polling."""

    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    _global: deque[_Slot] = field(default_factory=deque)
    _chats: dict[str, deque[_Slot]] = field(default_factory=dict)
    _waiting: list[tuple[int, int, _Waiter]] = field(default_factory=list)  # heap: (priority, arrival)
    _arrivals: itertools.count[int] = field(default_factory=itertools.count)
    _timer_at: float | None = None
    _timers: set[asyncio.Task[None]] = field(default_factory=set)
    _sweep_at: int = 1000

    @asynccontextmanager
    async def slot(self, chat_id: str, group: bool, priority: int = 0) -> AsyncIterator[None]:
        """Hold a place for one API call to `chat_id` while it runs; lower `priority` goes first."""
        waiter = _Waiter(chat_id, group, asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiting, (priority, next(self._arrivals), waiter))
        self._grant()
        slot: _Slot | None = None
        try:
            slot = await waiter.granted
            yield
        finally:
            if slot is None and waiter.granted.done() and not waiter.granted.cancelled():
                slot = waiter.granted.result()  # granted, then cancelled before it could run
            waiter.granted.cancel()  # still waiting: given up (skipped when its turn comes)
            if slot is not None:
                slot.end = self.clock()
            self._grant()  # the place it held, or its turn, may let another go
            self._forget_idle()

    def _chat_wait(self, waiter: _Waiter, now: float) -> float:
        limits = self.limits
        chat = self._chats.setdefault(waiter.chat_id, deque())
        wait = _wait(chat, limits.private_interval * limits.private_burst, limits.private_burst, now)
        if waiter.group:
            wait = max(wait, _wait(chat, 60.0, limits.group_per_minute, now))
        return wait

    def _grant(self) -> None:
        """Give places to waiting sends, most urgent first, while the limits allow."""
        now = self.clock()
        while self._waiting:
            wait = _wait(self._global, 1.0, int(self.limits.per_second), now)
            if wait > 0:  # full: a window frees up later, or a send in flight ends (which calls this)
                self._wake_in(wait, now)
                return
            chosen: _Waiter | None = None
            skipped: list[tuple[int, int, _Waiter]] = []
            soonest = math.inf
            while self._waiting:
                entry = heapq.heappop(self._waiting)
                waiter = entry[2]
                if waiter.granted.done():  # given up
                    continue
                chat_wait = self._chat_wait(waiter, now)
                if chat_wait <= 0:
                    chosen = waiter
                    break
                skipped.append(entry)
                soonest = min(soonest, chat_wait)
            for entry in skipped:
                heapq.heappush(self._waiting, entry)
            if chosen is None:
                self._wake_in(soonest, now)
                return
            slot = _Slot()
            self._global.append(slot)
            self._chats[chosen.chat_id].append(slot)
            chosen.granted.set_result(slot)

    def _wake_in(self, seconds: float, now: float) -> None:
        """Look again once `seconds` have passed (inf: a send's end will call _grant)."""
        if math.isinf(seconds):
            return
        at = now + seconds
        if self._timer_at is not None and self._timer_at <= at:
            return
        self._timer_at = at
        timer = asyncio.ensure_future(self._timer(at, seconds))
        self._timers.add(timer)
        timer.add_done_callback(self._timers.discard)

    async def _timer(self, at: float, seconds: float) -> None:
        await self.sleep(seconds)
        if self._timer_at == at:
            self._timer_at = None
        self._grant()

    def _forget_idle(self) -> None:
        """Drop the windows of chats where nothing counts any more, now and then (a province
        has thousands of chats, each written to a few times a month)."""
        if len(self._chats) < self._sweep_at:
            return
        before = self.clock() - 60.0
        waiting = {entry[2].chat_id for entry in self._waiting}
        for chat_id, window in list(self._chats.items()):
            if chat_id not in waiting and all(slot.end <= before for slot in window):
                del self._chats[chat_id]
        self._sweep_at = max(1000, 2 * len(self._chats))


@dataclass
class SendResult:
    ok: bool
    channel_message_id: str | None = None
    retry_after: float | None = None  # transient: try again after this many seconds
    permanent: str | None = None  # never deliverable: blocked, chat gone
    error: str | None = None
    unknown: bool = False  # the request went out but its answer was lost: sent or not, nobody knows


Transport = Callable[[OutboxMessage], Awaitable[SendResult]]


class OutboxSender:
    """Claims and sends one channel's queued messages; several may run, in several processes."""

    # A claim with less than this left is renewed (checking it is still ours) before a send: more
    # than a send takes, with room for clocks that differ between machines.
    RENEW_BELOW = timedelta(seconds=30)
    # A send whose answer was lost (a timeout, a dropped connection) is tried once more, a little
    # later: a second copy is better than none, a third more likely to annoy than to inform.
    UNKNOWN_RETRY = timedelta(seconds=5)
    RENEW_EVERY = 10.0  # seconds between renewals of the leases of rows waiting in the process
    MAX_BACKOFF = 300.0
    IN_FLIGHT = 100  # claimed by a drain and not yet sent: about three seconds of Telegram's rate
    DATABASE_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0)  # 15.5 s in all, well within a lease

    def __init__(self, sessions, channel: str, transport: Transport, *, worker: str,  # type: ignore[no-untyped-def]
                 wall_clock: Callable[[], datetime], sleep: Sleep = asyncio.sleep) -> None:
        self.sessions = sessions
        self.channel = channel
        self.transport = transport
        self.worker = worker
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.wake = asyncio.Event()
        self.sent = 0
        self.failed = 0
        self.retried = 0  # sends put back in the queue (429, 5xx, network)
        self.unknown = 0  # sends whose answer was lost (also counted in the outbox itself)
        self.taken_over = 0  # rows another sender claimed after this one's lease ran out
        # The last delivery handed over, per chat and priority.
        self._chats: dict[tuple[str, int], asyncio.Task[BaseException | None]] = {}
        self._group: _Outcomes | None = None  # outcomes waiting to be written together
        self._writing: set[asyncio.Task[None]] = set()
        # Rows claimed and waiting in this process (behind a chat's earlier messages, or for the
        # rate limiter while more urgent ones go first): their leases are kept renewed, so no
        # other sender, nor this one's own drain, takes one over while it waits.
        self._holding: dict[int, OutboxMessage] = {}
        self._renewer: asyncio.Task[None] | None = None
        # Across processes on PostgreSQL: this one sends only while it holds the turn.
        self.turn: SenderTurn | None = None

    @property
    def sends(self) -> bool:
        """Whether this process sends now (else it only queues, and the holder of the turn sends)."""
        return self.turn is None or self.turn.held

    async def deliver(self, rows: list[OutboxMessage]) -> None:
        """Send messages this process holds, in order."""
        for row in rows:
            await self._send_one(row)

    async def take(self, items: list[Inbound], outcomes: list[Outcome]) -> None:
        """What handling these events queued: the rows this process claimed go out in the
        background (hand_over), rows queued unclaimed nudge the holder of the sender turn, and a
        reply that could not even be queued is sent as it is. The same for every channel."""
        held = [row for outcome in outcomes for row in outcome.held]
        if held:
            self.hand_over(held)
        if any(outcome.replies and not outcome.held for outcome in outcomes):
            self.wake.set()
        for item, outcome in zip(items, outcomes, strict=True):
            for reply in outcome.unsent:
                await self.transport(OutboxMessage(id=0, chat_id=item.event.chat_id, payload=reply.to_payload(),
                                                   priority=Urgency.REPLY))

    def hand_over(self, rows: list[OutboxMessage],
                  on_done: Callable[[int], None] | None = None) -> list[asyncio.Task[BaseException | None]]:
        """Send messages this process holds in the background and return at once (the replies to
        a polled batch: the poll loop goes on). Each chat's messages of one priority go out in
        order, after the ones handed over before them; chats and priorities go side by side (the
        rate limiter picks the most urgent). `on_done(n)` is told as each chat's share is done."""
        by_chat: dict[tuple[str, int], list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault((row.chat_id, row.priority), []).append(row)
            if row.id:
                self._holding[row.id] = row
        if self._holding and (self._renewer is None or self._renewer.done()):
            self._renewer = asyncio.create_task(self._keep_leases())
        tasks = []
        for chain, sequence in by_chat.items():
            task = asyncio.create_task(self._after(self._chats.get(chain), sequence, on_done))
            self._chats[chain] = task
            task.add_done_callback(lambda done, chain=chain: self._forget(chain, done))
            tasks.append(task)
        return tasks

    def _forget(self, chain: tuple[str, int], task: asyncio.Task[BaseException | None]) -> None:
        if self._chats.get(chain) is task:
            del self._chats[chain]

    async def _after(self, previous: asyncio.Task[Any] | None, rows: list[OutboxMessage],
                     on_done: Callable[[int], None] | None) -> BaseException | None:
        """Deliver `rows` after the chain's previous delivery; what stops a process (an exit, a
        cancellation) in a send is returned, for the drain that handed them over to raise in its
        caller's place (raised here, an exit would leave the event loop from a background task)."""
        if previous is not None:
            await asyncio.wait([previous])
        try:
            await self.deliver(rows)
        except Exception as exc:  # the database, most likely: the leases run out and a drain takes them
            log.warning("delivering %d held %s messages failed (%s); they are sent again later",
                        len(rows), self.channel, type(exc).__name__)
        except BaseException as exc:
            return exc
        finally:
            if on_done is not None:
                on_done(len(rows))
        return None

    async def settle(self) -> None:
        """Wait for every delivery handed over so far."""
        while self._chats:
            await asyncio.wait(list(self._chats.values()))
        if not self._holding and self._renewer is not None:
            self._renewer.cancel()

    async def drain(self, limit: int = 50) -> int:
        """Claim and send what is due until nothing is; returns how many were handled. Claimed
        messages go out side by side (each chat's in order), the most urgent first, with up to
        IN_FLIGHT of them claimed and not yet sent: enough to keep the messenger's rate busy
        over a slow network, few enough that none waits in memory for long."""
        handled = 0
        outstanding = 0
        fewer = asyncio.Event()
        chains: list[asyncio.Task[BaseException | None]] = []

        def done(count: int) -> None:
            nonlocal outstanding
            outstanding -= count
            fewer.set()

        async def fewer_in_flight() -> None:
            fewer.clear()
            await fewer.wait()
            await self._stop_if_fatal(chains)
            chains[:] = [chain for chain in chains if not chain.done()]

        while self.sends:  # a turn lost meanwhile: what is in hand is finished, no more taken
            await self._stop_if_fatal(chains)
            room = self.IN_FLIGHT - outstanding
            if room <= 0:
                await fewer_in_flight()
                continue
            async with self.sessions() as session:
                rows = await outbox.claim(session, channel=self.channel, worker=self.worker,
                                          now=self.wall_clock(), limit=min(limit, room))
                await session.commit()
            if not rows:
                break
            outstanding += len(rows)
            handled += len(rows)
            chains.extend(self.hand_over(rows, done))
        while outstanding > 0:
            await fewer_in_flight()
        await self._stop_if_fatal(chains)
        return handled

    async def _stop_if_fatal(self, chains: list[asyncio.Task[BaseException | None]]) -> None:
        """What stops a process (an exit, a cancellation) in one delivery stops all its sending;
        the marks of what was sent are written first, so that none of it goes out again."""
        for chain in chains:
            stopped = chain.exception() or chain.result() if chain.done() and not chain.cancelled() else None
            if stopped is not None:
                for other in list(self._chats.values()):
                    other.cancel()
                await asyncio.gather(*self._writing, return_exceptions=True)
                raise stopped

    async def run(self, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Drain whenever woken, and every `idle` seconds for retries and other processes' work;
        at a stop, the deliveries handed over are finished."""
        failing = False
        while not stop.is_set():
            if self.sends:
                try:
                    await self.drain()
                    failing = False
                except Exception as exc:  # keep delivering; the database may be back on the next round
                    if not failing:  # one line per outage, not one per round
                        log.warning("outbox drain failed for %s (%s); retrying", self.channel, type(exc).__name__)
                    failing = True
            elif self.wake.is_set() and self.turn is not None:
                self.turn.nudge()  # messages were queued here: the holder of the turn sends them
            self.wake.clear()
            waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        await self.settle()

    async def _send_one(self, row: OutboxMessage) -> None:
        try:
            if not await self._patiently(self._still_held, row):
                self.taken_over += 1
                return
            try:
                result = await self.transport(row)
            except Exception as exc:  # a bug in rendering must not stop the queue
                log.exception("sending outbox message %s failed", row.id)
                result = SendResult(False, permanent=f"{type(exc).__name__}")
            await self._patiently(self._record, row, result)
        finally:
            self._holding.pop(row.id, None)

    async def _keep_leases(self) -> None:
        """While rows wait in this process, renew the leases running short, every RENEW_EVERY
        seconds of real time, in one statement (a deadline day's replies may wait minutes for
        Telegram's 30 a second)."""
        failing = False
        while self._holding:
            await asyncio.sleep(self.RENEW_EVERY)
            now = self.wall_clock()
            due = [row for row in self._holding.values()
                   if row.claimed_until is None or row.claimed_until - now < self.RENEW_BELOW]
            if not due:
                continue
            try:
                async with self.sessions() as session:
                    kept = await outbox.renew_many(session, [(row.id, row.claimed_by) for row in due], now)
                    await session.commit()
            except Exception as exc:  # the database: tried again next round; each send checks its own
                if not failing:
                    log.warning("renewing %d %s leases failed (%s)", len(due), self.channel, type(exc).__name__)
                failing = True
                continue
            failing = False
            for row in due:
                if row.id in kept:
                    row.claimed_until = now + outbox.LEASE

    async def _patiently(self, step: Callable[..., Awaitable[T]], *args: Any) -> T:
        """A step against the database, tried again for a while when the database is unavailable
        (a killed connection, a restart): a message sent but not yet marked would otherwise go
        out again once its lease ran out. The row stays ours meanwhile."""
        for wait in self.DATABASE_WAITS:
            try:
                return await step(*args)
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
            await self.sleep(wait)
        return await step(*args)

    async def _still_held(self, row: OutboxMessage) -> bool:
        """Whether this sender still holds the row's claim; renewed when it runs short. While more
        than RENEW_BELOW is left nobody else can have taken it, so no statement is needed."""
        now = self.wall_clock()
        if row.claimed_until is not None and row.claimed_until - now > self.RENEW_BELOW:
            return True
        async with self.sessions() as session:
            until = await outbox.renew(session, row.id, row.claimed_by, now)
            await session.commit()
        if until is None:
            return False
        row.claimed_until = until
        return True

    def _backoff(self, result: SendResult, attempt: int) -> float:
        if result.retry_after is not None:
            return result.retry_after
        return min(self.MAX_BACKOFF, 2.0 ** attempt)

    async def _record(self, row: OutboxMessage, result: SendResult) -> None:
        """The send's outcome, written as soon as the database takes it. Outcomes that arrive
        while a write waits (for SQLite's one writer, behind a batch's transaction) join it, so a
        burst of sends is marked in one transaction, not in as many queued one after another."""
        group = self._group
        if group is None:
            group = self._group = _Outcomes(asyncio.get_running_loop().create_future())
            writing = asyncio.create_task(self._write(group))
            self._writing.add(writing)  # held, or the loop could lose the task
            writing.add_done_callback(self._writing.discard)
        group.outcomes.append((row, result))
        await asyncio.shield(group.written)

    async def _write(self, group: _Outcomes) -> None:
        try:
            async with self.sessions() as session:
                if self._group is group:  # from here on, outcomes form the next group
                    self._group = None
                now = self.wall_clock()
                for row, result in group.outcomes:
                    await self._apply(session, row, result, now)
                await session.commit()
        except Exception as exc:
            if self._group is group:
                self._group = None
            group.written.set_exception(exc)
            return
        for row, result in group.outcomes:
            self._count(row, result)
        group.written.set_result(None)

    async def _apply(self, session: Any, row: OutboxMessage, result: SendResult, now: datetime) -> None:
        attempt = row.attempts + 1
        unknown = row.unknown_outcomes + (1 if result.unknown else 0)
        if result.ok:
            if not await outbox.mark_sent(session, row.id, row.claimed_by, result.channel_message_id, attempt, now):
                # Its lease ran out during the send and another sender took it: it may go twice.
                log.warning("outbox message %s was sent after another sender took it over", row.id)
        elif result.permanent is not None:
            await outbox.mark_failed(session, row.id, row.claimed_by, result.permanent, now, row.person_id,
                                     attempt, unknown)
        elif result.unknown and unknown > 1:
            # Lost twice: a third copy would more likely annoy than inform.
            await outbox.mark_failed(session, row.id, row.claimed_by, "outcome unknown twice", now, None,
                                     attempt, unknown)
        else:
            delay = self.UNKNOWN_RETRY if result.unknown else timedelta(seconds=self._backoff(result, attempt))
            await outbox.mark_retry(session, row.id, row.claimed_by, result.error or "retry", now + delay,
                                    attempt, unknown)

    def _count(self, row: OutboxMessage, result: SendResult) -> None:
        if result.ok:
            self.sent += 1
        elif result.permanent is not None or (result.unknown and row.unknown_outcomes >= 1):
            self.failed += 1
        else:
            self.retried += 1
        if result.unknown:
            self.unknown += 1


@dataclass
class _Outcomes:
    """Send outcomes written together, and the future their senders wait on."""

    written: asyncio.Future[None]
    outcomes: list[tuple[OutboxMessage, SendResult]] = field(default_factory=list)
