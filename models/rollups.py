"""Roll-ups: the plan-wide figure of one indicator part across the units that report it.

Pure: imports neither aiogram nor SQLAlchemy. Decimal throughout.

Rules (domain.md, Roll-ups): ratios as Σnumerator / Σdenominator, never the mean of the units'
percentages (a commune with 3 dossiers must not weigh as much as the city with 3000); counts as sums;
milestones as the share of units done; plain percentages as the mean, weighted where weights are known.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from models.gaps import is_done
from models.targets import Comparison, Figure, Measure, Target

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Rollup:
    """One indicator part across units.

    amount: the plan-wide figure comparable with the target; None when no unit gave a usable figure.
    numerator, denominator: the sums behind a ratio roll-up. A ratio with amount but numerator None
        was averaged from percentages because no unit gave numerator and denominator: say so.
    units_reporting: units whose figure went into the amount.
    units_expected: units that should report (those that have not are None in the input).
    units_done: milestones only: how many units are done.
    """

    amount: Decimal | None
    numerator: Decimal | None
    denominator: Decimal | None
    units_reporting: int
    units_expected: int
    units_done: int | None


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
    if target.measure is Measure.MILESTONE or target.comparison is Comparison.DONE:
        return _milestones(figures)
    if target.measure is Measure.RATIO:
        return _ratios(figures, weights)
    if target.measure is Measure.COUNT:
        return _counts(figures)
    return _percentages(figures, weights)


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
        return _percentages(figures, weights)
    numerator = sum((pair[0] for pair in pairs), _ZERO)
    denominator = sum((pair[1] for pair in pairs), _ZERO)
    # Same arithmetic as Figure.amount, so one unit's roll-up equals its own figure.
    amount = numerator * _HUNDRED / denominator
    return Rollup(amount, numerator, denominator, len(pairs), len(figures), None)


def _counts(figures: Sequence[Figure | None]) -> Rollup:
    amounts = [amount for amount in _amounts(figures) if amount is not None]
    total = sum(amounts, _ZERO) if amounts else None
    return Rollup(total, None, None, len(amounts), len(figures), None)


def _milestones(figures: Sequence[Figure | None]) -> Rollup:
    answers = [is_done(figure) for figure in figures if figure is not None]
    reporting = sum(1 for answer in answers if answer is not None)
    done = sum(1 for answer in answers if answer)
    # Units that have not reported are not done: the share is of all expected units.
    amount = Decimal(done) * _HUNDRED / len(figures) if reporting else None
    return Rollup(amount, None, None, reporting, len(figures), done)


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
            mean = sum((w * v for w, v in zip(used_weights, values)), _ZERO) / total_weight
    return Rollup(mean, None, None, len(values), len(figures), None)


def _amounts(figures: Sequence[Figure | None]) -> list[Decimal | None]:
    return [None if figure is None else figure.amount for figure in figures]


def _present(amount: Decimal | None) -> Decimal:
    assert amount is not None  # callers pick usable amounts
    return amount
