"""The outbox: every message is written before it is sent, under a unique key, then claimed,
sent and marked. Functions take the session first and never commit."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.tables import OutboxMessage, Person, ProcessedUpdate

LEASE = timedelta(seconds=60)


async def mark_processed(session: AsyncSession, channel: str, update_key: str, now: datetime) -> None:
    """Record an update as handled, first thing in its transaction; IntegrityError when it was
    handled before (the caller rolls back and does nothing)."""
    session.add(ProcessedUpdate(channel=channel, update_key=update_key, processed_at=now))
    await session.flush()


async def processed_among(session: AsyncSession, channel: str, update_keys: Sequence[str]) -> set[str]:
    """Which of these updates were handled before."""
    return set(await session.scalars(select(ProcessedUpdate.update_key).where(
        ProcessedUpdate.channel == channel, ProcessedUpdate.update_key.in_(list(update_keys)))))


async def mark_all_processed(session: AsyncSession, channel: str, update_keys: Sequence[str], now: datetime) -> None:
    """Record several updates as handled, first thing in the transaction that handles them all;
    IntegrityError if another process recorded one of them first."""
    if update_keys:
        await session.execute(insert(ProcessedUpdate), [
            {"channel": channel, "update_key": key, "processed_at": now} for key in update_keys])


def new_message(*, key: str, channel: str, chat_id: str, payload: dict[str, Any], now: datetime,
                person_id: int | None = None, not_before: datetime | None = None,
                claim_by: str | None = None) -> OutboxMessage:
    """An outbox row, not yet added to any session. With `claim_by`, that process holds it."""
    return OutboxMessage(
        key=key, channel=channel, chat_id=chat_id, person_id=person_id, payload=payload, created_at=now,
        not_before=not_before or now, claimed_by=claim_by, claimed_until=now + LEASE if claim_by else None,
    )


async def enqueue(session: AsyncSession, *, key: str, channel: str, chat_id: str, payload: dict[str, Any],
                  now: datetime, person_id: int | None = None, not_before: datetime | None = None,
                  claim_by: str | None = None, unique: bool = False) -> OutboxMessage | None:
    """Add a message unless one with the same key exists (then None: it was queued before).
    With `claim_by`, the caller's process holds it, to send it right after committing. `unique`
    says the key cannot exist yet (a reply to an update being handled once), which saves the
    savepoint that guards a key other processes may be queuing too."""
    row = new_message(key=key, channel=channel, chat_id=chat_id, payload=payload, now=now, person_id=person_id,
                      not_before=not_before, claim_by=claim_by)
    if unique:
        session.add(row)
        return row
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


async def claim(session: AsyncSession, *, channel: str, worker: str, now: datetime, limit: int = 50,
                lease: timedelta = LEASE) -> list[OutboxMessage]:
    """Take up to `limit` due messages nobody holds (or whose holder's lease ran out).

    Holds on both databases: on PostgreSQL the candidates are locked with SKIP LOCKED, so two
    processes never pick the same rows; on SQLite the single writer makes the update atomic. The
    update re-checks the conditions, so a row taken meanwhile is not taken twice."""
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    due = and_(OutboxMessage.channel == channel, OutboxMessage.sent_at.is_(None),
               OutboxMessage.failed_at.is_(None), OutboxMessage.not_before <= now, free)
    ids = list(await session.scalars(
        select(OutboxMessage.id).where(due).order_by(OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit).with_for_update(skip_locked=True)
    ))
    if not ids:
        return []
    token = f"{worker}@{now.isoformat()}"
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), due)
        .values(claimed_by=token, claimed_until=now + lease).execution_options(synchronize_session=False)
    )
    return list(await session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == token)
        .order_by(OutboxMessage.not_before, OutboxMessage.id)
    ))


async def mark_all_sent(session: AsyncSession, sent: Sequence[tuple[int, str | None, int]], now: datetime) -> None:
    """Record messages as sent: (outbox id, the channel's message id, attempts made) each, in one
    statement executed for all."""
    if sent:
        await session.execute(update(OutboxMessage), [
            {"id": message_id, "sent_at": now, "channel_message_id": channel_message_id, "claimed_until": None,
             "attempts": attempts}
            for message_id, channel_message_id, attempts in sent
        ])


async def mark_retry(session: AsyncSession, message_id: int, error: str, not_before: datetime,
                     attempts: int) -> None:
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        last_error=error[:500], not_before=not_before, claimed_by=None, claimed_until=None, attempts=attempts,
    ))


async def mark_failed(session: AsyncSession, message_id: int, error: str, now: datetime,
                      person_id: int | None, attempts: int) -> None:
    """A permanent failure: the message is dropped and the person marked unreachable."""
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(
        last_error=error[:500], failed_at=now, claimed_until=None, attempts=attempts,
    ))
    if person_id is not None:
        await session.execute(update(Person).where(Person.id == person_id, Person.unreachable_at.is_(None))
                              .values(unreachable_at=now, unreachable_reason=error[:200]))


def reply_payload(text: str, choices: Sequence[tuple[str, str]] = (), attachments: Sequence[dict[str, Any]] = (),
                  edit_message_id: str | None = None) -> dict[str, Any]:
    return {"text": text, "choices": [list(c) for c in choices], "attachments": list(attachments),
            "edit_message_id": edit_message_id}


# --- monitoring (/healthz, /metrics) -------------------------------------------------------


@dataclass
class Backlog:
    by_channel: dict[str, int]
    oldest_due: datetime | None  # not_before of the longest-waiting message due now

    @property
    def total(self) -> int:
        return sum(self.by_channel.values())


async def outbox_backlog(connection: AsyncConnection, now: datetime) -> Backlog:
    """Messages due (not before now) and neither sent nor failed for good, by channel."""
    due = (OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None), OutboxMessage.not_before <= now)
    rows = await connection.execute(
        select(OutboxMessage.channel, func.count(), func.min(OutboxMessage.not_before))
        .where(*due).group_by(OutboxMessage.channel))
    by_channel: dict[str, int] = {}
    oldest: datetime | None = None
    for channel, count, first in rows:
        by_channel[channel] = count
        oldest = first if oldest is None or (first is not None and first < oldest) else oldest
    return Backlog(by_channel, oldest)
