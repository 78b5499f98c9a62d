"""Outlier flags for a review list (issue 17): which units' figures are out of line, and why.

Pure: figures in, flags out; no database, no channel. The tracking office sees the flags beside
each unit's figure in its review list (handlers/review.py, scheduler/review_lists.py) with a short
reason; a flag asks for a second look, it decides nothing.

The rules, each on one unit's current figure for the period (its amount, models.targets.Figure.amount:
the percentage for a pair, the value otherwise) and, when given, the same unit's figure the period
before:

- OVER_HUNDRED: a percentage (a percent or ratio target) given as one number above 100;
- OVER_DENOMINATOR: a numerator above its denominator (more cases done than there were);
- FELL: the figure is lower than the period before although the indicator adds up over time
  (`cumulative`: a running count never falls);
- JUMP: the figure is more than `jump` times the period before, or less than 1/`jump` of it (both
  positive);
- FAR: far from the other units' figures, by the robust modified z-score of Iglewicz and Hoaglin,
  0.6745 × |x − median| / MAD above `far` (3.5, their suggestion), MAD the median absolute deviation;
  when more than half the units give the same figure (MAD = 0), the mean absolute deviation × 1.2533
  stands in for it. Only with at least `min_units` figures (5): among fewer, nobody is "far".

Figures "không phát sinh" (not applicable) and milestones (done / not done) are never flagged.
"""
from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from models.targets import Figure, Measure

__all__ = ["FAR", "JUMP", "MIN_UNITS", "Flag", "Outlier", "flags", "median", "robust_scores"]

K = TypeVar("K", bound=Hashable)

JUMP = Decimal(5)  # times the period before
FAR = Decimal("3.5")  # modified z-score
MIN_UNITS = 5
_CONSISTENCY = Decimal("0.6745")  # the normal distribution's 0.75 quantile: MAD / 0.6745 estimates σ
_MEAN_AD = Decimal("1.2533")  # sqrt(π/2): mean absolute deviation × 1.2533 estimates σ as MAD / 0.6745 does


class Flag(enum.StrEnum):
    OVER_HUNDRED = "over_hundred"
    OVER_DENOMINATOR = "over_denominator"
    FELL = "fell"
    JUMP = "jump"
    FAR = "far"


@dataclass(frozen=True, slots=True)
class Outlier:
    """One flag on one unit's figure; `times` (JUMP: how many times the period before, or its
    inverse when it fell that much) and `median` (FAR: the units' median) say how far."""

    flag: Flag
    times: Decimal | None = None
    median: Decimal | None = None
    previous: Decimal | None = None  # FELL, JUMP: the figure the period before


def median(values: Iterable[Decimal]) -> Decimal:
    ordered = sorted(values)
    if not ordered:
        raise ValueError("the median of nothing")
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def robust_scores(amounts: Mapping[K, Decimal]) -> tuple[Decimal, dict[K, Decimal]]:
    """The median and each key's modified z-score (0 for all when the figures do not spread)."""
    centre = median(amounts.values())
    deviations = {key: abs(value - centre) for key, value in amounts.items()}
    spread = median(deviations.values())
    if spread > 0:
        scale = spread / _CONSISTENCY
    else:
        mean = sum(deviations.values(), Decimal(0)) / len(deviations)
        scale = mean * _MEAN_AD
    if scale == 0:
        return centre, dict.fromkeys(amounts, Decimal(0))
    return centre, {key: deviation / scale for key, deviation in deviations.items()}


def _amount(figure: Figure | None) -> Decimal | None:
    if figure is None or figure.not_applicable or figure.done is not None:
        return None
    return figure.amount


def _own(figure: Figure, before: Figure | None, measure: Measure, cumulative: bool, jump: Decimal) -> list[Outlier]:
    found: list[Outlier] = []
    if figure.not_applicable or figure.done is not None:
        return found
    pair = figure.numerator is not None and figure.denominator is not None
    if not pair and figure.value is not None and measure in (Measure.PERCENT, Measure.RATIO) \
            and figure.value > 100:
        found.append(Outlier(Flag.OVER_HUNDRED))
    if pair and figure.numerator is not None and figure.denominator is not None \
            and figure.numerator > figure.denominator:
        found.append(Outlier(Flag.OVER_DENOMINATOR))
    now, then = _amount(figure), _amount(before)
    if now is None or then is None:
        return found
    if cumulative and now < then:
        found.append(Outlier(Flag.FELL, previous=then))
    if now > 0 and then > 0:
        times = max(now / then, then / now)
        if times > jump:
            found.append(Outlier(Flag.JUMP, times=now / then, previous=then))
    return found


def flags(figures: Mapping[K, Figure], previous: Mapping[K, Figure] | None = None, *, measure: Measure,
          cumulative: bool = False, jump: Decimal = JUMP, far: Decimal = FAR,
          min_units: int = MIN_UNITS) -> dict[K, list[Outlier]]:
    """Each key's flags (keys without any left out): `figures` the units' current figures for the
    period, `previous` the same units' figures the period before, `measure` the target's,
    `cumulative` whether the indicator adds up over time (its figures never fall)."""
    before = previous or {}
    out: dict[K, list[Outlier]] = {}
    for key, figure in figures.items():
        own = _own(figure, before.get(key), measure, cumulative, jump)
        if own:
            out[key] = own
    amounts = {key: amount for key, figure in figures.items() if (amount := _amount(figure)) is not None}
    if len(amounts) >= min_units:
        centre, scores = robust_scores(amounts)
        for key, score in scores.items():
            if score > far:
                out.setdefault(key, []).append(Outlier(Flag.FAR, median=centre))
    return out
