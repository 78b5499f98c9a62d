"""The export's review sheets (issue 17): "Duyệt và minh chứng", each unit's current figure of the
period with its review state, the reason of a return, and the names of the evidence files proving
it; "Lịch sử", the period's whole history (every version, approval, return, evidence file, closing,
reopening and change request, with who, when, through which channel and why). Kept apart from
handlers/export.py (which writes them in `_write_review`, `_write_history`) so the export can
change around them."""
from __future__ import annotations

from datetime import tzinfo
from typing import Any

from locales import Translator
from models import evidence, history, review
from models.history import stored_value
from models.periods import Period
from models.plan_view import PlanView
from models.session import Session

__all__ = ["COLUMNS", "HISTORY_COLUMNS", "history_rows", "history_shown", "review_rows", "shown"]


async def review_rows(session: Session, view: PlanView, period: Period) -> list[list[Any]]:
    """[unit code, unit, indicator, period, figure, state, reason, evidence count, evidence files]"""
    parts = [pv for pv in view.parts.values() if pv.frequency is period.frequency]
    part_ids = [pv.part.id for pv in parts]
    names = await evidence.names(session, part_ids, period.id)  # one query, not one per figure
    rows = []
    for figure in await review.figures(session, part_ids, period.id):
        row = figure.submission
        unit, pv = view.units.get(row.unit_id), view.parts.get(row.part_id)
        if unit is None or pv is None:
            continue
        files = names.get((row.unit_id, row.part_id), [])
        rows.append([unit.code, unit.name, pv.code, row.period, stored_value(row), figure.state.value,
                     figure.reason, len(files), ", ".join(files) or None])
    return rows


COLUMNS = (("code", 16), ("unit", 40), ("indicator", 10), ("period", 10), ("figure", 16), ("state", 16),
           ("reason", 40), ("evidence", 10), ("files", 50))


def shown(row: list[Any], t: Translator) -> list[Any]:
    """A row as the sheet shows it: the state in words."""
    return [*row[:5], t(f"review-state-{row[5]}"), *row[6:]]


HISTORY_COLUMNS = (("at", 18), ("kind", 24), ("code", 16), ("unit", 36), ("indicator", 10), ("period", 10),
                   ("version", 10), ("figure", 16), ("by", 28), ("channel", 12), ("why", 50), ("file", 40))


async def history_rows(session: Session, view: PlanView, period: Period, zone: tzinfo) -> list[list[Any]]:
    """[local time, kind, unit code, unit, indicator, period, version, figure, by, channel, why,
    evidence file], oldest first: models.history.of_period for the period's parts."""
    parts = [pv.part.id for pv in view.parts.values() if pv.frequency is period.frequency]
    names = {unit.code: unit.name for unit in view.units.values()}
    rows = []
    for entry in await history.of_period(session, view, parts, period.id):
        rows.append([entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"), entry.kind, entry.unit,
                     names.get(entry.unit or ""), entry.part, entry.period, entry.version, entry.value, entry.by,
                     entry.channel, entry.note, entry.file])
    return rows


def history_shown(row: list[Any], t: Translator) -> list[Any]:
    """A history row as the sheet shows it: the kind in words, the command line named."""
    return [row[0], t(f"export-history-kind-{row[1].replace('_', '-')}"), *row[2:8], row[8] or t("history-by-cli"),
            *row[9:]]
