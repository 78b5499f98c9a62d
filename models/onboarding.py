"""Onboarding a whole plan (issue 16): one invite for every unit at once, and who is on board.

Functions take the session first and never commit: a bulk issue is one transaction, so a failure
half-way leaves no unit with a code nobody was given.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import people
from models.kinds import RoleKind
from models.roster import RosterError, RosterRow
from models.tables import Identity, Invite, Person, Plan, Role, RosterEntry, Unit
from models.text import fold


@dataclass(frozen=True)
class IssuedLine:
    """One unit's new invite, as the spreadsheet, the cards and the chat show it."""

    unit_code: str
    unit_name: str
    kind: str
    code: str
    expires_at: datetime
    replacing: str | None = None  # the active officer the code hands the unit over from (--replace)
    unit_id: int | None = None


class UnknownKind(ValueError):
    """A --kind the plan has no unit of; args[0] is the kind, args[1] the kinds the plan has."""


async def unit_kinds(session: AsyncSession, plan: Plan) -> list[str]:
    return sorted(set(await session.scalars(
        select(Unit.kind).where(Unit.plan_id == plan.id, Unit.in_file.is_(True), Unit.active.is_(True)))))


async def units_to_invite(session: AsyncSession, plan: Plan, *, kinds: Iterable[str] | None = None,
                          replace: bool = False,
                          unit_ids: Iterable[int] | None = None) -> list[tuple[Unit, str | None]]:
    """The plan's active units (of `kinds`, among `unit_ids`, if given) without an active focal
    officer — or, with `replace`, every one — each with its current officer's name (None when it
    has none)."""
    wanted = sorted(set(kinds)) if kinds else None
    if wanted:
        known = await unit_kinds(session, plan)
        for kind in wanted:
            if kind not in known:
                raise UnknownKind(kind, known)
    query = (select(Unit, Person.display_name)
             .outerjoin(Role, and_(Role.unit_id == Unit.id, Role.role == RoleKind.OFFICER, Role.ended_at.is_(None)))
             .outerjoin(Person, Person.id == Role.person_id)
             .where(Unit.plan_id == plan.id, Unit.in_file.is_(True), Unit.active.is_(True))
             .order_by(Unit.id))
    if wanted:
        query = query.where(Unit.kind.in_(wanted))
    if unit_ids is not None:
        query = query.where(Unit.id.in_(list(unit_ids)))
    rows = [(unit, name) for unit, name in await session.execute(query)]
    return rows if replace else [(unit, name) for unit, name in rows if name is None]


def new_lines(units: list[tuple[Unit, str | None]], *, now: datetime,
              days: int = people.INVITE_DAYS) -> list[IssuedLine]:
    """A fresh code for each unit, not stored yet (store_invites): a caller drawing a province's
    cards draws them before it writes, so the database's write lock is not held meanwhile."""
    expires = now + timedelta(days=days)
    lines, seen = [], set()
    for unit, officer in units:
        code = people.new_invite_code()
        while code in seen:  # 31^8 codes: a repeat within one sheet is all but impossible, still checked
            code = people.new_invite_code()
        seen.add(code)
        lines.append(IssuedLine(unit.code, unit.name, unit.kind, code, expires, officer, unit.id))
    return lines


async def store_invites(session: AsyncSession, plan: Plan, lines: list[IssuedLine], *, now: datetime,
                        created_by: int | None = None) -> None:
    """The lines' invites stored, in the caller's transaction. A unit's earlier unused officer
    invites end now: the sheet just printed is the one that counts, and a stray old card can no
    longer take the unit over."""
    if not lines:
        return
    key = await people.invite_key(session, now)
    unit_ids = [line.unit_id for line in lines if line.unit_id is not None]
    for chunk in _chunks(unit_ids, 500):  # PostgreSQL and SQLite both take 500 parameters easily
        await session.execute(
            update(Invite).where(Invite.unit_id.in_(chunk), Invite.role == RoleKind.OFFICER,
                                 Invite.used_at.is_(None), Invite.expires_at > now)
            .values(expires_at=now).execution_options(synchronize_session=False))
    session.add_all(Invite(code_hash=people.hash_code(key, line.code), keyed=True, plan_id=plan.id,
                           role=RoleKind.OFFICER, unit_id=line.unit_id, created_by=created_by, created_at=now,
                           expires_at=line.expires_at) for line in lines)
    await session.flush()


async def issue_officer_invites(session: AsyncSession, plan: Plan, units: list[tuple[Unit, str | None]], *,
                                now: datetime, days: int = people.INVITE_DAYS,
                                created_by: int | None = None) -> list[IssuedLine]:
    """One officer invite per unit, stored in the caller's transaction (new_lines, store_invites)."""
    lines = new_lines(units, now=now, days=days)
    await store_invites(session, plan, lines, now=now, created_by=created_by)
    return lines


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- who is on board -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficerLine:
    unit_code: str
    unit_name: str
    kind: str
    name: str | None = None  # None: the unit has no active focal officer
    channels: tuple[str, ...] = ()
    registered_at: datetime | None = None
    last_seen: datetime | None = None
    unreachable_at: datetime | None = None
    expected: str | None = None  # the roster's name for the unit's officer, when not them (yet)
    expected_phone: str | None = None


@dataclass(frozen=True)
class InviteLine:
    unit_code: str | None
    unit_name: str | None
    role: str
    created_at: datetime
    expires_at: datetime
    issued_by: str | None  # a person's name; None when issued on the command line


@dataclass(frozen=True)
class Onboarding:
    units: list[OfficerLine]
    pending: list[InviteLine] = field(default_factory=list)
    expired: list[InviteLine] = field(default_factory=list)

    @property
    def without_officer(self) -> list[OfficerLine]:
        return [line for line in self.units if line.name is None]

    @property
    def unreachable(self) -> list[OfficerLine]:
        return [line for line in self.units if line.unreachable_at is not None]


async def onboarding(session: AsyncSession, plan: Plan, now: datetime, *,
                     expired_since: timedelta = timedelta(days=30)) -> Onboarding:
    """Every active unit of the plan with its officer, then the plan's unused invites: pending
    ones, and those expired within `expired_since` (older ones are history nobody chases) for units
    still without an officer or a newer code."""
    rows = await session.execute(
        select(Unit.code, Unit.name, Unit.kind, Person.id, Person.display_name, Role.started_at, Person.last_seen_at,
               Person.unreachable_at)
        .outerjoin(Role, and_(Role.unit_id == Unit.id, Role.role == RoleKind.OFFICER, Role.ended_at.is_(None)))
        .outerjoin(Person, Person.id == Role.person_id)
        .where(Unit.plan_id == plan.id, Unit.in_file.is_(True), Unit.active.is_(True))
        .order_by(Unit.id))
    rows = list(rows)
    person_ids = sorted({row[3] for row in rows if row[3] is not None})
    channels: dict[int, list[str]] = {}
    if person_ids:
        for person_id, channel in await session.execute(
                select(Identity.person_id, Identity.channel).where(Identity.person_id.in_(person_ids))
                .order_by(Identity.id)):
            channels.setdefault(person_id, []).append(channel)
    roster = {code: (name, phone) for code, name, phone in await session.execute(
        select(Unit.code, RosterEntry.full_name, RosterEntry.phone).join(RosterEntry, RosterEntry.unit_id == Unit.id)
        .where(RosterEntry.plan_id == plan.id, RosterEntry.role == RoleKind.OFFICER))}
    units = []
    for code, name, kind, person_id, person_name, started, seen, unreachable_at in rows:
        expected, phone = roster.get(code, (None, None))
        if expected is not None and person_name is not None and fold(expected) == fold(person_name):
            expected = phone = None  # the expected person is the one registered
        units.append(OfficerLine(code, name, kind, person_name, tuple(channels.get(person_id, ())), started, seen,
                                 unreachable_at, expected, phone))
    issuer = Person.__table__.alias("issuer")
    invites = await session.execute(
        select(Unit.code, Unit.name, Invite.role, Invite.created_at, Invite.expires_at, issuer.c.display_name)
        .outerjoin(Unit, Unit.id == Invite.unit_id)
        .outerjoin(issuer, issuer.c.id == Invite.created_by)
        .where(Invite.plan_id == plan.id, Invite.used_at.is_(None), Invite.expires_at > now - expired_since)
        .order_by(Invite.expires_at, Invite.id))
    lines = [InviteLine(code, name, str(role), created, expires, by)
             for code, name, role, created, expires, by in invites]
    pending = [line for line in lines if line.expires_at > now]
    # An expired card is news only for a unit still without an officer and without a newer code.
    covered = {line.unit_code for line in units if line.name is not None} | {line.unit_code for line in pending}
    expired = [line for line in lines if line.expires_at <= now and line.unit_code not in covered]
    return Onboarding(units, pending, expired)


# --- the admins' daily notice ----------------------------------------------------------------------


@dataclass(frozen=True)
class News:
    """What changed for a plan's onboarding within a window: invites that expired unused (units
    still without an officer) and officers the bot can no longer reach."""

    expired: list[str]  # unit names
    unreachable: list[tuple[str, str, datetime]]  # (officer, unit, since)

    def __bool__(self) -> bool:
        return bool(self.expired or self.unreachable)


async def news(session: AsyncSession, plan: Plan, start: datetime, end: datetime) -> News:
    """Invites that expired unused in [start, end) for units still without an active officer, and
    the plan's officers who became unreachable in [start, end)."""
    staffed = select(Role.unit_id).where(Role.role == RoleKind.OFFICER, Role.ended_at.is_(None),
                                         Role.unit_id.is_not(None))
    renewed = select(Invite.unit_id).where(Invite.plan_id == plan.id, Invite.used_at.is_(None),
                                           Invite.expires_at >= end, Invite.unit_id.is_not(None))
    expired = list(dict.fromkeys(await session.scalars(
        select(Unit.name).join(Invite, Invite.unit_id == Unit.id)
        .where(Invite.plan_id == plan.id, Invite.role == RoleKind.OFFICER, Invite.used_at.is_(None),
               Invite.expires_at >= start, Invite.expires_at < end,
               Unit.active.is_(True), Unit.id.not_in(staffed), Unit.id.not_in(renewed))
        .order_by(Unit.id))))
    rows = await session.execute(
        select(Person.display_name, Unit.name, Person.unreachable_at)
        .join(Role, and_(Role.person_id == Person.id, Role.role == RoleKind.OFFICER, Role.ended_at.is_(None)))
        .join(Unit, Unit.id == Role.unit_id)
        .where(Unit.plan_id == plan.id, Person.unreachable_at >= start, Person.unreachable_at < end)
        .order_by(Person.unreachable_at, Unit.id))
    return News(expired, [(name, unit, at) for name, unit, at in rows])


async def plan_admins(session: AsyncSession, plan_id: int) -> list[tuple[int, str | None, str, str]]:
    """The plan's admins (and those of every plan), each once on one messenger: (person id,
    locale, channel, chat id) — the channel chosen with /kenh, else the one written from last,
    else the first registered."""
    rows = await session.execute(
        select(Person.id, Person.locale, Person.prompt_channel, Person.last_channel, Identity.channel,
               Identity.chat_id, Identity.external_id)
        .join(Role, Role.person_id == Person.id)
        .join(Identity, Identity.person_id == Person.id)
        .where(Role.role == RoleKind.ADMIN, Role.ended_at.is_(None),
               (Role.plan_id == plan_id) | Role.plan_id.is_(None), Person.unreachable_at.is_(None))
        .order_by(Person.id, Identity.id))
    addresses: dict[int, list[tuple[str, str]]] = {}
    prefs: dict[int, tuple[str | None, str | None, str | None]] = {}
    for person_id, locale, chosen, last, channel, chat_id, external_id in rows:
        addresses.setdefault(person_id, []).append((channel, chat_id or external_id))
        prefs[person_id] = (locale, chosen, last)
    found = []
    for person_id, where in addresses.items():
        locale, chosen, last = prefs[person_id]
        channel, chat_id = next((a for wanted in (chosen, last) for a in where if a[0] == wanted), where[0])
        found.append((person_id, locale, channel, chat_id))
    return found


async def step_down(session: AsyncSession, role: Role, now: datetime) -> None:
    """An officer hands their unit over (/bangiao): the role ends, kept as history; the unit has no
    active officer until someone registers with a new code."""
    role.ended_at, role.ended_reason = now, "handed_over_by_self"
    await session.flush()


# --- the roster (import-people) --------------------------------------------------------------------


async def import_roster(session: AsyncSession, plan: Plan, rows: list[RosterRow], now: datetime) -> int:
    """The plan's roster replaced by the file's rows, in the caller's transaction; RosterError
    naming each row whose unit is not the plan's or that gives a unit a second officer."""
    from models.store import load_plan_view

    view = await load_plan_view(session, plan.id)
    units = [u for u in view.units.values() if u.in_file]
    problems: list[tuple[int | None, str | None, str, dict[str, object]]] = []
    entries, officers = [], {}
    for row in rows:
        unit = next((u for u in units if fold(u.code) == fold(row.unit)), None)
        if unit is None:
            found = view.find_units(row.unit, limit=2)
            exact = [u for u in found if fold(u.name) == fold(row.unit)]
            unit = exact[0] if exact else found[0] if len(found) == 1 else None
        if unit is None and row.role == RoleKind.OFFICER:
            problems.append((row.row, "unit", "roster-error-unit", {"value": row.unit, "plan": plan.code}))
            continue
        if row.role == RoleKind.OFFICER:
            assert unit is not None
            if unit.id in officers:
                problems.append((row.row, "name", "roster-error-two-officers",
                                 {"unit": unit.name, "other": officers[unit.id]}))
                continue
            officers[unit.id] = row.row
        entries.append(RosterEntry(plan_id=plan.id, unit_id=unit.id if unit else None, role=RoleKind(row.role),
                                   full_name=row.name, position=row.position, phone=row.phone, imported_at=now))
    if problems:
        raise RosterError(problems)
    await session.execute(delete(RosterEntry).where(RosterEntry.plan_id == plan.id))
    session.add_all(entries)
    await session.flush()
    return len(entries)


async def roster_officers(session: AsyncSession, plan_id: int) -> dict[int, RosterEntry]:
    """Unit id -> the roster's officer for it."""
    return {entry.unit_id: entry for entry in await session.scalars(
        select(RosterEntry).where(RosterEntry.plan_id == plan_id, RosterEntry.role == RoleKind.OFFICER))
        if entry.unit_id is not None}


async def roster_names(session: AsyncSession, plan: Plan) -> dict[str, str]:
    """Unit code -> the name of the officer the roster expects there (the invite cards greet them)."""
    rows = await session.execute(
        select(Unit.code, RosterEntry.full_name).join(RosterEntry, RosterEntry.unit_id == Unit.id)
        .where(RosterEntry.plan_id == plan.id, RosterEntry.role == RoleKind.OFFICER))
    return {code: name for code, name in rows}
