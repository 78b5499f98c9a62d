"""SQLite on the standard path (bot/db.py): aiosqlite as SQLAlchemy ships it, a pool of
connections each on its own thread, and writers that wait for SQLite's write lock (up to 30 s)
instead of failing with "database is locked" — two transactions at once (as from two processes:
the app queues its own units of work), a tick and a burst of chats, another process holding the
lock. Reads stay outside transactions (Python's legacy transaction control), so a unit of work
that read first can still write after another one committed."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.pool import AsyncAdaptedQueuePool

from bot.app import build_app
from bot.config import load_settings
from bot.db import SQLITE_BUSY_TIMEOUT, SerializedSessions, make_engine


def url_in(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder}/stock.db"


async def make_table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))


async def values(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(await connection.scalars(text("SELECT v FROM t ORDER BY id")))


async def turns_while(task: asyncio.Task[object], turns: int = 20) -> None:
    """Let the event loop turn a few times; the task must still be waiting then."""
    for _ in range(turns):
        await asyncio.sleep(0.001)
    assert not task.done(), task


async def test_the_default_engine_is_aiosqlite_with_a_pool_and_the_bots_pragmas(tmp_path: Path) -> None:
    app = build_app(load_settings(DATABASE_URL=url_in(tmp_path)))
    try:
        assert isinstance(app.engine.pool, AsyncAdaptedQueuePool)  # a file database: a pool, not one connection
        assert not isinstance(app.sessions, SerializedSessions)  # chats' units of work side by side
        async with app.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, aiosqlite.Connection)
            pragmas = [(await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                       for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")]
        assert pragmas == ["wal", 1, 1, int(SQLITE_BUSY_TIMEOUT * 1000)]  # synchronous 1 is NORMAL
    finally:
        await app.close()


async def test_two_writing_transactions_at_once_wait_for_each_other(tmp_path: Path) -> None:
    engine = make_engine(url_in(tmp_path))
    await make_table(engine)
    sessions = async_sessionmaker(engine)  # not queued in asyncio: SQLite's lock decides
    first_wrote, first_may_commit = asyncio.Event(), asyncio.Event()

    async def first_chat() -> None:
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (v) VALUES ('first')"))  # holds the write lock
            first_wrote.set()
            await first_may_commit.wait()

    async def second_chat() -> None:
        await first_wrote.wait()
        async with sessions() as session, session.begin():
            await session.execute(text("INSERT INTO t (v) VALUES ('second')"))
            await session.execute(text("UPDATE t SET v = v || '!' WHERE v = 'first'"))

    first = asyncio.create_task(first_chat())
    second = asyncio.create_task(second_chat())
    await first_wrote.wait()
    await turns_while(second)  # waiting in aiosqlite's thread; the event loop goes on
    first_may_commit.set()
    await asyncio.wait_for(asyncio.gather(first, second), timeout=20)
    assert await values(engine) == ["first!", "second"]
    await engine.dispose()


async def test_many_units_of_work_at_once_all_commit(tmp_path: Path) -> None:
    """A tick and a burst of chats in one process, each waiting its turn: none fails."""
    app = build_app(load_settings(DATABASE_URL=url_in(tmp_path)))
    await make_table(app.engine)

    async def unit(name: str) -> None:
        async with app.unit_of_work() as session:
            await session.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": name})
            await asyncio.sleep(0)  # the others run while this one holds the lock
            await session.execute(text("UPDATE t SET v = v || '.' WHERE v = :v"), {"v": name})

    names = ["tick", *(f"chat {number:02}" for number in range(24))]
    try:
        await asyncio.wait_for(asyncio.gather(*(unit(name) for name in names)), timeout=60)
        assert sorted(await values(app.engine)) == sorted(f"{name}." for name in names)
    finally:
        await app.close()


async def test_a_write_waits_for_another_process_while_the_event_loop_runs(tmp_path: Path) -> None:
    engine = make_engine(url_in(tmp_path))
    await make_table(engine)
    other = sqlite3.connect(tmp_path / "stock.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process (a long import-plan) holding the write lock

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES ('mine')"))

    writing = asyncio.create_task(write())
    await turns_while(writing)
    other.execute("INSERT INTO t (v) VALUES ('theirs')")
    other.execute("COMMIT")
    await asyncio.wait_for(writing, timeout=20)
    assert await values(engine) == ["theirs", "mine"]
    await engine.dispose()
    other.close()


async def test_reads_are_outside_transactions_so_a_later_write_still_gets_the_lock(tmp_path: Path) -> None:
    """Had the read begun a transaction, its snapshot would be stale once the other unit
    committed, and the write would fail at once (SQLITE_BUSY_SNAPSHOT, no waiting)."""
    engine = make_engine(url_in(tmp_path))
    await make_table(engine)
    sessions = async_sessionmaker(engine)
    async with sessions() as reader, reader.begin():
        assert list(await reader.scalars(text("SELECT v FROM t"))) == []
        raw = await (await reader.connection()).get_raw_connection()
        assert not raw.driver_connection.in_transaction  # the read took no snapshot to keep
        async with sessions() as writer, writer.begin():  # not held up by the open reader
            await writer.execute(text("INSERT INTO t (v) VALUES ('other')"))
        await reader.execute(text("INSERT INTO t (v) VALUES ('after reading')"))
    assert await values(engine) == ["other", "after reading"]
    await engine.dispose()
