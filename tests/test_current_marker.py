"""Submission.is_current (migration 0017) is the highest version of its unit, part and period,
whoever writes the versions and however: figures and corrections through the store, many versions
in one statement, rows inserted directly and out of order, concurrent units of work, versions
deleted one by one and by cascade; on SQLite and PostgreSQL. The summary reads only the marker, so
tests/test_summary_sql.py checks it too after every round of random figures."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.cli import import_plan_file
from models import store
from models.submissions import current, insert_versions, next_version, store_figure
from models.tables import Submission, Unit
from models.targets import Figure
from tests.test_summary import SMALL

AT = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)


async def assert_marker_holds(session: AsyncSession) -> int:
    """Every row is current exactly when no higher version of its key exists; the rows checked."""
    rows = (await session.execute(select(Submission.unit_id, Submission.part_id, Submission.period,
                                         Submission.version, Submission.is_current))).all()
    top: dict[tuple[Any, ...], int] = {}
    for unit_id, part_id, period, version, _ in rows:
        key = (unit_id, part_id, period)
        top[key] = max(top.get(key, 0), version)
    wrong = [row for row in rows if bool(row[4]) != (row[3] == top[(row[0], row[1], row[2])])]
    assert not wrong, wrong
    return len(rows)


async def _plan(app: App, tmp_path: Any) -> tuple[int, list[int], list[int]]:
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        assert plan is not None
        view = await store.load_plan_view(session, plan.id)
        return plan.id, sorted(view.units), sorted(pv.part.id for pv in view.parts.values())


async def _versions(app: App, unit_id: int, part_id: int, period: str) -> list[tuple[int, bool]]:
    async with app.unit_of_work() as session:
        return [(v, bool(c)) for v, c in (await session.execute(
            select(Submission.version, Submission.is_current).where(
                Submission.unit_id == unit_id, Submission.part_id == part_id, Submission.period == period)
            .order_by(Submission.version))).all()]


async def test_a_correction_makes_the_new_version_current_and_a_repeat_changes_nothing(app: App, tmp_path: Any) -> None:
    plan_id, units, parts = await _plan(app, tmp_path)
    for step, value in enumerate(["5", "6", "6", "7"]):
        async with app.unit_of_work() as session:
            await store_figure(session, plan_id=plan_id, part_id=parts[0], unit_id=units[1], period="2025-03",
                               figure=Figure(value=Decimal(value)), person_id=None,
                               channel="console", now=AT + timedelta(hours=step))
    assert await _versions(app, units[1], parts[0], "2025-03") == [(1, False), (2, False), (3, True)]
    async with app.unit_of_work() as session:
        found = await current(session, units[1], parts[0], "2025-03")
        assert found is not None and found.version == 3 and found.is_current
        assert await assert_marker_holds(session) == 3


async def test_many_versions_in_one_statement_and_rows_inserted_out_of_order(app: App, tmp_path: Any) -> None:
    plan_id, units, parts = await _plan(app, tmp_path)

    def row(unit_id: int, part_id: int, version: int) -> dict[str, Any]:
        return dict(plan_id=plan_id, part_id=part_id, unit_id=unit_id, period="2025-03", version=version,
                    value=version, channel="console", submitted_at=AT + timedelta(minutes=version))

    async with app.unit_of_work() as session:
        connection = await session.connection()
        # Versions 1-3 of one figure and 3, 1 of another in one statement; then 2 alone, below 3.
        await connection.execute(insert(Submission.__table__), [
            row(units[0], parts[0], 1), row(units[0], parts[0], 2), row(units[0], parts[0], 3),
            row(units[1], parts[0], 3), row(units[1], parts[0], 1), row(units[2], parts[1], 1)])
        await connection.execute(insert(Submission.__table__), [row(units[1], parts[0], 2)])
        # Through the store: the next version of each, and a first version, in one statement.
        stored = []
        for unit_id, part_id in ((units[0], parts[0]), (units[1], parts[0]), (units[3], parts[1])):
            previous = await current(session, unit_id, part_id, "2025-03")
            stored.append(next_version(plan_id=plan_id, part_id=part_id, unit_id=unit_id, period="2025-03",
                                       figure=Figure(value=Decimal(99)), person_id=None,
                                       channel="console", now=AT + timedelta(days=1), previous=previous))
        await insert_versions(session, stored)
        assert await assert_marker_holds(session) == 10
    assert await _versions(app, units[1], parts[0], "2025-03") == [(1, False), (2, False), (3, False), (4, True)]
    assert await _versions(app, units[2], parts[1], "2025-03") == [(1, True)]


async def test_deleting_the_current_version_makes_the_one_before_current(app: App, tmp_path: Any) -> None:
    plan_id, units, parts = await _plan(app, tmp_path)
    async with app.unit_of_work() as session:
        for unit_id in units[:3]:
            for version in (1, 2, 3):
                await store_figure(session, plan_id=plan_id, part_id=parts[0], unit_id=unit_id, period="2025-03",
                                   figure=Figure(value=Decimal(version)), person_id=None,
                                   channel="console", now=AT + timedelta(hours=version))
    async with app.unit_of_work() as session:
        await session.execute(delete(Submission).where(Submission.unit_id == units[0], Submission.version == 3))
        await session.execute(delete(Submission).where(Submission.unit_id == units[1], Submission.version == 2))
        await session.execute(delete(Submission).where(Submission.unit_id == units[2], Submission.version >= 2))
        assert await assert_marker_holds(session) == 5
    assert await _versions(app, units[0], parts[0], "2025-03") == [(1, False), (2, True)]
    assert await _versions(app, units[1], parts[0], "2025-03") == [(1, False), (3, True)]
    assert await _versions(app, units[2], parts[0], "2025-03") == [(1, True)]
    async with app.unit_of_work() as session:  # a unit removed: its versions go by cascade
        await session.execute(delete(Unit).where(Unit.id == units[0]))
        assert await assert_marker_holds(session) == 3


async def test_concurrent_units_of_work_leave_one_current_version_per_figure(app: App, tmp_path: Any) -> None:
    plan_id, units, parts = await _plan(app, tmp_path)
    conflicts = 0

    async def officer(unit_id: int, round_: int) -> None:
        nonlocal conflicts
        for part_id in parts[:4]:
            try:
                async with app.unit_of_work() as session:
                    await store_figure(session, plan_id=plan_id, part_id=part_id, unit_id=unit_id,
                                       period="2025-03", figure=Figure(value=Decimal(round_)),
                                       person_id=None, channel="console", now=AT + timedelta(minutes=round_))
            except IntegrityError:  # two corrections of the same figure at once: one is refused
                conflicts += 1
            await asyncio.sleep(0)

    # Every unit twice at once (the same figures corrected side by side), three rounds.
    for round_ in range(3):
        await asyncio.gather(*(officer(unit_id, round_ * 2 + twin) for unit_id in units[:4] for twin in (0, 1)))
    async with app.unit_of_work() as session:
        checked = await assert_marker_holds(session)
        figures = await session.scalar(select(func.count()).select_from(Submission).where(Submission.is_current))
    assert figures == 4 * 4
    assert checked >= figures
