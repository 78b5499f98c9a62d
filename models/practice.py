"""Practice (issue 16): a copy of a plan — its units, indicators, parts, assignments and schedule —
on which officers try every step without touching live data. Figures sent there belong to the
copy's own units and parts, so they never appear in the live plan's summaries, exports or
reminders; the scheduler sends nothing for a copy (scheduler/tick.py), and leaving is one command
(/thuchanh xong). Functions take the session first and never commit."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.kinds import RoleKind
from models.tables import Assignment, Indicator, IndicatorPart, Plan, Role, ScheduleRule, Unit

SUFFIX = "-TH"  # DT2025 -> DT2025-TH ("thực hành")


def _columns(row: Any, **changes: Any) -> dict[str, Any]:
    values = {column.key: getattr(row, column.key) for column in type(row).__table__.columns if column.key != "id"}
    values.update(changes)
    return values


async def practice_copy(session: AsyncSession, plan: Plan, now: datetime) -> Plan:
    """The plan's practice copy, made now if it has none (a copy made before is reused as it is:
    what officers tried there stays for them to look at)."""
    code = plan.code + SUFFIX
    existing = await session.scalar(select(Plan).where(Plan.code == code))
    if existing is not None:
        return existing
    copy = Plan(**_columns(plan, code=code, title=f"[Thực hành] {plan.title}", practice_of_id=plan.id,
                           file_digest=None, imported_at=now, created_at=now))
    session.add(copy)
    await session.flush()
    for rule in await session.scalars(select(ScheduleRule).where(ScheduleRule.plan_id == plan.id)):
        session.add(ScheduleRule(**_columns(rule, plan_id=copy.id)))
    units = list(await session.scalars(select(Unit).where(Unit.plan_id == plan.id).order_by(Unit.id)))
    unit_ids: dict[int, int] = {}
    for unit in units:
        new = Unit(**_columns(unit, plan_id=copy.id, parent_id=None, merged_into_id=None))
        session.add(new)
        await session.flush()
        unit_ids[unit.id] = new.id
    for unit in units:  # the tree, once every unit has its new id
        if unit.parent_id in unit_ids or unit.merged_into_id in unit_ids:
            new = await session.get(Unit, unit_ids[unit.id])
            assert new is not None
            new.parent_id = unit_ids.get(unit.parent_id) if unit.parent_id else None
            new.merged_into_id = unit_ids.get(unit.merged_into_id) if unit.merged_into_id else None
    part_ids: dict[int, int] = {}
    for indicator in await session.scalars(select(Indicator).where(Indicator.plan_id == plan.id)):
        new_indicator = Indicator(**_columns(indicator, plan_id=copy.id))
        session.add(new_indicator)
        await session.flush()
        for part in await session.scalars(select(IndicatorPart).where(IndicatorPart.indicator_id == indicator.id)):
            new_part = IndicatorPart(**_columns(part, plan_id=copy.id, indicator_id=new_indicator.id))
            session.add(new_part)
            await session.flush()
            part_ids[part.id] = new_part.id
    for assignment in await session.scalars(select(Assignment).where(Assignment.part_id.in_(list(part_ids)))):
        session.add(Assignment(**_columns(assignment, part_id=part_ids[assignment.part_id],
                                          unit_id=unit_ids[assignment.unit_id])))
    await session.flush()
    return copy


async def leave(session: AsyncSession, person_id: int, now: datetime) -> int:
    """The person's roles in practice copies end; how many there were."""
    copies = select(Plan.id).where(Plan.practice_of_id.is_not(None))
    roles = list(await session.scalars(select(Role).where(
        Role.person_id == person_id, Role.ended_at.is_(None), Role.plan_id.in_(copies))))
    for role in roles:
        role.ended_at, role.ended_reason = now, "practice_left"
    await session.flush()
    return len(roles)


def is_practice(plan: Plan) -> bool:
    return plan.practice_of_id is not None


__all__ = ["SUFFIX", "RoleKind", "is_practice", "leave", "practice_copy"]
