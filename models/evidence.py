"""Evidence files (tài liệu minh chứng) in the database: what each kept file is, and which unit's
figure it proves. The bytes are in the file store (models/file_store.py). Functions take the
session first and never commit; nothing here is ever deleted."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Evidence, EvidenceFile, Submission

__all__ = ["attach", "by_id", "counts", "file", "keep_file", "names", "of_figure", "of_parts", "recent_figures"]


async def keep_file(session: AsyncSession, *, digest: str, size: int, content_type: str,
                    now: datetime) -> EvidenceFile:
    """The row of the file with this SHA-256, made if it is new: a file sent twice is kept once."""
    found = await session.scalar(select(EvidenceFile).where(EvidenceFile.sha256 == digest))
    if found is not None:
        return found
    row = EvidenceFile(sha256=digest, size=size, content_type=content_type, created_at=now)
    try:
        async with session.begin_nested():  # the same file from two chats at once: one row
            session.add(row)
    except IntegrityError:
        found = await session.scalar(select(EvidenceFile).where(EvidenceFile.sha256 == digest))
        assert found is not None
        return found
    return row


async def file(session: AsyncSession, file_id: int) -> EvidenceFile | None:
    return await session.get(EvidenceFile, file_id)


async def attach(session: AsyncSession, *, kept: EvidenceFile, plan_id: int, unit_id: int, part_id: int,
                 period: str, name: str, kind: str, person_id: int | None, channel: str,
                 message_ref: str | None, now: datetime) -> Evidence:
    """Record `kept` as proof of the unit's figure for this part and period, with the figure's
    current version if there is one (the same file twice for one figure is recorded once)."""
    current = await session.scalar(
        select(Submission.id).where(Submission.unit_id == unit_id, Submission.part_id == part_id,
                                    Submission.period == period).order_by(Submission.version.desc()).limit(1))
    same = await session.scalar(select(Evidence).where(
        Evidence.file_id == kept.id, Evidence.unit_id == unit_id, Evidence.part_id == part_id,
        Evidence.period == period))
    if same is not None:
        return same
    row = Evidence(file_id=kept.id, plan_id=plan_id, unit_id=unit_id, part_id=part_id, period=period,
                   submission_id=current, name=name[:255], kind=kind, person_id=person_id, channel=channel,
                   message_ref=message_ref, attached_at=now)
    session.add(row)
    await session.flush()
    return row


async def of_figure(session: AsyncSession, unit_id: int, part_id: int, period: str) -> list[Evidence]:
    return list(await session.scalars(select(Evidence).where(
        Evidence.unit_id == unit_id, Evidence.part_id == part_id, Evidence.period == period).order_by(Evidence.id)))


async def of_parts(session: AsyncSession, part_ids: Iterable[int], period: str,
                   unit_ids: Iterable[int] | None = None) -> list[Evidence]:
    """Every file proving a figure of these parts in one period (these units' only, if given),
    oldest first."""
    query = select(Evidence).where(Evidence.part_id.in_(list(part_ids)), Evidence.period == period)
    if unit_ids is not None:
        query = query.where(Evidence.unit_id.in_(sorted(set(unit_ids))))
    return list(await session.scalars(query.order_by(Evidence.id)))


async def by_id(session: AsyncSession, evidence_id: int) -> Evidence | None:
    return await session.get(Evidence, evidence_id)


async def names(session: AsyncSession, part_ids: Iterable[int], period: str) -> dict[tuple[int, int], list[str]]:
    """(unit id, part id) -> the names of the files proving that figure, oldest first, for these
    parts in one period."""
    wanted = sorted(set(part_ids))
    found: dict[tuple[int, int], list[str]] = {}
    if not wanted:
        return found
    rows = await session.execute(select(Evidence.unit_id, Evidence.part_id, Evidence.name).where(
        Evidence.part_id.in_(wanted), Evidence.period == period).order_by(Evidence.id))
    for unit_id, part_id, name in rows:
        found.setdefault((unit_id, part_id), []).append(name)
    return found


async def counts(session: AsyncSession, part_ids: Iterable[int], period: str) -> dict[tuple[int, int], int]:
    """(unit id, part id) -> how many files prove that figure, for these parts in one period."""
    rows = await session.execute(
        select(Evidence.unit_id, Evidence.part_id, func.count()).where(
            Evidence.part_id.in_(list(part_ids)), Evidence.period == period)
        .group_by(Evidence.unit_id, Evidence.part_id))
    return {(unit_id, part_id): count for unit_id, part_id, count in rows}


async def recent_figures(session: AsyncSession, *, person_id: int, unit_id: int, since: datetime) -> list[Submission]:
    """The figures this person sent for the unit in their last message, if it came after `since`
    (a file sent right after a figure proves that figure)."""
    last = await session.scalar(select(func.max(Submission.submitted_at)).where(
        Submission.person_id == person_id, Submission.unit_id == unit_id))
    if last is None or last < since:
        return []
    return list(await session.scalars(select(Submission).where(
        Submission.person_id == person_id, Submission.unit_id == unit_id, Submission.submitted_at == last)
        .order_by(Submission.id)))
