"""Limits on expensive requests (issue 12, item 7): the summary (/tonghop), its charts (/bieudo)
and the spreadsheet (/xuat) each take a second or more to build, so one person or one group
asking again and again must not hold everyone else up.

- Rate limits: each person, and each group chat, gets at most PERSON_LIMIT / GROUP_LIMIT builds
  per sliding window of PERSON_WINDOW / GROUP_WINDOW; past that the asker is told politely to
  wait, and nothing is built. Windows run on the event's time (the injected clock), not the wall.
- One shared result: while a request is being built, an identical one (same plan, period, kind,
  language and day) waits for that build and gets its replies instead of starting a second build;
  a request joined this way costs its asker nothing against the limits.
- One at a time per plan: a build marked `serial` (the spreadsheet: seconds of CPU and most of
  the memory a province's export needs) waits for the plan's previous one of its kind to finish,
  so two admins exporting different periods of one plan never hold two of them at once.
- Commands that take a period (/tonghop, /bieudo, /xuat, /chuanop) refuse an argument that names
  no period, naming what is accepted, instead of answering for the default period.

The state is per process (Deps.limits): with several bot processes behind a webhook each applies
the limits on its own, which bounds the load per process, what matters for the shared database.
"""
from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from handlers.events import Event, Reply
from handlers.intents import AskCharts, AskExport, AskMissing, AskOfficialReport, AskSummary, Intent
from locales import Translator


class Asker(Protocol):
    """What `expensive` needs of the event being handled (handlers.context.Ctx has it; importing
    that here would close a cycle: the context holds the limits)."""

    deps: Any
    event: Event
    now: datetime

    @property
    def t(self) -> Translator: ...

    @property
    def today(self) -> date: ...

    def say(self, message_id: str, **params: Any) -> None: ...

__all__ = [
    "GROUP_LIMIT",
    "GROUP_WINDOW",
    "PERSON_LIMIT",
    "PERSON_WINDOW",
    "Limits",
    "expensive",
    "unknown_period",
]

PERSON_LIMIT = 4  # builds per person per window: /tonghop, /bieudo and /xuat once each, and one more
PERSON_WINDOW = timedelta(minutes=1)
GROUP_LIMIT = 3  # builds per group chat per window, whoever in the group asks
GROUP_WINDOW = timedelta(minutes=1)

Build = Callable[[], Awaitable[list[Reply]]]


@dataclass
class Limits:
    """The sliding windows and the builds in flight of one process."""

    asked: dict[Hashable, deque[datetime]] = field(default_factory=dict)
    building: dict[Hashable, asyncio.Future[list[Reply]]] = field(default_factory=dict)
    serial: dict[tuple[str, int], asyncio.Lock] = field(default_factory=dict)  # (kind, plan id) -> its turn

    def wait_for(self, key: Hashable, limit: int, window: timedelta, now: datetime) -> timedelta | None:
        """How long `key` must wait before its next build (None: it may build now)."""
        times = self.asked.get(key)
        if times is None:
            return None
        while times and times[0] <= now - window:
            times.popleft()
        if not times:
            del self.asked[key]  # so the table holds only those who asked lately
            return None
        return times[0] + window - now if len(times) >= limit else None

    def count(self, key: Hashable, now: datetime) -> None:
        self.asked.setdefault(key, deque()).append(now)


def unknown_period(intent: Intent) -> str | None:
    """The argument of a period command that names no period ("/tonghop 2025-13"), else None."""
    if isinstance(intent, (AskSummary, AskCharts, AskExport, AskMissing, AskOfficialReport)):
        return intent.unknown_period
    return None


async def expensive(ctx: Asker, kind: str, plan_id: int, period_id: str, build: Build, *,
                    serial: bool = False) -> list[Reply] | None:
    """The replies of an expensive request: joined to an identical build in flight, else built
    within the asker's and the group's limits; None after telling the asker to wait. `serial`:
    built only when no other build of this kind for this plan is running (an identical request
    arriving meanwhile joins this one, waiting or not)."""
    limits: Limits = ctx.deps.limits
    key = (kind, plan_id, period_id, ctx.t.locale, ctx.today)
    running = limits.building.get(key)
    if running is not None:
        return list(await asyncio.shield(running))
    event = ctx.event
    windows = [(("person", event.channel, event.sender_id), PERSON_LIMIT, PERSON_WINDOW)]
    if not event.private:
        windows.append((("group", event.channel, event.chat_id), GROUP_LIMIT, GROUP_WINDOW))
    waits = [w for w in (limits.wait_for(k, n, span, ctx.now) for k, n, span in windows) if w is not None]
    if waits:
        seconds = max(1, -(-int(max(waits).total_seconds() * 1000) // 1000))  # rounded up
        ctx.say("limits-busy", seconds=ctx.t.number(seconds))
        return None
    for k, _, _ in windows:
        limits.count(k, ctx.now)
    future: asyncio.Future[list[Reply]] = asyncio.get_running_loop().create_future()
    limits.building[key] = future
    try:
        if serial:
            async with limits.serial.setdefault((kind, plan_id), asyncio.Lock()):
                replies = await build()
        else:
            replies = await build()
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: whoever joined gets it raised; nobody else must log it
        raise
    except BaseException:  # cancelled: so are those who joined
        future.cancel()
        raise
    else:
        future.set_result(replies)
        return replies
    finally:
        del limits.building[key]
