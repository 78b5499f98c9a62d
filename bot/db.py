"""Engine, sessions and migrations."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    _write_ahead_log(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _write_ahead_log(cursor: Any, tries: int = 50) -> None:
    """Switch the file to WAL (kept in the file, so once is enough). Switching needs the file to
    itself and SQLite may refuse it at once rather than wait when several processes open a new
    file together (start-up): tried again, briefly. Runs in the connection's own thread."""
    for attempt in range(tries):
        try:
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # sqlite3's OperationalError, as the driver in use wraps it
            if "locked" not in str(exc).lower() or attempt == tries - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


class SerializedSessions:
    """Sessions taken one at a time (with SQLITE_INLINE only).

    The inline driver runs every statement in the event loop's thread, so overlapping units of
    work gain nothing, and SQLite's busy handler would make the losers sleep in growing steps (up
    to 100 ms) in no order; queued in asyncio they take turns at once. The cost: one unit of work
    holding its session across slow work holds up all the others. Other processes on the same file
    (the tick command, an import) still wait through the busy timeout.
    """

    def __init__(self, factory: async_sessionmaker[AsyncSession]) -> None:
        self.factory = factory
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[AsyncSession]:
        async with self.lock:
            async with self.factory() as session:
                yield session


def make_sessionmaker(engine: AsyncEngine, *, serialized: bool = False
                      ) -> async_sessionmaker[AsyncSession] | SerializedSessions:
    """Sessions side by side by default: one event's long unit of work (a summary being drawn)
    must not hold up every other chat's, and a unit of work writes only at its end
    (handlers/inbox.py). `serialized` (with SQLITE_INLINE, whose statements run in the event loop's
    thread anyway) queues them in asyncio instead."""
    factory = async_sessionmaker(engine, expire_on_commit=False)
    return SerializedSessions(factory) if serialized else factory


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
