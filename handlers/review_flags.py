"""The outlier flags of a review list in words (issue 17): models/outliers.py decides which units'
figures are out of line; here each gets one short line ("⚠️ trên 100%; gấp 6 lần kỳ trước (2)"),
the same in the review list asked for (handlers/review.py) and the one sent after each deadline
(scheduler/review_lists.py)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from handlers.formatting import describe_amount
from locales import Translator
from models import outliers
from models.outliers import Flag, Outlier
from models.plan_view import PartView
from models.submissions import figure_of
from models.tables import Submission

__all__ = ["flag_lines", "flag_reasons"]


def _reason(outlier: Outlier, pv: PartView, t: Translator) -> str:
    target = pv.target
    match outlier.flag:
        case Flag.FELL:
            return t("outlier-fell", previous=describe_amount(outlier.previous or Decimal(0), target, t))
        case Flag.JUMP:
            times = outlier.times or Decimal(1)
            up = times >= 1
            return t("outlier-jump-up" if up else "outlier-jump-down",
                     times=t.number((times if up else 1 / times).quantize(Decimal("0.1"))),
                     previous=describe_amount(outlier.previous or Decimal(0), target, t))
        case Flag.FAR:
            return t("outlier-far", median=describe_amount(outlier.median or Decimal(0), target, t))
        case _:
            return t(f"outlier-{outlier.flag.value}")


def flag_reasons(pv: PartView, current: Iterable[Submission], previous: Mapping[int, Submission],
                 t: Translator) -> dict[int, list[str]]:
    """Unit id -> the short reasons its current figure is out of line (units in line: absent).
    `previous` may hold some units only: the others are judged against the rest alone."""
    now = {row.unit_id: figure_of(row) for row in current}
    before = {unit_id: figure_of(row) for unit_id, row in previous.items()}
    found = outliers.flags(now, before, measure=pv.target.measure,
                           cumulative=getattr(pv.indicator, "accumulation", None) == "cumulative")
    return {unit_id: [_reason(o, pv, t) for o in flagged] for unit_id, flagged in found.items()}


def flag_lines(pv: PartView, current: Iterable[Submission], previous: Mapping[int, Submission],
               t: Translator) -> dict[int, str]:
    """Unit id -> "⚠️ reason; reason" for the units whose current figure is out of line."""
    return {unit_id: t("review-flag-line", reasons="; ".join(reasons))
            for unit_id, reasons in flag_reasons(pv, current, previous, t).items()}
