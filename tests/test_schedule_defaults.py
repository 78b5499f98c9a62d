"""A schedule's defaults are written once (models/schedule.py) and every reader agrees on them: the
plan loader, the stored rules' columns, and the scheduler's arithmetic."""
from __future__ import annotations

from dataclasses import fields
from datetime import time
from pathlib import Path

from sqlalchemy import select

from bot.app import App
from models import store
from models.due import DEFAULT_TIMINGS, Item, Timing, timings_from_rows
from models.periods import DEFAULT_DEADLINES, Frequency
from models.plans import ScheduleSpec, load_plan_file
from models.schedule import DEFAULT_TIMES, ScheduleTimes, format_quiet_hours, times_of
from models.tables import ScheduleRule

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"  # its schedule names deadlines only
NAMES = [field.name for field in fields(ScheduleTimes)]
EXPECTED = {
    "prompt_days_before": 3, "prompt_time": time(8, 0), "reminder_time": time(8, 0), "overdue_time": time(8, 0),
    "escalate_after_days": 2, "summary_time": time(9, 0), "quiet_start": time(21, 0), "quiet_end": time(7, 0),
}


def test_the_defaults_are_those_the_plan_format_documents() -> None:
    assert times_of(DEFAULT_TIMES) == EXPECTED
    assert format_quiet_hours(DEFAULT_TIMES.quiet_start, DEFAULT_TIMES.quiet_end) == "21:00-07:00"


def test_a_plan_spec_and_a_timing_start_from_the_same_defaults() -> None:
    assert times_of(ScheduleSpec(deadlines=dict(DEFAULT_DEADLINES))) == EXPECTED
    assert times_of(Timing(DEFAULT_DEADLINES[Frequency.MONTHLY])) == EXPECTED
    assert all(times_of(timing) == EXPECTED for timing in DEFAULT_TIMINGS.values())


def test_the_stored_rules_default_to_the_same_values() -> None:
    columns = ScheduleRule.__table__.c
    assert {name: columns[name].default.arg for name in NAMES} == EXPECTED


def test_an_item_without_its_timings_quiet_hours_takes_the_defaults() -> None:
    defaults = {field.name: field.default for field in fields(Item) if field.name in NAMES}
    assert defaults == {name: EXPECTED[name] for name in ("quiet_start", "quiet_end", "escalate_after_days")}


def test_a_plan_file_without_times_loads_the_defaults() -> None:
    assert times_of(load_plan_file(SMALL).schedule) == EXPECTED


def test_a_plan_file_overrides_only_the_times_it_names(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8").replace(
        "schedule:\n", 'schedule:\n  summary_time: "10:30"\n  quiet_hours: "22:00-06:30"\n', 1)
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    assert times_of(load_plan_file(path).schedule) == {
        **EXPECTED, "summary_time": time(10, 30), "quiet_start": time(22, 0), "quiet_end": time(6, 30)}


async def test_a_default_schedule_stored_and_read_back_is_the_default_timing(app: App) -> None:
    spec = load_plan_file(SMALL)
    async with app.unit_of_work() as session:
        await store.import_plan(session, spec, "digest", app.now())
    async with app.sessions() as session:
        rows = list(await session.scalars(select(ScheduleRule)))
    timings = timings_from_rows(rows)
    assert {frequency: times_of(timing) for frequency, timing in timings.items()} == dict.fromkeys(Frequency, EXPECTED)
    assert {frequency: timing.deadline for frequency, timing in timings.items()} == \
        {**DEFAULT_DEADLINES, **spec.schedule.deadlines}


async def test_a_rule_written_without_times_gets_the_defaults(app: App) -> None:
    spec = load_plan_file(SMALL)
    async with app.unit_of_work() as session:
        await store.import_plan(session, spec, "digest", app.now())
        rule = await session.scalar(select(ScheduleRule).where(ScheduleRule.frequency == Frequency.QUARTERLY.value))
        assert rule is not None
        plan_id = rule.plan_id
        await session.delete(rule)
        await session.flush()
        session.add(ScheduleRule(plan_id=plan_id, frequency=Frequency.QUARTERLY.value, deadline_day=15,
                                 deadline_month="last"))
    async with app.sessions() as session:
        stored = await session.scalar(select(ScheduleRule).where(ScheduleRule.frequency == Frequency.QUARTERLY.value))
    assert stored is not None and times_of(stored) == EXPECTED
    assert timings_from_rows([stored])[Frequency.QUARTERLY] == Timing(DEFAULT_DEADLINES[Frequency.QUARTERLY])
