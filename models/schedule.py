"""When a plan's messages go out, besides its deadlines: the one place the defaults are written.

The plan loader (models/plans.py `ScheduleSpec`), the stored rules (models/tables.py
`ScheduleRule`'s column defaults) and the scheduler's arithmetic (models/due.py `Timing`) all
take these fields and defaults from `ScheduleTimes`; the deadlines' defaults are
models/periods.py `DEFAULT_DEADLINES`. Pure: no I/O. The format is docs/plan-format.md, "Schedule".
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import time
from typing import Any

__all__ = ["DEFAULT_TIMES", "ScheduleTimes", "format_quiet_hours", "times_of"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleTimes:
    """The times and working-day counts of one schedule. Keyword-only, so a class that extends it
    (a plan's `ScheduleSpec`, the scheduler's `Timing`) keeps its own fields first and positional."""

    prompt_days_before: int = 3  # working days before the reminder day
    prompt_time: time = time(8, 0)
    reminder_time: time = time(8, 0)
    overdue_time: time = time(8, 0)
    escalate_after_days: int = 2  # working days after the deadline
    summary_time: time = time(9, 0)
    quiet_start: time = time(21, 0)  # nobody is messaged from quiet_start to quiet_end
    quiet_end: time = time(7, 0)


DEFAULT_TIMES = ScheduleTimes()


def times_of(schedule: Any) -> dict[str, Any]:
    """The `ScheduleTimes` fields of any object that has them (a spec, a timing, a stored rule),
    by name: what is copied from one to the other."""
    return {field.name: getattr(schedule, field.name) for field in fields(ScheduleTimes)}


def format_quiet_hours(start: time, end: time) -> str:
    """Quiet hours as a plan file writes them: "21:00-07:00"."""
    return f"{start:%H:%M}-{end:%H:%M}"
