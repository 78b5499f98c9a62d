"""What the reporting schedule asks the database: session-first functions, named for what they
answer. They never commit; the scheduler (scheduler/tick.py) and the chat's schedule view
(handlers/schedule.py) call them inside their own units of work.

Lists of ids and keys go to `IN (…)` in chunks of CHUNK, so a province with thousands of units stays
under every database's limit on bound parameters.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import outbox
from models.due import Timing, timings_from_rows
from models.kinds import Urgency
from models.periods import Frequency
from models.tables import GroupBinding, Identity, OutboxMessage, Person, Plan, Role, ScheduleRule, Submission

CHUNK = 500  # rows per INSERT / keys or ids per IN (…)


@dataclass
class Recipient:
    """A person scheduled messages go to, with every address they can be reached at."""

    person_id: int
    name: str
    locale: str | None
    addresses: list[tuple[str, str]] = field(default_factory=list)  # (channel, chat id)
    unreachable: bool = False  # messages to them fail for good (blocked the bot, chat gone)
    since: datetime | None = None  # a focal officer: when their role began (focal_officers)

    def add(self, channel: str, chat_id: str) -> None:
        if (channel, chat_id) not in self.addresses:
            self.addresses.append((channel, chat_id))

    def one_channel(self, chosen: str | None, last: str | None) -> None:
        """A person on several messengers (/lienket) is written to on one: the one chosen with
        /kenh, else the one they wrote from last, else the one attached last."""
        if len({channel for channel, _ in self.addresses}) < 2:
            return
        for wanted in (chosen, last):
            picked = [address for address in self.addresses if address[0] == wanted]
            if picked:
                self.addresses = picked
                return
        self.addresses = self.addresses[-1:]


# --- plans and their schedules -------------------------------------------------------------------


async def plans_by_code(session: AsyncSession) -> list[tuple[int, str, int]]:
    """Every live plan as (id, code, year), by code: practice copies (issue 16) get no scheduled
    messages."""
    rows = await session.execute(select(Plan.id, Plan.code, Plan.year).where(Plan.practice_of_id.is_(None))
                                 .order_by(Plan.code))
    return [(plan_id, code, year) for plan_id, code, year in rows]


async def plan_timings(session: AsyncSession, plan_id: int) -> dict[Frequency, Timing]:
    """When each frequency's messages go out for the plan: its stored rules, defaults for the rest."""
    return timings_from_rows(await session.scalars(select(ScheduleRule).where(ScheduleRule.plan_id == plan_id)))


async def active_groups(session: AsyncSession, plan_id: int) -> list[GroupBinding]:
    """The group chats bound to the plan that have not been left, oldest binding first."""
    return list(await session.scalars(select(GroupBinding).where(
        GroupBinding.plan_id == plan_id, GroupBinding.removed_at.is_(None)).order_by(GroupBinding.id)))


# --- what is in, and who to tell -----------------------------------------------------------------


async def reported(session: AsyncSession, plan_id: int, period_ids: Sequence[str]) -> set[tuple[int, int, str]]:
    """(unit id, part id, period id) for every part some unit has a figure for, in those periods."""
    rows = await session.execute(
        select(Submission.unit_id, Submission.part_id, Submission.period).distinct()
        .where(Submission.plan_id == plan_id, Submission.period.in_(list(period_ids))))
    return {(unit_id, part_id, period) for unit_id, part_id, period in rows}


async def focal_officers(session: AsyncSession, unit_ids: Sequence[int]) -> dict[int, Recipient]:
    """Each unit's active focal officer (unit id -> Recipient), with their addresses in the order
    they were registered. A unit without one is absent."""
    officers: dict[int, Recipient] = {}
    for start in range(0, len(unit_ids), CHUNK):
        rows = await session.execute(
            select(Role.unit_id, Person.id, Person.display_name, Person.locale, Person.unreachable_at,
                   Identity.channel, Identity.chat_id, Identity.external_id, Person.prompt_channel,
                   Person.last_channel, Role.started_at)
            .join(Person, Person.id == Role.person_id)
            .outerjoin(Identity, Identity.person_id == Person.id)
            .where(Role.role == "officer", Role.ended_at.is_(None), Role.unit_id.in_(unit_ids[start:start + CHUNK]))
            .order_by(Role.unit_id, Identity.id))
        chosen: dict[int, tuple[str | None, str | None]] = {}
        for (unit_id, person_id, name, locale, unreachable_at, channel, chat_id, external_id, prompt, last,
             since) in rows:
            officer = officers.setdefault(
                unit_id, Recipient(person_id, name, locale, unreachable=unreachable_at is not None, since=since))
            chosen[unit_id] = (prompt, last)
            if channel is not None:
                officer.addresses.append((channel, chat_id or external_id))
        for unit_id, (prompt, last) in chosen.items():
            officers[unit_id].one_channel(prompt, last)
    return officers


async def overseers(session: AsyncSession, plan_id: int, tracking_unit_ids: Sequence[int]) -> list[Recipient]:
    """Who hears of escalations: the plan's leaders and admins (and those of every plan), and
    everyone with an active role in one of the tracking units; each once, with every address."""
    people: dict[int, Recipient] = {}
    oversight = or_(
        (Role.role.in_(("leader", "admin")) & or_(Role.plan_id == plan_id, Role.plan_id.is_(None))),
        Role.unit_id.in_(sorted(tracking_unit_ids)),
    )
    rows = await session.execute(
        select(Person.id, Person.display_name, Person.locale, Person.unreachable_at, Identity.channel,
               Identity.chat_id, Identity.external_id, Person.prompt_channel, Person.last_channel)
        .join(Role, Role.person_id == Person.id)
        .join(Identity, Identity.person_id == Person.id)
        .where(Role.ended_at.is_(None), oversight)
        .order_by(Person.id, Identity.id))
    chosen: dict[int, tuple[str | None, str | None]] = {}
    for person_id, name, locale, unreachable_at, channel, chat_id, external_id, prompt, last in rows:
        chosen[person_id] = (prompt, last)
        person = people.setdefault(person_id, Recipient(person_id, name, locale,
                                                        unreachable=unreachable_at is not None))
        person.add(channel, chat_id or external_id)  # a person with two roles comes once per role
    for person_id, (prompt, last) in chosen.items():
        people[person_id].one_channel(prompt, last)
    return list(people.values())


async def leaders(session: AsyncSession, plan_id: int, channels: Sequence[str]) -> list[Recipient]:
    """The plan's leaders with their addresses on `channels` (where the bot cannot be in groups)."""
    people: dict[int, Recipient] = {}
    rows = await session.execute(
        select(Person.id, Person.display_name, Person.locale, Person.unreachable_at, Identity.channel,
               Identity.chat_id, Identity.external_id, Person.prompt_channel, Person.last_channel)
        .join(Role, Role.person_id == Person.id)
        .join(Identity, Identity.person_id == Person.id)
        .where(Role.ended_at.is_(None), Role.role == "leader", Role.plan_id == plan_id,
               Identity.channel.in_(sorted(channels)))
        .order_by(Person.id, Identity.id))
    chosen: dict[int, tuple[str | None, str | None]] = {}
    for person_id, name, locale, unreachable_at, channel, chat_id, external_id, prompt, last in rows:
        chosen[person_id] = (prompt, last)
        person = people.setdefault(person_id, Recipient(person_id, name, locale,
                                                        unreachable=unreachable_at is not None))
        person.add(channel, chat_id or external_id)
    for person_id, (prompt, last) in chosen.items():
        people[person_id].one_channel(prompt, last)
    return list(people.values())


# --- the outbox's keys ---------------------------------------------------------------------------


async def existing_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Those of `keys` already in the outbox (their messages were made before)."""
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        found.update(await session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.key.in_(keys[start:start + CHUNK]))))
    return found


async def insert_new(session: AsyncSession, rows: Sequence[dict[str, Any]], now: datetime) -> set[str]:
    """Insert the outbox rows (OutboxMessage's columns) whose key is not taken; the keys inserted.
    Rows go in the order given (callers sort them by key), so concurrent processes lock the same
    keys in the same order instead of deadlocking."""
    dialect = (await session.connection()).dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    inserted: set[str] = set()
    if insert is not None:  # INSERT … ON CONFLICT (key) DO NOTHING … RETURNING key
        for start in range(0, len(rows), CHUNK):
            statement = (insert(OutboxMessage).values(list(rows[start:start + CHUNK]))
                         .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.key))
            inserted.update(await session.scalars(statement))
        return inserted
    for row in rows:  # any other database: one savepoint per row
        made = await outbox.enqueue(session, key=row["key"], channel=row["channel"], chat_id=row["chat_id"],
                                    payload=row["payload"], now=now, person_id=row["person_id"],
                                    priority=Urgency(row.get("priority", Urgency.ROUTINE)))
        if made is not None:
            inserted.add(row["key"])
    return inserted


async def delivery_states(session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
    """Each key's message state: "sent", "failed" (for good) or "pending"."""
    status: dict[str, str] = {}
    for start in range(0, len(keys), CHUNK):
        rows = await session.execute(
            select(OutboxMessage.key, OutboxMessage.sent_at, OutboxMessage.failed_at)
            .where(OutboxMessage.key.in_(keys[start:start + CHUNK])))
        for key, sent_at, failed_at in rows:
            status[key] = "sent" if sent_at else "failed" if failed_at else "pending"
    return status
