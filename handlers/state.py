"""Where a person is in a multi-step exchange; durable, so a restart loses nothing.

States (every one accepts /huy and /cancel, which clear it):

```mermaid
stateDiagram-v2
    [*] --> idle
    idle --> await_figure: picks an indicator (/baocao button or number)
    await_figure --> idle: sends a figure / cancels
    idle --> confirm: a figure far from the previous one
    await_figure --> confirm: a figure far from the previous one
    confirm --> idle: yes (stored) / no (dropped) / cancel
    idle --> choose: a list of numbered choices is shown
    choose --> idle: a number picks one / anything else
```
"""
from __future__ import annotations

from typing import Any

from handlers.context import Ctx
from handlers.events import Choice
from models import conversation
from models.tables import ConversationState


async def load(ctx: Ctx) -> ConversationState | None:
    e = ctx.event
    return await conversation.current_state(ctx.session, e.channel, e.chat_id, e.sender_id, ctx.now)


async def save(ctx: Ctx, state: str, data: dict[str, Any]) -> None:
    e = ctx.event
    await conversation.save_state(ctx.session, e.channel, e.chat_id, e.sender_id, state, data, ctx.now)


async def clear(ctx: Ctx) -> None:
    e = ctx.event
    await conversation.clear_state(ctx.session, e.channel, e.chat_id, e.sender_id)


def owner(ctx: Ctx) -> dict[str, Any]:
    """Who a question is asked of: the officer role and its unit, kept with the state so that the
    answer counts only for them (not for a unit the sender registered for in between)."""
    role = ctx.officer
    return {"role_id": role.id if role else None, "unit_id": role.unit_id if role else None}


def belongs(ctx: Ctx, data: dict[str, Any]) -> bool:
    mine = owner(ctx)
    return mine["role_id"] is not None and all(data.get(key) == value for key, value in mine.items())


def remember_choices(data: dict[str, Any], choices: tuple[Choice, ...]) -> dict[str, Any]:
    """Keep the choices shown, so "2" typed on Zalo or the console means the second one."""
    return {**data, "choices": [choice.data for choice in choices]}


def chosen(data: dict[str, Any], number: int) -> str | None:
    options = data.get("choices") or []
    return options[number - 1] if 1 <= number <= len(options) else None
