"""The migrations build exactly the schema the tables describe, and undo it, on every backend
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set: see conftest's `database_url`)."""
from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.db import alembic_config, current_revision, make_engine, upgrade
from models.tables import Base


def _differences(sync_connection: Any) -> list[Any]:
    # compare_type as in migrations/env.py: a column whose type drifted is a difference too.
    context = MigrationContext.configure(sync_connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _schema_differences(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(_differences)


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(sync_connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_an_empty_database_goes_up_to_head_down_to_base_and_up_again(database_url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "head")
        assert await _schema_differences(engine) == []

        await _downgrade(engine, "base")
        assert await _tables(engine) == {"alembic_version"}  # every table of ours dropped
        async with engine.connect() as connection:
            assert await current_revision(connection) is None

        await upgrade(engine, "head")
        assert await _schema_differences(engine) == []
        async with engine.connect() as connection:
            assert await current_revision(connection) == head
    finally:
        await engine.dispose()


async def test_upgrading_twice_is_harmless(app: App) -> None:
    await app.migrate()
    async with app.engine.connect() as connection:
        assert await current_revision(connection) is not None
    assert await _schema_differences(app.engine) == []
