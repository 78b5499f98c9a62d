"""Start-up an operator can trust: migrations by one process at a time, one poller per bot and
database (a second refuses with one line), a clean stop on SIGTERM."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.db import current_revision, make_engine, upgrade
from bot.singleton import AlreadyPolling, sole_poller
from tests.conftest import BACKENDS
from tests.databases import throwaway_postgres
from tests.telegram_emulator import TelegramEmulator
from tests.test_cli import ROOT

TOKEN = "123456:STARTUP-token"


@pytest.fixture(params=BACKENDS)
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/bot.db"
        return
    async with throwaway_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


async def test_processes_starting_together_migrate_once(empty_database: str) -> None:
    engines = [make_engine(empty_database) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        async with engines[0].connect() as connection:
            assert await current_revision(connection) is not None
            assert await connection.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_second_poller_of_the_same_bot_and_database_is_refused(empty_database: str) -> None:
    async with sole_poller(empty_database, "telegram", "123456"):
        with pytest.raises(AlreadyPolling):
            async with sole_poller(empty_database, "telegram", "123456"):
                pass
        async with sole_poller(empty_database, "telegram", "654321"):  # another bot: its own poller
            pass
    async with sole_poller(empty_database, "telegram", "123456"):  # released at the end
        pass


async def test_run_refuses_with_one_line_while_another_polls(tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    async with TelegramEmulator(token=TOKEN) as emu, sole_poller(database, "telegram", "123456"):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_"))}
        env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, TELEGRAM_API_URL=emu.base_url, DATABASE_URL=database)
        second = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                                         capture_output=True, text=True, timeout=120)
        assert second.returncode == 1
        assert second.stderr.count("\n") == 1 and "webhook" in second.stderr, second.stderr
        assert not emu.calls_of("getUpdates")
