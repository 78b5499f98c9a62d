"""Roll-ups: the plan-wide figure of one indicator part across the units that report it.

Pure: imports neither aiogram nor SQLAlchemy. Decimal throughout.

Rules (domain.md, Roll-ups): ratios as Σnumerator / Σdenominator, never the mean of the units'
percentages (a commune with 3 dossiers must not weigh as much as the city with 3000); counts as sums;
milestones as the share of units done; plain percentages as the mean, weighted where weights are known.

Two cases the rules leave open, decided here (docs/rollups.md):

- A unit that sent only a percentage for a ratio indicator ("100%" where "150/150" was asked) is
  not dropped: it counts as a unit of average size, i.e. its percentage is applied to the mean
  denominator of the units that sent both numbers. With no such unit at all this is the plain
  mean of the percentages, so the two cases meet without a jump.
- "Không phát sinh" (Figure.not_applicable) is a real answer: the unit has reported (reporting
  rates count it as received) but has nothing to add to the figure, so it is left out of the
  figure and out of the figure's coverage on both sides (it is neither a unit with a figure nor
  one whose figure is awaited), and out of the units a milestone's share is taken over.

plan_figure() is the one place that turns the units' figures of one period into the plan-wide
standing (figure, coverage, ✅ 🟡 🔴 or "not enough data"): the summary, /tinhhinh, the charts,
the spreadsheet and the questions all show what it returns.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from models.gaps import Accumulation, Status, evaluate, is_done, needed_per_period
from models.numbers import normalize
from models.periods import Period
from models.targets import Comparison, Figure, Measure, Target

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# Share of the units expected (those with something to report) that must have sent a figure before
# the plan-wide figure gets a verdict; plans may set their own (plan.coverage_threshold).
DEFAULT_COVERAGE_THRESHOLD = Decimal(80)


@dataclass(frozen=True, slots=True)
class Rollup:
    """One indicator part across units.

    amount: the plan-wide figure comparable with the target; None when no unit gave a usable figure.
    numerator, denominator: the sums of the units that sent both numbers of a ratio. A ratio with
        amount but numerator None was averaged from percentages because no unit sent both.
    units_reporting: units whose figure went into the amount.
    units_expected: units that should report (those that have not are None in the input).
    units_done: milestones only: how many units are done.
    units_not_applicable: units that answered "không phát sinh": reported, but not in the figure.
    units_percent_only: ratio units in the amount that sent only a percentage (weighed at the
        mean denominator of the others; see the module's docstring).
    """

    amount: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    units_reporting: int
    units_expected: int
    units_done: int | None
    units_not_applicable: int = 0
    units_percent_only: int = 0

    @property
    def units_counted(self) -> int:
        """The coverage's denominator: units expected, less those with nothing to report."""
        return self.units_expected - self.units_not_applicable

    @property
    def coverage(self) -> Decimal | None:
        """Units in the figure as a percentage of units counted; None when none is counted."""
        if not self.units_counted:
            return None
        return Decimal(self.units_reporting) * _HUNDRED / self.units_counted


@dataclass(frozen=True, slots=True)
class FigureTotals:
    """What a roll-up needs of the expected units' current figures: counts and exact sums, which a
    database computes by aggregation (models.summary_queries) and tally() computes from the
    figures themselves, so both paths feed one arithmetic (roll_up_totals).

    Figures are never negative (handlers.report refuses them). A figure with both numbers is a
    pair; its amount is numerator × 100 / denominator, none for a zero denominator.

    expected: units expected (an unreported unit counts here and nowhere else).
    not_applicable: "không phát sinh"; the other counts are over the remaining figures.
    values, value_sum: no pair, a value.
    done_answers, done_true: no pair, no value, done / not done (amount 100 or 0).
    pairs, numerator_sum, denominator_sum: pairs with a denominator above 0.
    pair_amounts: Σ numerator × 100 / denominator over those pairs, the quotients added in
        ascending order, so the sum does not depend on the order units are read in.
    shares, share_sum: no numerator, a value (a ratio sent as a percentage only).
    answered, done: milestones: figures that say done or not done (models.gaps.is_done), and done.
    Sums are normalised (models.numbers.normalize), so equal sums are equal Decimals however read.
    """

    expected: int
    not_applicable: int = 0
    values: int = 0
    value_sum: Decimal = _ZERO
    done_answers: int = 0
    done_true: int = 0
    pairs: int = 0
    numerator_sum: Decimal = _ZERO
    denominator_sum: Decimal = _ZERO
    pair_amounts: Decimal = _ZERO
    shares: int = 0
    share_sum: Decimal = _ZERO
    answered: int = 0
    done: int = 0

    @property
    def amounts(self) -> int:
        """Figures with an amount (Figure.amount not None)."""
        return self.values + self.done_answers + self.pairs

    @property
    def amount_sum(self) -> Decimal:
        return self.value_sum + _HUNDRED * self.done_true + self.pair_amounts


def pair_amount_sum(pairs: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Σ numerator × 100 / denominator, in ascending order of the quotients (see FigureTotals)."""
    return normalize(sum(sorted(numerator * _HUNDRED / denominator for numerator, denominator in pairs), _ZERO))


def tally(figures: Sequence[Figure | None]) -> FigureTotals:
    """The FigureTotals of the expected units' figures (None where a unit has not reported)."""
    given = [figure for figure in figures if figure is not None]
    counted = [figure for figure in given if not figure.not_applicable]
    pairs = [(f.numerator, f.denominator) for f in counted if f.numerator is not None and f.denominator is not None]
    positive = [(n, d) for n, d in pairs if d > 0]
    single = [f for f in counted if f.numerator is None or f.denominator is None]
    values = [f.value for f in single if f.value is not None]
    answers = [f.done for f in single if f.value is None and f.done is not None]
    shares = [f.value for f in counted if f.numerator is None and f.value is not None]
    said = [is_done(f) for f in counted]
    return FigureTotals(
        expected=len(figures), not_applicable=len(given) - len(counted),
        values=len(values), value_sum=normalize(sum(values, _ZERO)),
        done_answers=len(answers), done_true=sum(1 for a in answers if a),
        pairs=len(positive), numerator_sum=normalize(sum((n for n, _ in positive), _ZERO)),
        denominator_sum=normalize(sum((d for _, d in positive), _ZERO)), pair_amounts=pair_amount_sum(positive),
        shares=len(shares), share_sum=normalize(sum(shares, _ZERO)),
        answered=sum(1 for a in said if a is not None), done=sum(1 for a in said if a),
    )


def roll_up_totals(target: Target, totals: FigureTotals) -> Rollup:
    """The plan-wide figure of one indicator part from its FigureTotals: the one definition of
    the rules in the module's docstring, whether the totals were added up here or by the database."""
    if is_milestone(target):
        counted = totals.expected - totals.not_applicable
        amount = Decimal(totals.done) * _HUNDRED / counted if totals.answered else None
        return Rollup(amount, None, None, totals.answered, totals.expected, totals.done, totals.not_applicable)
    if target.measure is Measure.RATIO:
        return _ratio_totals(totals)
    amount: Decimal | None = None
    if totals.amounts:
        amount = totals.amount_sum if target.measure is Measure.COUNT else totals.amount_sum / totals.amounts
    return Rollup(amount, None, None, totals.amounts, totals.expected, None, totals.not_applicable)


def _ratio_totals(totals: FigureTotals) -> Rollup:
    if not totals.pairs:
        # Only percentages to go on: their mean is the best there is, flagged by numerator None.
        mean = totals.amount_sum / totals.amounts if totals.amounts else None
        return Rollup(mean, None, None, totals.amounts, totals.expected, None, totals.not_applicable,
                      totals.amounts)
    numerator, denominator = totals.numerator_sum, totals.denominator_sum
    if not totals.shares:
        # Same arithmetic as Figure.amount, so one unit's roll-up equals its own figure.
        amount = numerator * _HUNDRED / denominator
    else:
        # Each percentage-only unit as a unit of average size: its share of the mean denominator.
        mean = denominator / totals.pairs
        amount = (numerator + totals.share_sum * mean / _HUNDRED) * _HUNDRED / (denominator + mean * totals.shares)
    return Rollup(amount, numerator, denominator, totals.pairs + totals.shares, totals.expected, None,
                  totals.not_applicable, totals.shares)


def roll_up(
    target: Target,
    figures: Sequence[Figure | None],
    weights: Sequence[Decimal] | None = None,
) -> Rollup:
    """The plan-wide figure of one indicator part; one entry per expected unit, None if unreported.

    weights (one per entry, e.g. population or number of dossiers) weigh the mean of percentages:
    plain percentages, and ratios reported only as percentages. Other measures ignore them.
    Raises ValueError for weights that do not match the figures or are negative.
    """
    if weights is not None:
        if len(weights) != len(figures):
            raise ValueError(f"{len(weights)} weights for {len(figures)} figures")
        if any(weight < 0 for weight in weights):
            raise ValueError("weights must not be negative")
    if weights is None or is_milestone(target) or target.measure is Measure.COUNT:
        return roll_up_totals(target, tally(figures))
    # Weights are per unit, so a weighted mean cannot come from totals: computed from the figures.
    not_applicable = sum(1 for figure in figures if figure is not None and figure.not_applicable)
    rollup = _ratios(figures, weights) if target.measure is Measure.RATIO else _percentages(figures, weights)
    if not not_applicable:
        return rollup
    return Rollup(rollup.amount, rollup.numerator, rollup.denominator, rollup.units_reporting,
                  rollup.units_expected, rollup.units_done, not_applicable, rollup.units_percent_only)


class Standing(enum.StrEnum):
    """The plan-wide verdict of one indicator part for one period."""

    MET = "met"  # the plan-wide figure meets the target
    ON_TRACK = "on_track"  # not met, but at or past the straight line to the target
    OFF_TRACK = "off_track"
    THIN = "thin"  # a figure, but from too few units for a verdict ("chưa đủ số liệu")
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class PlanFigure:
    """What plan_figure() says about one indicator part for one period.

    amount: the standing held against the target (rollup.amount; for a per-period indicator the
        sum of the year's periods so far).
    status: `amount` against the target, whatever the coverage (Status.NO_DATA without amount).
    gap: points or items short; for a milestone, the units not done; None when met / no data.
    relative_gap: gap / target value (units not done / units counted), to rank gaps across kinds.
    line: where the straight line to the target stands at the period's end (None: none drawn).
    worse: the figure moved away from the target since the previous period. Shown beside 🟡, so
        a figure that fell is never called on track without saying so.
    """

    rollup: Rollup
    amount: Decimal | None
    status: Status
    standing: Standing
    gap: Decimal | None
    relative_gap: Decimal | None
    on_the_line: bool
    line: Decimal | None
    previous: Decimal | None
    change: Decimal | None
    worse: bool
    needed_per_period: Decimal | None
    remaining_periods: int
    threshold: Decimal


def is_milestone(target: Target) -> bool:
    return target.measure is Measure.MILESTONE or target.comparison is Comparison.DONE


def plan_figure(
    target: Target,
    period: Period,
    figures: Sequence[Figure | None] | FigureTotals,
    *,
    previous: Decimal | None,
    earlier: Sequence[Decimal | None] = (),
    accumulation: Accumulation = Accumulation.YEAR_TO_DATE,
    baseline: Decimal | None = None,
    threshold: Decimal = DEFAULT_COVERAGE_THRESHOLD,
) -> PlanFigure:
    """The plan-wide standing of one part in `period` from its expected units' figures (None where
    a unit has not reported) or their FigureTotals, as every answer shows it (README, "On track").

    previous: the previous period's plan-wide amount (roll_up over the units expected then), for
        the change; earlier: for a PER_PERIOD indicator, the plan-wide amounts of the year's
        earlier periods, whose sum is the standing so far. baseline: last year's result, where the
        line to the target starts. threshold: the coverage (percent of the units counted) below
        which no verdict is given.

    Met: the figure meets the target (a milestone: every unit counted is done). Otherwise on
    track when the figure is at or past a straight line from the start of the year (the baseline,
    else 0; a milestone's from 0 to 100% of units done) to the target at the end of the year (a
    milestone's at its due date), read at the end of the period. An at-most target, or a range
    approached from above, needs a baseline above it to draw the line: without one it is off
    track until met. In the year's last period not met is off track. Below the coverage threshold
    there is no verdict: THIN.
    """
    rollup = roll_up_totals(target, figures if isinstance(figures, FigureTotals) else tally(figures))
    milestone = is_milestone(target)
    amount = rollup.amount
    change: Decimal | None = None
    if accumulation is Accumulation.PER_PERIOD and not milestone:
        so_far = sum((a for a in earlier if a is not None), _ZERO)
        previous = so_far if any(a is not None for a in earlier) else None
        amount = so_far + rollup.amount if rollup.amount is not None else previous
    # A milestone's share moving says little (the units done say it all); no figure, no change.
    if rollup.amount is not None and amount is not None and previous is not None and not milestone:
        change = amount - previous

    remaining = period.remaining_in_year()
    fraction = Decimal(period.last_month) / 12
    gap_value: Decimal | None = None
    relative: Decimal | None = None
    on_the_line = False
    line: Decimal | None = None
    needed: Decimal | None = None
    if amount is None:
        status, standing = Status.NO_DATA, Standing.NO_DATA
    elif milestone:
        counted = rollup.units_counted
        done = rollup.units_done or 0
        status = Status.MET if counted and done == counted else Status.NOT_MET
        if status is Status.MET:
            standing = Standing.MET
        else:
            gap_value = Decimal(counted - done)
            relative = gap_value / counted if counted else None
            if target.due is not None and target.due.year == period.year:
                fraction = min(Decimal(1), Decimal(period.last_month) / target.due.month)
            elif target.due is not None and target.due.year < period.year:
                fraction = Decimal(1)
            line = _HUNDRED * fraction
            standing = Standing.ON_TRACK if fraction < 1 and amount >= line else Standing.OFF_TRACK
    else:
        gap = evaluate(target, Figure(value=amount))
        status = gap.status
        on_the_line = gap.on_the_line
        if status is Status.MET:
            standing = Standing.MET
        else:
            gap_value = gap.gap
            reference = _reference(target, amount)
            relative = gap_value / reference if gap_value is not None and reference else gap_value
            line = _line(target, amount, baseline, fraction)
            standing = Standing.OFF_TRACK
            if line is not None and fraction < 1 and _reached(target, amount, line):
                standing = Standing.ON_TRACK
            needed = needed_per_period(target, Accumulation.YEAR_TO_DATE, [Figure(value=amount)], remaining)
    coverage = rollup.coverage
    if amount is not None and (coverage is None or coverage < threshold):
        standing = Standing.THIN
    worse = change is not None and _worse(target, amount, change)
    return PlanFigure(rollup, amount, status, standing, gap_value, relative, on_the_line, line, previous,
                      change, worse, needed, remaining, threshold)


def _worse(target: Target, amount: Decimal | None, change: Decimal) -> bool:
    """Whether a change moved the figure away from the target (down for at-least, up for at-most;
    for a range, away from the nearer bound)."""
    if target.comparison in (Comparison.AT_MOST, Comparison.BELOW):
        return change > 0
    if target.comparison is Comparison.BETWEEN and amount is not None and target.high is not None \
            and amount > target.high:
        return change > 0
    return change < 0


def _reference(target: Target, amount: Decimal) -> Decimal | None:
    """The target value a gap is measured against (the nearer bound of a range)."""
    if target.comparison is Comparison.BETWEEN:
        return target.low if target.low is not None and amount < target.low else target.high
    return target.value


def _line(target: Target, amount: Decimal, baseline: Decimal | None, fraction: Decimal) -> Decimal | None:
    """Where the straight line from the start (baseline, else 0) to the target stands at
    `fraction` of the year; None when no line can be drawn (see plan_figure)."""
    if target.comparison in (Comparison.AT_LEAST, Comparison.ABOVE):
        goal = target.value
        start = baseline if baseline is not None else _ZERO
    elif target.comparison in (Comparison.AT_MOST, Comparison.BELOW):
        goal = target.value
        if baseline is None or goal is None or baseline <= goal:
            return None
        start = baseline
    else:  # BETWEEN: toward the nearer bound
        if target.low is not None and amount < target.low:
            goal, start = target.low, baseline if baseline is not None else _ZERO
        else:
            goal = target.high
            if baseline is None or goal is None or baseline <= goal:
                return None
            start = baseline
    if goal is None:
        return None
    return start + (goal - start) * fraction


def _reached(target: Target, amount: Decimal, line: Decimal) -> bool:
    if target.comparison in (Comparison.AT_MOST, Comparison.BELOW):
        return amount <= line
    if target.comparison is Comparison.BETWEEN and target.high is not None and amount > target.high:
        return amount <= line
    return amount >= line


def reporting_rate(expected: int, received: int) -> Decimal | None:
    """Reports received as a percentage of reports expected; None when nothing was expected."""
    if expected < 0 or received < 0:
        raise ValueError(f"negative report counts: expected {expected}, received {received}")
    if received > expected:
        # More received than expected means the counts were taken over different sets.
        raise ValueError(f"received {received} reports of {expected} expected")
    if expected == 0:
        return None
    return Decimal(received) * _HUNDRED / expected


def _ratios(figures: Sequence[Figure | None], weights: Sequence[Decimal] | None) -> Rollup:
    # A zero denominator (no dossiers at all) adds nothing to either sum: leave it out.
    pairs = [
        (figure.numerator, figure.denominator)
        for figure in figures
        if figure is not None
        and figure.numerator is not None
        and figure.denominator is not None
        and figure.denominator > 0
    ]
    if not pairs:
        # Only percentages to go on: their mean is the best there is, flagged by numerator None.
        fallback = _percentages(figures, weights)
        return Rollup(fallback.amount, None, None, fallback.units_reporting, fallback.units_expected,
                      None, 0, fallback.units_reporting)
    numerator = sum((pair[0] for pair in pairs), _ZERO)
    denominator = sum((pair[1] for pair in pairs), _ZERO)
    shares = [
        figure.value
        for figure in figures
        if figure is not None and figure.numerator is None and figure.value is not None
        and not figure.not_applicable
    ]
    if not shares:
        # Same arithmetic as Figure.amount, so one unit's roll-up equals its own figure.
        amount = numerator * _HUNDRED / denominator
    else:
        # Each percentage-only unit as a unit of average size: its share of the mean denominator.
        mean = denominator / len(pairs)
        amount = (numerator + sum(shares, _ZERO) * mean / _HUNDRED) * _HUNDRED / (denominator + mean * len(shares))
    return Rollup(amount, numerator, denominator, len(pairs) + len(shares), len(figures), None, 0, len(shares))


def _percentages(figures: Sequence[Figure | None], weights: Sequence[Decimal] | None) -> Rollup:
    amounts = _amounts(figures)
    usable = [index for index, amount in enumerate(amounts) if amount is not None]
    if not usable:
        return Rollup(None, None, None, 0, len(figures), None)
    values = [_present(amounts[index]) for index in usable]
    mean = sum(values, _ZERO) / len(values)
    if weights is not None:
        used_weights = [weights[index] for index in usable]
        total_weight = sum(used_weights, _ZERO)
        # No weight among the units that reported: the plain mean says more than nothing.
        if total_weight > 0:
            mean = sum((w * v for w, v in zip(used_weights, values, strict=True)), _ZERO) / total_weight
    return Rollup(mean, None, None, len(values), len(figures), None)


def _amounts(figures: Sequence[Figure | None]) -> list[Decimal | None]:
    return [None if figure is None else figure.amount for figure in figures]


def _present(amount: Decimal | None) -> Decimal:
    assert amount is not None  # callers pick usable amounts
    return amount
