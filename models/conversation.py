"""Where a person is in a multi-step exchange (handlers/state.py draws the states), kept per
channel, chat and sender. Functions take the session first and never commit."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import ConversationState

# A question left unanswered this long is forgotten: an answer the next day would be misread.
STATE_TTL = timedelta(hours=12)


def _of(channel: str, chat_id: str, user_id: str) -> tuple[ColumnElement[bool], ...]:
    return (ConversationState.channel == channel, ConversationState.chat_id == chat_id,
            ConversationState.user_id == user_id)


async def current_state(session: AsyncSession, channel: str, chat_id: str, user_id: str,
                        now: datetime) -> ConversationState | None:
    """The open question this sender was asked in this chat; an expired one is dropped."""
    row = await session.scalar(select(ConversationState).where(*_of(channel, chat_id, user_id)))
    if row is not None and row.expires_at <= now:
        await session.delete(row)
        return None
    return row


async def save_state(session: AsyncSession, channel: str, chat_id: str, user_id: str, state: str,
                     data: dict[str, Any], now: datetime) -> ConversationState:
    """Ask a new question (or the same one again): it replaces whatever was open."""
    row = await session.scalar(select(ConversationState).where(*_of(channel, chat_id, user_id)))
    if row is None:
        row = ConversationState(channel=channel, chat_id=chat_id, user_id=user_id, state=state,
                                data=data, updated_at=now, expires_at=now + STATE_TTL)
        session.add(row)
    else:
        row.state, row.data, row.updated_at, row.expires_at = state, data, now, now + STATE_TTL
    await session.flush()
    return row


async def clear_state(session: AsyncSession, channel: str, chat_id: str, user_id: str) -> None:
    await session.execute(delete(ConversationState).where(*_of(channel, chat_id, user_id)))
