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

import re
from typing import Any

from handlers.context import Ctx
from handlers.events import Choice
from models import conversation
from models.tables import ConversationState
from models.text import fold


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
    """Keep the choices shown, so "2" typed on Zalo or the console means the second one, and so
    do the option's words ("Zalo", "English")."""
    return {**data, "choices": [choice.data for choice in choices],
            "labels": [_words(choice.label) for choice in choices]}


def _words(label: str) -> str:
    """A label as compared with what is typed: folded, letters, digits and spaces only."""
    return " ".join(re.sub(r"[^\w ]+", " ", fold(label)).split())


def worded(text: str) -> bool:
    """Whether a message could be an option's words rather than a figure or a number."""
    letters = sum(ch.isalpha() for ch in text)
    return letters >= 3 and len(text) <= 60 and not any(ch.isdigit() for ch in text)


def chosen_by_words(data: dict[str, Any], text: str) -> str | None:
    """The choice whose label the text names: the whole label, or the start of exactly one."""
    typed = _words(text)
    labels, options = data.get("labels") or [], data.get("choices") or []
    if not typed or len(labels) != len(options):
        return None
    exact = [option for label, option in zip(labels, options, strict=True) if label == typed]
    if exact:
        return exact[0]
    starting = [option for label, option in zip(labels, options, strict=True)
                if label.startswith(typed + " ") or label == typed]
    return starting[0] if len(starting) == 1 else None


def chosen(data: dict[str, Any], number: int) -> str | None:
    options = data.get("choices") or []
    return options[number - 1] if 1 <= number <= len(options) else None
