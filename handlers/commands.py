"""The slash commands, in one table: their names, where they are offered, what they mean.

Everything about a command is derived from `COMMANDS`: the Telegram menus (`menu`), the help text
(handlers/misc.py lists every command its paragraphs leave out), the reading of a command into an
intent (handlers/understand.py) and the routing of the commands that are no intent (`lookup`).

A command has a Vietnamese and an English name (the one shown to people of that language) and
aliases that are understood but never shown. Names are matched folded (lower case, no diacritics),
so "/BaoCao" and "/báocáo" are /baocao; a name of four characters or more one edit away from a
name of five or more is read as it ("/baocoa", "/tinhinh").

Pure: no I/O, no channel library.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from rapidfuzz import process
from rapidfuzz.distance import OSA

from handlers.intents import (
    AskCharts,
    AskExport,
    AskGap,
    AskMissing,
    AskOfficialReport,
    AskOffTrack,
    AskSchedule,
    AskStatus,
    AskSummary,
    AskTemplate,
    Cancel,
    Help,
    Intent,
    SetLanguage,
    ShowReport,
    Start,
)
from models.text import fold

__all__ = ["COMMANDS", "INVOCATION", "Audience", "Command", "Route", "Scope", "find", "for_audience", "lookup", "menu",
           "split"]


class Scope(StrEnum):
    """Which Telegram menu: private chats, groups, or an admin's own chat (the private menu and
    the admin-only commands after it)."""

    PRIVATE = "private"
    GROUP = "group"
    ADMIN = "admin"


class Audience(StrEnum):
    """Whose help lists a command (handlers/misc.py maps each to its paragraph)."""

    UNREGISTERED = "unregistered"
    OFFICER = "officer"
    LEADER = "leader"  # admins too: they see the whole plan
    ADMIN = "admin"
    PLANS = "plans"  # people with roles in several plans
    EVERYONE = "everyone"  # every registered person, in a private chat
    GROUP = "group"  # the steering committee's group


class Route(StrEnum):
    """Commands that are no intent: the dispatcher answers them itself, for registered people."""

    UNREACHABLE = "unreachable"
    PLAN = "plan"
    LINK = "link"  # /lienket: also for a person not yet registered on this messenger
    CHANNEL = "channel"
    WEB = "web"  # /web: a sign-in link to the web desk
    INVITE = "invite"  # /moi: admins and the tracking office (handlers/invites.py)
    BOARD = "board"  # /canbo: who is on board
    HANDOVER = "handover"  # /bangiao: an officer hands their unit over (handlers/handover.py)
    REVIEW = "review"  # /duyet: the tracking office's review lists (handlers/review.py)
    CLOSE = "close"  # /khoaso: close the period (handlers/closing.py)
    REOPEN = "reopen"  # /mokhoa
    PRACTICE = "practice"  # /thuchanh: a practice copy of the plan (handlers/practice.py)


@dataclass(frozen=True, slots=True)
class Command:
    vi: str  # the name Vietnamese menus and help show
    en: str  # the name English menus and help show
    means: type[Intent] | Route  # the intent it is read into (its argument read by understand.py)
    description: str  # message key: the menu's description, and the help line where help needs one
    help: frozenset[Audience] = frozenset()
    # Position in a menu, None when not offered there; `admin`: admin-only, after the private menu.
    private: int | None = None
    group: int | None = None
    admin: int | None = None
    aliases: tuple[str, ...] = ()  # understood, never shown

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.vi, self.en, *self.aliases)))

    def name(self, locale: str) -> str:
        return self.en if locale == "en" else self.vi


def _for(*audiences: Audience) -> frozenset[Audience]:
    return frozenset(audiences)


_A = Audience
COMMANDS: tuple[Command, ...] = (
    Command("start", "start", Start, "menu-start", _for(_A.UNREGISTERED), aliases=("batdau",)),
    Command("baocao", "report", ShowReport, "menu-report", _for(_A.OFFICER), private=1,
            aliases=("nopsolieu", "submit")),
    Command("chitieu", "gap", AskGap, "menu-gap", _for(_A.OFFICER), private=2, aliases=("ct",)),
    Command("tinhhinh", "status", AskStatus, "menu-status", _for(_A.OFFICER, _A.LEADER, _A.GROUP),
            private=3, group=3, aliases=("tiendo", "progress")),
    Command("chuanop", "missing", AskMissing, "menu-missing", _for(_A.LEADER, _A.GROUP), private=4, group=2),
    Command("tonghop", "summary", AskSummary, "menu-summary", _for(_A.LEADER, _A.GROUP), private=5, group=1,
            aliases=("tongket",)),
    Command("bieudo", "charts", AskCharts, "menu-charts", _for(_A.LEADER, _A.GROUP), aliases=("chart",)),
    Command("chuadat", "offtrack", AskOffTrack, "menu-offtrack", _for(_A.LEADER)),
    # Officers get their own unit's deadlines, leaders and admins the plan's schedule.
    Command("lich", "schedule", AskSchedule, "menu-schedule", _for(_A.OFFICER, _A.LEADER), admin=2,
            aliases=("lichnhac",)),
    Command("xuat", "export", AskExport, "menu-export", _for(_A.ADMIN, _A.LEADER), aliases=("xuatexcel",)),
    Command("bieumau", "template", AskTemplate, "menu-template", _for(_A.OFFICER), aliases=("maubaocao",)),
    # Leaders and admins; the tracking office's officer too (handlers/official_report.may_ask).
    Command("baocaovanban", "officialreport", AskOfficialReport, "menu-official-report", _for(_A.LEADER),
            aliases=("vanban",)),
    Command("khonglienlac", "unreachable", Route.UNREACHABLE, "menu-unreachable", _for(_A.ADMIN), admin=1),
    Command("moi", "invite", Route.INVITE, "menu-invite", _for(_A.ADMIN), admin=3, aliases=("moicanbo",)),
    Command("canbo", "people", Route.BOARD, "menu-board", _for(_A.ADMIN, _A.LEADER), admin=4,
            aliases=("danhsachcanbo", "onboard")),
    Command("bangiao", "handover", Route.HANDOVER, "menu-handover", _for(_A.OFFICER), aliases=("nghiviec",)),
    Command("duyet", "review", Route.REVIEW, "menu-review", _for(_A.ADMIN), aliases=("pheduyet", "approve")),
    Command("khoaso", "close", Route.CLOSE, "menu-close", _for(_A.ADMIN), aliases=("khoa",)),
    Command("mokhoa", "reopen", Route.REOPEN, "menu-reopen", _for(_A.ADMIN)),
    Command("thuchanh", "practice", Route.PRACTICE, "menu-practice", _for(_A.ADMIN), aliases=("luyentap",)),
    Command("kehoach", "plan", Route.PLAN, "menu-plan", _for(_A.PLANS)),
    Command("lienket", "link", Route.LINK, "menu-link", _for(_A.EVERYONE), aliases=("lienketkenh",)),
    Command("kenh", "channel", Route.CHANNEL, "menu-channel", _for(_A.EVERYONE), aliases=("kenhnhan",)),
    Command("web", "web", Route.WEB, "menu-web", _for(_A.EVERYONE), aliases=("trangweb", "website")),
    Command("ngonngu", "language", SetLanguage, "menu-language", _for(_A.EVERYONE), private=6,
            aliases=("lang",)),
    Command("huy", "cancel", Cancel, "menu-cancel", _for(_A.EVERYONE), private=7, aliases=("huybo", "stop")),
    Command("help", "help", Help, "menu-help", private=8, group=4,
            aliases=("giupdo", "giup", "huongdan", "trogiup", "menu", "?")),
)


def _index(commands: tuple[Command, ...]) -> dict[str, Command]:
    by_name: dict[str, Command] = {}
    for command in commands:
        for name in command.names:
            if fold(name) != name or not name or any(ch.isspace() or ch == "@" for ch in name):
                raise ValueError(f"unfolded name: {name!r}")
            if by_name.setdefault(name, command) is not command:
                raise ValueError(f"duplicate name: /{name}")
    return by_name


_BY_NAME = _index(COMMANDS)
_MIN_TYPO = 4  # a shorter name is read only as typed
_TYPO_CANDIDATES = tuple(name for name in _BY_NAME if len(name) >= _MIN_TYPO + 1)

# "/name", "/name@SomeBot", each with an optional argument; the name is what `find` takes (folded).
INVOCATION = re.compile(r"^/(?P<name>[^\s@]+)(?:@\S*)?(?:\s+(?P<args>.*))?$", re.S)


def find(name: str) -> Command | None:
    """The command of a folded name ("baocao", "report"), or of a typo one edit away from one."""
    command = _BY_NAME.get(name)
    if command is None and len(name) >= _MIN_TYPO:
        hit = process.extractOne(name, _TYPO_CANDIDATES, scorer=OSA.distance, score_cutoff=1)
        command = _BY_NAME[hit[0]] if hit else None
    return command


def split(text: str) -> tuple[Command, str] | None:
    """("/kehoach@MyBot T2025" ->) the command and its argument as typed, or None for no command."""
    m = INVOCATION.match(text.strip())
    if m is None:
        return None
    command = find(fold(m["name"]))
    return (command, (m["args"] or "").strip()) if command is not None else None


def lookup(text: str) -> Command | None:
    """The command a message starts with ("/KhongLienLac@MyBot", "/plan T2025"), or None."""
    found = split(text)
    return found[0] if found is not None else None


def menu(locale: str, scope: Scope) -> list[tuple[str, str]]:
    """A Telegram menu: (command without the slash, description message key), in menu order."""
    def entries(position: str) -> list[tuple[str, str]]:
        offered = [c for c in COMMANDS if getattr(c, position) is not None]
        return [(c.name(locale), c.description) for c in sorted(offered, key=lambda c: getattr(c, position))]

    if scope is Scope.ADMIN:
        return entries("private") + entries("admin")
    return entries(scope.value)


def for_audience(audience: Audience) -> list[Command]:
    """The commands whose help is for these people, in table order."""
    return [command for command in COMMANDS if audience in command.help]
