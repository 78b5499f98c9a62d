"""The outbox: every message is written before it is sent, under a unique key, then claimed,
sent and marked. Functions take the session first and never commit."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.kinds import Urgency
from models.tables import OutboxMessage, Person, ProcessedUpdate

LEASE = timedelta(seconds=60)


async def mark_processed(session: AsyncSession, channel: str, update_key: str, now: datetime) -> None:
    """Record an update as handled, first thing in its transaction; IntegrityError when it was
    handled before (the caller rolls back and does nothing)."""
    session.add(ProcessedUpdate(channel=channel, update_key=update_key, processed_at=now))
    await session.flush()


async def record_processed(session: AsyncSession, channel: str, update_key: str, now: datetime) -> bool:
    """Record an update as handled, as the last write of the transaction that handled it. False
    when another delivery of it was recorded first: then the whole transaction is rolled back."""
    try:
        await mark_processed(session, channel, update_key, now)
    except IntegrityError:
        await session.rollback()
        return False
    return True


def add_all(session: AsyncSession, rows: Sequence[OutboxMessage]) -> None:
    """Queue messages made with new_message in the caller's transaction."""
    session.add_all(rows)


async def processed_among(session: AsyncSession, channel: str, update_keys: Sequence[str]) -> set[str]:
    """Which of these updates were handled before."""
    return set(await session.scalars(select(ProcessedUpdate.update_key).where(
        ProcessedUpdate.channel == channel, ProcessedUpdate.update_key.in_(list(update_keys)))))


def new_message(*, key: str, channel: str, chat_id: str, payload: dict[str, Any], now: datetime,
                person_id: int | None = None, not_before: datetime | None = None,
                claim_by: str | None = None, priority: Urgency = Urgency.ROUTINE) -> OutboxMessage:
    """An outbox row, not yet added to any session. With `claim_by`, that process holds it."""
    return OutboxMessage(
        key=key, channel=channel, chat_id=chat_id, person_id=person_id, payload=payload, created_at=now,
        not_before=not_before or now, claimed_by=claim_by, claimed_until=now + LEASE if claim_by else None,
        priority=int(priority),
    )


async def enqueue(session: AsyncSession, *, key: str, channel: str, chat_id: str, payload: dict[str, Any],
                  now: datetime, person_id: int | None = None, not_before: datetime | None = None,
                  claim_by: str | None = None, unique: bool = False,
                  priority: Urgency = Urgency.ROUTINE) -> OutboxMessage | None:
    """Add a message unless one with the same key exists (then None: it was queued before).
    With `claim_by`, the caller's process holds it, to send it right after committing. `unique`
    says the key cannot exist yet (a reply to an update being handled once), which saves the
    savepoint that guards a key other processes may be queuing too."""
    row = new_message(key=key, channel=channel, chat_id=chat_id, payload=payload, now=now, person_id=person_id,
                      not_before=not_before, claim_by=claim_by, priority=priority)
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
    """Take up to `limit` due messages nobody holds (or whose holder's lease ran out), the most
    urgent first (models.kinds.Urgency), then the longest waiting.

    Holds on both databases: on PostgreSQL the candidates are locked with SKIP LOCKED, so two
    processes never pick the same rows; on SQLite the single writer makes the update atomic. The
    update re-checks the conditions, so a row taken meanwhile is not taken twice."""
    free = or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)
    due = and_(OutboxMessage.channel == channel, OutboxMessage.sent_at.is_(None),
               OutboxMessage.failed_at.is_(None), OutboxMessage.not_before <= now, free)
    ids = list(await session.scalars(
        select(OutboxMessage.id).where(due).order_by(OutboxMessage.priority, OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit).with_for_update(skip_locked=True)
    ))
    if not ids:
        return []
    token = f"{worker}/{secrets.token_hex(4)}"  # this claim's: the sender's check that it still holds it
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), due)
        .values(claimed_by=token, claimed_until=now + lease).execution_options(synchronize_session=False)
    )
    return list(await session.scalars(
        select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == token)
        .order_by(OutboxMessage.priority, OutboxMessage.not_before, OutboxMessage.id)
    ))


def _held(message_id: int, token: str | None) -> Any:
    """The row, still claimed by `token` and neither sent nor given up: a sender whose lease ran
    out and was taken over by another must neither send nor mark it."""
    return and_(OutboxMessage.id == message_id, OutboxMessage.claimed_by == token,
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


async def renew(session: AsyncSession, message_id: int, token: str | None, now: datetime,
                lease: timedelta = LEASE) -> datetime | None:
    """Extend a claim before sending; the new end of the lease, or None when it is no longer held."""
    until = now + lease
    result = await session.execute(update(OutboxMessage).where(_held(message_id, token))
                                   .values(claimed_until=until).execution_options(synchronize_session=False))
    return until if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def renew_many(session: AsyncSession, held: Sequence[tuple[int, str | None]], now: datetime,
                     lease: timedelta = LEASE) -> set[int]:
    """Extend the claims of rows a sender still holds (id, its claim's token); the ids renewed."""
    by_token: dict[str | None, list[int]] = {}
    for message_id, token in held:
        by_token.setdefault(token, []).append(message_id)
    kept: set[int] = set()
    for token, ids in by_token.items():
        result = await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == token,
                                        OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
            .values(claimed_until=now + lease).returning(OutboxMessage.id)
            .execution_options(synchronize_session=False))
        kept.update(result.scalars())
    return kept


async def mark_sent(session: AsyncSession, message_id: int, token: str | None, channel_message_id: str | None,
                    attempts: int, now: datetime) -> bool:
    """Record one message as sent, if its claim is still held; whether it was."""
    result = await session.execute(update(OutboxMessage).where(_held(message_id, token)).values(
        sent_at=now, channel_message_id=channel_message_id, claimed_until=None, attempts=attempts,
    ).execution_options(synchronize_session=False))
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


async def mark_retry(session: AsyncSession, message_id: int, token: str | None, error: str,
                     not_before: datetime, attempts: int, unknown_outcomes: int) -> None:
    """Back to the queue, due again at `not_before`, for whichever sender claims it then."""
    await session.execute(update(OutboxMessage).where(_held(message_id, token)).values(
        last_error=error[:500], not_before=not_before, claimed_by=None, claimed_until=None, attempts=attempts,
        unknown_outcomes=unknown_outcomes,
    ).execution_options(synchronize_session=False))


async def mark_failed(session: AsyncSession, message_id: int, token: str | None, error: str, now: datetime,
                      person_id: int | None, attempts: int, unknown_outcomes: int = 0) -> None:
    """Given up: a permanent failure, or a second send whose outcome is unknown. With
    `person_id`, that person is marked unreachable (blocked the bot, chat gone)."""
    result = await session.execute(update(OutboxMessage).where(_held(message_id, token)).values(
        last_error=error[:500], failed_at=now, claimed_until=None, attempts=attempts,
        unknown_outcomes=unknown_outcomes,
    ).execution_options(synchronize_session=False))
    if person_id is not None and result.rowcount == 1:  # type: ignore[attr-defined]
        await session.execute(update(Person).where(Person.id == person_id, Person.unreachable_at.is_(None))
                              .values(unreachable_at=now, unreachable_reason=error[:200]))


async def unknown_outcomes(session: AsyncSession) -> int:
    """How many sends, over the outbox's life, ended without an answer from the messenger."""
    return int(await session.scalar(select(func.coalesce(func.sum(OutboxMessage.unknown_outcomes), 0))) or 0)


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
