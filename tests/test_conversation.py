"""models/conversation.py on each database: the open question of one sender in one chat."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.app import App
from models import conversation
from models.conversation import STATE_TTL
from models.tables import ConversationState
from tests.conftest import Clock


async def test_a_question_asked_again_replaces_the_open_one(app: App, clock: Clock) -> None:
    now = clock()
    async with app.sessions() as session:
        await conversation.save_state(session, "telegram", "c1", "u1", "choose", {"choices": ["a"]}, now)
        await conversation.save_state(session, "telegram", "c1", "u1", "confirm", {"pending": [1]}, now)
        await session.commit()
    async with app.sessions() as session:
        row = await conversation.current_state(session, "telegram", "c1", "u1", now + timedelta(minutes=5))
        assert row is not None and (row.state, row.data) == ("confirm", {"pending": [1]})
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 1


async def test_a_question_left_unanswered_too_long_is_forgotten(app: App, clock: Clock) -> None:
    now = clock()
    async with app.sessions() as session:
        await conversation.save_state(session, "telegram", "c1", "u1", "await_figure", {"part_id": 3}, now)
        await session.commit()
    async with app.sessions() as session:
        assert await conversation.current_state(session, "telegram", "c1", "u1", now + STATE_TTL - timedelta(seconds=1))
        assert await conversation.current_state(session, "telegram", "c1", "u1", now + STATE_TTL) is None
        await session.commit()
    async with app.sessions() as session:  # dropped, not only hidden
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0


async def test_clearing_touches_only_that_sender_in_that_chat(app: App, clock: Clock) -> None:
    now = clock()
    async with app.sessions() as session:
        for channel, chat, user in (("telegram", "c1", "u1"), ("telegram", "c2", "u1"), ("telegram", "c1", "u2"),
                                    ("console", "c1", "u1")):
            await conversation.save_state(session, channel, chat, user, "choose", {}, now)
        await conversation.clear_state(session, "telegram", "c1", "u1")
        await session.commit()
    async with app.sessions() as session:
        assert await conversation.current_state(session, "telegram", "c1", "u1", now) is None
        for channel, chat, user in (("telegram", "c2", "u1"), ("telegram", "c1", "u2"), ("console", "c1", "u1")):
            assert await conversation.current_state(session, channel, chat, user, now) is not None
