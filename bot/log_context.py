"""The channel, chat and update a log line is about, carried in context variables, so every log
line written while an update is handled can name them (bot/logging_setup.py)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CHANNEL: ContextVar[str | None] = ContextVar("log_channel", default=None)
CHAT: ContextVar[str | None] = ContextVar("log_chat", default=None)
UPDATE: ContextVar[str | None] = ContextVar("log_update", default=None)


@contextmanager
def update_context(channel: str, chat: str | None, update: str | None) -> Iterator[None]:
    tokens = (CHANNEL.set(channel), CHAT.set(chat), UPDATE.set(update))
    try:
        yield
    finally:
        UPDATE.reset(tokens[2])
        CHAT.reset(tokens[1])
        CHANNEL.reset(tokens[0])
