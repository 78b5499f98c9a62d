"""What is due when: one plan's reporting schedule as pure arithmetic (no I/O, no clock).

For every reporting period P of the plan's year, with deadline D (the plan's rule for P's frequency):

- prompt      on the working day `prompt_days_before` working days before the reminder day, at
              prompt_time: what the unit owes for P, with targets and last figures;
- reminder    on the last working day on or before D (a deadline on a weekend or a public holiday,
              Tết included, is reminded on the working day before it), at reminder_time: only what
              is still missing;
- overdue     on the first working day after D, at overdue_time: to the officer, what is missing;
- escalation  on the `escalate_after_days`-th working day after D (at least the first), at
              overdue_time: to the plan's leaders and admins and the offices tracking what is
              missing, naming units, officers and what is missing;
- summary     on the first working day after D, at summary_time: the steering group's trigger.

Times are local (BOT_TIMEZONE). An instant inside quiet hours moves to the end of quiet hours.

Periods of different frequencies that share a deadline and fire at the same instants make one item,
so a unit gets one message per deadline listing everything due then (Q2 and H1 both due on 15/6).

Each item is useful for a while and then superseded, so work missed while the bot was down is
caught up once and only while it still makes sense:

- a prompt until the reminder fires (after that the reminder says the same, shorter);
- a reminder until the end of the deadline day (after that the overdue notice replaces it);
- overdue notices, escalations and the summary trigger until the end of the next period's deadline day.

Nothing is due while `now` is inside quiet hours: a catch-up waits for the morning.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any

from models.periods import (
    DEFAULT_DEADLINES,
    DeadlineRule,
    Frequency,
    Period,
    WorkCalendar,
    collects,
    periods_of_year,
)
from models.schedule import DEFAULT_TIMES, ScheduleTimes, times_of

__all__ = [
    "DEFAULT_TIMINGS",
    "KIND_ORDER",
    "Item",
    "Kind",
    "Timing",
    "due_items",
    "is_quiet",
    "plan_items",
    "timings_from_rows",
    "upcoming_items",
]


class Kind(enum.StrEnum):
    PROMPT = "prompt"
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    SUMMARY = "summary"
    REVIEW = "review"  # the tracking office's review lists (issue 17)


KIND_ORDER: Mapping[Kind, int] = MappingProxyType({kind: number for number, kind in enumerate(Kind)})


@dataclass(frozen=True, slots=True)
class Timing(ScheduleTimes):
    """When one frequency's messages go out (the plan file's `schedule`; docs/plan-format.md):
    its deadline, and the times and counts of `ScheduleTimes`, keyword-only, defaults there."""

    deadline: DeadlineRule

    def __post_init__(self) -> None:
        if self.prompt_days_before < 0 or self.escalate_after_days < 0:
            raise ValueError("working-day counts must not be negative")

    def quiet(self, moment: time) -> bool:
        return is_quiet(moment, self.quiet_start, self.quiet_end)


DEFAULT_TIMINGS: Mapping[Frequency, Timing] = MappingProxyType(
    {frequency: Timing(rule) for frequency, rule in DEFAULT_DEADLINES.items()})


def timings_from_rows(rows: Iterable[Any]) -> dict[Frequency, Timing]:
    """Timings from stored schedule rules (objects with ScheduleRule's attributes); frequencies
    without a rule take the defaults."""
    timings = dict(DEFAULT_TIMINGS)
    for row in rows:
        month: str | int = int(row.deadline_month) if str(row.deadline_month).isdigit() else row.deadline_month
        timings[Frequency(row.frequency)] = Timing(
            deadline=DeadlineRule(row.deadline_day, month, bool(row.deadline_before)), **times_of(row))
    return timings


def is_quiet(moment: time, start: time, end: time) -> bool:
    """Whether a local time of day falls inside quiet hours [start, end) (which may wrap midnight)."""
    moment = moment.replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def _local_instant(day: date, at: time, timing: Timing, zone: tzinfo) -> datetime:
    """`day` at `at`, moved to the end of quiet hours when it falls inside them."""
    moment = datetime.combine(day, at.replace(tzinfo=None))
    if timing.quiet(at):
        end = datetime.combine(day, timing.quiet_end)
        if end <= moment:
            end += timedelta(days=1)
        moment = end
    return moment.replace(tzinfo=zone)


def _start_of(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0, 0)).replace(tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Item:
    """One scheduled job: a kind of message, for one plan and the periods due on one deadline."""

    kind: Kind
    plan: str
    periods: tuple[Period, ...]
    deadline: date
    fire_at: datetime
    until: datetime  # no longer useful from this instant on
    quiet_start: time = field(default=DEFAULT_TIMES.quiet_start, compare=False)
    quiet_end: time = field(default=DEFAULT_TIMES.quiet_end, compare=False)
    escalate_after_days: int = field(default=DEFAULT_TIMES.escalate_after_days, compare=False)

    @property
    def period_ids(self) -> str:
        """"2025-03", or "2025-Q2+2025-H1" when several periods share the deadline."""
        return "+".join(period.id for period in self.periods)

    @property
    def key(self) -> str:
        """The durable key's stem; a recipient is appended: f"{item.key}:{recipient}"."""
        return f"{self.kind.value}:{self.plan}:{self.period_ids}"

    @property
    def frequencies(self) -> frozenset[Frequency]:
        return frozenset(period.frequency for period in self.periods)

    def useful_at(self, now: datetime) -> bool:
        """Fired, not yet superseded, and `now` is not inside quiet hours."""
        if not self.fire_at <= now < self.until:
            return False
        local = now.astimezone(self.fire_at.tzinfo).time()
        return not is_quiet(local, self.quiet_start, self.quiet_end)

    def sort_key(self) -> tuple[datetime, int, str, str]:
        return (self.fire_at, KIND_ORDER[self.kind], self.plan, self.period_ids)


def _period_items(plan: str, period: Period, timing: Timing, calendar: WorkCalendar,
                  zone: tzinfo) -> list[Item]:
    deadline = timing.deadline.deadline(period)
    next_deadline = timing.deadline.deadline(period.next())
    reminder_day = calendar.previous_working_day(deadline)
    prompt_day = calendar.add_working_days(reminder_day, -timing.prompt_days_before)
    after_day = calendar.add_working_days(deadline, 1)
    escalation_day = calendar.add_working_days(deadline, max(1, timing.escalate_after_days))

    prompt_at = _local_instant(prompt_day, timing.prompt_time, timing, zone)
    reminder_at = _local_instant(reminder_day, timing.reminder_time, timing, zone)
    overdue_at = _local_instant(after_day, timing.overdue_time, timing, zone)
    escalation_at = _local_instant(escalation_day, timing.overdue_time, timing, zone)
    summary_at = _local_instant(after_day, timing.summary_time, timing, zone)
    deadline_over = _start_of(deadline + timedelta(days=1), zone)
    next_over = _start_of(next_deadline + timedelta(days=1), zone)

    windows = [
        # The reminder supersedes the prompt; when both would fire at once, the prompt is kept.
        (Kind.PROMPT, prompt_at, min(deadline_over, reminder_at) if reminder_at > prompt_at else deadline_over),
        (Kind.REMINDER, reminder_at, deadline_over if reminder_at > prompt_at else reminder_at),
        (Kind.OVERDUE, overdue_at, next_over),
        (Kind.ESCALATION, escalation_at, next_over),
        (Kind.SUMMARY, summary_at, next_over),
        (Kind.REVIEW, summary_at, next_over),
    ]
    return [
        Item(kind, plan, (period,), deadline, fire_at, until, timing.quiet_start, timing.quiet_end,
             timing.escalate_after_days)
        for kind, fire_at, until in windows if fire_at < until
    ]


def plan_items(plan: str, year: int, timings: Mapping[Frequency, Timing], calendar: WorkCalendar,
               zone: tzinfo, frequencies: Iterable[Frequency] | None = None,
               collect_from: Period | None = None) -> list[Item]:
    """Every item of one plan's year, in firing order. `frequencies`: those the plan's indicators
    use (default: every frequency with a timing); `collect_from`: the plan's first collected month
    (periods that ended before it have no prompt, reminder, escalation or summary)."""
    chosen = sorted({Frequency(f) for f in (timings if frequencies is None else frequencies)},
                    key=lambda f: f.months)
    single: list[Item] = []
    for frequency in chosen:
        timing = timings.get(frequency) or DEFAULT_TIMINGS[frequency]
        for period in periods_of_year(year, frequency):
            if not collects(collect_from, period):
                continue
            single.extend(_period_items(plan, period, timing, calendar, zone))
    # One item per kind, deadline and instant: periods due together are told together.
    merged: dict[tuple[Kind, date, datetime], Item] = {}
    for item in single:
        slot = (item.kind, item.deadline, item.fire_at)
        known = merged.get(slot)
        if known is None:
            merged[slot] = item
        else:
            merged[slot] = Item(item.kind, plan, known.periods + item.periods, item.deadline, item.fire_at,
                                min(known.until, item.until), known.quiet_start, known.quiet_end,
                                known.escalate_after_days)
    return sorted(merged.values(), key=Item.sort_key)


def due_items(items: Iterable[Item], now: datetime) -> list[Item]:
    """The items to perform at `now`: fired, still useful, and not in quiet hours."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return [item for item in items if item.useful_at(now)]


def upcoming_items(items: Iterable[Item], now: datetime, limit: int = 10) -> list[Item]:
    """The next `limit` items that fire after `now`, in order."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    later = sorted((item for item in items if item.fire_at > now), key=Item.sort_key)
    return later[:limit]
