"""What a handler works with: its dependencies, the person asking, and the plan they work on."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.events import Choice, Event, FileFetcher, Handling, Reply
from handlers.limits import Limits
from locales import Translator, translator
from models import people
from models.file_store import FileStore
from models.kinds import RoleKind
from models.periods import WorkCalendar
from models.plan_view import PlanView
from models.session import Session, SessionFactory
from models.store import ViewCache, load_plan_view
from models.tables import Person, Role

# The plan view and the session factory live in models/; named here too for their older importers.
__all__ = ["Ctx", "Deps", "SessionFactory"]


@dataclass
class Deps:
    """Everything handlers need from the application, and nothing of any channel."""

    sessions: SessionFactory
    clock: Callable[[], datetime]
    timezone: ZoneInfo
    default_locale: str = "vi"
    admins: frozenset[tuple[str, str]] = frozenset()
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    plan_views: ViewCache = field(default_factory=ViewCache)  # models.store.load_plan_view's cache
    limits: Limits = field(default_factory=Limits)  # expensive requests: rate limits, builds in flight
    # Around each event handled (bot/metrics.py: counts, timings, the log's context), if set.
    watch: Callable[[Handling], AbstractContextManager[None]] | None = None
    # Channels whose bot account cannot be in groups (Zalo's getMe: can_join_groups false): what
    # would go to the steering group goes to each leader of the plan privately there.
    groupless: set[str] = field(default_factory=set)
    # The web desk's address (issue 23: WEB_LISTEN set): /web answers with a sign-in link there.
    web_base: str | None = None
    # The messengers running, each with how it links an invite code (bot/run.py sets them as the
    # channels start): Telegram's deep link once its @username is known; Zalo has no deep links
    # (None: send the code). /moi and the invite cards use them.
    invite_links: dict[str, Callable[[str], str | None]] = field(default_factory=dict)
    # Files people send (issue 17): each channel's fetcher, by channel name, and where bytes are kept.
    fetchers: dict[str, FileFetcher] = field(default_factory=dict)
    file_store: FileStore | None = None


@dataclass
class Ctx:
    """One event being handled: one session, committed by the caller once at the end."""

    deps: Deps
    session: Session
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
        return self.role(RoleKind.OFFICER)

    @property
    def is_admin(self) -> bool:
        return self.role(RoleKind.ADMIN) is not None

    @property
    def is_leader(self) -> bool:
        """Leaders and admins see the whole plan."""
        return self.role(RoleKind.LEADER) is not None or self.is_admin

    async def plan_choices(self, roles: list[Role] | None = None) -> list[int]:
        """The plans this person may work on, the default first: those of their roles (newest
        role first), then, for an admin of every plan, every plan (newest year first)."""
        roles = self.all_roles if roles is None else roles
        ids = list(dict.fromkeys(role.plan_id for role in roles if role.plan_id is not None))
        if any(role.role == RoleKind.ADMIN and role.plan_id is None for role in roles):
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

    async def plan_view(self, plan_id: int) -> PlanView:
        """A plan as handlers read it, through the application's cache."""
        return await load_plan_view(self.session, plan_id, self.deps.plan_views)

    async def plan_id(self) -> int | None:
        """The plan this event is about (settle_plan)."""
        if self.group_plan_id is not None:
            return self.group_plan_id
        if not self.settled:  # a Ctx made outside dispatch, roles set by hand
            await self.settle_plan(self.roles)
        return self.current_plan_id
