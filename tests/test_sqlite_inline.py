"""The in-thread SQLite connection (bot/sqlite_inline.py, opt-in with SQLITE_INLINE): a lock held
by another process is waited for from the event loop, never inside SQLite, and errors keep their
SQLAlchemy types. The standard path (aiosqlite) is tested in test_sqlite_standard.py."""
from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_app
from bot.config import load_settings
from bot.db import SerializedSessions, make_engine
from bot.sqlite_inline import InlineConnection, Patience, inline_creator


def url_in(folder: Path) -> str:
    return f"sqlite+aiosqlite:///{folder}/inline.db"


async def make_table(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    await engine.dispose()


async def test_a_write_waits_for_another_writer_while_the_event_loop_runs(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    await make_table(url)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    engine = make_engine(url, sqlite_inline=True)

    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES ('mine')"))

    writing = asyncio.create_task(write())
    turns = 0
    while turns < 20 and not writing.done():  # the loop keeps turning while the write waits
        await asyncio.sleep(0.001)
        turns += 1
    assert not writing.done()
    other.execute("INSERT INTO t (v) VALUES ('theirs')")
    other.execute("COMMIT")
    await asyncio.wait_for(writing, timeout=10)
    async with engine.connect() as connection:
        assert list(await connection.scalars(text("SELECT v FROM t ORDER BY id"))) == ["theirs", "mine"]
    await engine.dispose()
    other.close()


async def test_a_lock_held_past_the_timeout_fails_as_sqlalchemy_reports_it(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    await make_table(url)
    other = sqlite3.connect(tmp_path / "inline.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    now = [0.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:  # time passes at once
        waits.append(seconds)
        now[0] += seconds

    patience = Patience(timeout=30.0, clock=lambda: now[0], sleep=sleep)
    engine = create_async_engine(url, async_creator=inline_creator(make_url(url), patience))
    with pytest.raises(OperationalError, match="locked"):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (v) VALUES ('mine')"))
    assert 29.0 < sum(waits) <= 30.0 and waits[0] == 0.001 and max(waits) == 0.1  # backing off to 0.1 s
    other.execute("ROLLBACK")
    await engine.dispose()
    other.close()


async def test_constraint_errors_and_rollbacks_behave_as_with_aiosqlite(tmp_path: Path) -> None:
    url = url_in(tmp_path)
    await make_table(url)
    engine = make_engine(url, sqlite_inline=True)
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO t (id, v) VALUES (1, 'a')"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (id, v) VALUES (2, 'b')"))
            await connection.execute(text("INSERT INTO t (id, v) VALUES (1, 'again')"))
    async with engine.connect() as connection:
        assert list(await connection.scalars(text("SELECT v FROM t"))) == ["a"]  # 'b' rolled back
        rows = await connection.execute(text("SELECT id, v FROM t WHERE id IN (1, 2)"))
        assert rows.all() == [(1, "a")]
    await engine.dispose()


async def test_the_setting_turns_the_trick_on_for_the_app(tmp_path: Path) -> None:
    app = build_app(load_settings(DATABASE_URL=url_in(tmp_path), SQLITE_INLINE="true"))
    try:
        async with app.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            assert isinstance(raw.driver_connection, InlineConnection)
        assert isinstance(app.sessions, SerializedSessions)
    finally:
        await app.close()
