"""Engine, sessions and migrations."""
from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from bot.config import prepare_sqlite_folder
from bot.sqlite_inline import Patience, inline_creator

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


SQLITE_BUSY_TIMEOUT = 30.0  # seconds a writer waits for another one's lock (bot, tick, CLI share a file)


def make_engine(database_url: str, *, sqlite_inline: bool = False, **kwargs: Any) -> AsyncEngine:
    """The engine for `database_url`. On SQLite, aiosqlite as SQLAlchemy ships it: each connection
    has its own thread, so a long query waits there, not in the event loop, and a writer waits
    up to SQLITE_BUSY_TIMEOUT for the lock inside SQLite. `sqlite_inline` (the SQLITE_INLINE
    setting) runs statements in the event loop's thread instead (bot/sqlite_inline.py)."""
    url = make_url(database_url)
    prepare_sqlite_folder(url)
    if url.get_backend_name() == "sqlite":
        if sqlite_inline:
            kwargs.setdefault("async_creator", inline_creator(url, Patience(timeout=SQLITE_BUSY_TIMEOUT)))
        else:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, **kwargs.get("connect_args", {})}
    else:
        # A connection the server dropped (a restart, pg_terminate_backend, an idle timeout) is
        # found and replaced before use, instead of failing the first statement sent on it.
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or written now (down, restarting, a
    dropped connection, SQLite's lock held past the wait), as opposed to a bug or bad data:
    the work is worth doing again later, unchanged."""
    # Refused, reset, timed out, no such host; asyncpg's "Multiple exceptions" when every
    # address failed is a bare OSError. (A missing file is an OSError too, but a bug.)
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, PoolTimeout)) or type(exc) is OSError:
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc.orig, sqlite3.OperationalError):
            return any(word in str(exc.orig).lower() for word in ("locked", "busy", "unable to open", "disk i/o"))
        return isinstance(exc, (OperationalError, InterfaceError)) or _asyncpg_unavailable(exc.orig)
    return _asyncpg_unavailable(exc)


def _asyncpg_unavailable(exc: BaseException | None) -> bool:
    """PostgreSQL's answers for a server going away or not taking connections (yet): connection
    exceptions (08), operator intervention (57P: shut down, starting up), too many connections
    (53300), a database closed to connections (55000, ALLOW_CONNECTIONS false). They reach us bare
    (connecting) or wrapped (on a connection in use)."""
    while exc is not None:
        state = getattr(exc, "sqlstate", None) or ""
        if state.startswith(("08", "57P")) or state == "53300" or type(exc).__name__ == "ConnectionDoesNotExistError":
            return True
        if state == "55000" and "accepting connections" in str(exc):
            return True
        exc = exc.__cause__
    return False


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SerializedSessions:
    """Sessions taken one at a time, for SQLite.

    SQLite has one writer, and a unit of work takes the write lock early (an update is marked
    handled first). When this process's units overlap, SQLite's busy handler makes the losers
    sleep in growing steps (up to 100 ms) and in no order, so under load a batch could starve
    behind the sender's marks. Queued in asyncio they take turns at once, and outcomes that
    arrive while a write waits join it (sender.py). Other processes on the same file (the tick
    command, an import) still wait through the busy timeout. A unit of work should therefore
    not hold its session across slow work (drawing a chart).
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        async with self.lock:
            async with self.factory() as session:
                yield session


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession] | SerializedSessions:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    if engine.url.get_backend_name() == "sqlite":
        return SerializedSessions(factory)
    return factory


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


MIGRATION_LOCK = 0x347146E4751F2AAF  # pg_advisory_xact_lock's key: any fixed number, the same everywhere


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database. Processes starting together
    (webhook workers, the bot and a CLI command) migrate one after another: the others wait on an
    advisory lock (PostgreSQL) or the write lock (SQLite), then find nothing left to do."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        elif connection.dialect.name == "sqlite":
            # Python's sqlite3 runs DDL outside any transaction, so two migrators would both find
            # no alembic_version and both create it. The write lock first: the others wait for it
            # (the busy timeout), then find nothing left to do; and a migration is all or nothing.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        await connection.run_sync(_upgrade, revision)


def _upgrade(connection: Any, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def current_revision(connection: AsyncConnection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
