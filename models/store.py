"""Query and write functions. Each takes the session first and never commits: the caller's unit
of work does (one per command, event or job)."""
from __future__ import annotations

import copy
import time
from collections import Counter
from dataclasses import dataclass, field, make_dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect as sa_inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.periods import DEFAULT_DEADLINES, DeadlineRule, Frequency, Period
from models.plan_view import PartView, PlanView
from models.plans import IndicatorSpec, PartSpec, PlanSpec, UnitSpec
from models.schedule import times_of
from models.tables import (
    Assignment,
    Indicator,
    IndicatorPart,
    Plan,
    ScheduleRule,
    Unit,
)
from models.targets import Comparison, Measure, Target


@dataclass
class ImportResult:
    plan_code: str
    created: bool
    changes: Counter[str] = field(default_factory=Counter)  # "units-added", "parts-updated", ...
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # conflict_rows of every indicator

    @property
    def changed(self) -> bool:
        return self.created or any(self.changes.values())


def _assign(row: Any, values: dict[str, Any], result: ImportResult, what: str) -> None:
    """Set only what differs, so re-importing the same file writes nothing."""
    dirty = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            dirty = True
    if dirty:
        result.changes[f"{what}-updated"] += 1


async def import_plan(session: AsyncSession, spec: PlanSpec, digest: str, now: datetime) -> ImportResult:
    """Create or update a plan in place from a validated spec.

    Rows are matched by code. Nothing is deleted: units, indicators, parts and assignments that
    left the file are kept inactive, so submitted figures and their history survive."""
    plan = await session.scalar(select(Plan).where(Plan.code == spec.code))
    result = ImportResult(spec.code, created=plan is None)
    plan_values = dict(
        title=spec.title, year=spec.year, issuer=spec.issuer, document=spec.document,
        issued_on=spec.issued_on, source=spec.source, salutation=spec.salutation,
        coverage_threshold=spec.coverage_threshold,
        tracking_unit_code=spec.tracking_unit, notes=spec.notes,
        collect_from=spec.collect_from.id if spec.collect_from else None,
        tables=[{"code": t.code, "title": t.title} for t in spec.tables],
        groups=[{"code": g.code, "title": g.title, "table": g.table} for g in spec.groups],
    )
    if plan is None:
        plan = Plan(code=spec.code, created_at=now, imported_at=now, file_digest=digest, **plan_values)
        session.add(plan)
        await session.flush()
    else:
        _assign(plan, plan_values, result, "plan")
        if plan.file_digest != digest:
            plan.file_digest, plan.imported_at = digest, now

    await _import_schedule(session, plan, spec, result)
    units = await _import_units(session, plan, spec.units, result)
    await _import_indicators(session, plan, spec.indicators, units, result)
    await session.flush()
    return result


async def _import_schedule(session: AsyncSession, plan: Plan, spec: PlanSpec, result: ImportResult) -> None:
    existing = {
        rule.frequency: rule
        for rule in await session.scalars(select(ScheduleRule).where(ScheduleRule.plan_id == plan.id))
    }
    s = spec.schedule
    for frequency, deadline in s.deadlines.items():
        values = dict(
            deadline_day=deadline.day, deadline_month=str(deadline.month),
            deadline_before=deadline.before, source=s.source, **times_of(s),
        )
        rule = existing.get(frequency.value)
        if rule is None:
            session.add(ScheduleRule(plan_id=plan.id, frequency=frequency.value, **values))
            result.changes["schedule-added"] += 1
        else:
            _assign(rule, values, result, "schedule")


async def _import_units(session: AsyncSession, plan: Plan, specs: tuple[UnitSpec, ...],
                        result: ImportResult) -> dict[str, Unit]:
    rows = {u.code: u for u in await session.scalars(select(Unit).where(Unit.plan_id == plan.id))}
    for spec in specs:
        values = dict(
            name=spec.name, kind=spec.kind, aliases=list(spec.aliases), named_in_plan=spec.named_in_plan,
            active=spec.active, deactivated_on=spec.deactivated_on,
            deactivation_reason=spec.deactivation_reason, in_file=True,
        )
        row = rows.get(spec.code)
        if row is None:
            row = Unit(plan_id=plan.id, code=spec.code, **values)
            session.add(row)
            rows[spec.code] = row
            result.changes["units-added"] += 1
        else:
            _assign(row, values, result, "units")
    in_file = {spec.code for spec in specs}
    for code, row in rows.items():
        if code not in in_file and row.in_file:
            row.in_file = False
            row.active = False
            result.changes["units-retired"] += 1
    await session.flush()
    for spec in specs:
        row = rows[spec.code]
        links = dict(
            parent_id=rows[spec.parent].id if spec.parent else None,
            merged_into_id=rows[spec.merged_into].id if spec.merged_into else None,
        )
        _assign(row, links, result, "units")
    return rows


def part_values(spec: PartSpec, position: int) -> dict[str, Any]:
    t = spec.target
    return dict(
        position=position, label=spec.label, target_raw=t.raw, measure=t.measure.value,
        comparison=t.comparison.value, value=t.value, low=t.low, high=t.high, unit_label=t.unit,
        due=t.due, numerator_label=spec.numerator_label, denominator_label=spec.denominator_label,
        applies_to=list(spec.applies_to), condition=t.condition, active=True,
        allow_not_applicable=spec.allow_not_applicable,
    )


def target_of(part: IndicatorPart) -> Target:
    """The domain Target of a stored part."""
    return Target(
        measure=Measure(part.measure), comparison=Comparison(part.comparison), value=part.value,
        low=part.low, high=part.high, unit=part.unit_label, due=part.due, raw=part.target_raw,
        condition=part.condition,
    )


def conflict_rows(spec: IndicatorSpec) -> list[dict[str, Any]]:
    """The indicator's conflicting targets as stored: each beside the target chosen for its part."""
    chosen = {part.code: part.target.raw for part in spec.parts}
    return [
        {"part": c.part, "source": c.source, "target": c.target.raw,
         "chosen_source": spec.target_source, "chosen_target": chosen[c.part],
         "rule": spec.conflict_rule}
        for c in spec.conflicts
    ]


async def _import_indicators(session: AsyncSession, plan: Plan, specs: tuple[IndicatorSpec, ...],
                             units: dict[str, Unit], result: ImportResult) -> None:
    indicators = {i.code: i for i in await session.scalars(select(Indicator).where(Indicator.plan_id == plan.id))}
    parts = {p.code: p for p in await session.scalars(select(IndicatorPart).where(IndicatorPart.plan_id == plan.id))}
    assignments = {
        (a.part_id, a.unit_id): a
        for a in await session.scalars(
            select(Assignment).join(IndicatorPart, Assignment.part_id == IndicatorPart.id)
            .where(IndicatorPart.plan_id == plan.id)
        )
    }
    seen_indicators: set[str] = set()
    seen_parts: set[str] = set()
    seen_assignments: set[tuple[int, int]] = set()
    for position, spec in enumerate(specs):
        values = dict(
            number=spec.number, position=position, table_code=spec.table, group_code=spec.group,
            title=spec.title, text=spec.text, lead=spec.lead, coordinating=spec.coordinating,
            tracking=spec.tracking, province_target=spec.province_target, target_raw=spec.target_raw,
            baseline_raw=spec.baseline_raw, baseline=spec.baseline, level_raw=spec.level_raw,
            level=spec.level, frequency=spec.frequency.value, accumulation=spec.accumulation,
            formula=spec.formula, basis=spec.basis, reporters_reason=spec.reporters_reason,
            target_source=spec.target_source, conflicts=conflict_rows(spec), active=True,
        )
        row = indicators.get(spec.code)
        if row is None:
            row = Indicator(plan_id=plan.id, code=spec.code, **values)
            session.add(row)
            indicators[spec.code] = row
            result.changes["indicators-added"] += 1
            await session.flush()
        else:
            _assign(row, values, result, "indicators")
        result.conflicts.extend(values["conflicts"])
        seen_indicators.add(spec.code)
        for part_position, part_spec in enumerate(spec.parts):
            pvalues = part_values(part_spec, part_position)
            part = parts.get(part_spec.code)
            if part is None:
                part = IndicatorPart(plan_id=plan.id, indicator_id=row.id, code=part_spec.code, **pvalues)
                session.add(part)
                parts[part_spec.code] = part
                result.changes["parts-added"] += 1
                await session.flush()
            else:
                _assign(part, dict(indicator_id=row.id, **pvalues), result, "parts")
            seen_parts.add(part_spec.code)
            source = "override" if part_spec.reporters_overridden else "derived"
            for unit_code in part_spec.reporters:
                key = (part.id, units[unit_code].id)
                seen_assignments.add(key)
                assignment = assignments.get(key)
                if assignment is None:
                    session.add(Assignment(part_id=part.id, unit_id=units[unit_code].id, source=source, active=True))
                    result.changes["assignments-added"] += 1
                else:
                    _assign(assignment, dict(source=source, active=True), result, "assignments")
    _retire(indicators, seen_indicators, result, "indicators")
    _retire(parts, seen_parts, result, "parts")
    _retire(assignments, seen_assignments, result, "assignments")


def _retire(rows: dict[Any, Any], seen: set[Any], result: ImportResult, what: str) -> None:
    """Rows that left the file stay, inactive: figures given for them keep their history."""
    for key, row in rows.items():
        if key not in seen and row.active:
            row.active = False
            result.changes[f"{what}-retired"] += 1


# --- reads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanSummary:
    code: str
    title: str
    year: int
    indicators: int
    units: int


async def list_plans(session: AsyncSession) -> list[PlanSummary]:
    indicator_counts = (
        select(Indicator.plan_id, func.count().label("n")).where(Indicator.active.is_(True))
        .group_by(Indicator.plan_id).subquery()
    )
    unit_counts = (
        select(Unit.plan_id, func.count().label("n")).where(Unit.in_file.is_(True))
        .group_by(Unit.plan_id).subquery()
    )
    rows = await session.execute(
        select(Plan.code, Plan.title, Plan.year,
               func.coalesce(indicator_counts.c.n, 0), func.coalesce(unit_counts.c.n, 0))
        .outerjoin(indicator_counts, indicator_counts.c.plan_id == Plan.id)
        .outerjoin(unit_counts, unit_counts.c.plan_id == Plan.id)
        .order_by(Plan.code)
    )
    return [PlanSummary(*row) for row in rows]


async def get_plan(session: AsyncSession, code: str) -> Plan | None:
    plan = await session.scalar(select(Plan).where(Plan.code == code))
    if plan is None:
        # People type codes in any case: dt2025 is DT2025.
        plan = await session.scalar(select(Plan).where(func.lower(Plan.code) == code.lower()))
    return plan


async def plan_units(session: AsyncSession, plan: Plan) -> list[Unit]:
    return list(await session.scalars(
        select(Unit).where(Unit.plan_id == plan.id, Unit.in_file.is_(True)).order_by(Unit.id)
    ))


async def plan_indicators(session: AsyncSession, plan: Plan) -> list[Indicator]:
    return list(await session.scalars(
        select(Indicator).where(Indicator.plan_id == plan.id, Indicator.active.is_(True))
        .order_by(Indicator.position)
    ))


async def assignment_counts(session: AsyncSession, plan: Plan) -> dict[int, int]:
    """part id -> number of units reporting it."""
    rows = await session.execute(
        select(Assignment.part_id, func.count())
        .join(IndicatorPart, Assignment.part_id == IndicatorPart.id)
        .where(IndicatorPart.plan_id == plan.id, Assignment.active.is_(True))
        .group_by(Assignment.part_id)
    )
    return {part_id: count for part_id, count in rows}


async def plan_by_id(session: AsyncSession, plan_id: int) -> Plan | None:
    return await session.get(Plan, plan_id)


async def unit_by_id(session: AsyncSession, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


# The plan view (models/plan_view.py), loaded from the tables and cached between events.

def _plain_class(model: type, *extra: str) -> type:
    """A frozen, session-free copy of a table's row, with the same attribute names. The plan view
    is cached across events and processes' sessions: ORM instances in it would belong to the session
    that loaded them, and a rollback there would expire them for everyone (issue 12, item 1).
    Identity equality, as ORM instances have, so a copy can be hashed and kept in a set."""
    columns = [attr.key for attr in sa_inspect(model).column_attrs]
    return make_dataclass(f"{model.__name__}Data", [*columns, *extra], frozen=True, eq=False, slots=True)


PlanData = _plain_class(Plan)
UnitData = _plain_class(Unit)
PartData = _plain_class(IndicatorPart)
IndicatorData = _plain_class(Indicator, "parts")  # parts: every part, as Indicator.parts


def _plain(cls: type, row: object, **extra: object) -> Any:
    # JSON columns are lists and dicts: copied, so no handler can change the shared view's.
    values = {name: copy.deepcopy(getattr(row, name)) for name in cls.__dataclass_fields__ if name not in extra}
    return cls(**values, **extra)


# How long a plan view is trusted without asking the database whether the plan was re-imported.
VIEW_RECHECK_SECONDS = 2.0

# Plan id -> (the plan's file digest and import time, its view, when that stamp was checked).
ViewCache = dict[int, tuple[tuple[Any, ...], PlanView, float]]


async def load_plan_view(session: AsyncSession, plan_id: int, cache: ViewCache | None = None) -> PlanView:
    """The plan as handlers read it. A plan changes only when a different file is imported, so
    with a cache the view is kept between events and rebuilt when the plan's file digest moves
    (also when another process imported it; noticed within VIEW_RECHECK_SECONDS)."""
    if cache is None:
        return await _build_plan_view(session, plan_id)
    cached = cache.get(plan_id)
    if cached is not None and time.monotonic() - cached[2] < VIEW_RECHECK_SECONDS:
        return cached[1]
    stamp = tuple((await session.execute(
        select(Plan.file_digest, Plan.imported_at).where(Plan.id == plan_id))).one())
    if cached is not None and cached[0] == stamp:
        cache[plan_id] = (stamp, cached[1], time.monotonic())
        return cached[1]
    view = await _build_plan_view(session, plan_id)
    cache[plan_id] = (stamp, view, time.monotonic())
    return view


async def _build_plan_view(session: AsyncSession, plan_id: int) -> PlanView:
    row = await session.get(Plan, plan_id)
    assert row is not None
    plan = _plain(PlanData, row)
    indicators = []
    parts: dict[int, PartView] = {}
    for indicator_row in await session.scalars(
        select(Indicator).where(Indicator.plan_id == plan_id, Indicator.active.is_(True)).order_by(Indicator.position)
    ):
        all_parts = tuple(_plain(PartData, part) for part in indicator_row.parts)
        indicator = _plain(IndicatorData, indicator_row, parts=all_parts)
        indicators.append(indicator)
        for part in all_parts:
            if part.active:
                parts[part.id] = PartView(part, indicator, target_of(part))
    units = {u.id: _plain(UnitData, u) for u in await session.scalars(select(Unit).where(Unit.plan_id == plan_id))}
    rules = await _deadline_rules(session, plan_id)
    reporters, duties, overridden = await _assignments(session, plan_id, parts)
    collect_from = Period.parse(plan.collect_from) if plan.collect_from else None
    return PlanView(plan, indicators, parts, units, rules, reporters, duties, collect_from, frozenset(overridden))


async def _deadline_rules(session: AsyncSession, plan_id: int) -> dict[Frequency, DeadlineRule]:
    """Each frequency's deadline: the plan's own rule, else the default."""
    rules = dict(DEFAULT_DEADLINES)
    for rule in await session.scalars(select(ScheduleRule).where(ScheduleRule.plan_id == plan_id)):
        month: str | int = int(rule.deadline_month) if rule.deadline_month.isdigit() else rule.deadline_month
        rules[Frequency(rule.frequency)] = DeadlineRule(rule.deadline_day, month, rule.deadline_before)
    return rules


async def _assignments(session: AsyncSession, plan_id: int, parts: dict[int, PartView],
                       ) -> tuple[dict[int, list[int]], dict[int, list[int]], set[int]]:
    """Who reports which active part: part id -> unit ids, unit id -> part ids (in plan order),
    and the parts whose reporters the plan file set."""
    reporters: dict[int, list[int]] = {}
    duties: dict[int, list[int]] = {}
    rows = await session.execute(
        select(Assignment.part_id, Assignment.unit_id, Assignment.source)
        .join(IndicatorPart, Assignment.part_id == IndicatorPart.id)
        .where(IndicatorPart.plan_id == plan_id, Assignment.active.is_(True))
    )
    order = {part_id: position for position, part_id in enumerate(parts)}
    overridden: set[int] = set()
    for part_id, unit_id, source in rows:
        if part_id in parts:
            reporters.setdefault(part_id, []).append(unit_id)
            duties.setdefault(unit_id, []).append(part_id)
            if source == "override":
                overridden.add(part_id)
    for part_ids in duties.values():
        part_ids.sort(key=order.__getitem__)
    return reporters, duties, overridden
