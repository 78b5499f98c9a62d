"""Closed periods (khóa sổ) and the change requests made to them (issue 17; DHIS2's data set
locking and lock exceptions). Functions take the session first and never commit; nothing is
deleted: a reopening is a row, a request keeps its decision."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import ChangeRequest, PeriodLock

__all__ = ["close", "closed", "decide", "open_request", "request"]


async def closed(session: AsyncSession, wanted: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (part id, period) are closed now."""
    wanted = set(wanted)
    if not wanted:
        return set()
    rows = await session.execute(select(PeriodLock.part_id, PeriodLock.period, PeriodLock.closed).where(
        PeriodLock.part_id.in_(sorted({p for p, _ in wanted})), PeriodLock.period.in_(sorted({q for _, q in wanted})))
        .order_by(PeriodLock.id))
    latest: dict[tuple[int, str], bool] = {}
    for part_id, period, is_closed in rows:
        latest[(part_id, period)] = is_closed
    return {key for key in wanted if latest.get(key)}


async def close(session: AsyncSession, *, plan_id: int, part_ids: Iterable[int], period: str, closing: bool,
                person_id: int | None, channel: str, now: datetime) -> int:
    """Close (or reopen) these parts' period; how many changed."""
    parts = sorted(set(part_ids))
    now_closed = {p for p, _ in await closed(session, [(p, period) for p in parts])}
    changed = [p for p in parts if (p in now_closed) != closing]
    for part_id in changed:
        session.add(PeriodLock(plan_id=plan_id, part_id=part_id, period=period, closed=closing, person_id=person_id,
                               channel=channel, at=now))
    await session.flush()
    return len(changed)


async def request(session: AsyncSession, *, plan_id: int, unit_id: int, part_id: int, period: str,
                  figure: dict[str, Any], reason: str, person_id: int | None, channel: str,
                  now: datetime) -> ChangeRequest:
    row = ChangeRequest(plan_id=plan_id, unit_id=unit_id, part_id=part_id, period=period, figure=figure,
                        reason=reason, person_id=person_id, channel=channel, requested_at=now)
    session.add(row)
    await session.flush()
    return row


async def open_request(session: AsyncSession, request_id: int) -> ChangeRequest | None:
    row = await session.get(ChangeRequest, request_id)
    return row if row is not None and row.decision is None else None


def decide(row: ChangeRequest, *, granted: bool, person_id: int | None, channel: str, now: datetime,
           submission_id: int | None) -> None:
    row.decision = "granted" if granted else "refused"
    row.decided_by, row.decided_channel, row.decided_at = person_id, channel, now
    row.submission_id = submission_id
