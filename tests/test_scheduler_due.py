"""The schedule's calendar arithmetic (models/due.py): pure, no database."""
from __future__ import annotations

import ast
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from models.due import (
    DEFAULT_TIMINGS,
    Item,
    Kind,
    Timing,
    due_items,
    is_quiet,
    plan_items,
    upcoming_items,
)
from models.periods import (
    DEFAULT_DEADLINES,
    DeadlineRule,
    Frequency,
    Period,
    WorkCalendar,
)

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkCalendar()
ROOT = Path(__file__).resolve().parent.parent


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def schedule(year: int = 2025, frequencies=(Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.YEARLY),
             timings=DEFAULT_TIMINGS) -> list[Item]:
    return plan_items("DT2025", year, timings, CALENDAR, ZONE, frequencies)


def of(items: list[Item], period: str) -> dict[Kind, datetime]:
    return {item.kind: item.fire_at for item in items if period in item.period_ids.split("+")}


def test_the_module_is_pure() -> None:
    tree = ast.parse((ROOT / "models" / "due.py").read_text(encoding="utf-8"))
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    # No I/O, and nothing from the layers above models (the chat's schedule view uses it too).
    forbidden = ("sqlalchemy", "aiogram", "aiohttp", "apscheduler", "bot", "scheduler", "handlers")
    assert not [m for m in imported if m.split(".")[0] in forbidden]


def test_a_monthly_deadline_on_a_monday() -> None:
    # January 2025: due Monday 20/1.
    assert of(schedule(), "2025-01") == {
        Kind.PROMPT: at(date(2025, 1, 15), 8),  # three working days before
        Kind.REMINDER: at(date(2025, 1, 20), 8),
        Kind.OVERDUE: at(date(2025, 1, 21), 8),
        Kind.ESCALATION: at(date(2025, 1, 22), 8),  # two working days after
        Kind.SUMMARY: at(date(2025, 1, 21), 9),
        Kind.REVIEW: at(date(2025, 1, 21), 9),  # the review lists go with the summary
    }


def test_dt2025_q1_deadline_on_a_saturday_is_reminded_on_friday() -> None:
    assert date(2025, 3, 15).weekday() == 5
    assert of(schedule(), "2025-Q1") == {
        Kind.PROMPT: at(date(2025, 3, 11), 8),  # Tuesday
        Kind.REMINDER: at(date(2025, 3, 14), 8),  # Friday
        Kind.OVERDUE: at(date(2025, 3, 17), 8),  # Monday
        Kind.ESCALATION: at(date(2025, 3, 18), 8),
        Kind.SUMMARY: at(date(2025, 3, 17), 9),
        Kind.REVIEW: at(date(2025, 3, 17), 9),  # the review lists go with the summary
    }


def test_a_deadline_in_tet_2026_moves_before_the_holiday() -> None:
    # The same rules a year on: 20/2/2026 is the fourth day of Tết (16–20/2 off, then a weekend).
    assert CALENDAR.holiday_name(date(2026, 2, 20)) is not None
    assert of(schedule(2026), "2026-02") == {
        Kind.PROMPT: at(date(2026, 2, 10), 8),
        Kind.REMINDER: at(date(2026, 2, 13), 8),  # the Friday before Tết
        Kind.OVERDUE: at(date(2026, 2, 23), 8),  # the first working day after it
        Kind.ESCALATION: at(date(2026, 2, 24), 8),
        Kind.SUMMARY: at(date(2026, 2, 23), 9),
        Kind.REVIEW: at(date(2026, 2, 23), 9),  # the review lists go with the summary
    }


def test_a_plan_rule_that_puts_the_deadline_in_tet_2025() -> None:
    # A test plan due on the 29th: 29/1/2025 is Mùng 1 Tết (27/1–1/2 off).
    timings = {Frequency.MONTHLY: Timing(DeadlineRule(day=29))}
    items = plan_items("T", 2025, timings, CALENDAR, ZONE, [Frequency.MONTHLY])
    assert of(items, "2025-01") == {
        Kind.PROMPT: at(date(2025, 1, 21), 8),
        Kind.REMINDER: at(date(2025, 1, 24), 8),  # the Friday before Tết
        Kind.OVERDUE: at(date(2025, 2, 3), 8),
        Kind.ESCALATION: at(date(2025, 2, 4), 8),
        Kind.SUMMARY: at(date(2025, 2, 3), 9),
        Kind.REVIEW: at(date(2025, 2, 3), 9),  # the review lists go with the summary
    }


def test_the_yearly_report_before_10_12() -> None:
    assert of(schedule(), "2025") == {
        Kind.PROMPT: at(date(2025, 12, 4), 8),
        Kind.REMINDER: at(date(2025, 12, 9), 8),
        Kind.OVERDUE: at(date(2025, 12, 10), 8),
        Kind.ESCALATION: at(date(2025, 12, 11), 8),
        Kind.SUMMARY: at(date(2025, 12, 10), 9),
        Kind.REVIEW: at(date(2025, 12, 10), 9),  # the review lists go with the summary
    }


def test_periods_due_on_the_same_day_make_one_item() -> None:
    items = schedule(frequencies=(Frequency.QUARTERLY, Frequency.HALF_YEARLY))
    june = [item for item in items if item.deadline == date(2025, 6, 15)]  # a Sunday
    assert {item.period_ids for item in june} == {"2025-Q2+2025-H1"}
    assert len(june) == 6  # prompt, reminder, overdue, escalation, summary, review lists
    assert next(i for i in june if i.kind is Kind.REMINDER).fire_at == at(date(2025, 6, 13), 8)
    assert next(i for i in june if i.kind is Kind.PROMPT).key == "prompt:DT2025:2025-Q2+2025-H1"


def test_quiet_hours_move_an_instant_to_their_end() -> None:
    night = Timing(DEFAULT_DEADLINES[Frequency.MONTHLY], prompt_time=time(22, 30), reminder_time=time(6, 0))
    items = plan_items("T", 2025, {Frequency.MONTHLY: night}, CALENDAR, ZONE, [Frequency.MONTHLY])
    jan = of(items, "2025-01")
    assert jan[Kind.PROMPT] == at(date(2025, 1, 16), 7)  # 22:30 on the 15th -> 07:00 next morning
    assert jan[Kind.REMINDER] == at(date(2025, 1, 20), 7)  # 06:00 -> 07:00


def test_a_prompt_on_the_reminder_day_and_hour_replaces_the_reminder() -> None:
    same = Timing(DEFAULT_DEADLINES[Frequency.MONTHLY], prompt_days_before=0)
    items = plan_items("T", 2025, {Frequency.MONTHLY: same}, CALENDAR, ZONE, [Frequency.MONTHLY])
    jan = of(items, "2025-01")
    assert jan[Kind.PROMPT] == at(date(2025, 1, 20), 8) and Kind.REMINDER not in jan


def test_what_is_due_when() -> None:
    items = schedule()
    q1 = [i for i in items if i.period_ids == "2025-Q1"]
    kinds = lambda now: sorted(i.kind.value for i in due_items(q1, now))  # noqa: E731
    assert kinds(at(date(2025, 3, 11), 7, 59)) == []
    assert kinds(at(date(2025, 3, 11), 8)) == ["prompt"]
    assert kinds(at(date(2025, 3, 13), 16)) == ["prompt"]  # still useful: the reminder has not fired
    assert kinds(at(date(2025, 3, 14), 8)) == ["reminder"]  # the reminder supersedes the prompt
    assert kinds(at(date(2025, 3, 15), 10)) == ["reminder"]  # deadline day, a Saturday
    assert kinds(at(date(2025, 3, 16), 10)) == []  # nothing new until the overdue notice
    assert kinds(at(date(2025, 3, 17), 8)) == ["overdue"]
    assert kinds(at(date(2025, 3, 17), 9)) == ["overdue", "review", "summary"]
    assert kinds(at(date(2025, 3, 18), 8)) == ["escalation", "overdue", "review", "summary"]
    assert kinds(at(date(2025, 3, 18), 22)) == []  # quiet hours: catch-ups wait for the morning
    assert kinds(at(date(2025, 6, 16), 8)) == []  # the next quarter's deadline has passed
    with pytest.raises(ValueError):
        due_items(q1, datetime(2025, 3, 17, 8))


def test_catching_up_after_a_missed_reminder_is_the_overdue_notice_only() -> None:
    q1 = [i for i in schedule() if i.period_ids == "2025-Q1"]
    kinds = {i.kind for i in due_items(q1, at(date(2025, 3, 17), 10))}
    assert Kind.REMINDER not in kinds and Kind.PROMPT not in kinds and Kind.OVERDUE in kinds


def test_upcoming_lists_the_next_items_in_order() -> None:
    nxt = upcoming_items(schedule(), at(date(2025, 3, 12), 12), limit=3)
    assert [(i.kind, i.period_ids, i.fire_at) for i in nxt] == [
        (Kind.REMINDER, "2025-Q1", at(date(2025, 3, 14), 8)),
        (Kind.PROMPT, "2025-03", at(date(2025, 3, 17), 8)),
        (Kind.OVERDUE, "2025-Q1", at(date(2025, 3, 17), 8)),
    ]


@pytest.mark.parametrize(("start", "end", "moment", "quiet"), [
    (time(21), time(7), time(20, 59), False), (time(21), time(7), time(21), True),
    (time(21), time(7), time(3), True), (time(21), time(7), time(7), False),
    (time(12), time(13), time(12, 30), True), (time(12), time(13), time(13), False),
    (time(8), time(8), time(8), False),
])
def test_is_quiet(start: time, end: time, moment: time, quiet: bool) -> None:
    assert is_quiet(moment, start, end) is quiet


# --- properties ---------------------------------------------------------------------------------

frequencies = st.sampled_from(list(Frequency))
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def timings(draw) -> Timing:  # type: ignore[no-untyped-def]
    frequency = draw(frequencies)
    day = draw(st.integers(1, 31))
    month = draw(st.sampled_from(["last", "next"] + ([12, 6] if frequency is Frequency.YEARLY else [])))
    rule = DeadlineRule(day=day, month=month, before=draw(st.booleans()))
    return frequency, Timing(
        rule, prompt_days_before=draw(st.integers(0, 6)), prompt_time=draw(clock_times),
        reminder_time=draw(clock_times), overdue_time=draw(clock_times),
        escalate_after_days=draw(st.integers(0, 5)), summary_time=draw(clock_times),
        quiet_start=draw(clock_times), quiet_end=draw(clock_times),
    )


@settings(max_examples=60, deadline=None)
@given(timings(), st.integers(2024, 2027))
def test_no_message_is_ever_scheduled_in_quiet_hours(chosen, year: int) -> None:  # type: ignore[no-untyped-def]
    frequency, timing = chosen
    for item in plan_items("T", year, {frequency: timing}, CALENDAR, ZONE, [frequency]):
        assert not timing.quiet(item.fire_at.timetz())
        assert item.fire_at < item.until


@settings(max_examples=60, deadline=None)
@given(frequencies, st.integers(2024, 2027))
def test_default_schedule_falls_on_working_days_in_order(frequency: Frequency, year: int) -> None:
    items = plan_items("T", year, DEFAULT_TIMINGS, CALENDAR, ZONE, [frequency])
    for period_ids in {i.period_ids for i in items}:
        mine = {i.kind: i for i in items if i.period_ids == period_ids}
        assert set(mine) == set(Kind)
        deadline = mine[Kind.PROMPT].deadline
        days = {kind: item.fire_at.date() for kind, item in mine.items()}
        assert all(CALENDAR.is_working_day(day) for day in days.values())
        # the reminder is the last working day on or before the deadline
        assert days[Kind.REMINDER] <= deadline
        assert all(not CALENDAR.is_working_day(days[Kind.REMINDER] + timedelta(days=n))
                   for n in range(1, (deadline - days[Kind.REMINDER]).days + 1))
        assert (mine[Kind.PROMPT].fire_at < mine[Kind.REMINDER].fire_at
                < mine[Kind.OVERDUE].fire_at <= mine[Kind.ESCALATION].fire_at)
        assert days[Kind.OVERDUE] > deadline and days[Kind.SUMMARY] == days[Kind.OVERDUE]


@settings(max_examples=40, deadline=None)
@given(timings(), st.integers(2025, 2026), st.integers(0, 400 * 24 * 4))
def test_at_any_instant_one_message_at_most_per_period_reaches_an_officer(  # type: ignore[no-untyped-def]
        chosen, year: int, quarter_hours: int) -> None:
    frequency, timing = chosen
    now = datetime(year, 1, 1, tzinfo=ZONE) + timedelta(minutes=15 * quarter_hours)
    due = due_items(plan_items("T", year, {frequency: timing}, CALENDAR, ZONE, [frequency]), now)
    for period in {i.period_ids for i in due}:
        officer_kinds = {i.kind for i in due if i.period_ids == period} & {Kind.PROMPT, Kind.REMINDER, Kind.OVERDUE}
        assert len(officer_kinds) <= 1
    assert not timing.quiet(now.timetz()) or due == []


def test_periods_are_kept_whole() -> None:
    assert Period.parse("2025-Q1") in next(i for i in schedule() if i.period_ids == "2025-Q1").periods
