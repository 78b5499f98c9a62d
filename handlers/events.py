"""The one inbound event and the one reply type every channel speaks.

Telegram, Zalo and the console turn their updates into an Event and render Replies; nothing here
knows any channel library. A Reply is stored in the outbox as a plain payload (`to_payload`) and
read back by the channel that delivers it (`from_payload`): one format, written and read here only.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from models.kinds import ChatKind


class Happening(StrEnum):
    """Something the channel itself reports, rather than a person writing or pressing."""

    LEFT = "left"  # the bot was blocked (a private chat) or removed (a group)
    MOVED = "moved"  # a group got a new chat id (Telegram's upgrade to a supergroup)


@dataclass(frozen=True, slots=True)
class IncomingFile:
    """A file a person sent, as the channel describes it: never its bytes (an event is journaled
    as JSON), which handlers fetch through the channel's FileFetcher (handlers/files.py) by `ref`."""

    kind: str  # "photo" | "document"
    ref: str  # the channel's handle for fetching it (Telegram's file_id, Zalo's URL)
    name: str | None = None
    mime: str | None = None  # what the sender's app says; the content decides (models/file_kinds.py)
    size: int | None = None  # what the channel announces, if it does

    def to_payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "name": self.name, "mime": self.mime, "size": self.size}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> IncomingFile:
        return cls(kind=data["kind"], ref=data["ref"], name=data.get("name"), mime=data.get("mime"),
                   size=data.get("size"))


class FetchError(Exception):
    """A file the channel could not hand over (gone, the network)."""


class FileTooBig(FetchError):
    """Larger than the limit asked for, or than the channel's API serves."""


class FileFetcher(Protocol):
    """A channel's way to fetch the bytes of a file a person sent: each channel registers one in
    Deps.fetchers under its name, so handlers fetch without importing any channel."""

    async def fetch(self, file: IncomingFile, limit: int) -> bytes:
        """The file's bytes; FetchError when it cannot, or when it is larger than `limit`."""
        ...


@dataclass(frozen=True, slots=True)
class Event:
    channel: str  # "telegram" | "zalo" | "console"
    chat_id: str
    chat_kind: ChatKind
    sender_id: str
    sender_name: str
    text: str | None = None
    choice: str | None = None  # the data of a pressed button
    message_id: str | None = None
    at: datetime | None = None
    chat_title: str | None = None
    mentioned: bool = False  # in a group: the bot was @mentioned or replied to
    happening: Happening | None = None
    moved_to: str | None = None  # Happening.MOVED: the group's new chat id
    files: tuple[IncomingFile, ...] = ()  # photos and documents sent (their caption is `text`)

    @property
    def private(self) -> bool:
        return self.chat_kind == ChatKind.PRIVATE

    def to_payload(self) -> dict[str, Any]:
        """The intake journal's JSON form (handlers/inbox.py Intake): written and read here only."""
        return {"channel": self.channel, "chat_id": self.chat_id, "chat_kind": self.chat_kind.value,
                "sender_id": self.sender_id, "sender_name": self.sender_name, "text": self.text,
                "choice": self.choice, "message_id": self.message_id,
                "at": self.at.isoformat() if self.at is not None else None, "chat_title": self.chat_title,
                "mentioned": self.mentioned, "happening": self.happening.value if self.happening else None,
                "moved_to": self.moved_to, "files": [f.to_payload() for f in self.files]}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Event:
        return cls(channel=data["channel"], chat_id=data["chat_id"], chat_kind=ChatKind(data["chat_kind"]),
                   sender_id=data["sender_id"], sender_name=data["sender_name"], text=data.get("text"),
                   choice=data.get("choice"), message_id=data.get("message_id"),
                   at=datetime.fromisoformat(data["at"]) if data.get("at") else None,
                   chat_title=data.get("chat_title"), mentioned=bool(data.get("mentioned")),
                   happening=Happening(data["happening"]) if data.get("happening") else None,
                   moved_to=data.get("moved_to"),
                   files=tuple(IncomingFile.from_payload(f) for f in data.get("files") or ()))


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

    def to_payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "filename": self.filename, "caption": self.caption,
                "data": base64.b64encode(self.content).decode("ascii")}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Attachment:
        return cls(kind=data["kind"], filename=data["filename"], caption=data.get("caption"),
                   content=base64.b64decode(data["data"]))


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

    def to_payload(self, edit_message_id: str | None = None) -> dict[str, Any]:
        """The outbox's JSON form. `edit_message_id`: the message to replace, when `edit` asks so."""
        return {"text": self.text, "choices": [[c.label, c.data] for c in self.choices],
                "attachments": [a.to_payload() for a in self.attachments],
                "edit_message_id": edit_message_id if self.edit else None, "locale": self.locale}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Delivery:
        """What a channel delivers: the reply, and the message it replaces if any."""
        reply = cls(text=payload.get("text") or "",
                    choices=tuple(Choice(label, data) for label, data in payload.get("choices") or ()),
                    attachments=tuple(Attachment.from_payload(a) for a in payload.get("attachments") or ()),
                    edit=bool(payload.get("edit_message_id")), locale=payload.get("locale") or "vi")
        return Delivery(reply, payload.get("edit_message_id"))


@dataclass(frozen=True, slots=True)
class Delivery:
    reply: Reply
    replaces: str | None = None  # the channel's id of the message to edit


class HandlingOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"  # answered with an apology, or the database was unavailable
    DUPLICATE = "duplicate"  # handled before: nothing done


@dataclass(slots=True)
class Handling:
    """One event being handled, for whoever watches (metrics, the log's context): its outcome is
    known when the handling ends."""

    event: Event
    key: str | None  # the channel's id of the update
    outcome: HandlingOutcome = HandlingOutcome.OK
