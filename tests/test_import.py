"""Importing plans into the database: idempotent, in place, never losing figures."""
from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.cli import import_plan_file
from models import store
from models.plans import PlanFileError
from models.tables import Assignment, Indicator, IndicatorPart, Plan, Submission, Unit

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"


async def counts(app: App) -> Counter[str]:
    result: Counter[str] = Counter()
    async with app.unit_of_work() as session:
        for table in (Plan, Unit, Indicator, IndicatorPart, Assignment, Submission):
            result[table.__tablename__] = await session.scalar(select(func.count()).select_from(table)) or 0
    return result


async def test_a_plan_imports_with_its_units_parts_and_assignments(app: App) -> None:
    result = await import_plan_file(app, SMALL)
    assert result.created
    async with app.unit_of_work() as session:
        [summary] = await store.list_plans(session)
        plan = await store.get_plan(session, "t2025")  # codes are matched in any case
        assert plan is not None
        reporters = await store.assignment_counts(session, plan)
        parts = {p.code: p for p in await session.scalars(select(IndicatorPart))}
    assert (summary.code, summary.indicators, summary.units) == ("T2025", 6, 6)
    assert reporters[parts["9b"].id] == 2
    assert parts["12b"].low == Decimal(47)


async def test_importing_the_same_plan_twice_changes_nothing(app: App) -> None:
    await import_plan_file(app, SMALL)
    before = await counts(app)
    again = await import_plan_file(app, SMALL)
    assert not again.changed
    assert await counts(app) == before


async def test_reimport_updates_in_place_and_keeps_submitted_figures(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        part = await session.scalar(select(IndicatorPart).where(IndicatorPart.code == "6"))
        unit = await session.scalar(select(Unit).where(Unit.code == "an-sinh"))
        session.add(Submission(
            plan_id=plan.id, part_id=part.id, unit_id=unit.id, period="2025-03", version=1,
            numerator=Decimal(120), denominator=Decimal(150), channel="console", submitted_at=app.now(),
        ))
    changed = SMALL.read_text(encoding="utf-8").replace('target: "90%"', 'target: "95%"')
    changed = changed.replace('  - code: "22"', '  - code: "23"')  # 22 leaves, 23 arrives
    path = tmp_path / "changed.yaml"
    path.write_text(changed, encoding="utf-8")
    result = await import_plan_file(app, path)
    assert result.changes["parts-updated"] >= 1
    assert result.changes["indicators-retired"] == 1
    async with app.unit_of_work() as session:
        part = await session.scalar(select(IndicatorPart).where(IndicatorPart.code == "6"))
        old = await session.scalar(select(Indicator).where(Indicator.code == "22"))
        [submission] = await session.scalars(select(Submission))
    assert part.value == Decimal(95)
    assert old is not None and not old.active
    assert (submission.part_id, submission.numerator) == (part.id, Decimal(120))


async def test_a_broken_copy_changes_nothing(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, SMALL)
    before = await counts(app)
    broken = tmp_path / "broken.yaml"
    broken.write_text(SMALL.read_text(encoding="utf-8").replace('target: "90%"', 'target: "rất cao"'), encoding="utf-8")
    with pytest.raises(PlanFileError):
        await import_plan_file(app, broken)
    assert await counts(app) == before


async def test_a_unit_dropped_from_the_file_is_kept_inactive(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, SMALL)
    text = SMALL.read_text(encoding="utf-8").replace(
        '  - {code: mao-khe, name: "Phường Mạo Khê", kind: ward, parent: tp, named_in_plan: false}\n', ""
    )
    path = tmp_path / "fewer.yaml"
    path.write_text(text, encoding="utf-8")
    result = await import_plan_file(app, path)
    assert result.changes["units-retired"] == 1
    assert result.changes["assignments-retired"] >= 1
    async with app.unit_of_work() as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "mao-khe"))
    assert unit is not None and not unit.active

