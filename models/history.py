"""The audit history of a unit's figures (issue 17): every version, review decision and evidence
file, with who, when, through which channel and why, oldest first. Read only: nothing in the
history is ever deleted or rewritten."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.plan_view import PlanView
from models.tables import Evidence, EvidenceFile, Person, Review, Submission

__all__ = ["Entry", "of_unit"]


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # "version" | "approved" | "returned" | "evidence"
    part: str  # the part's code
    period: str
    by: str | None  # the person's name; None for the command line or a removed person
    channel: str
    version: int | None = None
    value: str | None = None  # a version's figure, as stored ("80", "120/150", "done", "n/a")
    note: str | None = None  # a version's note, a return's reason
    file: str | None = None  # an evidence file's name
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind, "indicator": self.part, "period": self.period,
                "by": self.by, "channel": self.channel, "version": self.version, "value": self.value,
                "note": self.note, "file": self.file, "sha256": self.sha256}


def stored_value(row: Submission) -> str:
    if row.not_applicable:
        return "n/a"
    if row.done is not None:
        return "done" if row.done else "not done"
    if row.numerator is not None and row.denominator is not None:
        return f"{row.numerator}/{row.denominator}"
    return str(row.value)


async def of_unit(session: AsyncSession, view: PlanView, unit_id: int, part_ids: Iterable[int]) -> list[Entry]:
    parts = list(part_ids)
    names: dict[int, str] = {}

    async def name(person_id: int | None) -> str | None:
        if person_id is None:
            return None
        if person_id not in names:
            person = await session.get(Person, person_id)
            names[person_id] = person.display_name if person is not None else "?"
        return names[person_id]

    def code(part_id: int) -> str:
        pv = view.parts.get(part_id)
        return pv.code if pv is not None else str(part_id)

    entries: list[tuple[datetime, int, Entry]] = []
    versions = await session.scalars(select(Submission).where(Submission.unit_id == unit_id,
                                                              Submission.part_id.in_(parts)).order_by(Submission.id))
    for row in versions:
        entries.append((row.submitted_at, 0, Entry(row.submitted_at, "version", code(row.part_id), row.period,
                                                   await name(row.person_id), row.channel, version=row.version,
                                                   value=stored_value(row), note=row.note)))
    reviews = await session.scalars(select(Review).where(Review.unit_id == unit_id, Review.part_id.in_(parts))
                                    .order_by(Review.id))
    for review in reviews:
        version = await session.scalar(select(Submission.version).where(Submission.id == review.submission_id))
        entries.append((review.decided_at, 2, Entry(review.decided_at, review.decision, code(review.part_id),
                                                    review.period, await name(review.person_id), review.channel,
                                                    version=version, note=review.reason)))
    files = await session.execute(select(Evidence, Evidence.file_id).where(
        Evidence.unit_id == unit_id, Evidence.part_id.in_(parts)).order_by(Evidence.id))
    for item, file_id in files:
        digest = await session.scalar(select(EvidenceFile.sha256).where(EvidenceFile.id == file_id))
        entries.append((item.attached_at, 1, Entry(item.attached_at, "evidence", code(item.part_id), item.period,
                                                   await name(item.person_id), item.channel, file=item.name,
                                                   sha256=digest)))
    entries.sort(key=lambda e: (e[0], e[1]))
    return [entry for _, _, entry in entries]
