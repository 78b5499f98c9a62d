"""The migrations build exactly the schema the tables describe, on every backend."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.app import App
from bot.db import current_revision
from models.tables import Base


async def test_migrations_match_the_tables(app: App) -> None:
    async with app.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata)
        )
    assert diff == []


async def test_upgrading_twice_is_harmless(app: App) -> None:
    await app.migrate()
    async with app.engine.connect() as connection:
        assert await current_revision(connection) is not None
