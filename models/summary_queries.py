"""What the steering committee's summary reads, and build_summary: the database adds the figures
up, models.standing.summarize does the arithmetic on the sums.

The roll-ups, coverage and reporting rates come from SQL aggregation over current versions (no
higher version of the same unit, part and period: Submission.is_current, which the database's
triggers keep, migration 0017) of the units the plan view expects
(models.standing.ActiveUnits.expected, the one definition of who owes what):

- per part and period, grouped by figure class (what models.rollups.tally asks of a figure):
  counts and exact sums, sorted into models.rollups.FigureTotals by _Tally.fold;
- per unit, for the parts' own periods: reports received and on time (the FIRST version before
  the end of the deadline day), and which parts were received and which late; each part's on-time
  count follows from the late ones.

Figures are exact numbers (models.tables.FigureNumber): NUMERIC sums on PostgreSQL; on SQLite
64-bit integers of millionths, summed as whole units and remainders apart so that no sum of a
province's figures can overflow. With `cells` (charts, the questions across units, the
spreadsheet) each unit's current figure of the own periods is read, and those periods are added
up from the figures by models.rollups.tally itself; the database adds up the earlier periods.
tests/test_summary_sql.py holds both paths to models.standing.compute_summary over raw rows.

Only reads: a summary, its charts and its spreadsheet write nothing, so on SQLite they never hold
the database's write lock while they are computed and drawn.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Numeric,
    String,
    and_,
    any_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.numbers import FIGURE_PLACES, normalize
from models.people import officer_names
from models.periods import Frequency, Period
from models.review import approval_counts, returned_figures
from models.rollups import FigureTotals, is_milestone, pair_amount_sum
from models.standing import (
    ActiveUnits,
    Aggregates,
    PartLike,
    PlanLike,
    Reported,
    UnitReported,
    aggregate,
    choose_period,
    covered_periods,
    end_of_day,
    summarize,
    wanted_periods,
)
from models.submissions import figures_stamp
from models.summary_data import Summary
from models.tables import Review, Submission
from models.targets import Figure, Measure

__all__ = ["CellReader", "build_summary", "figure_versions", "first_submission_times", "read_aggregates"]

_HUNDRED = Decimal(100)
_LISTED = 64  # units named one by one up to this many; beyond, in one bound array or JSON list
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
    rows = await _streamed(session, (
        select(Submission.part_id, Submission.unit_id, func.min(Submission.submitted_at))
        .where(Submission.plan_id == plan_id, Submission.period.in_(sorted(set(periods))))
        .group_by(Submission.part_id, Submission.unit_id, Submission.period)
    ))
    return {(part_id, unit_id): first for part_id, unit_id, first in rows}


# --- the aggregation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    """Which figures a summary adds up: (part id, period id) pairs, each with the units expected
    then (models.standing.ActiveUnits.expected: the plan view's one definition of who owes what),
    the cutoff of each part's own period, and the plan's units."""

    plan_id: int
    dialect: str
    pairs: dict[tuple[int, str], frozenset[int]]
    own: dict[int, str]  # part id -> its own period's id
    cutoffs: dict[str, datetime]
    units: frozenset[int]
    approved_only: bool = False  # issue 17: only figures whose current version is approved


def _scope(view: PlanLike, chosen: Mapping[Frequency, Period], parts: Sequence[PartLike],
           cutoffs: Mapping[str, datetime], dialect: str, approved_only: bool = False) -> _Scope:
    active = ActiveUnits(view)
    pairs: dict[tuple[int, str], frozenset[int]] = {}
    own: dict[int, str] = {}
    sets: dict[frozenset[int], frozenset[int]] = {}  # parts reported by the same units share one set
    for pv in parts:
        own[pv.part.id] = chosen[pv.frequency].id
        for period in wanted_periods(pv, chosen[pv.frequency]):
            expected = frozenset(active.expected(pv.part.id, period))
            if expected:  # nobody owes it (a period before the plan's collect_from): nothing to add
                pairs[(pv.part.id, period.id)] = sets.setdefault(expected, expected)
    return _Scope(view.plan.id, dialect, pairs, own, dict(cutoffs), frozenset(view.units), approved_only)


def _among(scope: _Scope, column: Any, ids: frozenset[int]) -> Any:
    """column IN ids, as one bound value when there are many (a province's units would exceed
    the drivers' limit on parameters): an array on PostgreSQL, a JSON list on SQLite."""
    if len(ids) <= _LISTED:
        return column.in_(sorted(ids))
    if scope.dialect == "postgresql":
        return column == any_(literal(sorted(ids), ARRAY(Integer)))
    listed = func.json_each(literal(json.dumps(sorted(ids)))).table_valued("value")
    return column.in_(select(listed.c.value))


def _expected(scope: _Scope, pairs: Iterable[tuple[int, str]]) -> Any:
    """The figures of these (part, period) pairs from the units expected then: parts of a period
    with the same units expected in one condition, naming the units left out when they are fewer
    (every commune reports most indicators: then none, or the few merged away, are named)."""
    s = Submission
    groups: dict[tuple[str, frozenset[int]], list[int]] = {}
    for part_id, period_id in pairs:
        groups.setdefault((period_id, scope.pairs[(part_id, period_id)]), []).append(part_id)
    conditions = []
    for (period_id, units), part_ids in groups.items():
        outside = scope.units - units
        if not outside:
            among = true()
        elif len(outside) < len(units):
            among = ~_among(scope, s.unit_id, outside)
        else:
            among = _among(scope, s.unit_id, units)
        conditions.append(and_(s.period == period_id, s.part_id.in_(sorted(part_ids)), among))
    if not conditions:
        return false()
    # The periods once more, on their own: what the index of current figures is searched by.
    return and_(s.period.in_(sorted({period_id for period_id, _ in groups})), or_(*conditions))


@dataclass(frozen=True)
class _Current:
    """The current versions of some (part, period) pairs from the units expected: a condition on
    Submission, what to select them from, and `early`, 1 when the first version came before the
    period's cutoff (some version did)."""

    where: Any
    early: Any
    source: Any = Submission


def _current(scope: _Scope, pairs: Sequence[tuple[int, str]], *, early: bool = True,
             among: frozenset[int] | None = None, upto: int | None = None) -> _Current:
    """The current versions: Submission.is_current, which the database keeps (migration 0017),
    read through the partial index of current figures. On time: the row itself was before the
    cutoff, or, for a correction, an earlier version was: the keys with such a version are few
    (corrections are a few percent of the rows, those of a late figure fewer), read once and
    joined, not looked up row by row. `among`: these units only. `upto`: the versions current
    when the newest stored version's id was `upto` (models.submissions.figures_stamp), not those
    written since: the current ones up to it, and those a later version has replaced since (rare:
    corrections made while a long read goes on)."""
    s = Submission
    periods = {period_id for _, period_id in pairs}
    if upto is None:
        latest = s.is_current
    else:
        newer = aliased(Submission)
        replaced_since = and_(s.is_current.is_(False), ~exists().where(
            newer.unit_id == s.unit_id, newer.part_id == s.part_id, newer.period == s.period,
            newer.version > s.version, newer.id <= upto))
        latest = and_(s.id <= upto, or_(s.is_current, replaced_since))
    where = and_(s.plan_id == scope.plan_id, latest, _expected(scope, pairs))
    if among is not None:
        where = and_(where, _among(scope, s.unit_id, among))
    if scope.approved_only:
        where = and_(where, _approved())
    cutoffs = {period_id: at for period_id, at in scope.cutoffs.items() if period_id in periods and early}
    if not cutoffs:
        return _Current(where, literal(0))
    other = aliased(Submission)

    def before(period: Any) -> Any:
        # Typed as the column, so each cutoff is bound as UTC the way submitted_at is stored.
        return case(*((period == period_id, literal(at, s.submitted_at.type)) for period_id, at in cutoffs.items()))

    earlier = select(other.unit_id, other.part_id, other.period).where(
        other.plan_id == scope.plan_id, other.period.in_(sorted(cutoffs)), other.is_current.is_(False),
        other.submitted_at < before(other.period),
        *([] if among is None else [_among(scope, other.unit_id, among)]),
    ).distinct().subquery("earlier")
    source = Submission.__table__.outerjoin(earlier, and_(
        earlier.c.unit_id == s.unit_id, earlier.c.part_id == s.part_id, earlier.c.period == s.period))
    in_time = case((or_(s.submitted_at < before(s.period), earlier.c.unit_id.is_not(None)), 1), else_=0)
    return _Current(where, in_time, source)


def _approved() -> Any:
    """Issue 17: the latest review decision on this version of the figure is an approval."""
    review, later = aliased(Review), aliased(Review)
    return exists().where(review.submission_id == Submission.id, review.decision == "approved",
                          ~exists().where(later.submission_id == review.submission_id, later.id > review.id))


def _joined(scope: _Scope, current: _Current, *columns: Any) -> Any:
    """Select `columns` from the current versions of the units expected."""
    return select(*columns).select_from(current.source).where(current.where)


class _Sums:
    """Exact sums of FigureNumber columns under a condition, as select columns and read back:
    NUMERIC on PostgreSQL; on SQLite millionths, as whole units and remainders summed apart."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"
        self.columns: list[Any] = []

    def add(self, column: Any) -> int:
        """Add Σ column; returns its position for read()."""
        at = len(self.columns)
        if self.sqlite:
            raw = type_coerce(column, BigInteger)
            self.columns.append(func.sum(raw.op("/")(literal(_SCALE))))
            self.columns.append(func.sum(raw % _SCALE))
        else:
            self.columns.append(func.sum(type_coerce(column, Numeric())))
        return at

    def read(self, row: Sequence[Any], at: int) -> Decimal:
        """The exact sum (0 when there was nothing to add)."""
        if self.sqlite:
            whole, rest = row[at] or 0, row[at + 1] or 0
            return Decimal(whole * _SCALE + rest).scaleb(-FIGURE_PLACES)
        return Decimal(row[at] or 0)


def _flag(condition: Any) -> Any:
    return func.coalesce(cast(condition, Integer), 0)


# A figure's class, as bits: what models.rollups.tally asks of each figure. Figures of one part and
# period fall into a handful of classes, so the database groups by class and adds up plain sums;
# _fold sorts each class's counts and sums into FigureTotals.
_NA, _NUMERATOR, _DENOMINATOR, _POSITIVE, _VALUE, _ANSWERED, _DONE, _AT_DENOMINATOR, _AT_HUNDRED = (
    1 << bit for bit in range(9))


def _figure_class() -> Any:
    s = Submission
    return (_flag(s.not_applicable) * _NA + _flag(s.numerator.is_not(None)) * _NUMERATOR
            + _flag(s.denominator.is_not(None)) * _DENOMINATOR + _flag(s.denominator > 0) * _POSITIVE
            + _flag(s.value.is_not(None)) * _VALUE + _flag(s.done.is_not(None)) * _ANSWERED
            + _flag(s.done) * _DONE + _flag(s.numerator >= s.denominator) * _AT_DENOMINATOR
            + _flag(s.value >= _HUNDRED) * _AT_HUNDRED)


@dataclass
class _Tally:
    """FigureTotals being added up class by class (models.rollups.tally's rules, on classes)."""

    received: int = 0
    early: int = 0
    not_applicable: int = 0
    values: int = 0
    value_sum: Decimal = Decimal(0)
    done_answers: int = 0
    done_true: int = 0
    pairs: int = 0
    numerator_sum: Decimal = Decimal(0)
    denominator_sum: Decimal = Decimal(0)
    shares: int = 0
    share_sum: Decimal = Decimal(0)
    answered: int = 0
    done: int = 0

    def fold(self, kind: int, count: int, value: Decimal, numerator: Decimal, denominator: Decimal) -> None:
        """Add `count` figures of class `kind` with these sums."""
        self.received += count
        if kind & _NA:
            self.not_applicable += count
            return
        pair = bool(kind & _NUMERATOR and kind & _DENOMINATOR)
        positive = pair and bool(kind & _POSITIVE)
        has_value = bool(kind & _VALUE)
        answer = bool(kind & _ANSWERED)
        if positive:
            self.pairs += count
            self.numerator_sum += numerator
            self.denominator_sum += denominator
        elif not pair and has_value:
            self.values += count
            self.value_sum += value
        elif not pair and answer:
            self.done_answers += count
            self.done_true += count if kind & _DONE else 0
        if not kind & _NUMERATOR and has_value:
            self.shares += count
            self.share_sum += value
        # models.gaps.is_done: an explicit answer first, else the amount at 100 (n × 100 / d ≥ 100 ⇔ n ≥ d).
        if answer or positive or (not pair and has_value):
            self.answered += count
        if (kind & _DONE) or (not answer and ((positive and kind & _AT_DENOMINATOR)
                                              or (not pair and kind & _AT_HUNDRED))):
            self.done += count

    def reported(self, own: bool) -> Reported:
        totals = FigureTotals(
            0, not_applicable=self.not_applicable, values=self.values, value_sum=normalize(self.value_sum),
            done_answers=self.done_answers, done_true=self.done_true, pairs=self.pairs,
            numerator_sum=normalize(self.numerator_sum), denominator_sum=normalize(self.denominator_sum),
            shares=self.shares, share_sum=normalize(self.share_sum), answered=self.answered, done=self.done)
        return Reported(totals, self.received, self.early if own else 0)


async def _rows(session: AsyncSession, query: Any) -> Sequence[Any]:
    """All rows of a select of columns, through the session's connection: plain rows, without the
    ORM's result handling (a tenth of a second over 10,000 units' rows), in the session's
    transaction."""
    return (await (await session.connection()).execute(query)).all()


async def _part_totals(session: AsyncSession, scope: _Scope, current: _Current) -> dict[tuple[int, str], Reported]:
    """Per (part, period): Reported, from counts and sums per figure class."""
    s = Submission
    sums = _Sums((await session.connection()).dialect.name)
    at_value, at_numerator, at_denominator = sums.add(s.value), sums.add(s.numerator), sums.add(s.denominator)
    kind = _figure_class().label("kind")
    query = _joined(scope, current, s.part_id, s.period, kind, func.count(), func.sum(current.early),
                    *sums.columns).group_by(s.part_id, s.period, kind)
    tallies: dict[tuple[int, str], _Tally] = {}
    for row in await _rows(session, query):
        tally = tallies.setdefault((row[0], row[1]), _Tally())
        tally.early += int(row[4] or 0)
        tally.fold(int(row[2]), int(row[3]), sums.read(row[5:], at_value), sums.read(row[5:], at_numerator),
                   sums.read(row[5:], at_denominator))
    return {key: tally.reported(scope.own.get(key[0]) == key[1]) for key, tally in tallies.items()}


async def _pair_amounts(session: AsyncSession, scope: _Scope, pairs_read: Sequence[tuple[int, str]],
                        parts: Sequence[PartLike], found: dict[tuple[int, str], Reported]) -> None:
    """Σ n × 100 / d for the pairs sent for a count or a percentage (not a ratio): a quotient per
    unit, which no database divides exactly as Decimal does, so read and added here (rare: most
    such figures are single numbers)."""
    plain = {pv.part.id for pv in parts if not is_milestone(pv.target) and pv.target.measure is not Measure.RATIO}
    wanted = [key for key in pairs_read if key[0] in plain and key in found and found[key].totals.pairs]
    if not wanted:
        return
    s = Submission
    query = _joined(scope, _current(scope, wanted), s.part_id, s.period, s.numerator, s.denominator).where(
        s.not_applicable.is_(False), s.numerator.is_not(None), s.denominator > 0)
    pairs: dict[tuple[int, str], list[tuple[Decimal, Decimal]]] = {}
    for part_id, period_id, numerator, denominator in await _rows(session, query):
        pairs.setdefault((part_id, period_id), []).append((numerator, denominator))
    for key, given in pairs.items():
        reported = found[key]
        totals = replace(reported.totals, pair_amounts=pair_amount_sum(given))
        found[key] = Reported(totals, reported.received, reported.on_time)


async def _unit_totals(session: AsyncSession, scope: _Scope,
                       pairs: Sequence[tuple[int, str]]) -> dict[int, UnitReported]:
    """Per unit, over the parts' own periods (`pairs`): reports received, on time, and which parts.

    A figure is late when its current version came after the cutoff and no earlier one came before
    it: the units' counts take the first test, and the few late-looking corrections are checked
    for an earlier version apart, rather than every figure joined to the earlier versions. The
    parts received are read only for the units that sent fewer than they owe: a unit that sent
    everything received exactly the parts expected of it, which the scope knows (after a deadline
    nearly every unit; ten thousand units' lists need not be aggregated, sent and decoded)."""
    s = Submission
    where = and_(s.plan_id == scope.plan_id, s.is_current, _expected(scope, pairs))
    if scope.approved_only:
        where = and_(where, _approved())
    cutoffs = {period_id: at for period_id, at in scope.cutoffs.items() if period_id in {p for _, p in pairs}}
    before = _before(s.period, cutoffs) if cutoffs else None
    after = s.submitted_at >= before if before is not None else true()
    dialect = (await session.connection()).dialect.name
    if dialect == "sqlite":
        late_parts = func.group_concat(case((after, s.part_id)))
    else:  # an array: decoded by the driver, not parsed here
        late_parts = func.array_agg(s.part_id).filter(after)
    query = select(s.unit_id, func.count(), late_parts).where(where).group_by(s.unit_id)
    counted = await _rows(session, query)
    rescued: dict[int, set[int]] = {}  # unit -> parts whose current version is late but an earlier one was not
    if cutoffs:
        other = aliased(Submission)
        earlier = exists().where(other.unit_id == s.unit_id, other.part_id == s.part_id, other.period == s.period,
                                 other.version < s.version, other.submitted_at < before)
        query = select(s.unit_id, s.part_id).where(where, s.version > 1, after, earlier)
        for unit_id, part_id in await _rows(session, query):
            rescued.setdefault(unit_id, set()).add(part_id)
    owed = _parts_owed(scope, pairs)
    short = frozenset(unit_id for unit_id, received, _ in counted if received < len(owed.get(unit_id, ())))
    received_parts: dict[int, set[int]] = {}
    if short:
        listed = select(s.unit_id, s.part_id).where(where, _among(scope, s.unit_id, short))
        for unit_id, part_id in await _rows(session, listed):
            received_parts.setdefault(unit_id, set()).add(part_id)
    found = {}
    for unit_id, received, late in counted:
        late_ids = _ids(late)
        saved = rescued.get(unit_id)
        if saved:
            late_ids = late_ids - saved
        got = frozenset(received_parts.get(unit_id, ())) if unit_id in short else owed[unit_id]
        found[unit_id] = UnitReported(int(received), int(received) - len(late_ids), got, late_ids)
    return found


def _before(period: Any, cutoffs: Mapping[str, datetime]) -> Any:
    """The cutoff of the row's period (periods in `cutoffs`), typed as submitted_at, so each is
    bound as UTC the way submitted_at is stored."""
    return case(*((period == period_id, literal(at, Submission.submitted_at.type))
                  for period_id, at in cutoffs.items()))


def _parts_owed(scope: _Scope, pairs: Sequence[tuple[int, str]]) -> dict[int, frozenset[int]]:
    """unit id -> the parts (among `pairs`) it is expected to report; units owing the same parts
    share one set. Pairs with the same units expected share their set too (_scope), so this takes
    one pass over each distinct set of units, not one per part."""
    by_units: dict[int, list[int]] = {}  # id of a set of units -> its parts
    sets: dict[int, frozenset[int]] = {}
    for pair in pairs:
        units = scope.pairs[pair]
        sets[id(units)] = units
        by_units.setdefault(id(units), []).append(pair[0])
    owed: dict[int, tuple[int, ...]] = {}
    for key, units in sets.items():
        for unit_id in units:
            owed[unit_id] = (*owed.get(unit_id, ()), key)
    shared: dict[tuple[int, ...], frozenset[int]] = {}
    result = {}
    for unit_id, keys in owed.items():
        parts = shared.get(keys)
        if parts is None:
            parts = shared[keys] = frozenset(part for key in keys for part in by_units[key])
        result[unit_id] = parts
    return result


def _ids(listed: str | list[int] | None) -> frozenset[int]:
    """Part ids aggregated: a list from PostgreSQL, a comma-separated text from SQLite."""
    if not listed:
        return frozenset()
    return frozenset(listed) if isinstance(listed, list) else frozenset(int(part) for part in listed.split(","))


async def _cell_rows(session: AsyncSession, scope: _Scope, current: _Current) -> Sequence[Any]:
    """Each expected unit's current figure for its part's own period, as FigureRows."""
    s = Submission
    query = _joined(scope, current, s.part_id, s.unit_id, s.period, s.version, s.value, s.numerator,
                    s.denominator, type_coerce(s.done, Integer), type_coerce(s.not_applicable, Integer),
                    current.early)
    return await _streamed(session, query)


class CellReader:
    """Summary.figures and Summary.on_time, a few units at a time: what the spreadsheet's grid
    reads while it writes (handlers/export.py), so that a nation's 300,000 figures are never all
    held at once. For a summary built without the cells (build_summary(cells=False)); each read
    gives exactly what build_summary with the cells would have put there for those units (the
    same query, restricted to them), as of `stamp` (models.submissions.figures_stamp, taken
    when the summary was read): a figure stored or corrected while the grid is being written is
    left for the next export, so that the grid agrees with the summary's counts and rates."""

    def __init__(self, view: PlanLike, summary: Summary, dialect: str, stamp: int) -> None:
        chosen = {period.frequency: period for period, _ in summary.periods}
        parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
        cutoffs = {period.id: at for period, at in summary.cutoffs.items()}
        self.scope = _scope(view, chosen, parts, cutoffs, dialect)
        self.own = {part_id: period_id for part_id, period_id in self.scope.own.items()
                    if (part_id, period_id) in self.scope.pairs}
        self.stamp = stamp

    @classmethod
    async def open(cls, session: AsyncSession, view: PlanLike, summary: Summary) -> CellReader:
        """A reader of the figures as they are now (the summary just read): stamped with the newest
        stored version's id."""
        return cls(view, summary, (await session.connection()).dialect.name, await figures_stamp(session))

    async def read(self, session: AsyncSession, unit_ids: Iterable[int],
                   ) -> tuple[dict[int, dict[int, Figure]], dict[int, set[int]]]:
        """(part id -> unit id -> current figure, part id -> units on time) for these units.

        The rows are current versions only (one per unit and part), read through Core with the
        numbers as the database holds them (NUMERIC as text on PostgreSQL, millionths on SQLite):
        figures repeat (100%, 0, done), so each distinct one is converted, as FigureNumber
        converts it, and made a Figure once."""
        among = frozenset(unit_ids)
        figures: dict[int, dict[int, Figure]] = {part_id: {} for part_id in self.own}
        on_time: dict[int, set[int]] = {part_id: set() for part_id in self.own}
        if not among or not self.own:
            return figures, on_time
        s = Submission
        current = _current(self.scope, list(self.own.items()), among=among, upto=self.stamp)
        sqlite = self.scope.dialect == "sqlite"

        def raw(column: Any) -> Any:
            return type_coerce(column, BigInteger) if sqlite else cast(type_coerce(column, Numeric()), String)

        query = _joined(self.scope, current, s.part_id, s.unit_id, raw(s.value), raw(s.numerator),
                        raw(s.denominator), type_coerce(s.done, Integer), type_coerce(s.not_applicable, Integer),
                        current.early)
        made: dict[tuple[Any, ...], Figure] = {}
        result = await (await session.connection()).stream(query)
        async for partition in result.partitions(STREAM_PARTITION):
            for part_id, unit_id, *numbers, early in partition:
                key = tuple(numbers)
                figure = made.get(key)
                if figure is None:
                    figure = made[key] = _raw_figure(key, sqlite)
                figures[part_id][unit_id] = figure
                if early:
                    on_time[part_id].add(unit_id)
        return figures, on_time


def _raw_figure(raw: tuple[Any, ...], sqlite: bool) -> Figure:
    """A Figure from (value, numerator, denominator, done, not applicable) as stored."""
    def number(stored: Any) -> Decimal | None:
        if stored is None:
            return None
        return normalize(Decimal(stored).scaleb(-FIGURE_PLACES) if sqlite else Decimal(stored))

    value, numerator, denominator, done, nothing = raw
    return Figure(number(value), number(numerator), number(denominator), None if done is None else bool(done),
                  bool(nothing))


STREAM_PARTITION = 2000


async def _streamed(session: AsyncSession, query: Any) -> list[Any]:
    """All the rows of a large result, fetched a partition at a time: turning a province's
    hundred thousand rows into Python objects would otherwise hold the event loop for a second,
    and every other chat with it; between partitions other units of work go on."""
    rows: list[Any] = []
    result = await (await session.connection()).stream(query)  # Core: no ORM layer per row
    async for partition in result.partitions(STREAM_PARTITION):
        rows.extend(partition)
    return rows


async def read_aggregates(session: AsyncSession, view: PlanLike, chosen: Mapping[Frequency, Period],
                          parts: Sequence[PartLike], cutoffs: Mapping[str, datetime], *,
                          cells: bool = True, approved_only: bool = False) -> Aggregates:
    """models.standing.Aggregates, the sums per part and period and per unit, by SQL aggregation.

    With `cells`, each unit's current figure of the parts' own periods is read anyway: those
    periods are then added up from the figures (models.standing.aggregate, models.rollups.tally:
    the definition the SQL mirrors), and only the earlier periods by the database."""
    connection = await session.connection()
    scope = _scope(view, chosen, parts, cutoffs, connection.dialect.name, approved_only)
    if connection.dialect.name == "postgresql":
        # These scans cost enough for PostgreSQL to compile them to machine code first, which
        # takes longer (about a second) than running them; for this transaction only, and as a
        # SELECT: a summary writes nothing, not even a setting.
        await connection.execute(select(func.set_config("jit", "off", true())))
        # The figures fall into a few hundred groups (part, period, class) that PostgreSQL cannot
        # count beforehand; with the default 4 MB it plans for tens of thousands and sorts a
        # province's figures on disk instead of hashing them in memory.
        await connection.execute(select(func.set_config("work_mem", "64MB", true())))
    own_pairs = [pair for pair in scope.own.items() if pair in scope.pairs]
    other_pairs = [pair for pair in scope.pairs if pair not in set(own_pairs)]
    if cells:
        rows = await _cell_rows(session, scope, _current(scope, own_pairs)) if own_pairs else []
        found = aggregate(view, chosen, parts, rows, own_only=True)
        summed = other_pairs
    else:
        found = Aggregates({}, {})
        if own_pairs:
            found.units = await _unit_totals(session, scope, own_pairs)
        summed = list(scope.pairs)  # every period in one scan
    if summed:
        totals = await _part_totals(session, scope, _current(scope, summed, early=False))
        await _pair_amounts(session, scope, summed, parts, totals)
        if not cells:
            _on_time_from_units(totals, own_pairs, found.units)
        found.parts.update(totals)
    return found


def _on_time_from_units(totals: dict[tuple[int, str], Reported], own_pairs: Iterable[tuple[int, str]],
                        units: Mapping[int, UnitReported]) -> None:
    """Each part's reports on time: received less those some unit sent late (the per-unit query
    knows which), so the sums need no look at earlier versions and run in parallel."""
    late: dict[int, int] = {}
    for reported in units.values():
        for part_id in reported.late:
            late[part_id] = late.get(part_id, 0) + 1
    for key in own_pairs:
        if key in totals:
            mine = totals[key]
            totals[key] = Reported(mine.totals, mine.received, mine.received - late.get(key[0], 0))


async def build_summary(
    session: AsyncSession,
    view: PlanLike,
    period: Period | None,
    today: date,
    timezone: tzinfo,
    *,
    details: bool = False,
    cells: bool = True,
    approved_only: bool = False,
) -> Summary:
    """The summary of `period` (None: the cycle just closed, see models.standing) as seen on
    `today`; on-time counts use the end of each deadline day in `timezone` (BOT_TIMEZONE).

    The database adds the figures up (read_aggregates); the arithmetic on the sums takes a few
    milliseconds. `cells`: also each unit's current figure (Summary.figures, .on_time), which the
    grid chart, the questions across units and the spreadsheet show; without it those stay empty.
    `details`: also each received figure's first submission time (Summary.first_at), for the
    spreadsheet: one more grouped query. `approved_only` (issue 17): only figures whose current
    version the tracking office approved count (a correction awaits review again)."""
    headline = period if period is not None else choose_period(view, today)
    chosen = covered_periods(view, headline, today)
    parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
    cutoffs = {p.id: end_of_day(view.deadline(p), timezone) for p in chosen.values()}
    found = await read_aggregates(session, view, chosen, parts, cutoffs, cells=cells or details,
                                  approved_only=approved_only) if parts else Aggregates({}, {})
    officers = await officer_names(session, view.plan.id)
    first_at = await first_submission_times(session, view.plan.id, cutoffs) if details and parts else {}
    summary = await asyncio.to_thread(summarize, view, headline, chosen, parts, found, officers, today, timezone)
    summary.first_at = first_at
    summary.approved_only = approved_only  # issue 17: the review's counts per part's own period
    own = [(pv.part.id, chosen[pv.frequency].id) for pv in parts]
    summary.approvals = await approval_counts(session, view.plan.id, own)
    if cells:
        summary.returned = await returned_figures(session, view.plan.id, own)
    return summary

