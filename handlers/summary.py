"""The steering committee's summary: reporting rates, every indicator's plan-wide standing, the
largest gaps, the units to chase and the change since the previous period; with its two charts
(handlers/charts.py) and its spreadsheet (handlers/export.py).

Definitions (domain.md, Roll-ups; the issue's wording where domain.md is silent):

- **Summary period and the parts it covers.** The summary of a period P covers the reporting cycle
  that closes with P's last month: every part whose frequency has a period ending in that month
  (P = March 2025: monthly parts for March and quarterly parts for Q1; P = Q1 2025: quarterly
  parts for Q1 and monthly parts for March; P = 2025: December, Q4, H2 and the year). Parts of P's
  own frequency are always in; parts of the other frequencies join once their own deadline has
  passed, so a summary sent on 16/3 after the Q1 deadline (15/3) does not call March's monthly
  figures (due 20/3) missing. Parts whose frequency has no period ending in that month (a
  half-yearly indicator in March) are left out.
  Without an explicit period: for each frequency the plan uses, the latest period of the plan's
  year whose deadline has passed (the cycle just closed); of those, the one with the latest
  deadline is the headline (on a tie, the longer frequency: Q2 and H1 both due 15/6 -> H1).
  Before any deadline of the year has passed, the first period of the shortest frequency (an
  open summary: "missing" then means "not received yet").
- **Reporting rates**, as health information systems count them: expected = (unit, part) pairs
  a unit must report for the part's period (active units assigned to the part); received = a
  current figure exists; on time = the figure's FIRST version was submitted before the end of the
  deadline day in BOT_TIMEZONE (up to 23:59:59.999… local time); late = received after that;
  missing = expected - received. Overall and per unit; rates via models.rollups.reporting_rate.
- **Plan-wide figure and verdict**: models.rollups.plan_figure over the expected units (ratios
  Σnumerator / Σdenominator with percentage-only units at the mean denominator, counts summed,
  milestones as the share of units done, percentages as the mean; "không phát sinh" counted as
  received but left out of the figure and its coverage), with ✅ met, 🟡 on track, 🔴 off track,
  ⚪ not enough data (coverage below the plan's threshold, 80% by default) or ⏳ no data. The
  same function is behind /tinhhinh and the questions, so they never disagree with this.
- **Gap**: the plan-wide figure's gap (models.gaps.evaluate); for a milestone, the units not done.
  The five largest gaps rank the rows with a verdict (🟡 or 🔴) by gap relative to the target
  (gap / target value; units not done / units counted), since points and enterprises do not
  compare.
- **Change since the previous period**: plan-wide amount now minus the previous period's (the
  same units, rolled up the same way); for per-period indicators, this period's own amount.

Cost: one bulk query for every version of the figures of the covered periods and the periods
before them (columns through Core, with an "early" flag computed in SQL so no time is parsed),
one for the units' officers, then plain dict loops and list comprehensions with the garbage
collector paused: 3,000 units × 30 indicators in about 0.6 s on SQLite and 0.5 s on PostgreSQL
(bench/bench_summary.py). The spreadsheet's first-submission times come from one more grouped
query, min(submitted_at), only when asked for (build_summary(..., details=True)).
"""
from __future__ import annotations

import asyncio
import gc
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from sqlalchemy import Integer, String, and_, case, func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import limits
from handlers.context import Ctx, PartView, PlanView, load_plan_view
from handlers.events import Attachment, Reply
from handlers.formatting import describe_amount, describe_target, period_label, points
from handlers.intents import PeriodHint
from locales import Translator
from models.gaps import Accumulation, Gap, Status, evaluate
from models.people import officer_names
from models.periods import Frequency, Period, PeriodError, periods_of_year
from models.rollups import PlanFigure, Rollup, Standing, is_milestone, plan_figure, reporting_rate, roll_up
from models.tables import Submission
from models.targets import Figure, Target

__all__ = [
    "MARKS",
    "MAX_MESSAGE",
    "Cell",
    "IndicatorRow",
    "ReportCounts",
    "Standing",
    "Summary",
    "UnitRow",
    "ask_charts",
    "ask_summary",
    "build_summary",
    "choose_period",
    "collecting_period",
    "coverage_text",
    "covered_periods",
    "export_for_admin",
    "render_summary",
    "resolve_hint",
    "split_messages",
    "summary_of",
    "summary_replies",
    "verdict_note",
]

MAX_MESSAGE = 4096  # Telegram's limit, counted in UTF-16 code units
TOP_GAPS = 5
MAX_CHASE_SHOWN = 30  # units listed in the chat; the spreadsheet lists them all
MAX_CODES_SHOWN = 6
_ZERO = Decimal(0)


MARKS = {Standing.MET: "✅", Standing.ON_TRACK: "🟡", Standing.OFF_TRACK: "🔴", Standing.THIN: "⚪",
         Standing.NO_DATA: "⏳"}


@dataclass(frozen=True, slots=True)
class ReportCounts:
    """Reports expected, received, and received on time (late and missing follow)."""

    expected: int = 0
    received: int = 0
    on_time: int = 0

    @property
    def late(self) -> int:
        return self.received - self.on_time

    @property
    def missing(self) -> int:
        return self.expected - self.received

    @property
    def rate(self) -> Decimal | None:
        """Reports received as a percentage of reports expected (None when none was expected)."""
        return reporting_rate(self.expected, self.received)

    @property
    def on_time_rate(self) -> Decimal | None:
        return reporting_rate(self.expected, self.on_time)


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One indicator part across the plan, for its period in the summary's cycle: what
    models.rollups.plan_figure says about it, with the part's names."""

    part_id: int
    code: str  # the part's code ("6", "9a"), as people type it
    indicator_code: str
    number: str
    title: str
    label: str | None
    target: Target
    frequency: Frequency
    period: Period
    deadline: date
    result: PlanFigure
    reports: ReportCounts

    @property
    def rollup(self) -> Rollup:
        return self.result.rollup

    @property
    def amount(self) -> Decimal | None:
        return self.result.amount

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def standing(self) -> Standing:
        return self.result.standing

    @property
    def gap(self) -> Decimal | None:
        return self.result.gap

    @property
    def relative_gap(self) -> Decimal | None:
        return self.result.relative_gap

    @property
    def on_the_line(self) -> bool:
        return self.result.on_the_line

    @property
    def line(self) -> Decimal | None:
        return self.result.line

    @property
    def previous(self) -> Decimal | None:
        return self.result.previous

    @property
    def change(self) -> Decimal | None:
        return self.result.change

    @property
    def needed_per_period(self) -> Decimal | None:
        return self.result.needed_per_period

    @property
    def remaining_periods(self) -> int:
        return self.result.remaining_periods

    @property
    def mark(self) -> str:
        return MARKS[self.standing]

    @property
    def is_milestone(self) -> bool:
        return is_milestone(self.target)


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One unit's reports in the summary's cycle."""

    unit_id: int
    code: str
    name: str
    kind: str
    officer: str | None
    reports: ReportCounts
    missing_parts: tuple[str, ...]  # part codes, plan order
    late_parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """One unit's figure for one part: what the unit sheets and the grid chart show."""

    figure: Figure | None
    gap: Gap
    first_at: datetime | None  # the first version's time (when the summary was built with details)
    on_time: bool | None  # None when nothing was received

    @property
    def received(self) -> bool:
        return self.figure is not None


@dataclass
class Summary:
    """Everything the summary says, computed once; rendered as text, charts and a spreadsheet."""

    plan_id: int
    plan_code: str
    plan_title: str
    plan_year: int
    period: Period  # the headline period
    periods: list[tuple[Period, date]]  # every covered period with its deadline, headline first
    today: date
    open: bool  # the headline period's deadline has not passed yet
    rows: list[IndicatorRow]
    reports: ReportCounts
    units: list[UnitRow]  # every unit expected to report something, in plan order
    top_gaps: list[IndicatorRow]
    to_chase: list[UnitRow]  # units with missing reports, most missing first
    figures: dict[int, dict[int, Figure]] = field(default_factory=dict)  # part id -> unit id -> figure
    on_time: dict[int, set[int]] = field(default_factory=dict)  # part id -> units on time
    first_at: dict[tuple[int, int], datetime] = field(default_factory=dict)  # with details only
    expected: dict[int, list[int]] = field(default_factory=dict)  # part id -> unit ids expected
    cutoffs: dict[Period, datetime] = field(default_factory=dict)  # period -> end of its deadline day
    zone: tzinfo | None = None  # BOT_TIMEZONE, for times shown

    def counts(self) -> dict[Standing, int]:
        counts = dict.fromkeys(Standing, 0)
        for row in self.rows:
            counts[row.standing] += 1
        return counts

    def row(self, code: str) -> IndicatorRow:
        return next(row for row in self.rows if row.code == code)

    def unit(self, code: str) -> UnitRow:
        return next(unit for unit in self.units if unit.code == code)

    def cell(self, part_id: int, unit_id: int) -> Cell | None:
        """The unit's figure for the part; None when the unit does not report it this cycle."""
        if unit_id not in self._expected_sets().get(part_id, ()):
            return None
        row = self._rows_by_part()[part_id]
        figure = self.figures.get(part_id, {}).get(unit_id)
        if figure is None:
            return Cell(None, evaluate(row.target, None), None, None)
        first = self.first_at.get((part_id, unit_id))
        return Cell(figure, evaluate(row.target, figure), first, unit_id in self.on_time.get(part_id, ()))

    def _expected_sets(self) -> dict[int, frozenset[int]]:
        cached = self.__dict__.get("_expected_cache")
        if cached is None:
            cached = {part: frozenset(units) for part, units in self.expected.items()}
            self.__dict__["_expected_cache"] = cached
        return cached

    def _rows_by_part(self) -> dict[int, IndicatorRow]:
        cached = self.__dict__.get("_rows_cache")
        if cached is None:
            cached = {row.part_id: row for row in self.rows}
            self.__dict__["_rows_cache"] = cached
        return cached


# --- choosing the period ----------------------------------------------------------------------


def covered_periods(view: PlanView, period: Period, today: date) -> dict[Frequency, Period]:
    """The period of each of the plan's frequencies that the summary of `period` covers (see the
    module's docstring): the one ending in `period`'s last month, for the headline's frequency
    always, for the others once their deadline has passed."""
    frequencies = {pv.frequency for pv in view.parts.values()}
    chosen: dict[Frequency, Period] = {}
    for frequency in frequencies:
        if period.last_month % frequency.months:
            continue
        candidate = Period.of_month(period.year, period.last_month, frequency)
        if frequency is period.frequency or view.deadline(candidate) < today:
            chosen[frequency] = candidate
    return chosen


def choose_period(view: PlanView, today: date) -> Period:
    """The cycle just closed: of the latest period with a passed deadline of each frequency the
    plan uses, the one with the latest deadline (a tie goes to the longer frequency)."""
    frequencies = sorted({pv.frequency for pv in view.parts.values()}, key=lambda f: f.months)
    if not frequencies:
        return Period(view.plan.year, Frequency.MONTHLY, 1)
    best: tuple[date, int, Period] | None = None
    for frequency in frequencies:
        closed = [p for p in periods_of_year(view.plan.year, frequency) if view.deadline(p) < today]
        if closed:
            candidate = (view.deadline(closed[-1]), frequency.months, closed[-1])
            if best is None or candidate[:2] > best[:2]:
                best = candidate
    if best is None:
        return Period(view.plan.year, frequencies[0], 1)
    return best[2]


def collecting_period(view: PlanView, today: date) -> Period:
    """The period being collected now: of each frequency's latest period whose data cut-off has
    passed (its deadline is next, or passed and it is overdue), the one ending last; on a tie the
    one due last, then the longer frequency. Before any cut-off of the plan's year, the first
    period of the shortest frequency. What "who is missing" and the plan's standing answer for
    when no period is named; its summary adds the other frequencies' periods ending in the same
    month once they are due (covered_periods)."""
    frequencies = sorted({pv.frequency for pv in view.parts.values()}, key=lambda f: f.months)
    if not frequencies:
        return Period(view.plan.year, Frequency.MONTHLY, 1)
    candidates = [p for p in (view.collecting(f, today) for f in frequencies) if p is not None]
    if not candidates:
        return Period(view.plan.year, frequencies[0], 1)
    return max(candidates, key=lambda p: (p.cutoff_window()[1], view.deadline(p), p.frequency.months))


def resolve_hint(hint: PeriodHint, plan_year: int) -> Period:
    """The period a person named; the plan's year when they named none. Raises PeriodError."""
    return Period(hint.year if hint.year is not None else plan_year, hint.frequency, hint.index)


# --- building ---------------------------------------------------------------------------------


def _end_of_day(day: date, zone: tzinfo) -> datetime:
    """The first instant after `day` in `zone`: a report is on time strictly before it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


async def _load_figures(
    session: AsyncSession, plan_id: int, periods: Iterable[str], cutoffs: dict[str, datetime],
) -> list[Any]:
    """Every version of the plan's figures in these periods, in one query: (part id, unit id,
    period, version, value, numerator, denominator, done, not applicable, early), where early is
    1 when that version was submitted before its period's cutoff (periods in `cutoffs`; 0
    elsewhere).

    The current figure is the highest version (picked in Python: no grouped join to run), and the
    first version was on time exactly when some version was (min(submitted_at) < cutoff ⇔ some
    submitted_at < cutoff), so no time needs parsing. Core, not ORM: 180,000 rows load in a few
    tenths of a second on SQLite.
    """
    wanted = sorted(set(periods))
    if cutoffs:
        early = case(*(
            (and_(Submission.period == period_id, Submission.submitted_at < cutoff), 1)
            for period_id, cutoff in cutoffs.items()
        ), else_=0)
    else:
        early = literal(0)
    # The exact decimals come back as the text they are stored as (models.tables.DecimalText) and
    # done as it is stored: compute_summary converts each distinct figure once, not every row.
    query = select(
        Submission.part_id, Submission.unit_id, Submission.period, Submission.version,
        type_coerce(Submission.value, String), type_coerce(Submission.numerator, String),
        type_coerce(Submission.denominator, String), type_coerce(Submission.done, Integer),
        type_coerce(Submission.not_applicable, Integer), early,
    ).where(Submission.plan_id == plan_id, Submission.period.in_(wanted))
    connection = await session.connection()
    return (await connection.execute(query)).all()


async def _load_first_times(
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


async def build_summary(
    session: AsyncSession,
    view: PlanView,
    period: Period | None,
    today: date,
    timezone: tzinfo,
    *,
    details: bool = False,
) -> Summary:
    """The summary of `period` (None: the cycle just closed, see the module's docstring) as seen
    on `today`; on-time counts use the end of each deadline day in `timezone` (BOT_TIMEZONE).
    With `details`, also each received figure's first submission time (Summary.first_at), which
    the spreadsheet shows: one more grouped query."""
    headline = period if period is not None else choose_period(view, today)
    chosen = covered_periods(view, headline, today)
    parts = [pv for pv in view.parts.values() if pv.frequency in chosen]

    wanted: set[str] = set()
    for pv in parts:
        own = chosen[pv.frequency]
        wanted.add(own.id)
        wanted.add(own.previous().id)
        if Accumulation(pv.indicator.accumulation) is Accumulation.PER_PERIOD:
            wanted.update(p.id for p in periods_of_year(own.year, pv.frequency) if p <= own)
    cutoffs = {p.id: _end_of_day(view.deadline(p), timezone) for p in chosen.values()}
    # Hundreds of thousands of short-lived, cycle-free objects: the cyclic garbage collector
    # would otherwise walk the whole heap several times over for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        rows = await _load_figures(session, view.plan.id, wanted, cutoffs) if parts else []
        officers = await officer_names(session, view.plan.id)
        summary = compute_summary(view, headline, chosen, parts, rows, officers, today, timezone)
        del rows
    finally:
        if collecting:
            gc.enable()
    if details and parts:
        summary.first_at = await _load_first_times(session, view.plan.id, cutoffs)
    return summary


def compute_summary(
    view: PlanView,
    headline: Period,
    chosen: dict[Frequency, Period],
    parts: Sequence[PartView],
    rows: Iterable[Sequence[Any]],
    officers: dict[int, str],
    today: date,
    timezone: tzinfo,
) -> Summary:
    """The arithmetic of build_summary, on rows (part id, unit id, period, version, value,
    numerator, denominator, done, not applicable, early) as _load_figures gives them (numbers as
    text or Decimal, done and not applicable as a bool or 0/1). Pure: no I/O."""
    by_key: dict[tuple[int, str], dict[int, Figure]] = {}
    versions: dict[tuple[int, int, str], int] = {}  # only versions above 1
    early: dict[int, set[int]] = {}  # part id -> units with a version before the cutoff
    # Figures are immutable: equal raw figures (100%, done, 3 enterprises) share one object.
    made: dict[tuple[Any, Any, Any, Any, Any], Figure] = {}
    for part_id, unit_id, period_id, version, value, numerator, denominator, done, nothing, in_time in rows:
        if in_time:
            found = early.get(part_id)
            if found is None:
                found = early[part_id] = set()
            found.add(unit_id)
        bucket = by_key.get((part_id, period_id))
        if bucket is None:
            bucket = by_key[(part_id, period_id)] = {}
        if unit_id in bucket:  # a corrected figure: the highest version is current
            key = (part_id, unit_id, period_id)
            if version <= versions.get(key, 1):
                continue
            versions[key] = version
        elif version > 1:
            versions[(part_id, unit_id, period_id)] = version
        raw = (value, numerator, denominator, done, nothing)
        figure = made.get(raw)
        if figure is None:
            figure = made[raw] = Figure(
                None if value is None else Decimal(value),
                None if numerator is None else Decimal(numerator),
                None if denominator is None else Decimal(denominator),
                None if done is None else bool(done),
                bool(nothing),
            )
        bucket[unit_id] = figure

    deadlines = {p: view.deadline(p) for p in chosen.values()}
    cutoffs = {p: _end_of_day(d, timezone) for p, d in deadlines.items()}
    active_cache: dict[Period, frozenset[int]] = {}

    def active(p: Period) -> frozenset[int]:
        found = active_cache.get(p)
        if found is None:
            found = frozenset(uid for uid, unit in view.units.items() if view.active_unit(unit, p))
            active_cache[p] = found
        return found

    expected_count: Counter[int] = Counter()
    received_count: Counter[int] = Counter()
    on_time_count: Counter[int] = Counter()
    unit_missing: dict[int, list[str]] = {}
    unit_late: dict[int, list[str]] = {}
    figures: dict[int, dict[int, Figure]] = {}
    on_time_units: dict[int, set[int]] = {}
    expected_by_part: dict[int, list[int]] = {}
    result_rows: list[IndicatorRow] = []
    no_units: set[int] = set()

    for pv in parts:  # list comprehensions and C-level counters: 90,000 pairs in a blink
        part_id = pv.part.id
        own = chosen[pv.frequency]
        live = active(own)
        expected = [uid for uid in view.reporters.get(part_id, ()) if uid in live]
        given = by_key.get((part_id, own.id), {})
        in_time = early.get(part_id, no_units)
        received = [uid for uid in expected if uid in given]
        on_time = [uid for uid in received if uid in in_time]
        figures[part_id] = {uid: given[uid] for uid in received}
        on_time_units[part_id] = set(on_time)
        expected_by_part[part_id] = expected
        expected_count.update(expected)
        received_count.update(received)
        on_time_count.update(on_time)
        if len(received) < len(expected):
            for uid in expected:
                if uid not in given:
                    unit_missing.setdefault(uid, []).append(pv.code)
        if len(on_time) < len(received):
            for uid in received:
                if uid not in in_time:
                    unit_late.setdefault(uid, []).append(pv.code)
        reports = ReportCounts(len(expected), len(received), len(on_time))
        result_rows.append(_indicator_row(view, pv, own, deadlines[own], expected, by_key, active, reports))

    units: list[UnitRow] = []
    for uid in sorted(expected_count):  # unit ids follow the plan file's order
        unit = view.units[uid]
        units.append(UnitRow(uid, unit.code, unit.name, unit.kind, officers.get(uid),
                             ReportCounts(expected_count[uid], received_count[uid], on_time_count[uid]),
                             tuple(unit_missing.get(uid, ())), tuple(unit_late.get(uid, ()))))
    to_chase = sorted((u for u in units if u.reports.missing),
                      key=lambda u: (-u.reports.missing, u.name))
    # Only gaps with a verdict: a figure from too few units is not yet a gap of the plan.
    ranked = [r for r in result_rows if r.relative_gap is not None and r.status is Status.NOT_MET
              and r.standing in (Standing.ON_TRACK, Standing.OFF_TRACK)]
    order = {row.part_id: index for index, row in enumerate(result_rows)}
    top = sorted(ranked, key=lambda r: (-(r.relative_gap or _ZERO), order[r.part_id]))[:TOP_GAPS]
    periods = sorted(((p, d) for p, d in deadlines.items()),
                     key=lambda item: (item[0] != headline, -item[0].frequency.months))
    return Summary(
        plan_id=view.plan.id, plan_code=view.plan.code, plan_title=view.plan.title,
        plan_year=view.plan.year, period=headline, periods=periods, today=today,
        open=view.deadline(headline) >= today, rows=result_rows,
        reports=ReportCounts(sum(r.reports.expected for r in result_rows),
                             sum(r.reports.received for r in result_rows),
                             sum(r.reports.on_time for r in result_rows)),
        units=units, top_gaps=top, to_chase=to_chase, figures=figures, on_time=on_time_units,
        expected=expected_by_part,
        cutoffs=cutoffs, zone=timezone,
    )


def _indicator_row(
    view: PlanView, pv: PartView, period: Period, deadline: date, expected: list[int],
    by_key: dict[tuple[int, str], dict[int, Figure]], active: Any, reports: ReportCounts,
) -> IndicatorRow:
    target = pv.target
    part_id = pv.part.id
    given = by_key.get((part_id, period.id), {})
    accumulation = Accumulation(pv.indicator.accumulation)

    def standing_at(p: Period) -> Decimal | None:
        """The plan-wide amount of period p (the same way: the units expected then)."""
        figures = by_key.get((part_id, p.id), {})
        live = active(p)
        units = [uid for uid in view.reporters.get(part_id, ()) if uid in live]
        return roll_up(target, [figures.get(uid) for uid in units]).amount

    previous = standing_at(period.previous()) if period.index > 1 else None
    earlier: list[Decimal | None] = []
    if accumulation is Accumulation.PER_PERIOD and not is_milestone(target):
        earlier = [standing_at(p) for p in periods_of_year(period.year, period.frequency) if p < period]
    result = plan_figure(
        target, period, [given.get(uid) for uid in expected], previous=previous, earlier=earlier,
        accumulation=accumulation, threshold=view.coverage_threshold,
        baseline=pv.indicator.baseline if len(pv.indicator.parts) == 1 else None,
    )
    return IndicatorRow(
        part_id=part_id, code=pv.code, indicator_code=pv.indicator.code, number=pv.indicator.number,
        title=pv.indicator.title, label=pv.part.label, target=target, frequency=pv.frequency,
        period=period, deadline=deadline, result=result, reports=reports,
    )


# --- rendering --------------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji such as 🔴 counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_messages(sections: Sequence[Sequence[str]], limit: int = MAX_MESSAGE) -> list[str]:
    """Messages of at most `limit` UTF-16 units, split at line boundaries: whole sections are kept
    together where they fit, a section too long for one message is split between its lines, and
    a single line longer than a message (none is, in practice) is cut."""
    messages: list[str] = []
    current: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        while current and not current[-1]:
            current.pop()
        if current:
            messages.append("\n".join(current))
        current, size = [], 0

    for section in sections:
        lines = [line for piece in section for line in _cut(piece, limit)]
        block = utf16_length("\n".join(lines))
        separator = 2 if current else 0  # "\n\n" between sections
        if current and size + separator + block > limit:
            flush()
            separator = 0
        if current:
            current.append("")
            size += 1
        for line in lines:
            extra = utf16_length(line) + (1 if current else 0)
            if current and size + extra > limit:
                flush()
                extra = utf16_length(line)
            current.append(line)
            size += extra
    flush()
    return messages


def _cut(line: str, limit: int) -> list[str]:
    if utf16_length(line) <= limit:
        return [line]
    pieces, piece = [], ""
    for char in line:
        if utf16_length(piece + char) > limit:
            pieces.append(piece)
            piece = ""
        piece += char
    pieces.append(piece)
    return pieces


def _signed(value: Decimal, target: Target, t: Translator) -> str:
    shown = points(abs(value), target, t)
    if value > 0:
        return f"+{shown}"
    if value < 0:
        return f"−{shown}"
    return shown


def _row_title(row: IndicatorRow) -> str:
    return f"{row.title} — {row.label}" if row.label else row.title


def _amount_text(row: IndicatorRow, t: Translator) -> str:
    if row.amount is None:
        return t("summary-no-figures")
    if row.is_milestone:
        return t("summary-units-done", done=t.number(row.rollup.units_done or 0),
                 expected=t.number(row.rollup.units_counted))
    return describe_amount(row.amount, row.target, t)


def coverage_text(rollup: Rollup, t: Translator) -> str:
    """"3/32 đơn vị có số", with the units that had nothing to report and, for a ratio, those
    that sent only a percentage: shown beside every plan-wide figure."""
    shown = t("summary-units-reported", reported=t.number(rollup.units_reporting),
              expected=t.number(rollup.units_counted))
    if rollup.units_not_applicable:
        shown += ", " + t("rollup-coverage-not-applicable", count=t.number(rollup.units_not_applicable))
    if rollup.units_percent_only and rollup.numerator is not None:
        shown += ", " + t("rollup-coverage-percent-only", count=t.number(rollup.units_percent_only))
    return shown


def verdict_note(row: IndicatorRow, t: Translator) -> str | None:
    """What goes beside the mark when it needs words: too few units for a verdict, or on track
    although the figure got worse since the previous period."""
    if row.standing is Standing.THIN:
        return t("rollup-thin", threshold=t.percent(row.result.threshold))
    if row.result.worse and row.standing is not Standing.MET:
        return t("rollup-worse")
    return None


def _gap_text(row: IndicatorRow, t: Translator) -> str | None:
    if row.status is not Status.NOT_MET:
        return None
    if row.is_milestone:
        return t("summary-gap-units", count=t.number(row.gap or 0))
    if row.on_the_line:
        return t("summary-gap-on-the-line")
    if row.gap is None:
        return None
    return t("summary-gap", gap=points(row.gap, row.target, t))


def indicator_lines(row: IndicatorRow, t: Translator) -> list[str]:
    """Two or three short lines about one indicator part."""
    lines = [f"{row.mark} {row.code} · {_row_title(row)}"]
    second = t("summary-figure", amount=_amount_text(row, t), target=describe_target(row.target, t))
    gap = _gap_text(row, t)
    if gap:
        second += f" · {gap}"
    lines.append(f"   {second}")
    third = []
    if row.change is not None:
        third.append(t("summary-change", change=_signed(row.change, row.target, t)))
    third.append(coverage_text(row.rollup, t))
    note = verdict_note(row, t)
    if note:
        third.append(note)
    lines.append("   " + " · ".join(third))
    return lines


def _rate(value: Decimal | None, t: Translator) -> str:
    return t.percent(value.quantize(Decimal("0.1"))) if value is not None else "—"


def render_summary(summary: Summary, t: Translator, *, max_units: int | None = MAX_CHASE_SHOWN) -> list[str]:
    """The summary as chat messages of at most 4,096 characters each (split at line boundaries):
    short lines with emoji marks, in the translator's language. `max_units` caps the units listed
    to chase (None: every one); the spreadsheet always lists all."""
    sections: list[list[str]] = []
    head = [t("summary-title", period=period_label(summary.period, t)), summary.plan_title]
    for period, deadline in summary.periods:
        head.append(t("summary-period-line", period=period_label(period, t), deadline=t.date(deadline)))
    if summary.open:
        head.append(t("summary-open"))
    sections.append(head)

    reports = summary.reports
    rates = [t("summary-reports-header")]
    if reports.expected:
        rates.append(t("summary-reports-received", received=t.number(reports.received),
                       expected=t.number(reports.expected), rate=_rate(reports.rate, t)))
        rates.append(t("summary-reports-breakdown", on_time=t.number(reports.on_time),
                       late=t.number(reports.late), missing=t.number(reports.missing)))
        complete = sum(1 for unit in summary.units if not unit.reports.missing)
        rates.append(t("summary-reports-units", complete=t.number(complete), units=t.number(len(summary.units))))
    else:
        rates.append(t("summary-reports-none"))
    sections.append(rates)

    counts = summary.counts()
    indicators = [t("summary-indicators-header", met=counts[Standing.MET], on_track=counts[Standing.ON_TRACK],
                    off_track=counts[Standing.OFF_TRACK], thin=counts[Standing.THIN],
                    no_data=counts[Standing.NO_DATA])]
    for row in summary.rows:
        indicators.extend(indicator_lines(row, t))
    sections.append(indicators)

    gaps = [t("summary-top-gaps-header", count=len(summary.top_gaps))] if summary.top_gaps else [
        t("summary-top-gaps-none")]
    for number, row in enumerate(summary.top_gaps, start=1):
        gaps.append(f"{number}. {row.code} · {_row_title(row)}")
        detail = _gap_text(row, t) or ""
        if row.needed_per_period is not None and row.remaining_periods > 0 and row.needed_per_period > 0:
            detail += " · " + t("summary-needed", amount=points(row.needed_per_period, row.target, t),
                                frequency=t(f"frequency-{row.frequency.value}"))
        gaps.append(f"   {detail}")
    sections.append(gaps)

    chase: list[str] = []
    if summary.to_chase:
        chase.append(t("summary-chase-header", count=t.number(len(summary.to_chase))))
        shown = summary.to_chase if max_units is None else summary.to_chase[:max_units]
        for unit in shown:
            codes = ", ".join(unit.missing_parts[:MAX_CODES_SHOWN])
            if len(unit.missing_parts) > MAX_CODES_SHOWN:
                codes += ", …"
            chase.append(t("summary-chase-line", unit=unit.name, missing=unit.reports.missing,
                           expected=unit.reports.expected, codes=codes,
                           officer=unit.officer or t("summary-chase-no-officer")))
        if len(shown) < len(summary.to_chase):
            chase.append(t("summary-chase-more", count=t.number(len(summary.to_chase) - len(shown))))
    elif reports.expected:
        chase.append(t("summary-chase-none"))
    if chase:
        sections.append(chase)
    return split_messages(sections)


# --- handlers ---------------------------------------------------------------------------------


async def _plan_view(ctx: Ctx) -> PlanView | None:
    plan_id = await ctx.plan_id()
    if plan_id is None:
        ctx.say("question-no-plan")
        return None
    return await load_plan_view(ctx.session, plan_id, ctx.deps.plan_views)


def _may_see_summary(ctx: Ctx) -> bool:
    return ctx.is_leader or ctx.group_plan_id is not None


def _asked_period(ctx: Ctx, view: PlanView, period_hint: PeriodHint | None, default: Period | None) -> Period | None:
    """The period named, else `default`, else the cycle just closed; None after telling the
    person why not (a period outside the plan's year)."""
    if period_hint is None:
        return default if default is not None else choose_period(view, ctx.today)
    try:
        period: Period | None = resolve_hint(period_hint, view.plan.year)
    except PeriodError:
        period = None
    if period is None or period.year != view.plan.year:
        ctx.say("summary-period-outside-plan", plan=view.plan.code, year=view.plan.year,
                example=f"{view.plan.year}-Q1")
        return None
    return period


async def summary_of(
    ctx: Ctx, view: PlanView, period_hint: PeriodHint | None, *, default: Period | None = None,
    details: bool = False,
) -> Summary | None:
    """The summary of the period named, else of `default` (None: the cycle just closed); None
    after telling the person why not (a period outside the plan's year)."""
    period = _asked_period(ctx, view, period_hint, default)
    if period is None:
        return None
    return await build_summary(ctx.session, view, period, ctx.today, ctx.deps.timezone, details=details)


async def _expensive(ctx: Ctx, kind: str, period_hint: PeriodHint | None,
                     build: Callable[[PlanView, Summary], Awaitable[list[Reply]]], *, details: bool = False) -> None:
    """A summary-based answer built within the limits (handlers/limits.py): one build for
    identical requests in flight, none past the asker's or the group's rate."""
    view = await _plan_view(ctx)
    if view is None:
        return
    period = _asked_period(ctx, view, period_hint, None)
    if period is None:
        return

    async def answer() -> list[Reply]:
        summary = await build_summary(ctx.session, view, period, ctx.today, ctx.deps.timezone, details=details)
        return await build(view, summary)

    replies = await limits.expensive(ctx, kind, view.plan.id, period.id, answer)
    ctx.replies.extend(replies or ())


async def chart_attachments(summary: Summary, t: Translator) -> tuple[Attachment, Attachment]:
    """The bullet chart and the grid as photos, rendered in a worker thread (off the event loop)."""
    from handlers.charts import bullet_chart, grid_chart

    bullet, grid = await asyncio.to_thread(lambda: (bullet_chart(summary, t), grid_chart(summary, t)))
    stem = f"{summary.plan_code}-{summary.period.id}"
    label = period_label(summary.period, t)
    return (
        Attachment("photo", f"{stem}-chi-tieu.png", bullet, t("summary-caption-bullet", period=label)),
        Attachment("photo", f"{stem}-don-vi.png", grid, t("summary-caption-grid", period=label)),
    )


async def summary_replies(summary: Summary, t: Translator, *, charts: bool = True) -> list[Reply]:
    """The summary as replies in t's language: its messages, the last one carrying the two charts
    (when there is anything to chart). What /tonghop answers and what the scheduler's trigger
    can post to the steering group."""
    messages = render_summary(summary, t)
    replies = [Reply(text, locale=t.locale) for text in messages[:-1]]
    attachments = await chart_attachments(summary, t) if charts and summary.rows else ()
    replies.append(Reply(messages[-1], attachments=attachments, locale=t.locale))
    return replies


async def ask_summary(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """/tonghop [period]: leaders, admins and the bound steering group get the summary's
    messages, the last one carrying the two charts; officers are told it is for leaders."""
    if not _may_see_summary(ctx):
        ctx.say("question-leaders-only")
        return
    t = ctx.t
    await _expensive(ctx, "summary", period_hint, lambda view, summary: summary_replies(summary, t))


async def ask_charts(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """"biểu đồ", /bieudo [period]: the summary's two charts only (same permissions)."""
    if not _may_see_summary(ctx):
        ctx.say("question-leaders-only")
        return
    t = ctx.t

    async def charts(view: PlanView, summary: Summary) -> list[Reply]:
        label = period_label(summary.period, t)
        if not summary.rows:
            return [Reply(t("summary-charts-nothing", period=label), locale=t.locale)]
        attachments = await chart_attachments(summary, t)
        return [Reply(t("summary-charts-intro", period=label), attachments=attachments, locale=t.locale)]

    await _expensive(ctx, "charts", period_hint, charts)


async def export_for_admin(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """/xuat [period]: admins get the summary period's spreadsheet as a document."""
    if not ctx.is_admin:
        ctx.say("question-admins-only")
        return
    t = ctx.t

    async def spreadsheet(view: PlanView, summary: Summary) -> list[Reply]:
        from handlers.export import export_filename, export_workbook

        # Written in a worker thread: the event loop keeps serving others meanwhile.
        content = await asyncio.to_thread(export_workbook, view, summary, t)
        label = period_label(summary.period, t)
        document = Attachment("document", export_filename(summary), content,
                              t("export-caption", plan=summary.plan_code, period=label))
        return [Reply(t("export-ready", plan=summary.plan_title, period=label), attachments=(document,),
                      locale=t.locale)]

    await _expensive(ctx, "export", period_hint, spreadsheet, details=True)
