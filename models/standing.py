"""The steering committee's summary, computed: which periods a summary covers, reporting rates,
every indicator's plan-wide standing, the largest gaps and the units to chase.

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

Computed from Aggregates (what the figures add up to: models.rollups.FigureTotals per part and
period, reports per unit), which models.summary_queries reads by SQL aggregation; aggregate()
adds the same up from raw rows (compute_summary: the reference the SQL is tested against, and
what the SQL path uses for the periods whose figures it reads anyway).

Pure: imports neither SQLAlchemy nor aiogram, reads the plan through the PlanLike protocol (the
plan view handlers load) and the figures as plain rows or sums, so
models.summary_queries.build_summary can run it in a worker thread.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, Protocol

from models.gaps import Accumulation, Status
from models.periods import Frequency, Period, periods_of_year
from models.rollups import FigureTotals, Standing, is_milestone, plan_figure, roll_up_totals, tally
from models.summary_data import IndicatorRow, ReportCounts, Summary, UnitRow
from models.targets import Figure, Target

__all__ = [
    "TOP_GAPS",
    "ActiveUnits",
    "Aggregates",
    "FigureRow",
    "PartLike",
    "PlanLike",
    "Reported",
    "UnitReported",
    "aggregate",
    "choose_period",
    "collecting_period",
    "compute_summary",
    "covered_periods",
    "current_figures",
    "end_of_day",
    "periods_to_read",
    "summarize",
    "top_gaps",
    "wanted_periods",
]

TOP_GAPS = 5
_ZERO = Decimal(0)
_NO_UNITS: frozenset[int] = frozenset()

# (part id, unit id, period id, version, value, numerator, denominator, done, not applicable, early):
# one version of one figure as models.summary_queries.figure_versions reads it. Numbers as text or
# Decimal, done and not applicable as a bool or 0/1; early is true when that version was submitted
# before its period's cutoff.
FigureRow = Sequence[Any]
# (part id, period id) -> unit id -> the current figure
FiguresByPart = dict[tuple[int, str], dict[int, Figure]]


class PartLike(Protocol):
    """What the summary reads of one indicator part (handlers.context.PartView)."""

    @property
    def part(self) -> Any: ...  # id, label

    @property
    def indicator(self) -> Any: ...  # code, number, title, accumulation, baseline, parts

    @property
    def target(self) -> Target: ...

    @property
    def code(self) -> str: ...

    @property
    def frequency(self) -> Frequency: ...


class PlanLike(Protocol):
    """What the summary reads of a plan (handlers.context.PlanView): a protocol, so this module
    depends on no layer above models."""

    @property
    def plan(self) -> Any: ...  # id, code, title, year

    @property
    def parts(self) -> Mapping[int, PartLike]: ...

    @property
    def units(self) -> Mapping[int, Any]: ...  # code, name, kind

    @property
    def reporters(self) -> Mapping[int, Sequence[int]]: ...

    @property
    def coverage_threshold(self) -> Decimal: ...

    def deadline(self, period: Period) -> date: ...

    def active_unit(self, unit: Any, period: Period) -> bool: ...

    def collecting(self, frequency: Frequency, today: date) -> Period | None: ...


# --- choosing the periods ------------------------------------------------------------------------


def _frequencies(view: PlanLike) -> list[Frequency]:
    """The frequencies the plan uses, shortest first."""
    return sorted({pv.frequency for pv in view.parts.values()}, key=lambda f: f.months)


def covered_periods(view: PlanLike, period: Period, today: date) -> dict[Frequency, Period]:
    """The period of each of the plan's frequencies that the summary of `period` covers (see the
    module's docstring): the one ending in `period`'s last month, for the headline's frequency
    always, for the others once their deadline has passed."""
    chosen: dict[Frequency, Period] = {}
    for frequency in _frequencies(view):
        if period.last_month % frequency.months:
            continue
        candidate = Period.of_month(period.year, period.last_month, frequency)
        if frequency is period.frequency or view.deadline(candidate) < today:
            chosen[frequency] = candidate
    return chosen


def choose_period(view: PlanLike, today: date) -> Period:
    """The cycle just closed: of the latest period with a passed deadline of each frequency the
    plan uses, the one with the latest deadline (a tie goes to the longer frequency)."""
    frequencies = _frequencies(view)
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


def collecting_period(view: PlanLike, today: date) -> Period:
    """The period being collected now: of each frequency's latest period whose data cut-off has
    passed (its deadline is next, or passed and it is overdue), the one ending last; on a tie the
    one due last, then the longer frequency. Before any cut-off of the plan's year, the first
    period of the shortest frequency. What "who is missing" and the plan's standing answer for
    when no period is named; its summary adds the other frequencies' periods ending in the same
    month once they are due (covered_periods)."""
    frequencies = _frequencies(view)
    if not frequencies:
        return Period(view.plan.year, Frequency.MONTHLY, 1)
    candidates = [p for p in (view.collecting(f, today) for f in frequencies) if p is not None]
    if not candidates:
        return Period(view.plan.year, frequencies[0], 1)
    return max(candidates, key=lambda p: (p.cutoff_window()[1], view.deadline(p), p.frequency.months))


def end_of_day(day: date, zone: tzinfo) -> datetime:
    """The first instant after `day` in `zone`: a report is on time strictly before it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def periods_to_read(parts: Iterable[PartLike], chosen: Mapping[Frequency, Period]) -> set[str]:
    """The ids of the periods whose figures the summary needs: each part's own period and the one
    before (for the change), and for a per-period indicator every earlier period of the year."""
    wanted: set[str] = set()
    for pv in parts:
        own = chosen[pv.frequency]
        wanted.add(own.id)
        wanted.add(own.previous().id)
        if Accumulation(pv.indicator.accumulation) is Accumulation.PER_PERIOD:
            wanted.update(p.id for p in periods_of_year(own.year, pv.frequency) if p <= own)
    return wanted


# --- the figures ---------------------------------------------------------------------------------


def _figure(raw: tuple[Any, Any, Any, Any, Any]) -> Figure:
    value, numerator, denominator, done, nothing = raw
    return Figure(
        None if value is None else Decimal(value),
        None if numerator is None else Decimal(numerator),
        None if denominator is None else Decimal(denominator),
        None if done is None else bool(done),
        bool(nothing),
    )


def current_figures(rows: Iterable[FigureRow]) -> tuple[FiguresByPart, dict[int, set[int]]]:
    """The current figure (the highest version) of each unit, part and period, and per part the
    units with some version before the cutoff: the first version was on time exactly when some
    version was, so no time needs comparing here."""
    by_key: FiguresByPart = {}
    versions: dict[tuple[int, int, str], int] = {}  # only versions above 1
    early: dict[int, set[int]] = {}
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
            figure = made[raw] = _figure(raw)
        bucket[unit_id] = figure
    return by_key, early


class ActiveUnits:
    """The units that owe figures for a period (PlanLike.active_unit), worked out once a period."""

    def __init__(self, view: PlanLike) -> None:
        self._view = view
        self._cache: dict[Period, frozenset[int]] = {}

    def __call__(self, period: Period) -> frozenset[int]:
        found = self._cache.get(period)
        if found is None:
            view = self._view
            found = frozenset(uid for uid, unit in view.units.items() if view.active_unit(unit, period))
            self._cache[period] = found
        return found

    def inactive(self, period: Period) -> list[int]:
        """The plan's units that owe nothing for the period (usually none, or a few merged ones)."""
        live = self(period)
        return sorted(uid for uid in self._view.units if uid not in live)

    def expected(self, part_id: int, period: Period) -> list[int]:
        """The units that must report the part for the period, in the plan's order."""
        live = self(period)
        reporters = self._view.reporters.get(part_id, [])
        if len(live) == len(self._view.units):  # every unit active: the reporters as they are
            return list(reporters)
        return [uid for uid in reporters if uid in live]


# --- what the figures add up to ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reported:
    """What the current figures of one part and period add up to, over the units expected then:
    their FigureTotals (`expected` left 0: the plan view knows it), the reports received (with
    "không phát sinh") and those whose first version came before the deadline cutoff."""

    totals: FigureTotals = field(default_factory=lambda: FigureTotals(0))
    received: int = 0
    on_time: int = 0


@dataclass(frozen=True, slots=True)
class UnitReported:
    """One unit's reports in the summary's cycle: received, on time, and which parts."""

    received: int = 0
    on_time: int = 0
    parts: frozenset[int] = frozenset()  # part ids received
    late: frozenset[int] = frozenset()  # part ids received after the cutoff


@dataclass
class Aggregates:
    """Everything a summary is computed from: per (part id, period id) Reported (each part's own
    period, the one before, and for a per-period indicator the year's earlier ones), per unit
    UnitReported, and, when the unit-by-unit cells are wanted (charts, questions, spreadsheet), each
    expected unit's current figure for its part's own period and the units on time.
    models.summary_queries reads them by SQL aggregation; aggregate() adds them up from raw rows."""

    parts: dict[tuple[int, str], Reported]
    units: dict[int, UnitReported]
    figures: dict[int, dict[int, Figure]] = field(default_factory=dict)  # part id -> unit id -> figure
    on_time: dict[int, set[int]] = field(default_factory=dict)  # part id -> units on time


def wanted_periods(pv: PartLike, own: Period) -> list[Period]:
    """The periods of a part the summary rolls up: its own, the previous one (for the change), and
    for a per-period indicator the year's earlier periods (their sum is the standing so far)."""
    wanted = [own]
    if own.index > 1:
        wanted.append(own.previous())
    if Accumulation(pv.indicator.accumulation) is Accumulation.PER_PERIOD and not is_milestone(pv.target):
        wanted += [p for p in periods_of_year(own.year, own.frequency) if p < own.previous()]
    return wanted


def aggregate(view: PlanLike, chosen: Mapping[Frequency, Period], parts: Sequence[PartLike],
              rows: Iterable[FigureRow], *, cells: bool = True, own_only: bool = False) -> Aggregates:
    """The Aggregates of every version of the figures (FigureRow), added up in Python with
    models.rollups.tally: what models.summary_queries asks the database for, and what it uses
    when it reads the units' figures anyway (the cells). `own_only`: the parts' own periods only."""
    by_key, early = current_figures(rows)
    active = ActiveUnits(view)
    found = Aggregates({}, {})
    units: dict[int, tuple[int, int, set[int], set[int]]] = {}
    for pv in parts:
        part_id, own = pv.part.id, chosen[pv.frequency]
        in_time = early.get(part_id, _NO_UNITS)
        for period in [own] if own_only else wanted_periods(pv, own):
            given = by_key.get((part_id, period.id), {})
            expected = active.expected(part_id, period)
            received = [uid for uid in expected if uid in given]
            totals = tally([given.get(uid) for uid in received])
            if period != own:
                found.parts[(part_id, period.id)] = Reported(replace(totals, expected=0), len(received))
                continue
            on_time = [uid for uid in received if uid in in_time]
            found.parts[(part_id, period.id)] = Reported(replace(totals, expected=0), len(received), len(on_time))
            if cells:
                found.figures[part_id] = {uid: given[uid] for uid in received}
                found.on_time[part_id] = set(on_time)
            for uid in received:
                count, timely, got, late = units.setdefault(uid, (0, 0, set(), set()))
                got.add(part_id)
                if uid in in_time:
                    units[uid] = (count + 1, timely + 1, got, late)
                else:
                    late.add(part_id)
                    units[uid] = (count + 1, timely, got, late)
    found.units = {uid: UnitReported(count, timely, frozenset(got), frozenset(late))
                   for uid, (count, timely, got, late) in units.items()}
    return found


# --- the summary ---------------------------------------------------------------------------------


def compute_summary(
    view: PlanLike,
    headline: Period,
    chosen: Mapping[Frequency, Period],
    parts: Sequence[PartLike],
    rows: Iterable[FigureRow],
    officers: Mapping[int, str],
    today: date,
    timezone: tzinfo,
) -> Summary:
    """The summary of `headline`'s cycle (`chosen`: the period of each frequency it covers,
    `parts`: the parts of those frequencies) from every version of the figures of the covered
    periods and those before them (FigureRow) and the units' officers. No I/O. The reference the
    SQL path (models.summary_queries.build_summary, through summarize) is tested against."""
    return summarize(view, headline, chosen, parts, aggregate(view, chosen, parts, rows), officers, today, timezone)


def summarize(
    view: PlanLike,
    headline: Period,
    chosen: Mapping[Frequency, Period],
    parts: Sequence[PartLike],
    found: Aggregates,
    officers: Mapping[int, str],
    today: date,
    timezone: tzinfo,
) -> Summary:
    """The summary of `headline`'s cycle from what the figures add up to (Aggregates): each part's
    standing through models.rollups.plan_figure, the reporting rates, the units to chase. No I/O;
    a few milliseconds whatever the number of figures (the work is in the aggregation)."""
    deadlines = {p: view.deadline(p) for p in chosen.values()}
    active = ActiveUnits(view)
    result_rows: list[IndicatorRow] = []
    expected_by_part: dict[int, list[int]] = {}
    for pv in parts:
        part_id, own = pv.part.id, chosen[pv.frequency]
        expected = expected_by_part[part_id] = active.expected(part_id, own)
        mine = found.parts.get((part_id, own.id), _NOTHING)
        reports = ReportCounts(len(expected), mine.received, mine.on_time)
        result_rows.append(_indicator_row(pv, own, deadlines[own], view, found, active, reports))
    units = _unit_rows(view, parts, expected_by_part, found.units, officers)
    return Summary(
        plan_id=view.plan.id, plan_code=view.plan.code, plan_title=view.plan.title,
        plan_year=view.plan.year, period=headline, periods=_periods_in_order(deadlines, headline), today=today,
        open=view.deadline(headline) >= today, rows=result_rows,
        reports=ReportCounts(sum(r.reports.expected for r in result_rows),
                             sum(r.reports.received for r in result_rows),
                             sum(r.reports.on_time for r in result_rows)),
        units=units, top_gaps=top_gaps(result_rows), to_chase=_to_chase(units),
        figures=found.figures, on_time=found.on_time, expected=expected_by_part,
        cutoffs={p: end_of_day(d, timezone) for p, d in deadlines.items()}, zone=timezone,
    )


_NOTHING = Reported()
_NO_REPORTS = UnitReported()


def _unit_rows(view: PlanLike, parts: Sequence[PartLike], expected_by_part: Mapping[int, list[int]],
               reported: Mapping[int, UnitReported], officers: Mapping[int, str]) -> list[UnitRow]:
    """Every unit expected to report something, in the plan file's order (unit ids follow it),
    with the codes of its missing and late parts in the plan's order.

    Parts expected of the same units are grouped first (every commune owes most indicators), so a
    unit's duties follow from the few groups that hold it, worked out once per combination, not
    once per unit and part."""
    groups: dict[frozenset[int], list[tuple[int, str, int]]] = {}
    for index, pv in enumerate(parts):
        groups.setdefault(frozenset(expected_by_part[pv.part.id]), []).append((index, pv.code, pv.part.id))
    sets = list(groups)
    # a combination of groups -> its parts in plan order, and each part's (position, code)
    duties_of: dict[tuple[int, ...], tuple[list[tuple[int, str, int]], dict[int, tuple[int, str]]]] = {}
    rows = []
    for uid in sorted(frozenset().union(*sets)):
        combination = tuple(i for i, units in enumerate(sets) if uid in units)
        known = duties_of.get(combination)
        if known is None:
            duties = sorted(duty for i in combination for duty in groups[sets[i]])
            known = duties_of[combination] = (duties, {p: (index, code) for index, code, p in duties})
        duties, position = known
        unit = view.units[uid]
        mine = reported.get(uid, _NO_REPORTS)
        missing: tuple[str, ...] = ()
        late: tuple[str, ...] = ()
        if mine.received < len(duties):
            missing = tuple(code for _, code, p in duties if p not in mine.parts)
        if mine.late:
            late = tuple(code for _, code in sorted(position[p] for p in mine.late if p in position))
        rows.append(UnitRow(uid, unit.code, unit.name, unit.kind, officers.get(uid),
                            ReportCounts(len(duties), mine.received, mine.on_time), missing, late))
    return rows


def _periods_in_order(deadlines: Mapping[Period, date], headline: Period) -> list[tuple[Period, date]]:
    """Every covered period with its deadline: the headline first, then the longer frequencies."""
    return sorted(deadlines.items(), key=lambda item: (item[0] != headline, -item[0].frequency.months))


def _to_chase(units: Iterable[UnitRow]) -> list[UnitRow]:
    """The units with missing reports, most missing first."""
    return sorted((u for u in units if u.reports.missing), key=lambda u: (-u.reports.missing, u.name))


def top_gaps(rows: Sequence[IndicatorRow], count: int = TOP_GAPS) -> list[IndicatorRow]:
    """The rows with the largest gaps relative to their targets, in plan order on a tie. Only
    gaps with a verdict: a figure from too few units is not yet a gap of the plan."""
    order = {row.part_id: index for index, row in enumerate(rows)}
    ranked = [r for r in rows if r.relative_gap is not None and r.status is Status.NOT_MET
              and r.standing in (Standing.ON_TRACK, Standing.OFF_TRACK)]
    return sorted(ranked, key=lambda r: (-(r.relative_gap or _ZERO), order[r.part_id]))[:count]


def _amount_at(pv: PartLike, period: Period, found: Aggregates, active: ActiveUnits) -> Decimal | None:
    """The plan-wide amount of the part in `period`, rolled up the same way: the units expected then."""
    totals = found.parts.get((pv.part.id, period.id), _NOTHING).totals
    expected = len(active.expected(pv.part.id, period))
    return roll_up_totals(pv.target, replace(totals, expected=expected)).amount


def _indicator_row(
    pv: PartLike, period: Period, deadline: date, view: PlanLike, found: Aggregates, active: ActiveUnits,
    reports: ReportCounts,
) -> IndicatorRow:
    target = pv.target
    accumulation = Accumulation(pv.indicator.accumulation)
    previous = _amount_at(pv, period.previous(), found, active) if period.index > 1 else None
    earlier: list[Decimal | None] = []
    if accumulation is Accumulation.PER_PERIOD and not is_milestone(target):
        earlier = [_amount_at(pv, p, found, active)
                   for p in periods_of_year(period.year, period.frequency) if p < period]
    totals = replace(found.parts.get((pv.part.id, period.id), _NOTHING).totals, expected=reports.expected)
    result = plan_figure(
        target, period, totals, previous=previous, earlier=earlier,
        accumulation=accumulation, threshold=view.coverage_threshold,
        baseline=pv.indicator.baseline if len(pv.indicator.parts) == 1 else None,
    )
    return IndicatorRow(
        part_id=pv.part.id, code=pv.code, indicator_code=pv.indicator.code, number=pv.indicator.number,
        title=pv.indicator.title, label=pv.part.label, target=target, frequency=pv.frequency,
        period=period, deadline=deadline, result=result, reports=reports,
    )
