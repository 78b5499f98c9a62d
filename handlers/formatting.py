"""Targets, figures and periods as people read them, in the reader's language."""
from __future__ import annotations

from decimal import Decimal

from locales import Translator
from models.periods import Period
from models.targets import Comparison, Figure, Measure, Target

_SIGNS = {
    Comparison.AT_LEAST: "≥",
    Comparison.ABOVE: ">",
    Comparison.AT_MOST: "≤",
    Comparison.BELOW: "<",
}


def describe_target(target: Target, t: Translator) -> str:
    """"≥ 90%", "> 80%", "< 10%", "47–50%", "≥ 1.000 điểm", "Hoàn thành (hạn 30/09/2024)", and
    what a conditional target waits for: "≥ 20% (sau khi Bộ TT&TT cấp phép thương mại)"."""
    described = _describe_target(target, t)
    if target.condition:
        return t("target-conditional", target=described, condition=target.condition)
    return described


def _describe_target(target: Target, t: Translator) -> str:
    if target.measure is Measure.MILESTONE:
        if target.due:
            return t("target-done-by", date=t.date(target.due))
        return t("target-done")
    suffix = "%" if target.is_percentage else (f" {target.unit}" if target.unit else "")
    if target.comparison is Comparison.BETWEEN:
        assert target.low is not None and target.high is not None
        return f"{t.number(target.low)}–{t.number(target.high)}{suffix}"
    assert target.value is not None
    return f"{_SIGNS[target.comparison]} {t.number(target.value)}{suffix}"


def describe_figure(figure: Figure, target: Target, t: Translator) -> str:
    """"72,5%", "80% (120/150)", "1.000 điểm", "đã xong", "không phát sinh"."""
    if figure.not_applicable:
        return t("figure-not-applicable")
    if figure.done is not None and figure.value is None and figure.numerator is None:
        return t("figure-done") if figure.done else t("figure-not-done")
    if figure.numerator is not None and figure.denominator is not None:
        amount = figure.amount
        share = t.percent(amount) if amount is not None else "—"
        return f"{share} ({t.number(figure.numerator)}/{t.number(figure.denominator)})"
    if figure.value is None:
        return "—"
    if target.is_percentage:
        return t.percent(figure.value)
    return f"{t.number(figure.value)} {target.unit}".strip() if target.unit else t.number(figure.value)


def describe_amount(amount: Decimal, target: Target, t: Translator) -> str:
    """A bare amount in the target's terms: a percentage, or a count with its unit."""
    if target.is_percentage or target.measure is Measure.MILESTONE:
        return t.percent(amount)
    return f"{t.number(amount)} {target.unit}".strip() if target.unit else t.number(amount)


def points(amount: Decimal, target: Target, t: Translator) -> str:
    """A difference: "12,5 điểm %" for percentages, "120 điểm" for counts of points."""
    if target.is_percentage:
        return t("points", value=t.number(amount))
    return describe_amount(amount, target, t)


def period_label(period: Period, t: Translator) -> str:
    return period.display(t.locale)
