"""Files served by token (PUBLIC_BASE_URL, bot/files.py): stored, found, expired.

A token is 32 random bytes (256 bits) in URL-safe base64; only its SHA-256 is stored, and a file is
found by that hash and its name together, never listed.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import PublicFile

__all__ = ["ServedFile", "find", "store", "token_hash"]

TOKEN_BYTES = 32


@dataclass(frozen=True)
class ServedFile:
    name: str
    content_type: str
    content: bytes


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def store(session: AsyncSession, *, name: str, content_type: str, content: bytes, now: datetime,
                days: int) -> str:
    """Keep a file for `days`; its new token. Expired files are dropped on the way."""
    await session.execute(delete(PublicFile).where(PublicFile.expires_at <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(PublicFile(token_hash=token_hash(token), name=name, content_type=content_type, content=content,
                           created_at=now, expires_at=now + timedelta(days=days)))
    await session.flush()
    return token


async def find(session: AsyncSession, token: str, name: str, now: datetime) -> ServedFile | None:
    """The file for this token and name, unless expired."""
    row = await session.scalar(select(PublicFile).where(PublicFile.token_hash == token_hash(token),
                                                        PublicFile.name == name, PublicFile.expires_at > now))
    return None if row is None else ServedFile(row.name, row.content_type, row.content)
