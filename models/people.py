"""People, their channel identities, roles and invites. Functions take the session first and never
commit."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.kinds import RoleKind
from models.tables import (
    GroupBinding,
    Identity,
    Invite,
    InviteAttempt,
    OutboxMessage,
    Person,
    Plan,
    Role,
    ServerSecret,
    Unit,
)

# No 0/O, 1/I/L: codes are read aloud over the phone and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
INVITE_DAYS = 14
ROLES = tuple(RoleKind)  # what an invite may grant
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_LIMIT = 5
# Wrong codes from everyone together: many senders with a few guesses each are throttled too.
# At 100 per 15 minutes, finding one of a thousand open 8-symbol codes takes centuries.
GLOBAL_THROTTLE_LIMIT = 100
INVITE_KEY = "invite-key"


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def clean_code(typed: str) -> str:
    """What a person typed, as issued: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in typed.upper() if ch.isascii() and ch.isalnum())


def hash_code(key: bytes, code: str) -> str:
    """The stored form of a code: an HMAC with the deployment's own key, so a leaked invites
    table cannot be reversed offline without the key (a plain digest of 8 symbols from 31 can)."""
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


def legacy_hash_code(code: str) -> str:
    """How codes issued before keyed hashes were stored; such invites work until they expire."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


async def invite_key(session: AsyncSession, now: datetime) -> bytes:
    """The deployment's invite key: generated at first use and kept in the database, so every
    process shares it and a restart keeps issued codes valid."""
    row = await session.get(ServerSecret, INVITE_KEY)
    if row is None:
        try:
            async with session.begin_nested():
                row = ServerSecret(name=INVITE_KEY, value=secrets.token_hex(32), created_at=now)
                session.add(row)
        except IntegrityError:  # another process generated it at the same moment
            row = await session.get(ServerSecret, INVITE_KEY, populate_existing=True)
            assert row is not None
    return bytes.fromhex(row.value)


@dataclass(frozen=True)
class IssuedInvite:
    code: str
    invite: Invite


async def create_invite(session: AsyncSession, *, role: RoleKind | str, plan: Plan | None, unit: Unit | None,
                        now: datetime, days: int = INVITE_DAYS, created_by: int | None = None) -> IssuedInvite:
    role = RoleKind(role)  # ValueError for anything else
    code = new_invite_code()
    invite = Invite(
        code_hash=hash_code(await invite_key(session, now), code), keyed=True, plan_id=plan.id if plan else None,
        role=role, unit_id=unit.id if unit else None, created_by=created_by, created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    return IssuedInvite(code, invite)


async def find_invite(session: AsyncSession, typed: str, now: datetime) -> Invite | None:
    code = clean_code(typed)
    key = await invite_key(session, now)
    return await session.scalar(select(Invite).where(or_(
        and_(Invite.keyed.is_(True), Invite.code_hash == hash_code(key, code)),
        and_(Invite.keyed.is_(False), Invite.code_hash == legacy_hash_code(code)),
    )).with_for_update())


async def record_failed_attempt(session: AsyncSession, channel: str, external_id: str, now: datetime) -> None:
    session.add(InviteAttempt(channel=channel, external_id=external_id, attempted_at=now))
    # Old attempts only slow the count down.
    await session.execute(delete(InviteAttempt).where(InviteAttempt.attempted_at < now - THROTTLE_WINDOW * 4))


async def throttled_until(session: AsyncSession, channel: str, external_id: str, now: datetime) -> datetime | None:
    """When the sender may try a code again, if they tried too many wrong ones lately."""
    attempts = list(await session.scalars(
        select(InviteAttempt.attempted_at)
        .where(InviteAttempt.channel == channel, InviteAttempt.external_id == external_id,
               InviteAttempt.attempted_at > now - THROTTLE_WINDOW)
        .order_by(InviteAttempt.attempted_at)
    ))
    if len(attempts) < THROTTLE_LIMIT:
        return None
    return attempts[-THROTTLE_LIMIT] + THROTTLE_WINDOW


async def globally_throttled_until(session: AsyncSession, now: datetime) -> datetime | None:
    """When anyone may try a code again, if too many wrong ones came lately from all senders."""
    since = now - THROTTLE_WINDOW
    count = await session.scalar(select(func.count()).where(InviteAttempt.attempted_at > since))
    if (count or 0) < GLOBAL_THROTTLE_LIMIT:
        return None
    # When the limit-th newest attempt leaves the window, it holds fewer than the limit again.
    limiting = await session.scalar(
        select(InviteAttempt.attempted_at).where(InviteAttempt.attempted_at > since)
        .order_by(InviteAttempt.attempted_at.desc()).offset(GLOBAL_THROTTLE_LIMIT - 1).limit(1))
    return (limiting or now) + THROTTLE_WINDOW


# Run for every message: built once (see models/submissions.py).
_PERSON_BY_IDENTITY = select(Person).join(Identity, Identity.person_id == Person.id).where(
    Identity.channel == bindparam("channel"), Identity.external_id == bindparam("external_id"))
_ACTIVE_ROLES = select(Role).where(Role.person_id == bindparam("person_id"), Role.ended_at.is_(None)).order_by(
    Role.started_at.desc(), Role.id.desc())
_PEOPLE_AND_ROLES = select(Identity.external_id, Person, Role).join(Person, Person.id == Identity.person_id).outerjoin(
    Role, and_(Role.person_id == Person.id, Role.ended_at.is_(None))).where(
    Identity.channel == bindparam("channel"), Identity.external_id.in_(bindparam("external_ids", expanding=True))
).order_by(Role.started_at.desc(), Role.id.desc())


async def person_by_identity(session: AsyncSession, channel: str, external_id: str) -> Person | None:
    return await session.scalar(_PERSON_BY_IDENTITY, {"channel": channel, "external_id": external_id})


async def person_and_roles(session: AsyncSession, channel: str, external_id: str) -> tuple[Person | None, list[Role]]:
    """Who sent a message, and their active roles (as active_roles orders them), in one query."""
    person, roles = (await people_by_identities(session, channel, [external_id])).get(external_id, (None, []))
    return person, roles


async def people_by_identities(session: AsyncSession, channel: str,
                               external_ids: Iterable[str]) -> dict[str, tuple[Person, list[Role]]]:
    """Several senders at once (a batch of updates): each known one's person and active roles,
    ordered as active_roles orders them."""
    found: dict[str, tuple[Person, list[Role]]] = {}
    rows = await session.execute(_PEOPLE_AND_ROLES, {"channel": channel, "external_ids": sorted(set(external_ids))})
    for external_id, person, role in rows:
        _, roles = found.setdefault(external_id, (person, []))
        if role is not None:
            roles.append(role)
    return found


async def ensure_person(session: AsyncSession, channel: str, external_id: str, name: str,
                        chat_id: str | None, now: datetime) -> Person:
    person = await person_by_identity(session, channel, external_id)
    if person is not None:
        return person
    person = Person(display_name=name or external_id, created_at=now)
    session.add(person)
    await session.flush()
    session.add(Identity(person_id=person.id, channel=channel, external_id=external_id, chat_id=chat_id,
                         created_at=now))
    await session.flush()
    return person


async def person_by_id(session: AsyncSession, person_id: int) -> Person | None:
    return await session.get(Person, person_id)


async def identities_of(session: AsyncSession, person_id: int) -> list[Identity]:
    return list(await session.scalars(select(Identity).where(Identity.person_id == person_id).order_by(Identity.id)))


async def active_roles(session: AsyncSession, person_id: int) -> list[Role]:
    return list(await session.scalars(_ACTIVE_ROLES, {"person_id": person_id}))


async def active_officer(session: AsyncSession, unit_id: int) -> Role | None:
    return await session.scalar(
        select(Role).where(Role.unit_id == unit_id, Role.role == RoleKind.OFFICER, Role.ended_at.is_(None))
    )


async def grant_role(session: AsyncSession, *, person: Person, role: RoleKind | str, plan_id: int | None,
                     unit_id: int | None, now: datetime, invite_id: int | None = None) -> tuple[Role, Role | None]:
    """Give a role; an officer role for a unit that has one hands the unit over. Returns the new
    role and the one it replaced (ended, kept as history)."""
    role = RoleKind(role)
    if role is RoleKind.GROUP:
        raise ValueError("a group invite binds a chat (bind_group), it is no person's role")
    replaced = None
    if role is RoleKind.OFFICER and unit_id is not None:
        replaced = await active_officer(session, unit_id)
        if replaced is not None and replaced.person_id == person.id:
            return replaced, None
        if replaced is not None:
            replaced.ended_at, replaced.ended_reason = now, "handed_over"
            await session.flush()  # the partial unique index allows one active officer per unit
    else:
        existing = await session.scalar(select(Role).where(
            Role.person_id == person.id, Role.role == role, Role.ended_at.is_(None),
            Role.plan_id.is_(None) if plan_id is None else Role.plan_id == plan_id,
        ))
        if existing is not None:
            return existing, None
    new = Role(person_id=person.id, plan_id=plan_id, role=role, unit_id=unit_id, started_at=now, invite_id=invite_id)
    session.add(new)
    await session.flush()
    return new, replaced


async def plan_ids(session: AsyncSession) -> list[int]:
    """Every plan, newest year first (what an admin of every plan may work on)."""
    return list(await session.scalars(select(Plan.id).order_by(Plan.year.desc(), Plan.id.desc())))


async def plans_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Plan]:
    return {plan.id: plan for plan in await session.scalars(select(Plan).where(Plan.id.in_(list(ids))))}


async def bind_group(session: AsyncSession, *, plan_id: int, channel: str, chat_id: str, title: str | None,
                     now: datetime) -> GroupBinding:
    binding = await session.scalar(
        select(GroupBinding).where(GroupBinding.channel == channel, GroupBinding.chat_id == chat_id))
    if binding is None:
        binding = GroupBinding(plan_id=plan_id, channel=channel, chat_id=chat_id, title=title, bound_at=now)
        session.add(binding)
    else:
        binding.plan_id, binding.title, binding.removed_at, binding.bound_at = plan_id, title, None, now
    await session.flush()
    return binding


async def group_binding(session: AsyncSession, channel: str, chat_id: str) -> GroupBinding | None:
    return await session.scalar(select(GroupBinding).where(
        GroupBinding.channel == channel, GroupBinding.chat_id == chat_id, GroupBinding.removed_at.is_(None)
    ))


async def officer_names(session: AsyncSession, plan_id: int) -> dict[int, str]:
    """Each unit's active focal officer's name (one per unit, enforced by the database)."""
    rows = await session.execute(
        select(Role.unit_id, Person.display_name)
        .join(Person, Person.id == Role.person_id)
        .join(Unit, Unit.id == Role.unit_id)
        .where(Unit.plan_id == plan_id, Role.role == RoleKind.OFFICER, Role.ended_at.is_(None))
    )
    return {unit_id: name for unit_id, name in rows}


async def unreachable(session: AsyncSession) -> list[tuple[str, datetime, str | None, str | None]]:
    """People whose messages fail for good (blocked the bot, chat gone), longest first: name, since
    when, a unit they are the officer of (None if none; a person with several units, once each),
    and the messenger where the last message failed (None if not known)."""
    failed_on = (select(OutboxMessage.channel)
                 .where(OutboxMessage.person_id == Person.id, OutboxMessage.failed_at.is_not(None))
                 .order_by(OutboxMessage.failed_at.desc(), OutboxMessage.id.desc()).limit(1)
                 .correlate(Person).scalar_subquery())
    rows = await session.execute(
        select(Person.display_name, Person.unreachable_at, Unit.name, failed_on)
        .outerjoin(Role, (Role.person_id == Person.id) & Role.ended_at.is_(None) & (Role.role == "officer"))
        .outerjoin(Unit, Unit.id == Role.unit_id)
        .where(Person.unreachable_at.is_not(None)).order_by(Person.unreachable_at)
    )
    return [(name, since, unit, channel) for name, since, unit, channel in rows]
