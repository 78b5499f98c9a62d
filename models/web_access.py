"""Who may open the web desk (issue 23): personal sign-in links, browser sessions and API keys.

Every secret is 256 random bits shown once and stored as its SHA-256 only: a copy of the database
opens nothing. A sign-in link works once and for LOGIN_MINUTES; a session lasts SESSION_HOURS; an
API key until revoked.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import ApiKey, Person, WebLogin, WebSession

__all__ = ["LOGIN_MINUTES", "SESSION_HOURS", "Signed", "end_session", "new_api_key", "new_login", "plan_of_key",
           "redeem_login", "revoke_api_key", "signed_in", "start_session"]

LOGIN_MINUTES = 10
SESSION_HOURS = 12


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _secret() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, URL-safe


async def new_login(session: AsyncSession, person_id: int, now: datetime) -> str:
    """A fresh sign-in token for this person; the links they had not used stop working."""
    await session.execute(update(WebLogin).where(WebLogin.person_id == person_id, WebLogin.used_at.is_(None))
                          .values(used_at=now).execution_options(synchronize_session=False))
    token = _secret()
    session.add(WebLogin(token_hash=_hash(token), person_id=person_id, created_at=now,
                         expires_at=now + timedelta(minutes=LOGIN_MINUTES)))
    await session.flush()
    return token


async def redeem_login(session: AsyncSession, token: str, now: datetime) -> Person | None:
    """The person a valid, unused sign-in token was made for (the token is used up), else None:
    expired, used, or never issued look the same from outside."""
    row = await session.scalar(select(WebLogin).where(WebLogin.token_hash == _hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    claimed = await session.execute(update(WebLogin).where(WebLogin.id == row.id, WebLogin.used_at.is_(None))
                                    .values(used_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # opened twice at the same moment
        return None
    return await session.get(Person, row.person_id)


@dataclass(frozen=True, slots=True)
class Signed:
    """A browser's session: its person and the token its forms carry."""

    person: Person
    csrf: str
    expires_at: datetime


async def start_session(session: AsyncSession, person_id: int, now: datetime) -> tuple[str, Signed]:
    """A new session: the cookie's token, and the session."""
    token, csrf = _secret(), _secret()
    row = WebSession(token_hash=_hash(token), person_id=person_id, csrf=csrf, created_at=now,
                     expires_at=now + timedelta(hours=SESSION_HOURS))
    session.add(row)
    await session.flush()
    person = await session.get(Person, person_id)
    assert person is not None
    return token, Signed(person, csrf, row.expires_at)


async def signed_in(session: AsyncSession, token: str, now: datetime) -> Signed | None:
    row = await session.scalar(select(WebSession).where(
        WebSession.token_hash == _hash(token), WebSession.ended_at.is_(None), WebSession.expires_at > now))
    if row is None:
        return None
    person = await session.get(Person, row.person_id)
    return Signed(person, row.csrf, row.expires_at) if person is not None else None


async def end_session(session: AsyncSession, token: str, now: datetime) -> None:
    await session.execute(update(WebSession).where(WebSession.token_hash == _hash(token), WebSession.ended_at.is_(None))
                          .values(ended_at=now).execution_options(synchronize_session=False))


async def new_api_key(session: AsyncSession, plan_id: int, now: datetime) -> str:
    key = "dtk_" + _secret()
    session.add(ApiKey(key_hash=_hash(key), plan_id=plan_id, created_at=now))
    await session.flush()
    return key


async def revoke_api_key(session: AsyncSession, plan_id: int, key: str, now: datetime) -> bool:
    """Whether the key was this plan's and active (it is revoked now)."""
    done = await session.execute(update(ApiKey).where(
        ApiKey.key_hash == _hash(key.strip()), ApiKey.plan_id == plan_id, ApiKey.revoked_at.is_(None),
    ).values(revoked_at=now).execution_options(synchronize_session=False))
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def plan_of_key(session: AsyncSession, key: str) -> int | None:
    """The plan an active key reads, else None."""
    return await session.scalar(select(ApiKey.plan_id).where(ApiKey.key_hash == _hash(key.strip()),
                                                             ApiKey.revoked_at.is_(None)))
