"""Targets, figures and periods as people read them, in the reader's language."""
from __future__ import annotations

from locales import Translator
from models.targets import Comparison, Measure, Target

_SIGNS = {
    Comparison.AT_LEAST: "≥",
    Comparison.ABOVE: ">",
    Comparison.AT_MOST: "≤",
    Comparison.BELOW: "<",
}


def describe_target(target: Target, t: Translator) -> str:
    """"≥ 90%", "> 80%", "< 10%", "47–50%", "≥ 1.000 điểm", "Hoàn thành (hạn 30/09/2024)"."""
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
