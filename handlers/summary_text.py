"""Lines about one plan-wide figure, worded the same wherever it is shown: in the summary
(handlers/summary.py), the plan-wide answers (handlers/questions.py) and the spreadsheet
(handlers/export.py)."""
from __future__ import annotations

from locales import Translator
from models.rollups import Rollup, Standing
from models.summary_data import IndicatorRow

__all__ = ["coverage_text", "verdict_note"]


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
