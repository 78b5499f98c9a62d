"""Button data: what a pressed button, or a numbered choice typed back, asks for.

Telegram returns a button's data exactly as the bot set it, but anyone can send any data (a
modified client, a forged update), so decoding is strict and never raises: anything malformed,
too long or of an unknown version is None, and the handler then says the button is stale. What
the data names (a part, a period) is checked again against the person by the handler that acts.
The "v1:" prefix lets a later release tell an older release's buttons still in chats apart.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from models.periods import Period, PeriodError

VERSION = "v1"
MAX_BYTES = 64  # Telegram's limit for callback_data

_PICK = re.compile(r"v1:pick:([1-9][0-9]{0,11}):([0-9]{4}(?:-[0-9QqHh]{1,3})?)")
_EVIDENCE = re.compile(r"v1:ev:([1-9][0-9]{0,11}):([0-9]{4}(?:-[0-9QqHh]{1,3})?)")
_REVIEW = re.compile(r"v1:(rv|ap|rt):([1-9][0-9]{0,11}):([0-9]{4}(?:-[0-9QqHh]{1,3})?)(?::([0-9]{1,12}))?")
_DECIDE = re.compile(r"v1:cr:([1-9][0-9]{0,15}):([yn])")
_PLAN = re.compile(r"v1:plan:([1-9][0-9]{0,11})")
_LANGUAGES = ("vi", "en")


@dataclass(frozen=True, slots=True)
class Pick:
    """Report this part for this period (the guided way)."""

    part_id: int
    period: Period


@dataclass(frozen=True, slots=True)
class Answer:
    """Yes or no to the question asked before."""

    yes: bool


@dataclass(frozen=True, slots=True)
class Late:
    """File the held figures to the missing earlier period (True) or the current one (False)."""

    missing: bool


@dataclass(frozen=True, slots=True)
class Language:
    locale: str


@dataclass(frozen=True, slots=True)
class PlanChoice:
    """Work on this plan from now on (a person with roles in several)."""

    plan_id: int


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    """Send scheduled messages on this messenger (None: the one written from last)."""

    channel: str | None


@dataclass(frozen=True, slots=True)
class EvidenceFor:
    """The files just sent prove this part's figure for this period (handlers/files.py)."""

    part_id: int
    period: Period


@dataclass(frozen=True, slots=True)
class ReviewList:
    """Show this part's review list for this period (handlers/review.py)."""

    part_id: int
    period: Period


@dataclass(frozen=True, slots=True)
class Approve:
    """Approve this part's figures for this period: one unit's, or (None) all awaiting."""

    part_id: int
    period: Period
    unit_id: int | None


@dataclass(frozen=True, slots=True)
class Return:
    """Return one unit's figure (the reason is asked next)."""

    part_id: int
    period: Period
    unit_id: int


@dataclass(frozen=True, slots=True)
class Decide:
    """Grant (True) or refuse a change request to a closed period (handlers/closing.py)."""

    request_id: int
    grant: bool


# The tracking office's desk (issue 17), then the rest.
DeskButton = Decide | ReviewList | Approve | Return | EvidenceFor
Button = DeskButton | Pick | Answer | Late | Language | PlanChoice | ChannelChoice
_CHANNELS = ("telegram", "zalo", "console")


def encode(button: Button) -> str:
    match button:
        case Pick(part_id=part_id, period=period):
            data = f"{VERSION}:pick:{part_id}:{period.id}"
        case EvidenceFor(part_id=part_id, period=period):
            data = f"{VERSION}:ev:{part_id}:{period.id}"
        case Decide(request_id=request_id, grant=grant):
            data = f"{VERSION}:cr:{request_id}:{'y' if grant else 'n'}"
        case ReviewList(part_id=part_id, period=period):
            data = f"{VERSION}:rv:{part_id}:{period.id}"
        case Approve(part_id=part_id, period=period, unit_id=unit_id):
            data = f"{VERSION}:ap:{part_id}:{period.id}:{unit_id or 0}"
        case Return(part_id=part_id, period=period, unit_id=unit_id):
            data = f"{VERSION}:rt:{part_id}:{period.id}:{unit_id}"
        case Answer(yes=yes):
            data = f"{VERSION}:{'yes' if yes else 'no'}"
        case Late(missing=missing):
            data = f"{VERSION}:late:{'missing' if missing else 'current'}"
        case Language(locale=locale):
            data = f"{VERSION}:lang:{locale}"
        case PlanChoice(plan_id=plan_id):
            data = f"{VERSION}:plan:{plan_id}"
        case ChannelChoice(channel=channel):
            data = f"{VERSION}:chan:{channel or 'auto'}"
    assert len(data.encode()) <= MAX_BYTES
    return data


def decode(data: str) -> Button | None:
    """The button this data stands for, or None when it is not one this release made."""
    if not isinstance(data, str) or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        return None
    if data in ("v1:yes", "v1:no"):
        return Answer(data == "v1:yes")
    if data in ("v1:late:missing", "v1:late:current"):
        return Late(data == "v1:late:missing")
    if data.startswith("v1:lang:") and data[len("v1:lang:"):] in _LANGUAGES:
        return Language(data[len("v1:lang:"):])
    if data.startswith("v1:chan:") and data[len("v1:chan:"):] in (*_CHANNELS, "auto"):
        channel = data[len("v1:chan:"):]
        return ChannelChoice(None if channel == "auto" else channel)
    if (match := _PLAN.fullmatch(data)) is not None:
        return PlanChoice(int(match[1]))
    if data.startswith(("v1:cr:", "v1:rv:", "v1:ap:", "v1:rt:", "v1:ev:")):
        return _desk(data)
    match = _PICK.fullmatch(data)
    if match is None:
        return None
    try:
        return Pick(int(match[1]), Period.parse(match[2]))
    except PeriodError:
        return None


def _desk(data: str) -> DeskButton | None:
    if (match := _DECIDE.fullmatch(data)) is not None:
        return Decide(int(match[1]), match[2] == "y")
    if (match := _REVIEW.fullmatch(data)) is not None:
        return _review(match)
    if (match := _EVIDENCE.fullmatch(data)) is not None:
        try:
            return EvidenceFor(int(match[1]), Period.parse(match[2]))
        except PeriodError:
            return None
    return None


def _review(match: re.Match[str]) -> DeskButton | None:
    try:
        period = Period.parse(match[3])
    except PeriodError:
        return None
    part_id, unit = int(match[2]), match[4]
    if match[1] == "rv":
        return ReviewList(part_id, period) if unit is None else None
    if unit is None:
        return None
    if match[1] == "ap":
        return Approve(part_id, period, int(unit) or None)
    return Return(part_id, period, int(unit)) if int(unit) else None
