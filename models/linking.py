"""One person on several messengers (issue 14): one-time link codes (/lienket), the accounts
attached with them, and which channel scheduled messages take (/kenh).

A code is drawn from the invite codes' alphabet (read aloud, typed from another phone), valid for
LINK_MINUTES and once; only its SHA-256 is stored.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.people import clean_code, new_invite_code
from models.tables import Identity, LinkCode, Person

__all__ = ["LINK_MINUTES", "attach", "channels_of", "new_code", "redeem"]

LINK_MINUTES = 15


def _hash(code: str) -> str:
    return hashlib.sha256(clean_code(code).encode()).hexdigest()


async def new_code(session: AsyncSession, person_id: int, now: datetime) -> str:
    """A fresh code for this person; the ones they had not used stop working."""
    await session.execute(update(LinkCode).where(LinkCode.person_id == person_id, LinkCode.used_at.is_(None))
                          .values(used_at=now).execution_options(synchronize_session=False))
    code = new_invite_code()
    session.add(LinkCode(code_hash=_hash(code), person_id=person_id, created_at=now,
                         expires_at=now + timedelta(minutes=LINK_MINUTES)))
    await session.flush()
    return code


async def redeem(session: AsyncSession, typed: str, now: datetime) -> Person | None:
    """The person a valid, unused code was made for (the code is used up), or None."""
    row = await session.scalar(select(LinkCode).where(LinkCode.code_hash == _hash(typed),
                                                      LinkCode.used_at.is_(None), LinkCode.expires_at > now))
    if row is None:
        return None
    claimed = await session.execute(update(LinkCode).where(LinkCode.id == row.id, LinkCode.used_at.is_(None))
                                    .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # another message used it meanwhile
        return None
    return await session.get(Person, row.person_id)


async def attach(session: AsyncSession, person: Person, channel: str, external_id: str, chat_id: str | None,
                 now: datetime) -> None:
    """This messenger account now belongs to `person` (its history is theirs from now on)."""
    session.add(Identity(person_id=person.id, channel=channel, external_id=external_id, chat_id=chat_id,
                         created_at=now))
    person.last_channel = channel
    await session.flush()


async def channels_of(session: AsyncSession, person_id: int) -> list[str]:
    """The messengers a person can be reached on, in the order they were attached."""
    rows = await session.scalars(select(Identity.channel).where(Identity.person_id == person_id)
                                 .order_by(Identity.id))
    return list(dict.fromkeys(rows))
