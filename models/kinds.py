"""The closed sets of names the bot stores and compares: roles, chat kinds, channels and outcomes.

Pure: no SQLAlchemy, no channel library. Each is a `StrEnum`, so a member equals, hashes and
formats as its string: the database, JSON payloads and translation keys ("role-officer") see the
same text as before, and no migration is needed.
"""
from __future__ import annotations

import enum
from datetime import datetime

__all__ = ["Channel", "ChatKind", "Delivery", "RoleKind", "StoreOutcome"]


class RoleKind(enum.StrEnum):
    """What an invite grants, and what a person's role row holds (models.tables.Role.role)."""

    ADMIN = "admin"  # of one plan, or of every plan when the role has no plan
    LEADER = "leader"  # reads the plan's summaries
    OFFICER = "officer"  # reports one unit's figures; one active officer per unit
    GROUP = "group"  # invites only: binds a group chat as the plan's steering group, no person

    @classmethod
    def held(cls) -> tuple[RoleKind, ...]:
        """The roles a person can hold (a GROUP invite binds a chat instead)."""
        return (cls.ADMIN, cls.LEADER, cls.OFFICER)


class ChatKind(enum.StrEnum):
    """Where a message was written: a one-to-one chat with the bot, or a group it is in."""

    PRIVATE = "private"
    GROUP = "group"


class Channel(enum.StrEnum):
    """The messengers the bot speaks on (models.tables' `channel` columns)."""

    TELEGRAM = "telegram"
    ZALO = "zalo"
    CONSOLE = "console"


class StoreOutcome(enum.StrEnum):
    """What storing one figure did (models.submissions.store_figure)."""

    NEW = "new"  # the first figure for that unit, part and period
    CORRECTED = "corrected"  # a new version of a figure given before
    DUPLICATE = "duplicate"  # the same figure again (a double tap, a resent message): nothing stored


class Urgency(enum.IntEnum):
    """Which outbox messages go first when more are waiting than the messenger lets the bot send:
    the reply to what a person just sent, then reminders and prompts, then bulk (summaries)."""

    REPLY = 0
    ROUTINE = 1
    BULK = 2


class Delivery(enum.StrEnum):
    """Where one outbox message stands."""

    SENT = "sent"
    FAILED = "failed"  # given up for good (blocked, chat gone, outcome unknown twice)
    PENDING = "pending"  # queued, or being retried

    @classmethod
    def of(cls, sent_at: datetime | None, failed_at: datetime | None) -> Delivery:
        """The state of a row from its `sent_at` and `failed_at` columns."""
        if sent_at is not None:
            return cls.SENT
        return cls.FAILED if failed_at is not None else cls.PENDING
