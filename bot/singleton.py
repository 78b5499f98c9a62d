"""One poller per bot and database: a second `run` polling the same bot token against the same
database refuses to start (Telegram would otherwise cut the two processes' long polls off in
turn). Webhook workers need no such guard: any number may share the work.

PostgreSQL: a session advisory lock, held on a connection of its own while the process polls.
SQLite: an exclusive lock on a file beside the database (the processes share a machine).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from bot.db import make_engine

try:
    import fcntl
except ImportError:  # Windows: one commune's laptop runs one bot anyway
    fcntl = None  # type: ignore[assignment]


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
