"""What a handler works with: its dependencies, the person asking, and the plan they work on."""
from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field, make_dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy import inspect as sa_inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.events import Choice, Event, Handling, Reply
from handlers.limits import Limits
from locales import Translator, translator
from models import people
from models.periods import (
    DEFAULT_DEADLINES, DeadlineRule, Frequency, Period, WorkCalendar, collects, period_containing,
)
from models.rollups import DEFAULT_COVERAGE_THRESHOLD
from models.store import target_of
from models.tables import Assignment, Indicator, IndicatorPart, Person, Plan, Role, ScheduleRule, Unit
from models.targets import Target
from models.text import fold


# Opens one session as a context manager (an async_sessionmaker, or SQLite's serialized one).
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]


@dataclass
class Deps:
    """Everything handlers need from the application, and nothing of any channel."""

    sessions: SessionFactory
    clock: Callable[[], datetime]
    timezone: ZoneInfo
    default_locale: str = "vi"
    admins: frozenset[tuple[str, str]] = frozenset()
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    plan_views: dict[int, Any] = field(default_factory=dict)  # plan id -> (stamp, PlanView, checked at)
    limits: Limits = field(default_factory=Limits)  # expensive requests: rate limits, builds in flight
    # Around each event handled (bot/metrics.py: counts, timings, the log's context), if set.
    watch: Callable[[Handling], AbstractContextManager[None]] | None = None


def _plain_class(model: type, *extra: str) -> type:
    """A frozen, session-free copy of a table's row, with the same attribute names. The plan view
    is cached across events and processes' sessions: ORM instances in it would belong to the session
    that loaded them, and a rollback there would expire them for everyone (issue 12, item 1).
    Identity equality, as ORM instances have, so a copy can be hashed and kept in a set."""
    columns = [attr.key for attr in sa_inspect(model).column_attrs]
    return make_dataclass(f"{model.__name__}Data", [*columns, *extra], frozen=True, eq=False, slots=True)


PlanData = _plain_class(Plan)
UnitData = _plain_class(Unit)
PartData = _plain_class(IndicatorPart)
IndicatorData = _plain_class(Indicator, "parts")  # parts: every part, as Indicator.parts


def _plain(cls: type, row: object, **extra: object) -> Any:
    # JSON columns are lists and dicts: copied, so no handler can change the shared view's.
    values = {name: copy.deepcopy(getattr(row, name)) for name in cls.__dataclass_fields__ if name not in extra}
    return cls(**values, **extra)


@dataclass(frozen=True, eq=False)
class PartView:
    part: Any  # PartData
    indicator: Any  # IndicatorData
    target: Target

    @property
    def code(self) -> str:
        return self.part.code

    @property
    def frequency(self) -> Frequency:
        return Frequency(self.indicator.frequency)


@lru_cache(maxsize=256)
def _reporting_period(year: int, frequency: Frequency, today: date) -> Period:
    period = period_containing(today, frequency).previous()
    if period.year < year:
        return Period(year, frequency, 1)
    if period.year > year:
        return Period(year, frequency, frequency.periods_per_year)
    return period


@dataclass
class PlanView:
    """One plan as handlers read it, as plain data (no ORM instances): cached between events."""

    plan: Any  # PlanData
    indicators: list[Any]  # IndicatorData
    parts: dict[int, PartView]
    units: dict[int, Any]  # UnitData
    rules: dict[Frequency, DeadlineRule]
    reporters: dict[int, list[int]]  # part id -> unit ids
    duties: dict[int, list[int]]  # unit id -> part ids
    collect_from: Period | None = None  # the plan's first collected month
    overridden: frozenset[int] = frozenset()  # part ids whose reporters the plan file set

    @property
    def coverage_threshold(self) -> Decimal:
        """Percent of the units expected that must have a figure before a plan-wide verdict."""
        own = self.plan.coverage_threshold
        return DEFAULT_COVERAGE_THRESHOLD if own is None else Decimal(own)

    def parts_of_unit(self, unit_id: int) -> list[PartView]:
        return [self.parts[part_id] for part_id in self.duties.get(unit_id, [])]

    def reporting_period(self, frequency: Frequency, today: date) -> Period:
        """The period units report now: the latest one whose data cut-off has passed (on 17/3
        that is March for a monthly indicator and Q1 for a quarterly one; on 2/3 it is February,
        reported late). Kept within the plan's year, and never one the plan does not collect
        (with collect_from 2025-04, on 2/4 it is April, not March)."""
        period = _reporting_period(self.plan.year, frequency, today)
        while not self.collects(period) and period.index < frequency.periods_per_year:
            period = period.next()
        return period

    def collecting(self, frequency: Frequency, today: date) -> Period | None:
        """The period of this frequency being collected now (its data cut-off has passed; its
        deadline is next, or passed and it is overdue); None before the first cut-off of the
        plan's year, when reporting_period would name a period not yet reportable."""
        period = self.reporting_period(frequency, today)
        return period if period.cutoff_window()[1] < today else None

    def period_open(self, pv: PartView, period: Period, today: date) -> bool:
        """Whether a figure for this part may be given for `period` now: one of the part's own
        frequency, in the plan's year, not after the period being reported (as text reports)."""
        return (period.frequency is pv.frequency and period.year == self.plan.year
                and period <= self.reporting_period(pv.frequency, today))

    def deadline(self, period: Period) -> date:
        return self.rules[period.frequency].deadline(period)

    def collects(self, period: Period) -> bool:
        """Whether the bot collects this period: none that ended before the plan's `collect_from`."""
        return collects(self.collect_from, period)

    def active_unit(self, unit: Any, period: Period) -> bool:
        """Whether the unit owes figures for the period: no one does for a period the plan does
        not collect, and a deactivated (merged, dissolved) unit counts in no period that starts
        after it ended. Every "who owes what" (prompts, reminders, escalations, missing lists,
        summaries) asks this."""
        if not self.collects(period):
            return False
        if unit.active or unit.deactivated_on is None:
            return unit.active
        return period.cutoff_window()[0] < unit.deactivated_on

    def find_units(self, typed: str, limit: int = 3) -> list[Any]:
        """Units whose name matches what was typed, best first; without diacritics, with typos.

        "mao khe" finds "Phường Mạo Khê": names are also compared without their kind word, but
        whole, so "Sao Hỏa" does not find "Phòng Văn hóa và Thông tin"."""
        wanted = fold(typed)
        candidates: dict[int, float] = {}
        for unit in self.units.values():
            if not unit.in_file:
                continue
            for name in (unit.name, *(unit.aliases or [])):
                folded = fold(name)
                if folded == wanted:
                    return [unit]
                score = max(fuzz.ratio(wanted, folded), fuzz.ratio(_bare(wanted), _bare(folded)))
                if score >= 80:
                    candidates[unit.id] = max(score, candidates.get(unit.id, 0))
        ranked = sorted(candidates, key=lambda uid: -candidates[uid])
        return [self.units[uid] for uid in ranked[:limit]]


_KIND_WORDS = re.compile(r"^(?:ubnd |uy ban nhan dan )?(?:xa|phuong|thi tran|phong|ban|trung tam|chi nhanh|so) ")


def _bare(folded: str) -> str:
    return _KIND_WORDS.sub("", folded)


# How long a plan view is trusted without asking the database whether the plan was re-imported.
VIEW_RECHECK_SECONDS = 2.0


async def load_plan_view(session: AsyncSession, plan_id: int, cache: dict[int, Any] | None = None) -> PlanView:
    """The plan as handlers read it. A plan changes only when a different file is imported, so
    with a cache the view is kept between events and rebuilt when the plan's file digest moves
    (also when another process imported it; noticed within VIEW_RECHECK_SECONDS)."""
    if cache is None:
        return await _build_plan_view(session, plan_id)
    cached = cache.get(plan_id)
    if cached is not None and time.monotonic() - cached[2] < VIEW_RECHECK_SECONDS:
        return cached[1]
    stamp = tuple((await session.execute(
        select(Plan.file_digest, Plan.imported_at).where(Plan.id == plan_id))).one())
    if cached is not None and cached[0] == stamp:
        cache[plan_id] = (stamp, cached[1], time.monotonic())
        return cached[1]
    view = await _build_plan_view(session, plan_id)
    cache[plan_id] = (stamp, view, time.monotonic())
    return view


async def _build_plan_view(session: AsyncSession, plan_id: int) -> PlanView:
    row = await session.get(Plan, plan_id)
    assert row is not None
    plan = _plain(PlanData, row)
    indicators = []
    parts: dict[int, PartView] = {}
    for indicator_row in await session.scalars(
        select(Indicator).where(Indicator.plan_id == plan_id, Indicator.active.is_(True)).order_by(Indicator.position)
    ):
        all_parts = tuple(_plain(PartData, part) for part in indicator_row.parts)
        indicator = _plain(IndicatorData, indicator_row, parts=all_parts)
        indicators.append(indicator)
        for part in all_parts:
            if part.active:
                parts[part.id] = PartView(part, indicator, target_of(part))
    units = {u.id: _plain(UnitData, u) for u in await session.scalars(select(Unit).where(Unit.plan_id == plan_id))}
    rules = dict(DEFAULT_DEADLINES)
    for rule in await session.scalars(select(ScheduleRule).where(ScheduleRule.plan_id == plan_id)):
        month: str | int = int(rule.deadline_month) if rule.deadline_month.isdigit() else rule.deadline_month
        rules[Frequency(rule.frequency)] = DeadlineRule(rule.deadline_day, month, rule.deadline_before)
    reporters: dict[int, list[int]] = {}
    duties: dict[int, list[int]] = {}
    rows = await session.execute(
        select(Assignment.part_id, Assignment.unit_id, Assignment.source)
        .join(IndicatorPart, Assignment.part_id == IndicatorPart.id)
        .where(IndicatorPart.plan_id == plan_id, Assignment.active.is_(True))
    )
    order = {part_id: position for position, part_id in enumerate(parts)}
    overridden: set[int] = set()
    for part_id, unit_id, source in rows:
        if part_id in parts:
            reporters.setdefault(part_id, []).append(unit_id)
            duties.setdefault(unit_id, []).append(part_id)
            if source == "override":
                overridden.add(part_id)
    for part_ids in duties.values():
        part_ids.sort(key=order.__getitem__)
    collect_from = Period.parse(plan.collect_from) if plan.collect_from else None
    return PlanView(plan, indicators, parts, units, rules, reporters, duties, collect_from, frozenset(overridden))


@dataclass
class Ctx:
    """One event being handled: one session, committed by the caller once at the end."""

    deps: Deps
    session: AsyncSession
    event: Event
    now: datetime
    person: Person | None = None
    roles: list[Role] = field(default_factory=list)  # active, in the event's plan (settle_plan)
    all_roles: list[Role] = field(default_factory=list)  # active, in every plan
    current_plan_id: int | None = None
    settled: bool = False  # settle_plan ran (dispatch does it for every event)
    replies: list[Reply] = field(default_factory=list)
    group_plan_id: int | None = None  # in a bound steering-committee group
    _t: Translator | None = None

    @property
    def t(self) -> Translator:
        if self._t is None:
            locale = (self.person.locale if self.person else None) or self.deps.default_locale
            self._t = translator(locale)
        return self._t

    def relocalize(self) -> None:
        self._t = None

    @property
    def today(self) -> date:
        return self.now.astimezone(self.deps.timezone).date()

    def say(self, message_id: str, *, choices: tuple[Choice, ...] = (), edit: bool = False, **params: object) -> None:
        self.replies.append(Reply(self.t(message_id, **params), choices=choices, edit=edit, locale=self.t.locale))

    def say_text(self, text: str, *, choices: tuple[Choice, ...] = (), edit: bool = False) -> None:
        self.replies.append(Reply(text, choices=choices, edit=edit, locale=self.t.locale))

    def tell(self, to: tuple[str, str], text: str, locale: str) -> None:
        """A message to someone else's chat (the officer whose unit was handed over)."""
        self.replies.append(Reply(text, to=to, locale=locale))

    # roles

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.role == name), None)

    @property
    def officer(self) -> Role | None:
        return self.role("officer")

    @property
    def is_admin(self) -> bool:
        return self.role("admin") is not None

    @property
    def is_leader(self) -> bool:
        """Leaders and admins see the whole plan."""
        return self.role("leader") is not None or self.is_admin

    async def plan_choices(self, roles: list[Role] | None = None) -> list[int]:
        """The plans this person may work on, the default first: those of their roles (newest
        role first), then, for an admin of every plan, every plan (newest year first)."""
        roles = self.all_roles if roles is None else roles
        ids = list(dict.fromkeys(role.plan_id for role in roles if role.plan_id is not None))
        if any(role.role == "admin" and role.plan_id is None for role in roles):
            for plan_id in await people.plan_ids(self.session):
                if plan_id not in ids:
                    ids.append(plan_id)
        return ids

    async def settle_plan(self, roles: list[Role], plan_id: int | None = None) -> None:
        """Decide which plan this event is about and keep only the roles that count there. A
        person may hold roles in several plans (a leader of one, the officer of a unit in
        another): rights never carry over from one plan to the next. The plan is the one given
        (a bound group's), else the one the person chose or last registered for, else the
        default of plan_choices."""
        self.all_roles, self.settled = roles, True
        if plan_id is None:
            choices = await self.plan_choices(roles)
            remembered = self.person.current_plan_id if self.person is not None else None
            plan_id = remembered if remembered in choices else (choices[0] if choices else None)
        self.current_plan_id = plan_id
        self.roles = [role for role in roles if role.plan_id is None or role.plan_id == plan_id]

    async def plan_id(self) -> int | None:
        """The plan this event is about (settle_plan)."""
        if self.group_plan_id is not None:
            return self.group_plan_id
        if not self.settled:  # a Ctx made outside dispatch, roles set by hand
            await self.settle_plan(self.roles)
        return self.current_plan_id
