"""Gaps: one unit's standing against a target, and what it still needs to reach it.

Pure: imports neither aiogram nor SQLAlchemy. Decimal throughout, so a reply never shows 79.99999.
"""
from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

from models.targets import Comparison, Figure, Target

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# Comparisons that hold a figure against one value (BETWEEN uses low/high, DONE nothing).
_ONE_VALUE = (Comparison.AT_LEAST, Comparison.ABOVE, Comparison.AT_MOST, Comparison.BELOW)


class Status(enum.StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    NO_DATA = "no_data"  # nothing reported, or a ratio over a zero denominator


class Accumulation(enum.StrEnum):
    """How an indicator's figures build up over the year (domain.md, Figures)."""

    YEAR_TO_DATE = "year_to_date"  # each figure is the standing at its cut-off (most rates)
    CUMULATIVE = "cumulative"  # a running count: the latest figure is the total so far
    PER_PERIOD = "per_period"  # each figure is that period's own amount: the year adds them up


@dataclass(frozen=True, slots=True)
class Gap:
    """A unit's figure held against one target.

    amount: the figure as a number comparable with the target (the percentage of a ratio, 100/0 for
        a milestone given as done / not done).
    gap: how far short when NOT_MET (value - amount for at-least/above, amount - value for
        at-most/below, distance to the nearer bound for a range); > 0, except 0 when on_the_line.
        None when met, and always None for milestones (done / not done says it all).
    margin: how far past the line when MET (>= 0; for a range, distance to the nearer bound).
    on_the_line: the figure equals the value of a strict target ("trên 80%" with 80%): NOT_MET, and
        the reply must say why, since people read "80% of trên 80%" as met.
    numerator_needed: for a percentage target reported as numerator / denominator and not met, how
        many numerator items it takes at the current denominator: more for at-least/above/a range
        below its low bound, fewer for at-most/below/a range above its high bound. None when no
        whole number of items lands in a range that is narrower than one item at this denominator.
    """

    status: Status
    amount: Decimal | None
    gap: Decimal | None
    margin: Decimal | None
    on_the_line: bool
    numerator_needed: Decimal | None

    @property
    def met(self) -> bool:
        return self.status is Status.MET


_NO_DATA = Gap(Status.NO_DATA, None, None, None, False, None)


def is_done(figure: Figure) -> bool | None:
    """Whether a milestone figure says done; None when it says nothing usable.

    An explicit done / not done wins; otherwise a percentage of 100 ("Kết nối 100%") is done.
    """
    if figure.done is not None:
        return figure.done
    amount = figure.amount
    if amount is None:
        return None
    return amount >= _HUNDRED


def evaluate(target: Target, figure: Figure | None) -> Gap:
    """Hold one unit's figure against a target; raises ValueError only for a malformed target."""
    _check(target)
    if figure is None:
        return _NO_DATA
    if target.comparison is Comparison.DONE:
        return _evaluate_milestone(figure)
    amount = figure.amount
    if amount is None:
        return _NO_DATA

    on_the_line = False
    match target.comparison:
        case Comparison.AT_LEAST | Comparison.ABOVE:
            value = _value(target)
            # A strict target is not reached by sitting on it.
            on_the_line = target.comparison is Comparison.ABOVE and amount == value
            met = amount >= value and not on_the_line
            short, past = value - amount, amount - value
        case Comparison.AT_MOST | Comparison.BELOW:
            value = _value(target)
            on_the_line = target.comparison is Comparison.BELOW and amount == value
            met = amount <= value and not on_the_line
            short, past = amount - value, value - amount
        case _:  # BETWEEN
            low, high = _bounds(target)
            met = low <= amount <= high
            short = low - amount if amount < low else amount - high
            past = min(amount - low, high - amount)

    if met:
        return Gap(Status.MET, amount, None, past, False, None)
    needed = _numerator_needed(target, figure, amount)
    return Gap(Status.NOT_MET, amount, short, None, on_the_line, needed)


def needed_per_period(
    target: Target,
    accumulation: Accumulation,
    figures_so_far: Sequence[Figure],
    remaining_periods: int,
) -> Decimal | None:
    """What is still needed per remaining period to reach the year's target.

    figures_so_far are in period order. The standing is the latest usable figure (YEAR_TO_DATE,
    CUMULATIVE) or the sum of the usable figures (PER_PERIOD; none yet sums to 0). The result is the
    standing's gap spread over the remaining periods, always positive: points or items to gain per
    period, or for at-most/below targets the reduction per period; for a range, toward the nearer
    bound. With no remaining period the whole gap is needed now and is returned as it is.

    None when the target is met, is a milestone, or there is no standing yet (no usable year-to-date
    or cumulative figure). For a strict target whose standing sits on the line the result is 0:
    the standing must pass the line, which Gap.on_the_line explains.
    """
    if remaining_periods < 0:
        raise ValueError(f"remaining_periods must not be negative: {remaining_periods}")
    _check(target)
    if target.comparison is Comparison.DONE:
        return None
    amounts = [amount for amount in (figure.amount for figure in figures_so_far) if amount is not None]
    if accumulation is Accumulation.PER_PERIOD:
        standing: Decimal | None = sum(amounts, _ZERO)
    else:
        standing = amounts[-1] if amounts else None
    if standing is None:
        return None
    gap = evaluate(target, Figure(value=standing)).gap
    if gap is None:
        return None
    if remaining_periods == 0:
        return gap
    with localcontext() as context:
        # Rounded down, the pace times the periods left would fall short of the target.
        context.rounding = ROUND_CEILING
        return gap / remaining_periods


def change(previous: Figure | None, current: Figure | None) -> Decimal | None:
    """Current minus previous amount ("since the previous figure"); None when either is missing."""
    if previous is None or current is None:
        return None
    before, now = previous.amount, current.amount
    if before is None or now is None:
        return None
    return now - before


def _evaluate_milestone(figure: Figure) -> Gap:
    done = is_done(figure)
    if done is None:
        return _NO_DATA
    # An explicit flag is the figure; a percentage given instead stays visible as it was sent.
    amount = (_HUNDRED if done else _ZERO) if figure.done is not None else figure.amount
    return Gap(Status.MET if done else Status.NOT_MET, amount, None, None, False, None)


def _numerator_needed(target: Target, figure: Figure, amount: Decimal) -> Decimal | None:
    numerator, denominator = figure.numerator, figure.denominator
    if not target.is_percentage or numerator is None or denominator is None or denominator <= 0:
        return None

    def line(percent: Decimal) -> Decimal:
        """The numerator that sits exactly on a percentage at this denominator."""
        return percent * denominator / _HUNDRED

    # Computed from numerator and denominator, not from the rounded percentage, so that adding
    # exactly this many items reaches the target. Items are whole: round toward reaching it.
    match target.comparison:
        case Comparison.AT_LEAST:
            needed = _ceil(line(_value(target)) - numerator)
        case Comparison.ABOVE:
            needed = _floor(line(_value(target)) - numerator) + 1  # the first whole step past it
        case Comparison.AT_MOST:
            needed = _ceil(numerator - line(_value(target)))
        case Comparison.BELOW:
            needed = _floor(numerator - line(_value(target))) + 1
        case _:  # BETWEEN: toward the nearer bound
            low, high = _bounds(target)
            needed = _ceil(line(low) - numerator) if amount < low else _ceil(numerator - line(high))
            reached = numerator + needed if amount < low else numerator - needed
            if not line(low) <= reached <= line(high):
                return None  # a range narrower than one item at this denominator: no count lands in it
    return needed if needed > 0 else _ZERO  # also turns a rounded -0 into 0


def _check(target: Target) -> None:
    """A target without the numbers its comparison needs is a loading bug: fail loudly."""
    if target.comparison in _ONE_VALUE and target.value is None:
        raise ValueError(f"a {target.comparison.value} target needs a value: {target!r}")
    if target.comparison is Comparison.BETWEEN:
        if target.low is None or target.high is None:
            raise ValueError(f"a range target needs low and high: {target!r}")
        if target.low > target.high:
            raise ValueError(f"a range target's low is above its high: {target!r}")


def _value(target: Target) -> Decimal:
    assert target.value is not None  # _check guarantees it
    return target.value


def _bounds(target: Target) -> tuple[Decimal, Decimal]:
    assert target.low is not None and target.high is not None  # _check guarantees it
    return target.low, target.high


def _ceil(number: Decimal) -> Decimal:
    return number.to_integral_value(rounding=ROUND_CEILING)


def _floor(number: Decimal) -> Decimal:
    return number.to_integral_value(rounding=ROUND_FLOOR)
