"""SQLite for the async engine without a thread hop per call.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on its own thread and wakes the
event loop for each result: about 300 µs per statement through SQLAlchemy where SQLite itself
needs 5. Under load that was most of the bot's time per update. This module gives SQLAlchemy's
aiosqlite dialect a connection with aiosqlite's interface that runs each call in the calling
thread instead, so a statement is a function call.

The price is that a statement blocks the event loop while SQLite works: microseconds for the
bot's queries, milliseconds for a summary. Waiting for a lock is the exception: the connection
never sleeps in SQLite's busy handler; when another process holds the write lock, it retries
from the event loop with ``asyncio.sleep`` until the configured timeout has passed.
"""
from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.engine import URL

T = TypeVar("T")
FIRST_WAIT = 0.001
LONGEST_WAIT = 0.1


@dataclass(frozen=True)
class Patience:
    """How long to wait for another connection's lock, and the clock and sleep to do it with
    (injected in tests)."""

    timeout: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def run(self, call: Callable[[], T]) -> T:
        """`call()`, retried while another connection holds the lock (SQLITE_BUSY), up to the
        timeout. Other failures, a stale snapshot (SQLITE_BUSY_SNAPSHOT) among them, raise at once."""
        deadline: float | None = None
        wait = FIRST_WAIT
        while True:
            try:
                return call()
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorname", None) != "SQLITE_BUSY":
                    raise
                if deadline is None:
                    deadline = self.clock() + self.timeout
                if self.clock() + wait > deadline:
                    raise
                await self.sleep(wait)
                wait = min(wait * 2, LONGEST_WAIT)


class InlineCursor:
    __slots__ = ("_cursor", "_patience")

    def __init__(self, cursor: sqlite3.Cursor, patience: Patience) -> None:
        self._cursor = cursor
        self._patience = patience

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await self._patience.run(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)
        await self._patience.run(lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _RunNow:
    """Stands in for aiosqlite's queue of calls, which SQLAlchemy uses to set the isolation level."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to whoever awaits the future
            future.set_exception(error)


class InlineConnection:
    """The part of ``aiosqlite.Connection`` SQLAlchemy's aiosqlite dialect uses."""

    def __init__(self, connection: sqlite3.Connection, patience: Patience) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._patience = patience
        self._tx = _RunNow()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._conn.cursor(), self._patience)

    async def commit(self) -> None:
        await self._patience.run(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._conn.isolation_level = value


def inline_creator(url: URL, patience: Patience) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: connections to the database `url` names,
    opened as the aiosqlite dialect would open them."""
    dialect = url.get_dialect()()
    args, kwargs = dialect.create_connect_args(url)
    kwargs.pop("timeout", None)
    # The pool may close a connection from another thread (garbage collection); calls are
    # otherwise all made from the event loop's thread.
    kwargs.update(timeout=0, check_same_thread=False)

    async def connect() -> InlineConnection:
        return InlineConnection(sqlite3.connect(*args, **kwargs), patience)

    return connect
