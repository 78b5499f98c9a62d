"""Engine, sessions and migrations."""
from __future__ import annotations

import asyncio
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
from models.availability import database_unavailable  # noqa: F401  (re-exported: bot's callers)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    url = make_url(database_url)
    prepare_sqlite_folder(url)
    if url.get_backend_name() == "sqlite":
        # Several writers (bot, tick, CLI) may share one file: wait up to 30 s for the lock
        # instead of failing.
        kwargs.setdefault("async_creator", inline_creator(url, Patience(timeout=30.0)))
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
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SerializedSessions:
    """Sessions taken one at a time, for SQLite.

    SQLite has one writer; when transactions overlap, its busy handler makes the losers sleep in
    growing steps (up to 100 ms), which under load costs far more than queueing them in asyncio.
    So in one process, units of work on SQLite run one after another. Other processes on the same
    file still wait through the busy timeout.
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
    # Not SerializedSessions by default: one event's long unit of work (a summary being drawn)
    # would hold up every other chat's.
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


MIGRATION_LOCK = 0x347146E4751F2AAF  # pg_advisory_xact_lock's key: any fixed number, the same everywhere


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on the engine's database. On PostgreSQL, processes
    starting together (webhook workers) migrate one after another: the others wait on an advisory
    lock, then find nothing left to do."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        await connection.run_sync(_upgrade, revision)


def _upgrade(connection: Any, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def current_revision(connection: AsyncConnection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
