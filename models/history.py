"""The audit history of figures (issue 17): every version, review decision, evidence file, closing
and reopening of a period, and change request (asked, granted or refused), with who, when, through
which channel and why, oldest first. Read only: nothing in the history is ever deleted or rewritten.

`of_unit`: one unit's figures for some parts (the chat's "lịch sử chỉ tiêu 6 xã An Sinh", the
`history` command); `of_period`: every unit's for a period (the export's sheet "Lịch sử")."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.plan_view import PlanView
from models.tables import ChangeRequest, Evidence, EvidenceFile, PeriodLock, Person, Review, Submission

__all__ = ["KINDS", "Entry", "of_period", "of_unit", "stored_value"]

# Every kind of entry, in the order entries at the same instant are listed.
KINDS = ("closed", "reopened", "change_requested", "version", "evidence", "approved", "returned", "change_granted",
         "change_refused")


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # one of KINDS
    part: str  # the part's code
    period: str
    by: str | None  # the person's name; None for the command line or a removed person
    channel: str
    version: int | None = None
    value: str | None = None  # a version's (or a change request's) figure, as stored ("80", "120/150", "done", "n/a")
    note: str | None = None  # a version's note, a return's or a change request's reason
    file: str | None = None  # an evidence file's name
    sha256: str | None = None
    unit: str | None = None  # the unit's code; None for a closing or reopening (the whole indicator)

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "indicator": self.part, "period": self.period,
                "unit": self.unit, "by": self.by, "channel": self.channel, "version": self.version,
                "value": self.value, "note": self.note, "file": self.file, "sha256": self.sha256}


def stored_value(row: Any) -> str:
    """A version's figure as stored (a Submission, or a row of its columns)."""
    if row.not_applicable:
        return "n/a"
    if row.done is not None:
        return "done" if row.done else "not done"
    if row.numerator is not None and row.denominator is not None:
        return f"{row.numerator}/{row.denominator}"
    return str(row.value)


def _requested_value(figure: dict[str, Any]) -> str:
    """A change request's figure (kept as text) written as stored_value writes a version's."""
    if figure.get("not_applicable"):
        return "n/a"
    if figure.get("done") is not None:
        return "done" if figure["done"] else "not done"
    if figure.get("numerator") is not None and figure.get("denominator") is not None:
        return f"{figure['numerator']}/{figure['denominator']}"
    return str(figure.get("value"))


class _Reader:
    """Reads the history of some parts, of one unit or every unit, of one period or every period."""

    def __init__(self, session: AsyncSession, view: PlanView, part_ids: Iterable[int], *, unit_id: int | None,
                 period: str | None) -> None:
        self.session, self.view = session, view
        self.parts = sorted(set(part_ids))
        self.unit_id, self.period = unit_id, period
        self.names: dict[int, str] = {}
        self.entries: list[tuple[datetime, int, int, Entry]] = []

    def where(self, table: Any, *, per_unit: bool = True) -> list[Any]:
        conditions = [table.plan_id == self.view.plan.id, table.part_id.in_(self.parts)]
        if per_unit and self.unit_id is not None:
            conditions.append(table.unit_id == self.unit_id)
        if self.period is not None:
            conditions.append(table.period == self.period)
        return conditions

    def code(self, part_id: int) -> str:
        pv = self.view.parts.get(part_id)
        return pv.code if pv is not None else str(part_id)

    def unit(self, unit_id: int | None) -> str | None:
        if unit_id is None:
            return None
        unit = self.view.units.get(unit_id)
        return unit.code if unit is not None else str(unit_id)

    def by(self, person_id: int | None) -> str | None:
        return None if person_id is None else self.names.get(person_id, "?")

    def add(self, entry: Entry, row_id: int) -> None:
        self.entries.append((entry.at, KINDS.index(entry.kind), row_id, entry))

    async def read(self) -> list[Entry]:
        if not self.parts:
            return []
        s = self.session
        v = Submission  # columns, not entities: a province's period has tens of thousands of versions
        versions = list(await s.execute(select(
            v.id, v.part_id, v.unit_id, v.period, v.version, v.value, v.numerator, v.denominator, v.done,
            v.not_applicable, v.submitted_at, v.person_id, v.channel, v.note).where(*self.where(Submission))
            .order_by(v.id)))
        reviews = list(await s.scalars(select(Review).where(*self.where(Review)).order_by(Review.id)))
        files = list(await s.execute(select(Evidence, EvidenceFile.sha256).join(
            EvidenceFile, EvidenceFile.id == Evidence.file_id).where(*self.where(Evidence)).order_by(Evidence.id)))
        locks = list(await s.scalars(select(PeriodLock).where(*self.where(PeriodLock, per_unit=False))
                                     .order_by(PeriodLock.id)))
        requests = list(await s.scalars(select(ChangeRequest).where(*self.where(ChangeRequest))
                                        .order_by(ChangeRequest.id)))
        people = {row.person_id for row in [*versions, *reviews, *locks, *requests]} \
            | {item.person_id for item, _ in files} | {row.decided_by for row in requests}
        people.discard(None)
        if people:
            self.names = dict((await s.execute(select(Person.id, Person.display_name)
                                               .where(Person.id.in_(sorted(people))))).all())
        version_of = {row.id: row.version for row in versions}
        missing = sorted({r.submission_id for r in reviews} - set(version_of))
        if missing:
            version_of.update((await s.execute(select(Submission.id, Submission.version)
                                               .where(Submission.id.in_(missing)))).all())
        for row in versions:
            self.add(Entry(row.submitted_at, "version", self.code(row.part_id), row.period, self.by(row.person_id),
                           row.channel, version=row.version, value=stored_value(row), note=row.note,
                           unit=self.unit(row.unit_id)), row.id)
        for review in reviews:
            self.add(Entry(review.decided_at, review.decision, self.code(review.part_id), review.period,
                           self.by(review.person_id), review.channel, version=version_of.get(review.submission_id),
                           note=review.reason, unit=self.unit(review.unit_id)), review.id)
        for item, digest in files:
            self.add(Entry(item.attached_at, "evidence", self.code(item.part_id), item.period,
                           self.by(item.person_id), item.channel, file=item.name, sha256=digest,
                           unit=self.unit(item.unit_id)), item.id)
        for lock in locks:
            self.add(Entry(lock.at, "closed" if lock.closed else "reopened", self.code(lock.part_id), lock.period,
                           self.by(lock.person_id), lock.channel), lock.id)
        for request in requests:
            self._request(request, version_of)
        self.entries.sort(key=lambda e: e[:3])
        return [entry for *_, entry in self.entries]

    def _request(self, request: ChangeRequest, version_of: dict[int, int]) -> None:
        code, unit = self.code(request.part_id), self.unit(request.unit_id)
        value = _requested_value(request.figure)
        self.add(Entry(request.requested_at, "change_requested", code, request.period, self.by(request.person_id),
                       request.channel, value=value, note=request.reason, unit=unit), request.id)
        if request.decision is not None and request.decided_at is not None:
            self.add(Entry(request.decided_at, f"change_{request.decision}", code, request.period,
                           self.by(request.decided_by), request.decided_channel or "?",
                           version=version_of.get(request.submission_id or 0), value=value, note=request.reason,
                           unit=unit), request.id)


async def of_unit(session: AsyncSession, view: PlanView, unit_id: int, part_ids: Iterable[int]) -> list[Entry]:
    """One unit's history of these parts, every period, with the closings of those parts."""
    return await _Reader(session, view, part_ids, unit_id=unit_id, period=None).read()


async def of_period(session: AsyncSession, view: PlanView, part_ids: Iterable[int], period: str) -> list[Entry]:
    """Every unit's history of these parts in one period, with the period's closings."""
    return await _Reader(session, view, part_ids, unit_id=None, period=period).read()
