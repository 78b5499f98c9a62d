"""What a channel reports about the bot's place in chats: blocked by a person, removed from a
group, a group's new id. Session-first; nothing commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import GroupBinding, Identity, Person, Role


@dataclass(frozen=True, slots=True)
class Contact:
    person_id: int
    channel: str
    chat_id: str
    locale: str | None


BLOCKED = "blocked the bot"  # what admins see in /khonglienlac


async def mark_unreachable(session: AsyncSession, channel: str, chat_id: str, now: datetime,
                           reason: str = BLOCKED) -> bool:
    """The person of this private chat can no longer be reached there; whether this is news."""
    person = await session.scalar(select(Person).join(Identity, Identity.person_id == Person.id)
                                  .where(Identity.channel == channel, Identity.chat_id == chat_id))
    if person is None or person.unreachable_at is not None:
        return False
    person.unreachable_at, person.unreachable_reason = now, reason
    return True


async def end_group_binding(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> GroupBinding | None:
    """The bot left this group: its binding to a plan ends. The binding, or None if it had none."""
    binding = await session.scalar(select(GroupBinding).where(
        GroupBinding.channel == channel, GroupBinding.chat_id == chat_id, GroupBinding.removed_at.is_(None)))
    if binding is not None:
        binding.removed_at = now
    return binding


async def move_group(session: AsyncSession, channel: str, old_chat_id: str, new_chat_id: str) -> None:
    """A group now answers to another id (Telegram's upgrade to a supergroup)."""
    binding = await session.scalar(select(GroupBinding).where(
        GroupBinding.channel == channel, GroupBinding.chat_id == old_chat_id))
    if binding is not None:
        binding.chat_id = new_chat_id


async def admin_contacts(session: AsyncSession, channel: str) -> list[Contact]:
    """Where each active admin can be written to on `channel`."""
    rows = await session.execute(
        select(Person.id, Identity.channel, Identity.chat_id, Identity.external_id, Person.locale)
        .join(Identity, Identity.person_id == Person.id).join(Role, Role.person_id == Person.id)
        .where(Identity.channel == channel, Role.role == "admin", Role.ended_at.is_(None))
        .distinct().order_by(Person.id))
    return [Contact(person_id, channel, chat_id or external_id, locale)
            for person_id, channel, chat_id, external_id, locale in rows]


async def group_chats(session: AsyncSession, channel: str) -> set[str]:
    """The group chats bound on `channel` that the bot has not left (their rate limits differ)."""
    rows = await session.scalars(select(GroupBinding.chat_id).where(GroupBinding.channel == channel,
                                                                    GroupBinding.removed_at.is_(None)))
    return set(rows)
