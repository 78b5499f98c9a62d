"""Query and write functions. Each takes the session first and never commits: the caller's unit
of work does (one per command, event or job)."""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field, make_dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, insert, inspect as sa_inspect, select, update
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
    unchanged: Counter[str] = field(default_factory=Counter)  # "units", "parts", ...: rows left as they were
    rows_written: int = 0  # rows inserted or updated, every table together

    @property
    def changed(self) -> bool:
        return self.created or any(self.changes.values())

    def tally(self, what: str) -> tuple[int, int, int, int]:
        """(added, updated, retired, unchanged) rows of one kind: "units", "parts", ..."""
        return (self.changes[f"{what}-added"], self.changes[f"{what}-updated"], self.changes[f"{what}-retired"],
                self.unchanged[what])


def _assign(row: Any, values: dict[str, Any], result: ImportResult, what: str) -> None:
    """Set only what differs, so re-importing the same file writes nothing."""
    dirty = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            dirty = True
    if dirty:
        result.changes[f"{what}-updated"] += 1
        result.rows_written += 1
    else:
        result.unchanged[what] += 1


async def import_plan(session: AsyncSession, spec: PlanSpec, digest: str, now: datetime) -> ImportResult:
    """Create or update a plan in place from a validated spec.

    Rows are matched by code. Nothing is deleted: units, indicators, parts and assignments that
    left the file are kept inactive, so submitted figures and their history survive.

    Set-based (issue 19): each table's rows of the plan are read at once, compared in memory, and
    only the rows that are new or differ are written, in a few executemany statements. A province
    of 10,000 units and 30 indicators is 300,000 assignments: one statement per row made that a
    minute; re-importing a file that changed little now writes little."""
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
        result.rows_written += 1
        await session.flush()
    else:
        written = result.rows_written
        _assign(plan, plan_values, result, "plan")
        if plan.file_digest != digest:
            plan.file_digest, plan.imported_at = digest, now
            result.rows_written = written + 1  # the plan's row, once, whatever changed in it
    await _import_schedule(session, plan, spec, result)
    await session.flush()
    units = await _import_units(session, plan.id, spec.units, result)
    await _import_indicators(session, plan.id, spec.indicators, units, result)
    _forget_stale(session)
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
            result.rows_written += 1
        else:
            _assign(rule, values, result, "schedule")


# --- set-based writing -----------------------------------------------------------------------

# Stored rows as the importer compares them: key -> (id, the compared columns' values, in order).
Stored = dict[Any, tuple[Any, ...]]

UNIT_COLUMNS = ("name", "kind", "aliases", "named_in_plan", "active", "deactivated_on", "deactivation_reason",
                "in_file", "parent_id", "merged_into_id")
INDICATOR_COLUMNS = (
    "number", "position", "table_code", "group_code", "title", "text", "lead", "coordinating", "tracking",
    "province_target", "target_raw", "baseline_raw", "baseline", "level_raw", "level", "frequency",
    "accumulation", "formula", "basis", "reporters_reason", "target_source", "conflicts", "active",
    "evidence_required",
)
PART_COLUMNS = (
    "indicator_id", "position", "label", "target_raw", "measure", "comparison", "value", "low", "high",
    "unit_label", "due", "numerator_label", "denominator_label", "applies_to", "condition", "active",
    "allow_not_applicable",
)
ASSIGNMENT_COLUMNS = ("source", "active")


async def _stored(session: AsyncSession, query: Select[Any], keys: int) -> Stored:
    """The rows `query` selects (id, then `keys` key columns, then the compared columns) by key."""
    rows = (await session.execute(query)).all()
    if keys == 1:
        return {row[1]: (row[0], *row[2:]) for row in rows}
    return {tuple(row[1:1 + keys]): (row[0], *row[1 + keys:]) for row in rows}


async def _write(session: AsyncSession, table: Table, inserts: list[dict[str, Any]],
                 updates: list[dict[str, Any]]) -> int:
    """New rows in one executemany; changed rows (`_id` and the changed columns) in one executemany
    per set of changed columns. Returns the rows written."""
    if inserts:
        await session.execute(insert(table), inserts)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        by_columns.setdefault(tuple(sorted(row)), []).append(row)
    for rows in by_columns.values():
        # No .values(): the SET clause is made of the parameters' other keys.
        await session.execute(update(table).where(table.c.id == bindparam("_id")), rows)
    return len(inserts) + len(updates)


def _compare(stored: Stored, wanted: dict[Any, tuple[Any, ...]], columns: tuple[str, ...],
             result: ImportResult, what: str) -> list[dict[str, Any]]:
    """The updates that bring stored rows to what the file wants: only the columns that differ, only
    for the rows where something does."""
    updates = []
    for key, values in wanted.items():
        row = stored.get(key)
        if row is None:
            continue
        changed = {name: value for name, old, value in zip(columns, row[1:], values, strict=True) if old != value}
        if changed:
            updates.append({"_id": row[0], **changed})
            result.changes[f"{what}-updated"] += 1
        else:
            result.unchanged[what] += 1
    return updates


def _retirements(stored: Stored, wanted: dict[Any, Any], live: int, retired: dict[str, Any],
                 result: ImportResult, what: str) -> list[dict[str, Any]]:
    """Rows that left the file stay, inactive: figures given for them keep their history. `live`:
    the position (in the compared columns) of the flag that says the row is still in the plan."""
    updates = [{"_id": row[0], **retired} for key, row in stored.items() if key not in wanted and row[1 + live]]
    result.changes[f"{what}-retired"] += len(updates)
    return updates


async def _import_units(session: AsyncSession, plan_id: int, specs: tuple[UnitSpec, ...],
                        result: ImportResult) -> dict[str, int]:
    """Units by code -> id. New ones are inserted in the file's order (their ids keep it: units are
    listed by id) without links, then parents and successors are set where they differ."""
    t = Unit.__table__
    query = select(t.c.id, t.c.code, *(t.c[name] for name in UNIT_COLUMNS)).where(t.c.plan_id == plan_id)
    stored = await _stored(session, query, 1)
    values = {
        spec.code: (spec.name, spec.kind, list(spec.aliases), spec.named_in_plan, spec.active, spec.deactivated_on,
                    spec.deactivation_reason, True)
        for spec in specs
    }
    inserts = [dict(zip(UNIT_COLUMNS, (*values[spec.code], None, None), strict=True), plan_id=plan_id, code=spec.code)
               for spec in specs if spec.code not in stored]
    result.changes["units-added"] += len(inserts)
    retire = _retirements(stored, values, UNIT_COLUMNS.index("in_file"), {"in_file": False, "active": False},
                          result, "units")
    result.rows_written += await _write(session, t, inserts, retire)
    if inserts:
        stored = await _stored(session, query, 1)
    ids = {code: row[0] for code, row in stored.items()}
    wanted = {
        spec.code: (*values[spec.code], ids[spec.parent] if spec.parent else None,
                    ids[spec.merged_into] if spec.merged_into else None)
        for spec in specs
    }
    added = {row["code"] for row in inserts}
    updates = _compare({code: row for code, row in stored.items() if code not in added}, wanted, UNIT_COLUMNS,
                       result, "units")
    # New units' links: written, but the units count as added, not updated.
    updates += _compare({code: stored[code] for code in added}, wanted, UNIT_COLUMNS, ImportResult("", False), "units")
    result.rows_written += await _write(session, t, [], updates)
    return ids


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


def indicator_values(spec: IndicatorSpec, position: int) -> dict[str, Any]:
    return dict(
        number=spec.number, position=position, table_code=spec.table, group_code=spec.group,
        title=spec.title, text=spec.text, lead=spec.lead, coordinating=spec.coordinating,
        tracking=spec.tracking, province_target=spec.province_target, target_raw=spec.target_raw,
        baseline_raw=spec.baseline_raw, baseline=spec.baseline, level_raw=spec.level_raw,
        level=spec.level, frequency=spec.frequency.value, accumulation=spec.accumulation,
        formula=spec.formula, basis=spec.basis, reporters_reason=spec.reporters_reason,
        target_source=spec.target_source, conflicts=conflict_rows(spec), active=True,
        evidence_required=spec.evidence_required,
    )


async def _sync(session: AsyncSession, table: Table, query: Select[Any], keys: int,
                wanted: dict[Any, tuple[Any, ...]], columns: tuple[str, ...], fixed: dict[str, Any],
                result: ImportResult, what: str) -> dict[Any, int]:
    """Bring one table's rows of the plan to `wanted` (key -> the columns' values, in order): insert
    the new, update what differs, retire (active = false) what left the file. Returns key -> id."""
    stored = await _stored(session, query, keys)
    key_names = [column.name for column in query.selected_columns[1:1 + keys]]
    inserts = [{**fixed, **dict(zip(key_names, key if keys > 1 else (key,), strict=True)),
                **dict(zip(columns, values, strict=True))}
               for key, values in wanted.items() if key not in stored]
    result.changes[f"{what}-added"] += len(inserts)
    updates = _compare(stored, wanted, columns, result, what)
    updates += _retirements(stored, wanted, columns.index("active"), {"active": False}, result, what)
    result.rows_written += await _write(session, table, inserts, updates)
    if inserts:
        stored = await _stored(session, query, keys)
    return {key: row[0] for key, row in stored.items()}


async def _import_indicators(session: AsyncSession, plan_id: int, specs: tuple[IndicatorSpec, ...],
                             units: dict[str, int], result: ImportResult) -> None:
    indicators = Indicator.__table__
    wanted = {spec.code: indicator_values(spec, position) for position, spec in enumerate(specs)}
    for values in wanted.values():
        result.conflicts.extend(values["conflicts"])
    row_values = {code: tuple(values[name] for name in INDICATOR_COLUMNS) for code, values in wanted.items()}
    indicator_ids = await _sync(
        session, indicators,
        select(indicators.c.id, indicators.c.code, *(indicators.c[n] for n in INDICATOR_COLUMNS))
        .where(indicators.c.plan_id == plan_id),
        1, row_values, INDICATOR_COLUMNS, {"plan_id": plan_id}, result, "indicators")
    parts = IndicatorPart.__table__
    wanted_parts = {
        part.code: tuple(dict(indicator_id=indicator_ids[spec.code], **part_values(part, position))[name]
                         for name in PART_COLUMNS)
        for spec in specs for position, part in enumerate(spec.parts)
    }
    part_ids = await _sync(
        session, parts,
        select(parts.c.id, parts.c.code, *(parts.c[n] for n in PART_COLUMNS)).where(parts.c.plan_id == plan_id),
        1, wanted_parts, PART_COLUMNS, {"plan_id": plan_id}, result, "parts")
    assignments = Assignment.__table__
    wanted_assignments = {
        (part_ids[part.code], units[unit_code]): ("override" if part.reporters_overridden else "derived", True)
        for spec in specs for part in spec.parts for unit_code in part.reporters
    }
    await _sync(
        session, assignments,
        select(assignments.c.id, assignments.c.part_id, assignments.c.unit_id,
               *(assignments.c[n] for n in ASSIGNMENT_COLUMNS))
        .join(parts, assignments.c.part_id == parts.c.id).where(parts.c.plan_id == plan_id),
        2, wanted_assignments, ASSIGNMENT_COLUMNS, {}, result, "assignments")


def _forget_stale(session: AsyncSession) -> None:
    """The rows above were written past the session's identity map: an instance of them it holds
    (loaded earlier in the same unit of work) is expired, so the next query that returns it
    refreshes it instead of showing what was there before."""
    for instance in list(session.identity_map.values()):
        if isinstance(instance, (Unit, Indicator, IndicatorPart, Assignment)):
            session.expire(instance)


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


# How long a plan view is trusted without asking the database whether the plan was re-imported.
VIEW_RECHECK_SECONDS = 2.0
# How long after the warmer's last pass a request may still answer from a view whose plan was
# re-imported, while the warmer builds the new one (issue 19); past that, the request builds it.
VIEW_STALE_SECONDS = 30.0


class ViewCache(dict[int, tuple[tuple[Any, ...], PlanView, float]]):
    """Plan id -> (the plan's file digest and import time, its view, when that stamp was checked).

    `warmed_at`: when a warmer (refresh_plan_views, run in the background by the bot) last went
    over every plan. While it runs, a request that finds its plan re-imported answers from the
    view in hand (as a request a moment earlier did) and leaves the rebuilding to the warmer, so
    no officer's question waits for a province's plan to be read again."""

    def __init__(self) -> None:
        super().__init__()
        self.warmed_at: float | None = None

    def warm(self) -> bool:
        return self.warmed_at is not None and time.monotonic() - self.warmed_at < VIEW_STALE_SECONDS


async def _stamp(session: AsyncSession, plan_id: int) -> tuple[Any, ...]:
    return tuple((await session.execute(
        select(Plan.file_digest, Plan.imported_at).where(Plan.id == plan_id))).one())


async def load_plan_view(session: AsyncSession, plan_id: int, cache: ViewCache | None = None) -> PlanView:
    """The plan as handlers read it. A plan changes only when a different file is imported, so
    with a cache the view is kept between events and rebuilt when the plan's file digest moves
    (also when another process imported it; noticed within VIEW_RECHECK_SECONDS)."""
    if cache is None:
        return await _build_plan_view(session, plan_id)
    cached = cache.get(plan_id)
    if cached is not None and time.monotonic() - cached[2] < VIEW_RECHECK_SECONDS:
        return cached[1]
    stamp = await _stamp(session, plan_id)
    if cached is not None and (cached[0] == stamp or cache.warm()):
        if cached[0] == stamp:
            cache[plan_id] = (stamp, cached[1], time.monotonic())
        return cached[1]
    view = await _build_plan_view(session, plan_id)
    cache[plan_id] = (stamp, view, time.monotonic())
    return view


async def refresh_plan_views(session: AsyncSession, cache: ViewCache) -> list[int]:
    """Build the view of every plan whose file moved since its view was built (or that has none),
    the slow part in a worker thread so the event loop goes on answering meanwhile; forget the
    views of plans that are gone. Returns the plans rebuilt. The stamp is read before the rows,
    so a view is never newer-stamped than its rows: at worst it is built once more."""
    stamps = {plan_id: (digest, imported_at) for plan_id, digest, imported_at in
              await session.execute(select(Plan.id, Plan.file_digest, Plan.imported_at))}
    rebuilt = []
    for plan_id, stamp in stamps.items():
        cached = cache.get(plan_id)
        if cached is None or cached[0] != stamp:
            cache[plan_id] = (stamp, await _build_plan_view(session, plan_id, offload=True), time.monotonic())
            rebuilt.append(plan_id)
        else:
            cache[plan_id] = (stamp, cached[1], time.monotonic())
    for plan_id in [plan_id for plan_id in cache if plan_id not in stamps]:
        del cache[plan_id]
    cache.warmed_at = time.monotonic()
    return rebuilt


def _columns(model: type) -> list[Any]:
    """A table's columns, labelled with the mapped attributes' names (the plain classes' fields)."""
    return [attr.columns[0].label(attr.key) for attr in sa_inspect(model).column_attrs]


# Rows fetched at a time by the warmer: between two batches the event loop answers others.
WARM_BATCH = 5000


async def _fetch(session: AsyncSession, query: Select[Any], mappings: bool, offload: bool) -> list[Any]:
    """All the rows at once (row by row costs a call per row through the async adapter); for the
    warmer in batches, so reading a province's 300,000 assignments does not hold the loop."""
    if not offload:
        result = await session.execute(query)
        return list(result.mappings().all() if mappings else result.all())
    rows: list[Any] = []
    streamed = await session.stream(query)
    async for batch in (streamed.mappings() if mappings else streamed).partitions(WARM_BATCH):
        rows.extend(batch)
        await asyncio.sleep(0)  # let a waiting request run between batches
    return rows


@dataclass
class _PlanRows:
    """What a plan view is made of, as read from the tables."""

    plan: Any
    indicators: list[Any]
    parts: list[Any]
    units: list[Any]
    assignments: list[Any]  # (part id, unit id, source) of the active assignments
    rules: dict[Frequency, DeadlineRule]


async def _build_plan_view(session: AsyncSession, plan_id: int, offload: bool = False) -> PlanView:
    """Read the plan's rows, then make the view of them: in a worker thread when `offload` (for a
    province that is a second of Python over 300,000 assignments, which the event loop should
    not wait for)."""
    a, p = Assignment.__table__, IndicatorPart.__table__
    [plan] = await _fetch(session, select(*_columns(Plan)).where(Plan.id == plan_id), True, False)
    rows = _PlanRows(
        plan=plan,
        indicators=await _fetch(session, select(*_columns(Indicator)).where(
            Indicator.plan_id == plan_id, Indicator.active.is_(True)).order_by(Indicator.position), True, False),
        parts=await _fetch(session, select(*_columns(IndicatorPart)).where(IndicatorPart.plan_id == plan_id)
                           .order_by(IndicatorPart.indicator_id, IndicatorPart.position, IndicatorPart.id),
                           True, False),
        units=await _fetch(session, select(*_columns(Unit)).where(Unit.plan_id == plan_id), True, offload),
        assignments=await _fetch(session, select(a.c.part_id, a.c.unit_id, a.c.source)  # 300,000 for a province
                                 .join(p, a.c.part_id == p.c.id)
                                 .where(p.c.plan_id == plan_id, a.c.active.is_(True)), False, offload),
        rules=await _deadline_rules(session, plan_id),
    )
    return await asyncio.to_thread(_assemble, rows) if offload else _assemble(rows)


def _assemble(rows: _PlanRows) -> PlanView:
    """The view of a plan's rows. Plain copies straight from Core rows: no ORM instances to build
    and copy, and each row's JSON values were decoded afresh, so none is shared."""
    plan = PlanData(**rows.plan)
    all_parts: dict[int, list[Any]] = {}
    for row in rows.parts:
        all_parts.setdefault(row["indicator_id"], []).append(PartData(**row))
    indicators = []
    parts: dict[int, PartView] = {}
    for row in rows.indicators:
        indicator = IndicatorData(**row, parts=tuple(all_parts.get(row["id"], ())))
        indicators.append(indicator)
        for part in indicator.parts:
            if part.active:
                parts[part.id] = PartView(part, indicator, target_of(part))
    units = {row["id"]: UnitData(**row) for row in rows.units}
    reporters, duties, overridden = _assignments(rows.assignments, parts)
    collect_from = Period.parse(plan.collect_from) if plan.collect_from else None
    return PlanView(plan, indicators, parts, units, rows.rules, reporters, duties, collect_from,
                    frozenset(overridden))


async def _deadline_rules(session: AsyncSession, plan_id: int) -> dict[Frequency, DeadlineRule]:
    """Each frequency's deadline: the plan's own rule, else the default."""
    rules = dict(DEFAULT_DEADLINES)
    for rule in await session.scalars(select(ScheduleRule).where(ScheduleRule.plan_id == plan_id)):
        month: str | int = int(rule.deadline_month) if rule.deadline_month.isdigit() else rule.deadline_month
        rules[Frequency(rule.frequency)] = DeadlineRule(rule.deadline_day, month, rule.deadline_before)
    return rules


def _assignments(rows: list[Any], parts: dict[int, PartView],
                 ) -> tuple[dict[int, list[int]], dict[int, list[int]], set[int]]:
    """Who reports which active part: part id -> unit ids, unit id -> part ids (in plan order),
    and the parts whose reporters the plan file set."""
    reporters: dict[int, list[int]] = {}
    overridden: set[int] = set()
    for part_id, unit_id, source in rows:
        if part_id in parts:
            reporters.setdefault(part_id, []).append(unit_id)
            if source == "override":
                overridden.add(part_id)
    # Each unit's duties in plan order, by walking the parts in that order (no sort per unit).
    duties: dict[int, list[int]] = {}
    for part_id in parts:
        for unit_id in reporters.get(part_id, ()):
            duties.setdefault(unit_id, []).append(part_id)
    return reporters, duties, overridden
