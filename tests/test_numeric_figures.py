"""Figures stored as exact numbers the database can add (models.tables.FigureNumber): they come
back exactly as typed, the database sums them exactly, figures the storage cannot hold are
refused rather than rounded, and migration 0010 converts the text they were stored as, both ways,
on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from bot.db import alembic_config, upgrade
from models import people, store
from models.numbers import fits_figure
from models.tables import Submission
from models.targets import Figure
from tests.figures import store_figures
from tests.test_summary import SMALL

D = Decimal
WHEN = datetime(2025, 3, 18, 2, 0, tzinfo=UTC)
TYPED = [D("72.5"), D("0.000001"), D("999999999999.999999"), D(1000), D(0), D("33.333333")]


async def _stored(app: App) -> list[tuple[Decimal | None, Decimal | None, Decimal | None]]:
    async with app.unit_of_work() as session:
        rows = await session.execute(
            select(Submission.value, Submission.numerator, Submission.denominator).order_by(Submission.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def _put_typed(app: App) -> None:
    await import_plan_file(app, SMALL)
    rows: list[tuple[str, str, str, Figure, datetime]] = [
        ("vhtt", "15", f"2025-{month:02d}", Figure(value=value), WHEN) for month, value in enumerate(TYPED, start=1)]
    rows.append(("vhtt", "6", "2025-03", Figure(numerator=D("120.5"), denominator=D(150)), WHEN))
    await store_figures(app, "T2025", rows)


def test_what_fits_the_storage() -> None:
    assert all(fits_figure(value) for value in TYPED)
    assert fits_figure(D("1E+3")) and fits_figure(D("72.500000000"))  # trailing zeros are no precision
    assert not fits_figure(D("0.0000001"))
    assert not fits_figure(D("1000000000000"))
    assert not fits_figure(D("NaN")) and not fits_figure(D("Infinity"))


async def test_figures_come_back_exactly_as_typed_and_sum_exactly(app: App) -> None:
    await _put_typed(app)
    stored = await _stored(app)
    assert [row[0] for row in stored[:-1]] == TYPED
    assert [str(row[0]) for row in stored[:-1]] == ["72.5", "0.000001", "999999999999.999999", "1000", "0",
                                                     "33.333333"]
    assert stored[-1] == (None, D("120.5"), D(150))
    async with app.unit_of_work() as session:
        total = await session.scalar(select(func.sum(Submission.value)))
        biggest = await session.scalar(select(Submission.value).where(Submission.value.is_not(None))
                                        .order_by(Submission.value.desc()).limit(1))
    assert total == sum(TYPED)
    assert biggest == D("999999999999.999999")


async def test_a_figure_the_storage_cannot_hold_is_refused_not_rounded(app: App) -> None:
    await import_plan_file(app, SMALL)
    for value in (D("0.0000001"), D("1000000000000")):
        with pytest.raises(StatementError, match="does not fit"):
            await store_figures(app, "T2025", [("vhtt", "15", "2025-03", Figure(value=value), WHEN)])
    assert await _stored(app) == []


async def _downgrade(app: App, revision: str) -> None:
    def run(sync_connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync_connection
        command.downgrade(config, revision)

    async with app.engine.begin() as connection:
        await connection.run_sync(run)


async def _raw(app: App) -> list[tuple[Any, ...]]:
    async with app.engine.connect() as connection:
        rows = await connection.execute(text("SELECT value, numerator, denominator FROM submissions ORDER BY id"))
        return [tuple(row) for row in rows]


async def test_migration_0010_converts_the_text_figures_and_back(app: App) -> None:
    await _put_typed(app)
    await _downgrade(app, "0009")
    as_text = [("72.5", None, None), ("0.000001", None, None), ("999999999999.999999", None, None),
               ("1000", None, None), ("0", None, None), ("33.333333", None, None), (None, "120.5", "150")]
    assert await _raw(app) == as_text  # the text DecimalText wrote
    await upgrade(app.engine, "head")
    assert [row[0] for row in (await _stored(app))[:-1]] == TYPED
    assert (await _stored(app))[-1] == (None, D("120.5"), D(150))
    await _downgrade(app, "0009")
    assert await _raw(app) == as_text
    await upgrade(app.engine, "head")


async def test_migration_0010_stops_at_a_figure_it_would_have_to_round(app: App) -> None:
    await _put_typed(app)
    await _downgrade(app, "0009")
    async with app.engine.begin() as connection:
        await connection.execute(text("UPDATE submissions SET value = '1.0000001' WHERE value = '72.5'"))
    with pytest.raises(RuntimeError, match="1 submissions hold a figure"):
        await upgrade(app.engine, "head")
    async with app.engine.begin() as connection:
        await connection.execute(text("UPDATE submissions SET value = '1' WHERE value = '1.0000001'"))
    await upgrade(app.engine, "head")
    assert (await _stored(app))[0][0] == D(1)


async def test_an_officer_is_told_a_figure_has_too_many_decimals(app: App) -> None:
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        assert plan is not None
        unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
        invite = await people.create_invite(session, role="officer", plan=plan, unit=unit, now=app.now())
    channel = ConsoleChannel(app.deps, write=lambda _text: None)
    await channel.send("Lan", f"/start {invite.code}")
    refused = (await channel.send("Lan", "9: 72,1234567%"))[0].text
    assert "9b" in refused and "72,1234567" in refused and "tối đa 6 chữ số" in refused
    assert await _stored(app) == []
    stored = (await channel.send("Lan", "9: 72,123456%"))[0].text
    assert "9b" in stored and await _stored(app) == [(D("72.123456"), None, None)]
