"""One poller per bot and database: a second `run` polling the same bot token against the same
database refuses to start (Telegram would otherwise cut the two processes' long polls off in
turn). Webhook workers need no such guard: any number may share the work of receiving; sending
is one process's at a time on PostgreSQL (SenderTurn), so that their sum keeps Telegram's limits.

PostgreSQL: a session advisory lock, held on a connection of its own while the process polls.
SQLite: an exclusive lock on a file beside the database (the processes share a machine).
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.db import make_engine
from models.availability import database_unavailable

try:
    import fcntl
except ImportError:  # Windows: one commune's laptop runs one bot anyway
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


class AlreadyPolling(Exception):
    """Another process polls this bot against this database."""


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def sole_poller(database_url: str, channel: str, bot_id: str) -> AsyncIterator[None]:
    name = f"dtbot-poll:{channel}:{bot_id}"
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        engine = make_engine(database_url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                if not await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(name)}):
                    raise AlreadyPolling()
                await connection.commit()
                try:
                    yield
                finally:
                    # The lock ends with its session anyway: a connection the server dropped meanwhile
                    # has released it already.
                    with contextlib.suppress(SQLAlchemyError, OSError):
                        await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(name)})
                        await connection.commit()
        finally:
            await engine.dispose()
        return
    if fcntl is None or not url.database or url.database == ":memory:":
        yield
        return
    path = Path(url.database).with_name(f"{Path(url.database).name}.{channel}-{bot_id}.poll.lock")
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyPolling() from None
        yield  # the lock goes with the descriptor, also when the process dies
    finally:
        os.close(handle)


class SenderTurn:
    """One sender per bot across the processes sharing a PostgreSQL database (webhook workers):
    whoever holds a session advisory lock sends, the others only queue into the outbox and tell
    the holder (NOTIFY) that there is something to send. Telegram's limits (30 a second, about
    one a second per chat) are then kept by one process's limiter, with no coordination per
    message. The lock lives with its connection: when the holder dies or loses its connection,
    the server releases it and another process takes it within `retry` seconds.

    A holder whose connection the server dropped learns it at its next check (within `retry`),
    and meanwhile finishes the batch it has claimed: two senders overlap for at most that long,
    only after a lost connection."""

    def __init__(self, database_url: str, channel: str, bot_id: str, *, on_wake: Callable[[], None],
                 retry: float = 1.0) -> None:
        self.key = lock_key(f"dtbot-send:{channel}:{bot_id}")
        self.topic = f"dtbot_send_{self.key & 0xFFFF_FFFF_FFFF_FFFF:016x}"  # LISTEN's name: at most 63 bytes
        self.on_wake = on_wake
        self.retry = retry
        self.held = False
        self._database_url = database_url
        self._nudge = asyncio.Event()

    @staticmethod
    def applies(database_url: str) -> bool:
        """SQLite serves one machine, usually one process: its sender keeps its own limiter."""
        return make_url(database_url).get_backend_name() == "postgresql"

    def nudge(self) -> None:
        """Tell the holder that messages were queued (a process that does not send)."""
        self._nudge.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Try to become the sender until `stop`, and hold the turn while the connection lasts."""
        engine = make_engine(self._database_url, poolclass=NullPool)
        failing = False
        try:
            while not stop.is_set():
                try:
                    async with engine.connect() as connection:
                        await self._take_and_hold(connection, stop)
                except Exception as exc:  # a process that cannot send still queues: keep trying
                    if not failing:  # one line per outage
                        log.log(logging.WARNING if database_unavailable(exc) else logging.ERROR,
                                "sender turn: cannot reach the lock (%s); trying again",
                                type(exc).__name__, exc_info=not database_unavailable(exc))
                    failing = True
                else:
                    failing = False
                if self.held and not stop.is_set():
                    log.warning("sender turn: lost with the database connection; another process may send")
                self.held = False
                await _wait(stop, self.retry)
        finally:
            self.held = False
            await engine.dispose()  # closing the connection releases the lock

    async def _take_and_hold(self, connection: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.held:
                taken = await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
                await connection.commit()
                if taken:
                    raw = await connection.get_raw_connection()
                    await raw.driver_connection.add_listener(self.topic, self._notified)
                    self.held = True
                    log.info("sender turn: this process sends for the bot")
                    self.on_wake()  # what the others queued meanwhile
            if self.held:
                # The lock is held as long as this connection lives: check it does.
                await connection.execute(text("SELECT 1"))
                self._nudge.clear()  # the holder's own sender is woken directly
            elif self._nudge.is_set():
                self._nudge.clear()
                await connection.execute(text("SELECT pg_notify(:topic, '')"), {"topic": self.topic})
            await connection.commit()
            nudged = asyncio.ensure_future(self._nudge.wait())
            await _wait(stop, self.retry, nudged)

    def _notified(self, *_: Any) -> None:
        self.on_wake()


async def _wait(stop: asyncio.Event, seconds: float, *also: asyncio.Future[Any]) -> None:
    """Until `stop`, one of `also`, or `seconds` have passed; `also` is cancelled."""
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([stopped, *also], timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for waiter in (stopped, *also):
        waiter.cancel()
