"""Delivery that survives the messenger: rate limits, retries, and the durable outbox.

One sender per channel drains that channel's outbox: it claims due messages, waits for the rate
limiter, sends, and marks each sent (or retried later, or failed for good). The clock and the
sleep are injected, so tests run without waiting for real time.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models import outbox
from models.tables import OutboxMessage

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Limits:
    """Telegram's published limits: about 30 messages a second overall, one a second in a chat
    (short bursts tolerated), and no more than 20 a minute in a group."""

    per_second: float = 30
    private_burst: int = 3
    private_interval: float = 1.0
    group_per_minute: int = 20
    # Telegram counts a message when it arrives, we when we release it: a few milliseconds of
    # network jitter would otherwise put a 31st message into one of Telegram's seconds.
    window_slack: float = 0.02


@dataclass
class RateLimiter:
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    _global: deque[float] = field(default_factory=deque)
    _chats: dict[str, deque[float]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _wait_for(self, chat_id: str, group: bool, now: float) -> float:
        """Seconds until one more message to this chat keeps within every window."""
        waits = [0.0]
        window = self._global
        second = 1.0 + self.limits.window_slack
        while window and window[0] <= now - second:
            window.popleft()
        if len(window) >= self.limits.per_second:
            waits.append(window[len(window) - int(self.limits.per_second)] + second - now)
        chat = self._chats.setdefault(chat_id, deque())
        # Every chat: about one a second, short bursts tolerated; groups also 20 a minute.
        windows = [(self.limits.private_interval * self.limits.private_burst, self.limits.private_burst)]
        if group:
            windows.append((60.0, self.limits.group_per_minute))
        longest = max(span for span, _ in windows)
        while chat and chat[0] <= now - longest:
            chat.popleft()
        for span, allowed in windows:
            recent = [moment for moment in chat if moment > now - span]
            if len(recent) >= allowed:
                waits.append(recent[len(recent) - allowed] + span - now)
        return max(waits)

    async def acquire(self, chat_id: str, group: bool) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                wait = self._wait_for(chat_id, group, now)
                if wait <= 0:
                    self._global.append(now)
                    self._chats[chat_id].append(now)
                    return
                await self.sleep(wait)


@dataclass
class SendResult:
    ok: bool
    channel_message_id: str | None = None
    retry_after: float | None = None  # transient: try again after this many seconds
    permanent: str | None = None  # never deliverable: blocked, chat gone
    error: str | None = None


Transport = Callable[[OutboxMessage], Awaitable[SendResult]]


class OutboxSender:
    """Claims and sends one channel's queued messages; several may run, in several processes."""

    MAX_ATTEMPTS = 6

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

    async def deliver(self, rows: list[OutboxMessage]) -> None:
        """Send messages this process already holds, in order."""
        for row in rows:
            await self._send_one(row)

    async def deliver_together(self, rows: list[OutboxMessage]) -> None:
        """Send messages this process holds, each chat's in order and chats side by side, then
        record every outcome in one transaction (replies to a batch of updates)."""
        by_chat: dict[str, list[OutboxMessage]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        outcomes: list[tuple[OutboxMessage, SendResult, int]] = []

        async def one_chat(sequence: list[OutboxMessage]) -> None:
            for row in sequence:
                outcomes.append(await self._attempt(row))

        await asyncio.gather(*(one_chat(sequence) for sequence in by_chat.values()))
        await self._record(outcomes)

    async def drain(self, limit: int = 50) -> int:
        """Claim and send what is due until nothing is; returns how many were handled."""
        handled = 0
        while True:
            async with self.sessions() as session:
                rows = await outbox.claim(session, channel=self.channel, worker=self.worker,
                                          now=self.wall_clock(), limit=limit)
                await session.commit()
            if not rows:
                return handled
            await self.deliver(rows)
            handled += len(rows)

    async def run(self, stop: asyncio.Event, idle: float = 5.0) -> None:
        """Drain whenever woken, and every `idle` seconds for retries and other processes' work."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:  # keep delivering; the database may be back on the next round
                log.exception("outbox drain failed for %s", self.channel)
            self.wake.clear()
            waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _send_one(self, row: OutboxMessage) -> None:
        await self._record([await self._attempt(row)])

    async def _attempt(self, row: OutboxMessage) -> tuple[OutboxMessage, SendResult, int]:
        """Send, retrying transient failures; the last outcome and the attempts made (a transient
        failure after MAX_ATTEMPTS is tried again in a later round)."""
        attempt = row.attempts
        while True:
            try:
                result = await self.transport(row)
            except Exception as exc:  # a bug in rendering must not stop the queue
                log.exception("sending outbox message %s failed", row.id)
                result = SendResult(False, permanent=f"{type(exc).__name__}")
            attempt += 1
            if result.ok or result.permanent is not None or attempt >= self.MAX_ATTEMPTS:
                return row, result, attempt
            await self.sleep(self._backoff(result, attempt))

    @staticmethod
    def _backoff(result: SendResult, attempt: int) -> float:
        return result.retry_after if result.retry_after is not None else min(60.0, 2.0 ** attempt)

    async def _record(self, outcomes: list[tuple[OutboxMessage, SendResult, int]]) -> None:
        if not outcomes:
            return
        now = self.wall_clock()
        async with self.sessions() as session:
            sent = [(row.id, result.channel_message_id, attempt) for row, result, attempt in outcomes if result.ok]
            await outbox.mark_all_sent(session, sent, now)
            for row, result, attempt in outcomes:
                if result.ok:
                    continue
                if result.permanent is not None:
                    await outbox.mark_failed(session, row.id, result.permanent, now, row.person_id, attempt)
                    self.failed += 1
                else:
                    # Leave it for a later round rather than hold the queue.
                    await outbox.mark_retry(session, row.id, result.error or "retry",
                                            now + timedelta(seconds=self._backoff(result, attempt)), attempt)
            await session.commit()
        self.sent += len(sent)
