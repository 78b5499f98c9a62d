"""Perform what is due at one instant: `tick(deps, now)`.

For every plan, for every schedule item that has fired and is still useful at `now` (models/due.py),
the messages are built — a prompt listing what the unit owes with targets and last figures, a
reminder or overdue notice listing only what is missing, an escalation naming units, officers and
what they miss, the steering group's summary trigger — and each is written to the outbox under a
durable key:

    f"{kind}:{plan}:{periods}:{unit-code | p<person id> | group}@{channel}[:{chat}]"

The unique key is the claim: a key already in the outbox means the message was made before (by this
process, an earlier run, or another process at the same moment), so it is skipped. Inserting is
`INSERT … ON CONFLICT (key) DO NOTHING … RETURNING key`, in key order, so two processes ticking at
once on PostgreSQL wait on each other's rows instead of duplicating or deadlocking. Delivery is the
outbox's: a sender claims rows under a lease, sends through the channel's rate limiter and marks each
sent; a process that dies mid fan-out leaves its leases to expire and another delivers the rest.

Running tick twice for the same instant therefore sends nothing the second time, and starting after
a pause performs each missed item once, if it is still useful (models/due.py says how long each one is).

The scheduler knows nothing of the process around it: it takes the handlers' `Deps` (sessions,
clock, zone, calendar, default language) and the channels' senders as parameters (bot/ builds them),
and asks the database through models/schedule_queries.py.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from handlers.context import Deps
from handlers.events import Attachment, Reply
from handlers.export import summary_details
from handlers.formatting import describe_figure, describe_target, period_label
from handlers.schedule import describe_deadline, plan_schedule
from handlers.summary import build_summary, chart_attachments, render_summary, spreadsheet_if_cut
from locales import Translator, translator
from models.due import Item, Kind, due_items
from models.kinds import Urgency
from models.periods import Period, WorkCalendar, periods_of_year
from models.plan_view import PartView, PlanView
from models.plans import named_units
from models.schedule_queries import (
    Recipient,
    active_groups,
    delivery_states,
    existing_keys,
    focal_officers,
    insert_new,
    leaders,
    overseers,
    plans_by_code,
    reported,
)
from models.session import Session
from models.submissions import current_for_plan, figure_of
from models.targets import Figure
from scheduler.notices import onboarding_notices
from scheduler.review_lists import review_messages

log = logging.getLogger(__name__)

ESCALATION_UNITS_SHOWN = 40  # an escalation lists this many units, then says how many more
YIELD_EVERY = 100  # officers' messages built between two turns given to the event loop


class Sender(Protocol):
    """A channel's outbox sender, as a tick uses it (bot/channels/sender.py's OutboxSender)."""

    sent: int  # messages delivered so far
    failed: int  # messages that failed for good so far
    wake: asyncio.Event  # set to make it look at the outbox now

    async def drain(self) -> None:
        """Deliver everything due now, then return."""
        ...


# --- what a tick reports -------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One scheduled message written to the outbox by this tick."""

    key: str
    kind: Kind
    item: Item
    channel: str
    chat_id: str
    person_id: int | None
    recipient: str  # the person's name or the group's title
    unit: str | None  # the unit it is about (prompts, reminders, overdue notices)
    text: str
    locale: str
    attachments: tuple[Attachment, ...] = ()


@dataclass
class TickReport:
    """What one tick did: the items due, the messages it queued, and what became of them."""

    now: datetime
    due: list[Item] = field(default_factory=list)
    queued: list[Message] = field(default_factory=list)
    status: dict[str, str] = field(default_factory=dict)  # key -> "sent" | "failed" | "pending"
    delivered: int = 0  # messages the senders delivered, including ones queued before this tick
    failed: int = 0
    drained: tuple[str, ...] = ()  # channels whose senders ran
    failed_plans: list[str] = field(default_factory=list)  # plans whose work raised (logged; retried next tick)
    notices: list[str] = field(default_factory=list)  # outbox keys of the admins' onboarding notices queued

    def counts(self) -> Counter[Kind]:
        return Counter(message.kind for message in self.queued)

    def of(self, kind: Kind) -> list[Message]:
        return [message for message in self.queued if message.kind is kind]

    def state(self, message: Message) -> str:
        return self.status.get(message.key, "pending")


# --- the tick ------------------------------------------------------------------------------------


async def tick(deps: Deps, now: datetime, *, senders: Mapping[str, Sender] | None = None) -> TickReport:
    """Perform everything due at `now` (timezone-aware) for every plan, then let `senders`
    (channel -> Sender) deliver what is queued. Idempotent for a given instant."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    report = TickReport(now)
    async with deps.sessions() as session:
        plans = await plans_by_code(session)
    local_year = now.astimezone(deps.timezone).year
    for plan_id, code, year in plans:
        if not year - 1 <= local_year <= year + 1:  # nothing of this plan's year can be due
            continue
        try:
            await _plan_tick(deps, plan_id, now, report)
            report.notices.extend(await onboarding_notices(deps, plan_id, now))
        except Exception:  # one plan's trouble must not stop the others; the next tick retries
            log.exception("scheduled work for plan %s failed", code)
            report.failed_plans.append(code)
    if senders:
        for sender in senders.values():
            sent, failed = sender.sent, sender.failed
            await sender.drain()
            report.delivered += sender.sent - sent
            report.failed += sender.failed - failed
        report.drained = tuple(senders)
    if report.queued:
        async with deps.sessions() as session:
            report.status = await delivery_states(session, [m.key for m in report.queued])
    return report


async def _plan_tick(deps: Deps, plan_id: int, now: datetime, report: TickReport) -> None:
    async with deps.sessions() as session:
        view, _, items = await plan_schedule(session, deps, plan_id)
    for item in due_items(items, now):
        report.due.append(item)
        async with deps.sessions() as session:
            messages = await build_messages(session, deps, view, item)
        report.queued.extend(await _enqueue(deps, messages))


async def _enqueue(deps: Deps, messages: list[Message]) -> list[Message]:
    """Write the messages whose keys are new; return those (the others were made before)."""
    if not messages:
        return []
    stamp = deps.clock()  # when the row was written: the real clock, whatever instant was planned
    by_key = {m.key: m for m in sorted(messages, key=lambda m: m.key)}
    rows = [
        dict(key=m.key, channel=m.channel, chat_id=m.chat_id, person_id=m.person_id,
             payload=Reply(m.text, attachments=m.attachments, locale=m.locale).to_payload(), created_at=stamp,
             not_before=stamp, attempts=0, priority=int(Urgency.BULK if m.kind is Kind.SUMMARY else Urgency.ROUTINE))
        for m in by_key.values()
    ]
    async with deps.sessions() as session, session.begin():  # one transaction: committed, or rolled back
        inserted = await insert_new(session, rows, stamp)
    return [m for key, m in by_key.items() if key in inserted]


# --- who owes what -------------------------------------------------------------------------------


@dataclass
class Situation:
    """One item's facts: which units owe which parts of which periods, what is in, who to tell."""

    view: PlanView
    item: Item
    owed: dict[int, list[tuple[Period, PartView]]]  # unit id -> (period, part), plan order
    done: set[tuple[int, int, str]]  # (unit id, part id, period id) with a figure
    officers: dict[int, Recipient]  # unit id -> its active focal officer

    def missing(self, unit_id: int) -> list[tuple[Period, PartView]]:
        return [(p, pv) for p, pv in self.owed[unit_id] if (unit_id, pv.part.id, p.id) not in self.done]

    def units_missing(self) -> list[int]:
        return [unit_id for unit_id in self.owed if self.missing(unit_id)]


async def situation(session: Session, view: PlanView, item: Item, among: set[int] | None = None,
                    officers: dict[int, Recipient] | None = None) -> Situation:
    """The item's facts; `among`: only these units' duties (the others' messages were made before),
    `officers`: their focal officers, when already read."""
    periods = {period.frequency: period for period in item.periods}
    # Whether a unit owes anything in a period, asked once per unit and period, not once per part:
    # 10,000 units × 30 parts made the same question 300,000 times.
    active: dict[tuple[int, Period], bool] = {}
    owed: dict[int, list[tuple[Period, PartView]]] = {}
    for pv in view.parts.values():  # plan order
        period = periods.get(pv.frequency)
        if period is None:
            continue
        for unit_id in view.reporters.get(pv.part.id, []):
            if among is not None and unit_id not in among:
                continue
            owes = active.get((unit_id, period))
            if owes is None:
                unit = view.units.get(unit_id)
                owes = active[(unit_id, period)] = unit is not None and view.active_unit(unit, period)
            if owes:
                owed.setdefault(unit_id, []).append((period, pv))
    done = await reported(session, view.plan.id, [p.id for p in item.periods])
    if officers is None:
        officers = await focal_officers(session, list(owed))
    return Situation(view, item, owed, done, {u: o for u, o in officers.items() if u in owed})


def tracking_unit_ids(view: PlanView, facts: Situation) -> set[int]:
    """The offices that track what is missing: the plan's tracking unit and the units named in
    the `tracking` cell ("Cơ quan theo dõi") of every indicator some unit still owes."""
    codes = {view.plan.tracking_unit_code} if view.plan.tracking_unit_code else set()
    texts = {pv.indicator.tracking for unit_id in facts.owed for _, pv in facts.missing(unit_id)}
    units = [u for u in view.units.values() if u.in_file]
    for text in filter(None, texts):
        codes |= named_units(text, units)
    return {u.id for u in units if u.code in codes}


async def _last_figures(session: Session, view: PlanView, item: Item,
                        unit_ids: set[int]) -> dict[tuple[int, int], tuple[Period, Figure]]:
    """Each (unit, part)'s latest figure in an earlier period of the plan's year."""
    earlier = [p.id for period in item.periods for p in periods_of_year(period.year, period.frequency) if p < period]
    if not earlier or not unit_ids:
        return {}
    latest: dict[tuple[int, int], tuple[Period, Figure]] = {}
    for row in await current_for_plan(session, view.plan.id, earlier):
        if row.unit_id not in unit_ids:
            continue
        period = Period.parse(row.period)
        known = latest.get((row.unit_id, row.part_id))
        if known is None or known[0] < period:
            latest[(row.unit_id, row.part_id)] = (period, figure_of(row))
    return latest


# --- the messages --------------------------------------------------------------------------------


async def build_messages(session: Session, deps: Deps, view: PlanView, item: Item) -> list[Message]:
    """The messages `item` calls for that were not made before (their keys are not in the outbox)."""
    texts = Texts(deps.default_locale, deps.calendar, view)
    if item.kind is Kind.SUMMARY:  # the summary reads its own facts
        return await _summary_messages(session, view, item, texts, deps.groupless)
    if item.kind is Kind.REVIEW:
        return [Message(r.key, item.kind, item, r.channel, r.chat_id, r.person_id, r.name, None, r.text, r.locale)
                for r in await review_messages(session, deps.default_locale, view, item)]
    # Who could be told is read before what is owed: when every one of their messages was made
    # before (most ticks of an overdue item's month), nothing else is read (issue 19).
    if item.kind is Kind.ESCALATION:
        if not await _escalation_pending(session, view, item):
            return []
        return await _escalation_messages(session, await situation(session, view, item), texts)
    officers = await focal_officers(session, [unit_id for unit_id, part_ids in view.duties.items()
                                              if any(view.parts[p].frequency in item.frequencies for p in part_ids)])
    # An officer who registered after this item's time was welcomed with what it would say
    # (handlers/welcome.py): a backlog of prompts and overdue notices is no way to start.
    officers = {unit_id: officer for unit_id, officer in officers.items()
                if officer.since is None or officer.since <= item.fire_at}
    keys = {unit_id: [_officer_key(item, view, unit_id, channel) for channel, _ in officer.addresses]
            for unit_id, officer in officers.items()}
    existing = await existing_keys(session, [key for unit_keys in keys.values() for key in unit_keys])
    among = {unit_id for unit_id, unit_keys in keys.items() if any(key not in existing for key in unit_keys)}
    if not among:
        return []
    return await _officer_messages(session, await situation(session, view, item, among, officers), texts)


def _officer_key(item: Item, view: PlanView, unit_id: int, channel: str) -> str:
    return f"{item.key}:{view.units[unit_id].code}@{channel}"


async def _escalation_pending(session: Session, view: PlanView, item: Item) -> bool:
    """Whether someone who hears of this escalation may not have had it yet: every overseer the
    plan's tracking offices could name (those of every indicator due, a superset of those of the
    indicators still owed) is asked."""
    texts = {pv.indicator.tracking for pv in view.parts.values() if pv.frequency in item.frequencies}
    units = [u for u in view.units.values() if u.in_file]
    codes = {view.plan.tracking_unit_code} if view.plan.tracking_unit_code else set()
    for text in filter(None, texts):
        codes |= named_units(text, units)
    people = await overseers(session, view.plan.id, sorted(u.id for u in units if u.code in codes))
    keys = [f"{item.key}:p{person.person_id}@{channel}" for person in people for channel, _ in person.addresses]
    return len(await existing_keys(session, keys)) < len(keys)


async def _officer_messages(session: Session, facts: Situation, texts: Texts) -> list[Message]:
    item, view = facts.item, facts.view
    wanted: list[tuple[str, int, Recipient, str, str]] = []
    for unit_id in facts.owed:
        officer = facts.officers.get(unit_id)
        if officer is None or not facts.missing(unit_id):  # nothing to send: no one, or nothing owed
            continue
        unit = view.units[unit_id]
        for channel, chat_id in officer.addresses:
            wanted.append((_officer_key(item, view, unit_id, channel), unit_id, officer, channel, chat_id))
    existing = await existing_keys(session, [w[0] for w in wanted])
    wanted = [w for w in wanted if w[0] not in existing]
    last = {}
    if item.kind is Kind.PROMPT and wanted:
        last = await _last_figures(session, view, item, {w[1] for w in wanted})
    messages = []
    for number, (key, unit_id, officer, channel, chat_id) in enumerate(wanted, start=1):
        if number % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a province's messages take seconds: figures arriving are stored meanwhile
        t = texts.t(officer.locale)
        unit = view.units[unit_id]
        if item.kind is Kind.PROMPT:
            text = texts.prompt(t, facts, unit_id, officer, last)
        elif item.kind is Kind.REMINDER:
            text = texts.reminder(t, facts, unit_id, officer)
        else:
            text = texts.overdue(t, facts, unit_id, officer)
        messages.append(Message(key, item.kind, item, channel, chat_id, officer.person_id, officer.name,
                                unit.name, text, t.locale))
    return messages


async def _escalation_messages(session: Session, facts: Situation, texts: Texts) -> list[Message]:
    item = facts.item
    late = facts.units_missing()
    if not late:
        return []
    wanted = [
        (f"{item.key}:p{person.person_id}@{channel}", person, channel, chat_id)
        for person in await overseers(session, facts.view.plan.id, sorted(tracking_unit_ids(facts.view, facts)))
        for channel, chat_id in person.addresses
    ]
    existing = await existing_keys(session, [w[0] for w in wanted])
    messages = []
    for key, person, channel, chat_id in wanted:
        if key in existing:
            continue
        t = texts.t(person.locale)
        messages.append(Message(key, item.kind, item, channel, chat_id, person.person_id, person.name, None,
                                texts.escalation(t, facts, late), t.locale))
    return messages


async def _summary_messages(session: Session, view: PlanView, item: Item, texts: Texts,
                            groupless: set[str] | None = None) -> list[Message]:
    """The steering group's summary of the period just closed, with its two charts: one message
    per part of the text (each under Telegram's limit), the charts on the last. On a channel whose
    bot cannot be in groups (`groupless`), each leader of the plan gets it privately instead."""
    groups = await active_groups(session, view.plan.id)
    wanted: list[tuple[str, _Audience]] = [
        (f"{item.key}:group@{g.channel}:{g.chat_id}", _Audience(g.channel, g.chat_id, g.title or g.chat_id, None))
        for g in groups if g.channel not in (groupless or ())]
    if groupless:
        wanted.extend((f"{item.key}:p{person.person_id}@{channel}",
                       _Audience(channel, chat_id, person.name, person.person_id))
                      for person in await leaders(session, view.plan.id, sorted(groupless))
                      for channel, chat_id in person.addresses)
    existing = await existing_keys(session, [f"{key}#1" for key, _ in wanted])
    wanted = [(key, group) for key, group in wanted if f"{key}#1" not in existing]
    if not wanted:
        return []
    t = texts.t(None)
    period = min(item.periods, key=lambda p: p.frequency.months)  # the headline: the shortest cycle
    zone = item.fire_at.tzinfo
    assert zone is not None
    summary = await build_summary(session, view, period, item.fire_at.date(), zone, details=summary_details(view))
    parts = render_summary(summary, t)
    # The charts, and the spreadsheet when the text names only some of the units to chase.
    charts = (*await chart_attachments(summary, t), *await spreadsheet_if_cut(view, summary, t))
    messages = []
    for key, audience in wanted:
        for number, text in enumerate(parts, start=1):
            messages.append(Message(
                f"{key}#{number}", item.kind, item, audience.channel, audience.chat_id, audience.person_id,
                audience.name, None, text, t.locale,
                charts if number == len(parts) else (),
            ))
    return messages


@dataclass(frozen=True)
class _Audience:
    """Where a summary goes: a bound group, or a leader privately (person_id)."""

    channel: str
    chat_id: str
    name: str
    person_id: int | None


class Texts:
    """The scheduled messages' wording (locales/messages-schedule.yaml), in each reader's language."""

    def __init__(self, default_locale: str, calendar: WorkCalendar, view: PlanView) -> None:
        self.default_locale = default_locale
        self.calendar = calendar
        self.view = view
        # A part's title and target, and a missing part's line, in one language: the same for every
        # unit, so worked out once per tick, not once per officer (3,000 reminders × 30 parts).
        self._parts: dict[tuple[str, bool, str, int], tuple[str, str]] = {}
        self._missing: dict[tuple[str, bool, str, int], str] = {}

    def t(self, locale: str | None) -> Translator:
        return translator(locale or self.default_locale)

    # pieces

    def periods(self, t: Translator, periods: Iterable[Period]) -> str:
        labels = [period_label(p, t) for p in periods]
        if len(labels) == 1:
            return labels[0]
        return t("schedule-and", first=", ".join(labels[:-1]), last=labels[-1])

    def deadline(self, t: Translator, day: date) -> str:
        """"thứ Năm 20/03/2025"; a day off says so and names the working day before it."""
        return describe_deadline(t, self.calendar, day)

    def salutation(self, t: Translator) -> str:
        return self.view.plan.salutation or t("salutation-default")

    def _part(self, t: Translator, facts: Situation, period: Period, pv: PartView) -> tuple[str, str]:
        several = len(facts.item.periods) > 1
        key = (t.locale, several, period.id, pv.part.id)
        found = self._parts.get(key)
        if found is None:
            title = pv.indicator.title + (f" — {pv.part.label}" if pv.part.label else "")
            if several:
                title += f" ({period_label(period, t)})"
            found = self._parts[key] = (title, describe_target(pv.target, t))
        return found

    def _missing_lines(self, t: Translator, facts: Situation, unit_id: int) -> list[str]:
        several = len(facts.item.periods) > 1
        lines = []
        for period, pv in facts.missing(unit_id):
            key = (t.locale, several, period.id, pv.part.id)
            line = self._missing.get(key)
            if line is None:
                title, target = self._part(t, facts, period, pv)
                line = self._missing[key] = t("schedule-line-missing", code=pv.code, title=title, target=target)
            lines.append(line)
        return lines

    # messages

    def prompt(self, t: Translator, facts: Situation, unit_id: int, officer: Recipient,
               last: Mapping[tuple[int, int], tuple[Period, Figure]]) -> str:
        item = facts.item
        unit = self.view.units[unit_id]
        owed = facts.owed[unit_id]
        missing = {(period.id, pv.part.id) for period, pv in facts.missing(unit_id)}
        lines = [t("schedule-prompt-header", salutation=self.salutation(t), name=officer.name, unit=unit.name,
                   period=self.periods(t, item.periods), deadline=self.deadline(t, item.deadline),
                   count=len(owed))]
        for period, pv in owed:
            title, target = self._part(t, facts, period, pv)
            if (period.id, pv.part.id) not in missing:
                lines.append(t("schedule-line-done", code=pv.code, title=title))
                continue
            previous = last.get((unit_id, pv.part.id))
            before = t("schedule-last", figure=describe_figure(previous[1], pv.target, t),
                       period=period_label(previous[0], t)) if previous else ""
            lines.append(t("schedule-line-owed", code=pv.code, title=title, target=target, last=before))
        lines += ["", t("schedule-prompt-how")]
        return "\n".join(lines)

    def reminder(self, t: Translator, facts: Situation, unit_id: int, officer: Recipient) -> str:
        return self._still_missing(t, "schedule-reminder-header", facts, unit_id, officer, t("schedule-prompt-how"))

    def overdue(self, t: Translator, facts: Situation, unit_id: int, officer: Recipient) -> str:
        footer = t("schedule-overdue-how", salutation=self.salutation(t),
                   days=max(1, facts.item.escalate_after_days))
        return self._still_missing(t, "schedule-overdue-header", facts, unit_id, officer, footer)

    def _still_missing(self, t: Translator, header: str, facts: Situation, unit_id: int, officer: Recipient,
                       footer: str) -> str:
        """A header to the officer, what the unit still owes, and a footer."""
        item = facts.item
        heading = t(header, salutation=self.salutation(t), name=officer.name, unit=self.view.units[unit_id].name,
                    period=self.periods(t, item.periods), deadline=self.deadline(t, item.deadline),
                    count=len(facts.missing(unit_id)))
        return "\n".join([heading, *self._missing_lines(t, facts, unit_id), "", footer])

    def escalation(self, t: Translator, facts: Situation, late: list[int]) -> str:
        item = facts.item
        units = sorted(late, key=lambda u: self.view.units[u].name)
        lines = [t("schedule-escalation-header", days=max(1, item.escalate_after_days), count=len(units),
                   expected=len(facts.owed), period=self.periods(t, item.periods),
                   deadline=self.deadline(t, item.deadline))]
        for unit_id in units[:ESCALATION_UNITS_SHOWN]:
            officer = facts.officers.get(unit_id)
            codes = [pv.code for _, pv in facts.missing(unit_id)]
            shown = ", ".join(codes[:12]) + (" …" if len(codes) > 12 else "")
            if officer is None:
                who = t("schedule-no-officer")
            elif officer.unreachable:
                who = t("schedule-officer-unreachable", name=officer.name)
            else:
                who = officer.name
            lines.append(t("schedule-escalation-line", unit=self.view.units[unit_id].name, officer=who,
                           count=len(codes), codes=shown))
        if len(units) > ESCALATION_UNITS_SHOWN:
            lines.append(t("schedule-escalation-more", count=len(units) - ESCALATION_UNITS_SHOWN))
        return "\n".join(lines)

