"""The export's review sheet (issue 17): each unit's current figure of the period with its review
state, the reason of a return, and the names of the evidence files proving it. Kept apart from
handlers/export.py (which writes it in `_write_review`) so the export can change around it."""
from __future__ import annotations

from typing import Any

from locales import Translator
from models import evidence, review
from models.history import stored_value
from models.periods import Period
from models.plan_view import PlanView
from models.session import Session

__all__ = ["COLUMNS", "review_rows", "shown"]


async def review_rows(session: Session, view: PlanView, period: Period) -> list[list[Any]]:
    """[unit code, unit, indicator, period, figure, state, reason, evidence count, evidence files]"""
    parts = [pv for pv in view.parts.values() if pv.frequency is period.frequency]
    rows = []
    for figure in await review.figures(session, [pv.part.id for pv in parts], period.id):
        row = figure.submission
        unit, pv = view.units.get(row.unit_id), view.parts.get(row.part_id)
        if unit is None or pv is None:
            continue
        files = await evidence.of_figure(session, row.unit_id, row.part_id, row.period)
        rows.append([unit.code, unit.name, pv.code, row.period, stored_value(row), figure.state.value,
                     figure.reason, len(files), ", ".join(f.name for f in files) or None])
    return rows


COLUMNS = (("code", 16), ("unit", 40), ("indicator", 10), ("period", 10), ("figure", 16), ("state", 16),
           ("reason", 40), ("evidence", 10), ("files", 50))


def shown(row: list[Any], t: Translator) -> list[Any]:
    """A row as the sheet shows it: the state in words."""
    return [*row[:5], t(f"review-state-{row[5]}"), *row[6:]]
