"""Shared fixtures: a fresh database per test (SQLite always; PostgreSQL too when
TEST_DATABASE_URL is set), the app built by the same factory as production, a settable clock."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App, build_app
from bot.config import load_settings
from tests.databases import throwaway_postgres

ROOT = Path(__file__).resolve().parent.parent
PLANS = ROOT / "data" / "plans"
ENV_VARIABLES = (
    "DATABASE_URL", "BOT_TOKEN", "TELEGRAM_API_URL", "ZALO_BOT_TOKEN", "ZALO_API_URL", "BOT_TIMEZONE",
    "BOT_LOCALE", "BOT_ADMINS", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_LISTEN", "METRICS", "LOG_FORMAT",
    "SQLITE_INLINE", "AIOGRAM_LEAN_IMPORT", "ZALO_RATE_PER_SECOND", "ZALO_WEBHOOK_URL",
    "ZALO_WEBHOOK_SECRET", "PUBLIC_BASE_URL", "FILE_STORE_DIR",
)
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


class Clock:
    """A clock tests move by hand; nothing in the suite waits for real time to pass."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def set(self, now: datetime) -> None:
        self.current = now


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's environment or .env leaks into a test."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 17, 2, 0, tzinfo=UTC))  # Monday 09:00 in Hanoi


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/test.db"
        return
    async with throwaway_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


@pytest.fixture
async def app(database_url: str, clock: Clock) -> AsyncIterator[App]:
    application = build_app(load_settings(DATABASE_URL=database_url), clock=clock)
    await application.migrate()
    try:
        yield application
    finally:
        await application.close()
