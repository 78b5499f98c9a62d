"""The stored figures themselves, for the web desk's API and `python -m bot figures` (issue 23):
the current version of each unit, part and period, or every version, oldest first (as DHIS2's data
value sets), each with its review (issue 17: "awaiting", "approved" or "returned", the latest
decision on that version) and the names of the evidence files sent for it. Reads only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.plan_view import PlanView
from models.tables import Evidence, Person, Review, Submission
from models.targets import Figure

__all__ = ["FigureRecord", "figure_rows"]


def _plain(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    normal = value.normalize()
    return int(normal) if normal == normal.to_integral_value() else float(normal)


@dataclass(frozen=True, slots=True)
class FigureRecord:
    part_id: int
    unit_id: int
    period: str
    version: int
    figure: Figure
    at: datetime
    by: str | None
    channel: str
    message: str | None
    review: str = "awaiting"  # the latest decision on this version: "awaiting", "approved", "returned"
    evidence: tuple[str, ...] = field(default=())  # names of the files proving the unit's figure for the period

    @property
    def state(self) -> str:
        return "not_applicable" if self.figure.not_applicable else "reported"

    def document(self, view: PlanView) -> dict[str, Any]:
        part = view.parts[self.part_id]
        value = self.figure.value
        if value is None and self.figure.done is not None:
            value = Decimal(1 if self.figure.done else 0)
        return {
            "unit": view.units[self.unit_id].code, "indicator": part.indicator.code, "part": part.part.code,
            "period": self.period, "value": _plain(value), "numerator": _plain(self.figure.numerator),
            "denominator": _plain(self.figure.denominator), "state": self.state, "at": self.at.isoformat(),
            "by": self.by, "channel": self.channel, "message": self.message, "version": self.version,
            "review": self.review, "evidence": list(self.evidence),
        }


async def figure_rows(session: AsyncSession, view: PlanView, *, periods: Sequence[str] | None = None,
                      unit_id: int | None = None, versions: bool = False) -> list[FigureRecord]:
    """The plan's figures (of these periods, of this unit), in plan order of units and parts."""
    s = Submission
    query = (select(s.part_id, s.unit_id, s.period, s.version, s.value, s.numerator, s.denominator, s.done,
                    s.not_applicable, s.submitted_at, Person.display_name, s.channel, s.message_ref, s.id)
             .outerjoin(Person, Person.id == s.person_id).where(s.plan_id == view.plan.id))
    if periods is not None:
        query = query.where(s.period.in_(sorted(set(periods))))
    if unit_id is not None:
        query = query.where(s.unit_id == unit_id)
    if not versions:
        query = query.where(s.is_current)  # kept by the database (migration 0017)
    connection = await session.connection()
    rows = (await connection.execute(query)).all()
    unit_order = {unit_id: n for n, unit_id in enumerate(view.units)}
    part_order = {part_id: n for n, part_id in enumerate(view.parts)}
    rows = [row for row in rows if row.unit_id in unit_order and row.part_id in part_order]
    rows.sort(key=lambda r: (unit_order[r.unit_id], part_order[r.part_id], r.period, r.version))
    decisions, files = await _reviews_and_evidence(session, view, periods, unit_id)
    return [FigureRecord(r.part_id, r.unit_id, r.period, r.version,
                         Figure(r.value, r.numerator, r.denominator, r.done, bool(r.not_applicable)),
                         r.submitted_at, r.display_name, r.channel, r.message_ref, decisions.get(r.id, "awaiting"),
                         tuple(files.get((r.unit_id, r.part_id, r.period), ()))) for r in rows]


async def _reviews_and_evidence(session: AsyncSession, view: PlanView, periods: Sequence[str] | None,
                                unit_id: int | None) -> tuple[dict[int, str], dict[tuple[int, int, str], list[str]]]:
    """Submission id -> its latest review decision; (unit, part, period) -> evidence file names."""
    reviews = select(Review.submission_id, Review.decision).where(Review.plan_id == view.plan.id)
    evidence = select(Evidence.unit_id, Evidence.part_id, Evidence.period, Evidence.name).where(
        Evidence.plan_id == view.plan.id)
    if periods is not None:
        reviews = reviews.where(Review.period.in_(sorted(set(periods))))
        evidence = evidence.where(Evidence.period.in_(sorted(set(periods))))
    if unit_id is not None:
        reviews, evidence = reviews.where(Review.unit_id == unit_id), evidence.where(Evidence.unit_id == unit_id)
    connection = await session.connection()
    decisions = {submission_id: decision for submission_id, decision in
                 (await connection.execute(reviews.order_by(Review.id))).all()}  # the latest wins
    files: dict[tuple[int, int, str], list[str]] = {}
    for unit, part, period, name in (await connection.execute(evidence.order_by(Evidence.id))).all():
        files.setdefault((unit, part, period), []).append(name)
    return decisions, files
