"""What the steering committee's summary reads, and build_summary: the database adds the figures
up, models.standing.summarize does the arithmetic on the sums.

The roll-ups, coverage and reporting rates come from SQL aggregation over current versions (the
highest version of each unit, part and period) of the units expected (active assignments, less
the units a period does not count: models.standing.Aggregates):

- per part and period: reports received and on time (the FIRST version before the end of the
  deadline day: min(submitted_at) < cutoff), and the counts and exact sums of
  models.rollups.FigureTotals, the same classes tally() sorts figures into;
- per unit: reports received and on time, and which parts (to name the missing and the late).

Figures are exact numbers (models.tables.FigureNumber): NUMERIC sums on PostgreSQL; on SQLite
64-bit integers of millionths, summed as whole units and remainders apart so that no sum of a
province's figures can overflow. Only with `cells` (charts, the questions across units, the
spreadsheet) is each unit's current figure read, one row per unit and part.

Only reads: a summary, its charts and its spreadsheet write nothing, so on SQLite they never hold
the database's write lock while they are computed and drawn.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession

from models.numbers import FIGURE_PLACES, normalize
from models.people import officer_names
from models.periods import Frequency, Period
from models.rollups import FigureTotals, is_milestone, pair_amount_sum
from models.standing import (
    ActiveUnits,
    Aggregates,
    PartLike,
    PlanLike,
    Reported,
    UnitReported,
    choose_period,
    covered_periods,
    current_figures,
    end_of_day,
    summarize,
    wanted_periods,
)
from models.summary_data import Summary
from models.tables import Assignment, Submission
from models.targets import Figure, Measure

__all__ = ["build_summary", "figure_versions", "first_submission_times", "read_aggregates"]

_HUNDRED = Decimal(100)
_SCALE = 10 ** FIGURE_PLACES


async def figure_versions(
    session: AsyncSession, plan_id: int, periods: Iterable[str], cutoffs: Mapping[str, datetime],
) -> Sequence[Any]:
    """Every version of the plan's figures in these periods, in one query: (part id, unit id,
    period, version, value, numerator, denominator, done, not applicable, early), where early is
    1 when that version was submitted before its period's cutoff (periods in `cutoffs`; 0
    elsewhere): models.standing.FigureRow, what models.standing.compute_summary (the reference the
    SQL path is tested against) reads."""
    wanted = sorted(set(periods))
    query = select(
        Submission.part_id, Submission.unit_id, Submission.period, Submission.version,
        Submission.value, Submission.numerator, Submission.denominator, type_coerce(Submission.done, Integer),
        type_coerce(Submission.not_applicable, Integer), _early(Submission.period, Submission.submitted_at, cutoffs),
    ).where(Submission.plan_id == plan_id, Submission.period.in_(wanted))
    connection = await session.connection()
    return (await connection.execute(query)).all()


def _early(period: Any, at: Any, cutoffs: Mapping[str, datetime]) -> ColumnElement[Any]:
    """1 when `at` is before the cutoff of `period` (periods in `cutoffs`), else 0."""
    if not cutoffs:
        return literal(0)
    return case(*((and_(period == period_id, at < cutoff), 1) for period_id, cutoff in cutoffs.items()), else_=0)


async def first_submission_times(
    session: AsyncSession, plan_id: int, periods: Iterable[str],
) -> dict[tuple[int, int], datetime]:
    """(part id, unit id) -> the first version's time, min(submitted_at), in these periods (each
    part has one period in a summary's cycle). For the spreadsheet's unit sheets."""
    rows = await session.execute(
        select(Submission.part_id, Submission.unit_id, func.min(Submission.submitted_at))
        .where(Submission.plan_id == plan_id, Submission.period.in_(sorted(set(periods))))
        .group_by(Submission.part_id, Submission.unit_id, Submission.period)
    )
    return {(part_id, unit_id): first for part_id, unit_id, first in rows}


# --- the aggregation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """Which figures a summary adds up: (part id, period id) pairs, each with the units that owe
    nothing then (usually none), and the cutoff of each part's own period."""

    plan_id: int
    pairs: dict[tuple[int, str], list[int]]
    own: dict[int, str]  # part id -> its own period's id
    cutoffs: dict[str, datetime]


def _scope(view: PlanLike, chosen: Mapping[Frequency, Period], parts: Sequence[PartLike],
           cutoffs: Mapping[str, datetime]) -> _Scope:
    active = ActiveUnits(view)  # the one definition of who owes what
    pairs: dict[tuple[int, str], list[int]] = {}
    own: dict[int, str] = {}
    for pv in parts:
        own[pv.part.id] = chosen[pv.frequency].id
        for period in wanted_periods(pv, chosen[pv.frequency]):
            if active(period):  # a period nobody owes (before the plan's collect_from) adds nothing
                pairs[(pv.part.id, period.id)] = active.inactive(period)
    return _Scope(view.plan.id, pairs, own, dict(cutoffs))


def _current(scope: _Scope, pairs: Iterable[tuple[int, str]]) -> Any:
    """The current versions of the figures of these (part, period) pairs from the units expected:
    a subquery of (part, unit, period, version, early), early 1 when the first version came before
    the period's cutoff (some version did: min(submitted_at) < cutoff)."""
    by_period: dict[str, list[int]] = {}
    for part_id, period_id in pairs:
        by_period.setdefault(period_id, []).append(part_id)
    wanted = or_(*(and_(Submission.period == period_id, Submission.part_id.in_(sorted(part_ids)))
                   for period_id, part_ids in by_period.items())) if by_period else false()
    first = func.min(Submission.submitted_at)
    return (
        select(Submission.part_id, Submission.unit_id, Submission.period,
               func.max(Submission.version).label("version"),
               _early(Submission.period, first, scope.cutoffs).label("early"))
        .where(Submission.plan_id == scope.plan_id, wanted)
        .group_by(Submission.part_id, Submission.unit_id, Submission.period)
        .subquery("current")
    )


def _joined(scope: _Scope, current: Any, *columns: Any) -> Any:
    """Select `columns` from the current versions joined to the assignments (the reporters),
    without the units a period does not count."""
    s = Submission
    excluded = [and_(s.period == period_id, s.unit_id.in_(units))
                for (_, period_id), units in scope.pairs.items() if units]
    query = (
        select(*columns)
        .select_from(s)
        .join(current, and_(s.unit_id == current.c.unit_id, s.part_id == current.c.part_id,
                            s.period == current.c.period, s.version == current.c.version))
        .join(Assignment, and_(Assignment.part_id == s.part_id, Assignment.unit_id == s.unit_id,
                               Assignment.active.is_(True)))
    )
    if excluded:
        query = query.where(~or_(*excluded))
    return query


class _Sums:
    """Exact sums of FigureNumber columns under a condition, as select columns and read back:
    NUMERIC on PostgreSQL; on SQLite millionths, as whole units and remainders summed apart."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.columns: list[Any] = []

    def add(self, condition: Any, column: Any) -> int:
        """Add Σ column where condition; returns its position for read()."""
        at = len(self.columns)
        if self.sqlite:
            raw = type_coerce(column, BigInteger)
            self.columns.append(func.sum(case((condition, raw.op("/")(literal(_SCALE))), else_=0)))
            self.columns.append(func.sum(case((condition, raw % _SCALE), else_=0)))
        else:
            self.columns.append(func.sum(case((condition, column), else_=0)))
        return at

    def read(self, row: Sequence[Any], at: int) -> Decimal:
        if self.sqlite:
            whole, rest = row[at] or 0, row[at + 1] or 0
            return normalize(Decimal(whole * _SCALE + rest).scaleb(-FIGURE_PLACES))
        return normalize(Decimal(row[at] or 0))


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def _part_totals(session: AsyncSession, scope: _Scope, current: Any) -> dict[tuple[int, str], Reported]:
    """Per (part, period): Reported, its FigureTotals' classes as in models.rollups.tally."""
    s = Submission
    counted = s.not_applicable.is_(False)
    pair = and_(s.numerator.is_not(None), s.denominator.is_not(None))
    single = or_(s.numerator.is_(None), s.denominator.is_(None))
    positive = and_(counted, pair, s.denominator > 0)
    value = and_(counted, single, s.value.is_not(None))
    answer = and_(counted, single, s.value.is_(None), s.done.is_not(None))
    share = and_(counted, s.numerator.is_(None), s.value.is_not(None))
    # models.gaps.is_done: an explicit answer first, else the amount at 100 (n × 100 / d ≥ 100 ⇔ n ≥ d).
    said = and_(counted, or_(s.done.is_not(None), and_(pair, s.denominator > 0), and_(single, s.value.is_not(None))))
    done = and_(counted, or_(s.done.is_(True),
                             and_(s.done.is_(None), pair, s.denominator > 0, s.numerator >= s.denominator),
                             and_(s.done.is_(None), single, s.value >= _HUNDRED)))
    dialect = (await session.connection()).dialect.name
    sums = _Sums(dialect)
    at_value, at_numerator = sums.add(value, s.value), sums.add(positive, s.numerator)
    at_denominator, at_share = sums.add(positive, s.denominator), sums.add(share, s.value)
    counts = [func.count(), _count(~counted), func.sum(current.c.early), _count(value), _count(answer),
              _count(and_(answer, s.done.is_(True))), _count(positive), _count(share), _count(said), _count(done)]
    query = _joined(scope, current, s.part_id, s.period, *counts, *sums.columns).group_by(s.part_id, s.period)
    found: dict[tuple[int, str], Reported] = {}
    for row in (await session.execute(query)).all():
        received, na, early, values, answers, done_true, pairs, shares, answered, done_n = (
            int(n or 0) for n in row[2:12])
        sums_row = row[12:]
        totals = FigureTotals(
            0, not_applicable=na, values=values, value_sum=sums.read(sums_row, at_value),
            done_answers=answers, done_true=done_true, pairs=pairs,
            numerator_sum=sums.read(sums_row, at_numerator), denominator_sum=sums.read(sums_row, at_denominator),
            shares=shares, share_sum=sums.read(sums_row, at_share), answered=answered, done=done_n)
        is_own = scope.own.get(row[0]) == row[1]
        found[(row[0], row[1])] = Reported(totals, received, early if is_own else 0)
    return found


async def _pair_amounts(session: AsyncSession, scope: _Scope, current: Any, parts: Sequence[PartLike],
                        found: dict[tuple[int, str], Reported]) -> None:
    """Σ n × 100 / d for the pairs sent for a count or a percentage (not a ratio): a quotient per
    unit, which no database divides exactly as Decimal does, so read and added here (rare: most
    such figures are single numbers)."""
    plain = {pv.part.id for pv in parts if not is_milestone(pv.target) and pv.target.measure is not Measure.RATIO}
    wanted = [key for key, reported in found.items() if key[0] in plain and reported.totals.pairs]
    if not wanted:
        return
    s = Submission
    query = _joined(scope, _current(scope, wanted), s.part_id, s.period, s.numerator, s.denominator).where(
        s.not_applicable.is_(False), s.numerator.is_not(None), s.denominator > 0)
    pairs: dict[tuple[int, str], list[tuple[Decimal, Decimal]]] = {}
    for part_id, period_id, numerator, denominator in (await session.execute(query)).all():
        pairs.setdefault((part_id, period_id), []).append((numerator, denominator))
    for key, given in pairs.items():
        reported = found[key]
        totals = FigureTotals(**{**_fields(reported.totals), "pair_amounts": pair_amount_sum(given)})
        found[key] = Reported(totals, reported.received, reported.on_time)


def _fields(totals: FigureTotals) -> dict[str, Any]:
    return {name: getattr(totals, name) for name in FigureTotals.__slots__}  # type: ignore[attr-defined]


async def _unit_totals(session: AsyncSession, scope: _Scope, current: Any) -> dict[int, UnitReported]:
    """Per unit, over the parts' own periods: reports received, on time, and which parts."""
    s = Submission
    dialect = (await session.connection()).dialect.name
    late_part = case((current.c.early == 0, s.part_id))
    if dialect == "sqlite":
        received_parts, late_parts = func.group_concat(s.part_id), func.group_concat(late_part)
    else:
        received_parts = func.string_agg(cast(s.part_id, String), literal(","))
        late_parts = func.string_agg(cast(late_part, String), literal(","))
    query = _joined(scope, current, s.unit_id, func.count(), func.sum(current.c.early), received_parts,
                    late_parts).group_by(s.unit_id)
    return {
        unit_id: UnitReported(int(received), int(early or 0), _ids(got), _ids(late))
        for unit_id, received, early, got, late in (await session.execute(query)).all()
    }


def _ids(text: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in text.split(",")) if text else frozenset()


async def _cells(session: AsyncSession, scope: _Scope, current: Any) -> tuple[dict[int, dict[int, Figure]],
                                                                             dict[int, set[int]]]:
    """Each expected unit's current figure for its part's own period, and the units on time."""
    s = Submission
    query = _joined(scope, current, s.part_id, s.unit_id, s.period, s.version, s.value, s.numerator,
                    s.denominator, type_coerce(s.done, Integer), type_coerce(s.not_applicable, Integer),
                    current.c.early)
    by_key, early = current_figures((await session.execute(query)).all())
    figures = {part_id: by_key.get((part_id, period_id), {}) for part_id, period_id in scope.own.items()}
    return figures, {part_id: early.get(part_id, set()) for part_id in scope.own}


async def read_aggregates(session: AsyncSession, view: PlanLike, chosen: Mapping[Frequency, Period],
                          parts: Sequence[PartLike], cutoffs: Mapping[str, datetime], *,
                          cells: bool = True) -> Aggregates:
    """models.standing.Aggregates by SQL aggregation: the sums per part and period and per unit,
    and with `cells` each unit's current figure (models.standing.aggregate is the same from raw rows)."""
    scope = _scope(view, chosen, parts, cutoffs)
    if not scope.pairs:
        nothing = {pid: {} for pid in scope.own} if cells else {}
        return Aggregates({}, {}, nothing, {pid: set() for pid in nothing})
    current = _current(scope, scope.pairs)
    found = await _part_totals(session, scope, current)
    await _pair_amounts(session, scope, current, parts, found)
    own_pairs = [pair for pair in scope.own.items() if pair in scope.pairs]
    own_current = _current(scope, own_pairs)
    units = await _unit_totals(session, scope, own_current)
    aggregates = Aggregates(found, units)
    if cells:
        aggregates.figures, aggregates.on_time = await _cells(session, scope, own_current)
    return aggregates


async def build_summary(
    session: AsyncSession,
    view: PlanLike,
    period: Period | None,
    today: date,
    timezone: tzinfo,
    *,
    details: bool = False,
    cells: bool = True,
) -> Summary:
    """The summary of `period` (None: the cycle just closed, see models.standing) as seen on
    `today`; on-time counts use the end of each deadline day in `timezone` (BOT_TIMEZONE).

    The database adds the figures up (read_aggregates); the arithmetic on the sums takes a few
    milliseconds. `cells`: also each unit's current figure (Summary.figures, .on_time), which the
    grid chart, the questions across units and the spreadsheet show; without it those stay empty.
    `details`: also each received figure's first submission time (Summary.first_at), for the
    spreadsheet: one more grouped query."""
    headline = period if period is not None else choose_period(view, today)
    chosen = covered_periods(view, headline, today)
    parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
    cutoffs = {p.id: end_of_day(view.deadline(p), timezone) for p in chosen.values()}
    found = await read_aggregates(session, view, chosen, parts, cutoffs, cells=cells or details) if parts \
        else Aggregates({}, {})
    officers = await officer_names(session, view.plan.id)
    first_at = await first_submission_times(session, view.plan.id, cutoffs) if details and parts else {}
    summary = await asyncio.to_thread(summarize, view, headline, chosen, parts, found, officers, today, timezone)
    summary.first_at = first_at
    return summary

