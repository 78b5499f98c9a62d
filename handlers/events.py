"""The one inbound event and the one reply type every channel speaks.

Telegram, Zalo and the console turn their updates into an Event and render Replies; nothing here
knows any channel library.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Event:
    channel: str  # "telegram" | "zalo" | "console"
    chat_id: str
    chat_kind: str  # "private" | "group"
    sender_id: str
    sender_name: str
    text: str | None = None
    choice: str | None = None  # the data of a pressed button
    message_id: str | None = None
    at: datetime | None = None
    chat_title: str | None = None
    mentioned: bool = False  # in a group: the bot was @mentioned or replied to

    @property
    def private(self) -> bool:
        return self.chat_kind == "private"


@dataclass(frozen=True, slots=True)
class Choice:
    """A button: what it says, and the data sent back when pressed (≤ 64 bytes for Telegram)."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Attachment:
    kind: str  # "photo" | "document"
    filename: str
    content: bytes
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    choices: tuple[Choice, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    # Where it goes: None is the chat the event came from; otherwise (channel, chat id), e.g. the
    # previous officer told of a hand-over.
    to: tuple[str, str] | None = None
    # Replace the message whose button was pressed instead of adding a new one (Telegram edits it).
    edit: bool = False
    locale: str = "vi"
