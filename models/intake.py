"""The intake journal: updates taken from the messenger, written before the messenger is told they
arrived, handled in the background (handlers/inbox.py Intake). Functions take the session first
and never commit."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import IntakeEvent, ProcessedUpdate

__all__ = ["forget", "journal", "waiting"]

CHUNK = 500


async def journal(session: AsyncSession, channel: str, entries: Sequence[tuple[str, dict[str, Any]]],
                  now: datetime) -> None:
    """Write (update key, event payload) pairs; a key written before (the same update taken
    twice, by two pollers or after a crash) is left as it is."""
    if not entries:
        return
    rows = [{"channel": channel, "update_key": key, "event": event, "received_at": now} for key, event in entries]
    dialect = (await session.connection()).dialect.name
    make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if make is None:  # any other database: what is there already is found first
        known = set(await session.scalars(select(IntakeEvent.update_key).where(
            IntakeEvent.channel == channel, IntakeEvent.update_key.in_([key for key, _ in entries]))))
        rows = [row for row in rows if row["update_key"] not in known]
        if rows:
            await session.execute(insert(IntakeEvent), rows)
        return
    for start in range(0, len(rows), CHUNK):
        await session.execute(make(IntakeEvent).values(rows[start:start + CHUNK])
                              .on_conflict_do_nothing(index_elements=["channel", "update_key"]))


async def waiting(session: AsyncSession, channel: str) -> list[tuple[str, dict[str, Any]]]:
    """(key, event payload) of the updates written and not yet handled, in the order they came."""
    handled = exists().where(ProcessedUpdate.channel == IntakeEvent.channel,
                             ProcessedUpdate.update_key == IntakeEvent.update_key)
    rows = await session.execute(select(IntakeEvent.update_key, IntakeEvent.event)
                                 .where(IntakeEvent.channel == channel, ~handled).order_by(IntakeEvent.id))
    return [(key, event) for key, event in rows]


async def forget(session: AsyncSession, channel: str, keys: Sequence[str] | None = None) -> None:
    """Delete the rows of these handled updates (None: of every update already handled)."""
    if keys is None:
        handled = exists().where(ProcessedUpdate.channel == IntakeEvent.channel,
                                 ProcessedUpdate.update_key == IntakeEvent.update_key)
        await session.execute(delete(IntakeEvent).where(IntakeEvent.channel == channel, handled))
        return
    for start in range(0, len(keys), CHUNK):
        await session.execute(delete(IntakeEvent).where(
            IntakeEvent.channel == channel, IntakeEvent.update_key.in_(list(keys[start:start + CHUNK]))))
