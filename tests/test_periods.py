"""Periods, cut-off windows, deadlines and Vietnamese working days (models/periods.py)."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from models.periods import (
    DEFAULT_DEADLINES,
    MAX_YEAR,
    MIN_YEAR,
    DeadlineRule,
    Frequency,
    Period,
    PeriodError,
    WorkCalendar,
    open_period,
    period_containing,
    periods_of_year,
)

M, Q, H, Y = Frequency.MONTHLY, Frequency.QUARTERLY, Frequency.HALF_YEARLY, Frequency.YEARLY
CAL = WorkCalendar()
# Deadline is off because the first lookup in a year builds that year's lunar calendar; no database
# so the run leaves no files behind.
PROPERTY = settings(deadline=None, database=None)

# Rules as the plans state them.
BAC_GIANG_MONTHLY = DeadlineRule(day=5, month="next", before=True)  # "trước ngày 05 hàng tháng"
VIET_YEN_QUARTERLY = DeadlineRule(day=25, before=True)  # "trước ngày 25 của tháng cuối quý"


@st.composite
def periods(draw: st.DrawFn, frequency: Frequency | None = None) -> Period:
    # One year inside each bound so next() and previous() stay representable.
    freq = frequency or draw(st.sampled_from(list(Frequency)))
    year = draw(st.integers(MIN_YEAR + 1, MAX_YEAR - 1))
    return Period(year, freq, draw(st.integers(1, freq.periods_per_year)))


@st.composite
def usable_rules(draw: st.DrawFn) -> tuple[Frequency, DeadlineRule]:
    frequency = draw(st.sampled_from(list(Frequency)))
    months: list[str | int] = ["last", "next"] + (list(range(1, 13)) if frequency is Y else [])
    rule = DeadlineRule(day=draw(st.integers(1, 31)), month=draw(st.sampled_from(months)),
                        before=draw(st.booleans()))
    return frequency, rule


# Years the holidays package covers, kept narrow so few lunar calendars are built.
calendar_days = st.dates(date(2010, 1, 1), date(2035, 12, 31))
any_days = st.dates(date(MIN_YEAR + 1, 1, 1), date(MAX_YEAR - 1, 12, 31))


# --- Parsing and ids ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected", "canonical"), [
    ("2025-03", Period(2025, M, 3), "2025-03"),
    ("2025-3", Period(2025, M, 3), "2025-03"),
    ("2025-12", Period(2025, M, 12), "2025-12"),
    ("2025-Q1", Period(2025, Q, 1), "2025-Q1"),
    ("2025-q4", Period(2025, Q, 4), "2025-Q4"),
    ("2025-H1", Period(2025, H, 1), "2025-H1"),
    ("2025-h2", Period(2025, H, 2), "2025-H2"),
    ("2025", Period(2025, Y, 1), "2025"),
    ("  2025-Q2 ", Period(2025, Q, 2), "2025-Q2"),
])
def test_every_written_form_parses_to_its_period_and_canonical_id(
        text: str, expected: Period, canonical: str) -> None:
    period = Period.parse(text)
    assert period == expected
    assert period.id == canonical
    assert str(period) == canonical


@pytest.mark.parametrize("text", [
    "2025-13", "2025-00", "2025-Q5", "2025-Q0", "2025-H3", "2025-H0", "abc", "", "25-03",
    "2025-03-01", "2025/03", "2025-Y1", "2025-123", "1899", "2200",
])
def test_text_that_is_no_period_raises_period_error(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


def test_the_period_error_message_lists_the_accepted_forms() -> None:
    with pytest.raises(PeriodError) as caught:
        Period.parse("2025-13")
    message = str(caught.value)
    assert "2025-13" in message
    for form in ("2025-03", "2025-Q1", "2025-H1", "2025 (year)"):
        assert form in message


def test_a_period_error_is_a_value_error() -> None:
    assert issubclass(PeriodError, ValueError)


def test_a_non_string_is_no_period() -> None:
    with pytest.raises(PeriodError):
        Period.parse(202503)  # type: ignore[arg-type]


@pytest.mark.parametrize(("year", "frequency", "index"), [
    (2025, M, 0), (2025, M, 13), (2025, Q, 5), (2025, H, 3), (2025, Y, 2), (1899, M, 1),
    (2025, "weekly", 1), (2025, M, True),
])
def test_a_period_cannot_be_built_from_impossible_values(year: int, frequency: str, index: int) -> None:
    with pytest.raises(PeriodError):
        Period(year, frequency, index)  # type: ignore[arg-type]


def test_a_frequency_given_as_text_makes_the_same_period() -> None:
    period = Period(2025, "quarterly", 1)  # type: ignore[arg-type]
    assert period.frequency is Q
    assert period == Period(2025, Q, 1)
    assert hash(period) == hash(Period(2025, Q, 1))


def test_periods_of_one_frequency_sort_chronologically() -> None:
    texts = ["2025-02", "2024-12", "2025-10", "2025-01"]
    assert [p.id for p in sorted(map(Period.parse, texts))] == ["2024-12", "2025-01", "2025-02", "2025-10"]


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2025-03", 3, 3), ("2025-Q1", 1, 3), ("2025-Q4", 10, 12), ("2025-H1", 1, 6), ("2025-H2", 7, 12),
    ("2025", 1, 12),
])
def test_a_period_knows_its_first_and_last_month(text: str, first: int, last: int) -> None:
    period = Period.parse(text)
    assert (period.first_month, period.last_month) == (first, last)


def test_the_year_lists_its_periods_in_order() -> None:
    assert [p.id for p in periods_of_year(2025, Q)] == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4"]
    assert [p.id for p in periods_of_year(2025, H)] == ["2025-H1", "2025-H2"]
    assert [p.id for p in periods_of_year(2025, Y)] == ["2025"]
    assert len(periods_of_year(2025, M)) == 12
    assert periods_of_year(2025, M)[0].id == "2025-01"


# --- Cut-off windows (Nghị định 09/2019, art. 12) ----------------------------------------------

@pytest.mark.parametrize(("text", "start", "end"), [
    ("2025-03", date(2025, 2, 15), date(2025, 3, 14)),
    ("2025-01", date(2024, 12, 15), date(2025, 1, 14)),
    ("2025-12", date(2025, 11, 15), date(2025, 12, 14)),
    ("2025-Q1", date(2024, 12, 15), date(2025, 3, 14)),
    ("2025-Q2", date(2025, 3, 15), date(2025, 6, 14)),
    ("2025-Q4", date(2025, 9, 15), date(2025, 12, 14)),
    ("2025-H1", date(2024, 12, 15), date(2025, 6, 14)),
    ("2025-H2", date(2025, 6, 15), date(2025, 12, 14)),
    ("2025", date(2024, 12, 15), date(2025, 12, 14)),
])
def test_the_cutoff_window_runs_from_the_15th_before_to_the_14th_of_the_last_month(
        text: str, start: date, end: date) -> None:
    assert Period.parse(text).cutoff_window() == (start, end)


@pytest.mark.parametrize(("day", "frequency", "expected"), [
    (date(2025, 3, 14), M, "2025-03"),
    (date(2025, 3, 15), M, "2025-04"),
    (date(2024, 12, 20), M, "2025-01"),
    (date(2024, 12, 20), Y, "2025"),
    (date(2024, 12, 14), Y, "2024"),
    (date(2025, 3, 15), Q, "2025-Q2"),
    (date(2025, 3, 14), Q, "2025-Q1"),
    (date(2025, 6, 15), H, "2025-H2"),
    (date(2025, 12, 15), H, "2026-H1"),
])
def test_a_day_belongs_to_the_period_whose_cutoff_window_holds_it(
        day: date, frequency: Frequency, expected: str) -> None:
    assert period_containing(day, frequency).id == expected


# --- Neighbours, remaining periods, containment ------------------------------------------------

@pytest.mark.parametrize(("text", "following"), [
    ("2025-12", "2026-01"), ("2025-03", "2025-04"), ("2025-Q4", "2026-Q1"), ("2025-H2", "2026-H1"),
    ("2025-H1", "2025-H2"), ("2025", "2026"),
])
def test_next_and_previous_cross_the_year_boundary(text: str, following: str) -> None:
    assert Period.parse(text).next() == Period.parse(following)
    assert Period.parse(following).previous() == Period.parse(text)


def test_the_last_representable_period_has_no_next() -> None:
    with pytest.raises(PeriodError):
        Period(MAX_YEAR, M, 12).next()


@pytest.mark.parametrize(("text", "remaining"), [
    ("2025-12", 0), ("2025-01", 11), ("2025-Q1", 3), ("2025-Q4", 0), ("2025-H1", 1), ("2025", 0),
])
def test_remaining_in_year_counts_the_periods_after_this_one(text: str, remaining: int) -> None:
    assert Period.parse(text).remaining_in_year() == remaining


@pytest.mark.parametrize(("outer", "inner", "expected"), [
    ("2025-Q1", "2025-02", True),
    ("2025-Q1", "2025-04", False),
    ("2025-Q1", "2024-02", False),
    ("2025-H2", "2025-Q3", True),
    ("2025-H2", "2025-Q2", False),
    ("2025", "2025-H1", True),
    ("2025", "2025-11", True),
    ("2025-03", "2025-03", True),
    ("2025-03", "2025-Q1", False),
])
def test_a_longer_period_contains_the_shorter_ones_inside_it(outer: str, inner: str, expected: bool) -> None:
    assert Period.parse(outer).contains(Period.parse(inner)) is expected


# --- Display -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "vi", "en"), [
    ("2025-03", "tháng 3/2025", "March 2025"),
    ("2025-12", "tháng 12/2025", "December 2025"),
    ("2025-Q1", "quý I/2025", "Q1 2025"),
    ("2025-Q4", "quý IV/2025", "Q4 2025"),
    ("2025-H1", "6 tháng đầu năm 2025", "H1 2025"),
    ("2025-H2", "6 tháng cuối năm 2025", "H2 2025"),
    ("2025", "năm 2025", "2025"),
])
def test_a_period_is_displayed_as_officers_write_it(text: str, vi: str, en: str) -> None:
    period = Period.parse(text)
    assert period.display("vi") == vi
    assert period.display("en") == en
    assert period.display("en_US") == en
    assert period.display("vi_VN") == vi


def test_any_locale_not_english_reads_vietnamese() -> None:
    assert Period.parse("2025-Q3").display("fr") == "quý III/2025"


# --- Deadlines ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "due"), [
    ("2025-03", date(2025, 3, 20)),
    ("2025-12", date(2025, 12, 20)),
    ("2025-Q1", date(2025, 3, 15)),
    ("2025-Q4", date(2025, 12, 15)),
    ("2025-H1", date(2025, 6, 15)),
    ("2025-H2", date(2025, 12, 15)),
    ("2025", date(2025, 12, 9)),
])
def test_dong_trieu_deadlines_are_the_defaults(text: str, due: date) -> None:
    period = Period.parse(text)
    assert DEFAULT_DEADLINES[period.frequency].deadline(period) == due


def test_dong_trieu_deadlines_cover_every_frequency() -> None:
    assert set(DEFAULT_DEADLINES) == set(Frequency)
    assert DEFAULT_DEADLINES[Y] == DeadlineRule(day=10, month=12, before=True)


@pytest.mark.parametrize(("text", "due"), [
    ("2025-03", date(2025, 4, 4)),
    ("2025-12", date(2026, 1, 4)),
    ("2025-01", date(2025, 2, 4)),
])
def test_bac_giang_monthly_figures_are_due_before_the_5th_of_the_next_month(text: str, due: date) -> None:
    assert BAC_GIANG_MONTHLY.deadline(Period.parse(text)) == due


@pytest.mark.parametrize(("text", "due"), [
    ("2025-Q1", date(2025, 3, 24)), ("2025-Q2", date(2025, 6, 24)), ("2025-Q4", date(2025, 12, 24)),
])
def test_viet_yen_quarterly_reports_are_due_before_the_25th_of_the_last_month(text: str, due: date) -> None:
    assert VIET_YEN_QUARTERLY.deadline(Period.parse(text)) == due


def test_a_deadline_day_past_the_months_end_is_clamped_to_its_last_day() -> None:
    rule = DeadlineRule(day=31)
    assert rule.deadline(Period.parse("2025-02")) == date(2025, 2, 28)
    assert rule.deadline(Period.parse("2024-02")) == date(2024, 2, 29)
    assert rule.deadline(Period.parse("2025-Q2")) == date(2025, 6, 30)


def test_before_the_first_of_the_next_month_is_the_last_day_of_the_period() -> None:
    rule = DeadlineRule(day=1, month="next", before=True)
    assert rule.deadline(Period.parse("2025-12")) == date(2025, 12, 31)
    assert rule.deadline(Period.parse("2025-02")) == date(2025, 2, 28)


def test_a_yearly_deadline_in_the_next_month_falls_in_january() -> None:
    assert DeadlineRule(day=15, month="next").deadline(Period.parse("2025")) == date(2026, 1, 15)


def test_a_fixed_month_deadline_only_dates_yearly_periods() -> None:
    rule = DeadlineRule(day=10, month=12)
    rule.validate_for(Y)
    with pytest.raises(ValueError, match="yearly"):
        rule.validate_for(M)
    with pytest.raises(ValueError, match="yearly"):
        rule.deadline(Period.parse("2025-03"))


@pytest.mark.parametrize(("month", "stored"), [(" Last ", "last"), ("NEXT", "next"), ("12", 12), (3, 3)])
def test_a_hand_written_deadline_month_is_normalised(month: str | int, stored: str | int) -> None:
    rule = DeadlineRule(day=10, month=month)
    assert rule.month == stored
    assert rule == DeadlineRule(day=10, month=stored)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"day": 0}, "day"),
    ({"day": 32}, "day"),
    ({"day": True}, "day"),
    ({"day": "5"}, "day"),
    ({"day": 5, "month": "first"}, "month"),
    ({"day": 5, "month": 0}, "month"),
    ({"day": 5, "month": 13}, "month"),
    ({"day": 5, "month": True}, "month"),
    ({"day": 5, "before": "yes"}, "before"),
])
def test_an_impossible_deadline_rule_is_rejected_with_a_clear_message(
        kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        DeadlineRule(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("today", "expected"), [
    (date(2025, 3, 18), "2025-03"),
    (date(2025, 3, 20), "2025-03"),
    (date(2025, 3, 21), "2025-04"),
    (date(2025, 12, 21), "2026-01"),
    (date(2025, 1, 1), "2025-01"),
])
def test_the_open_monthly_period_is_the_earliest_not_yet_due(today: date, expected: str) -> None:
    assert open_period(M, DEFAULT_DEADLINES[M], today).id == expected


def test_bac_giang_officers_report_the_previous_month_in_its_first_days() -> None:
    assert open_period(M, BAC_GIANG_MONTHLY, date(2025, 4, 2)).id == "2025-03"
    assert open_period(M, BAC_GIANG_MONTHLY, date(2025, 4, 4)).id == "2025-03"
    assert open_period(M, BAC_GIANG_MONTHLY, date(2025, 4, 5)).id == "2025-04"
    assert open_period(M, BAC_GIANG_MONTHLY, date(2026, 1, 3)).id == "2025-12"


def test_the_open_yearly_period_turns_after_the_9th_of_december() -> None:
    assert open_period(Y, DEFAULT_DEADLINES[Y], date(2025, 12, 9)).id == "2025"
    assert open_period(Y, DEFAULT_DEADLINES[Y], date(2025, 12, 10)).id == "2026"


def test_the_open_quarter_for_viet_yen() -> None:
    assert open_period(Q, VIET_YEN_QUARTERLY, date(2025, 3, 24)).id == "2025-Q1"
    assert open_period(Q, VIET_YEN_QUARTERLY, date(2025, 3, 25)).id == "2025-Q2"


# --- Working days ------------------------------------------------------------------------------

def test_a_deadline_on_sunday_is_reminded_on_friday() -> None:
    due = DEFAULT_DEADLINES[M].deadline(Period.parse("2025-04"))
    assert due == date(2025, 4, 20) and due.weekday() == 6
    assert CAL.previous_working_day(due) == date(2025, 4, 18)


def test_a_deadline_on_a_working_day_is_reminded_that_day() -> None:
    due = DEFAULT_DEADLINES[M].deadline(Period.parse("2025-03"))
    assert CAL.previous_working_day(due) == due == date(2025, 3, 20)


def test_tet_2025_closes_offices_from_25_january_to_2_february() -> None:
    # The package follows the announced 2025 Tết break: 27/1 (29 Tết) to 1/2 are holidays, which
    # with the weekends either side makes nine days off, 25/1 to 2/2.
    off = [date(2025, 1, 25) + timedelta(days=i) for i in range(9)]
    assert not any(CAL.is_working_day(day) for day in off)
    assert CAL.is_working_day(date(2025, 1, 24))
    assert CAL.is_working_day(date(2025, 2, 3))
    assert not CAL.is_working_day(date(2025, 1, 29))


def test_a_reminder_due_in_tet_goes_out_before_the_break() -> None:
    assert CAL.previous_working_day(date(2025, 1, 30)) == date(2025, 1, 24)
    assert CAL.next_working_day(date(2025, 1, 30)) == date(2025, 2, 3)
    assert CAL.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert CAL.add_working_days(date(2025, 2, 3), -1) == date(2025, 1, 24)


def test_tet_has_a_name_in_both_languages() -> None:
    assert CAL.holiday_name(date(2025, 1, 29)) == "Tết Nguyên Đán"
    assert CAL.holiday_name(date(2025, 1, 29), "en") == "Lunar New Year"
    assert CAL.holiday_name(date(2025, 1, 24)) is None


def test_30_april_and_1_may_with_the_swapped_day_off_close_offices_until_5_may() -> None:
    assert not CAL.is_working_day(date(2025, 4, 30))
    assert not CAL.is_working_day(date(2025, 5, 1))
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert CAL.previous_working_day(date(2025, 4, 30)) == date(2025, 4, 29)
    assert CAL.next_working_day(date(2025, 4, 30)) == date(2025, 5, 5)


def test_the_saturday_worked_for_the_2_may_bridge_is_a_working_day() -> None:
    assert CAL.is_working_day(date(2025, 4, 26))
    assert CAL.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)


def test_national_day_2_september_and_its_bridge_day_are_holidays() -> None:
    assert not CAL.is_working_day(date(2025, 9, 1))
    assert not CAL.is_working_day(date(2025, 9, 2))
    assert CAL.previous_working_day(date(2025, 9, 2)) == date(2025, 8, 29)
    assert CAL.next_working_day(date(2025, 9, 1)) == date(2025, 9, 3)
    assert CAL.holiday_name(date(2025, 9, 2)) == "Quốc khánh"


def test_adding_one_working_day_to_friday_gives_monday() -> None:
    assert CAL.add_working_days(date(2025, 3, 7), 1) == date(2025, 3, 10)
    assert CAL.add_working_days(date(2025, 3, 10), -1) == date(2025, 3, 7)
    assert CAL.add_working_days(date(2025, 3, 8), 0) == date(2025, 3, 8)
    assert CAL.add_working_days(date(2025, 3, 3), 5) == date(2025, 3, 10)


def test_operators_can_add_an_announced_holiday_and_a_worked_saturday() -> None:
    calendar = WorkCalendar(extra_holidays={date(2025, 3, 21): "Nghỉ bù"},
                            extra_working_days=[date(2025, 3, 22)])
    assert not calendar.is_working_day(date(2025, 3, 21))
    assert calendar.holiday_name(date(2025, 3, 21)) == "Nghỉ bù"
    assert calendar.is_working_day(date(2025, 3, 22))
    assert calendar.previous_working_day(date(2025, 3, 21)) == date(2025, 3, 20)
    assert calendar.add_working_days(date(2025, 3, 20), 1) == date(2025, 3, 22)
    # The default calendar is untouched.
    assert CAL.is_working_day(date(2025, 3, 21))


def test_an_extra_holiday_without_a_name_is_called_a_day_off() -> None:
    calendar = WorkCalendar(extra_holidays=[date(2025, 3, 21)])
    assert calendar.holiday_name(date(2025, 3, 21)) == "Ngày nghỉ"
    assert calendar.holiday_name(date(2025, 3, 21), "en") == "Day off"


def test_an_extra_working_day_overrides_a_public_holiday() -> None:
    calendar = WorkCalendar(extra_working_days=[date(2025, 9, 1)])
    assert calendar.is_working_day(date(2025, 9, 1))
    assert calendar.holiday_name(date(2025, 9, 1)) is None


def test_a_day_cannot_be_both_an_extra_holiday_and_an_extra_working_day() -> None:
    with pytest.raises(ValueError, match="2025-03-22"):
        WorkCalendar(extra_holidays=[date(2025, 3, 22)], extra_working_days=[date(2025, 3, 22)])


def test_extra_days_must_be_dates() -> None:
    with pytest.raises(ValueError, match="date"):
        WorkCalendar(extra_holidays=["2025-03-21"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="date"):
        WorkCalendar(extra_working_days=[datetime(2025, 3, 22, 8)])


def test_a_datetime_is_judged_by_its_date() -> None:
    assert not CAL.is_working_day(datetime(2025, 1, 29, 9, 30))
    assert CAL.previous_working_day(datetime(2025, 1, 30, 8)) == date(2025, 1, 24)


def test_holiday_lookups_reuse_one_calendar_per_year() -> None:
    from models import periods

    periods._official_year.cache_clear()
    for offset in range(400):
        CAL.is_working_day(date(2025, 1, 1) + timedelta(days=offset))
    info = periods._official_year.cache_info()
    assert info.currsize == 2  # 2025 and 2026, built once each
    assert info.hits >= 398


def test_the_module_imports_neither_aiogram_nor_sqlalchemy() -> None:
    code = ("import sys, models.periods; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('aiogram', 'sqlalchemy')]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- Properties --------------------------------------------------------------------------------

@PROPERTY
@given(periods())
def test_every_period_round_trips_through_its_id(period: Period) -> None:
    assert Period.parse(period.id) == period
    assert Period.parse(period.id.lower()) == period


@PROPERTY
@given(periods())
def test_next_and_previous_undo_each_other(period: Period) -> None:
    assert period.next().previous() == period
    assert period.previous().next() == period
    assert period < period.next()


@PROPERTY
@given(periods())
def test_cutoff_windows_of_consecutive_periods_tile_without_gap_or_overlap(period: Period) -> None:
    start, end = period.cutoff_window()
    next_start, next_end = period.next().cutoff_window()
    assert start <= end < next_start <= next_end
    assert next_start == end + timedelta(days=1)


@PROPERTY
@given(periods(), st.sampled_from(list(Frequency)))
def test_a_contained_periods_window_lies_inside_the_containers(period: Period, shorter: Frequency) -> None:
    start, end = period.cutoff_window()
    inner = [p for p in periods_of_year(period.year, shorter) if period.contains(p)]
    assert inner or shorter.months > period.frequency.months
    if inner:
        assert inner[0].cutoff_window()[0] == start
        assert inner[-1].cutoff_window()[1] == end


@PROPERTY
@given(any_days, st.sampled_from(list(Frequency)))
def test_the_period_containing_a_day_has_it_in_its_window(day: date, frequency: Frequency) -> None:
    start, end = period_containing(day, frequency).cutoff_window()
    assert start <= day <= end


@PROPERTY
@given(usable_rules(), periods())
def test_deadlines_rise_from_one_period_to_the_next(frequency_rule: tuple[Frequency, DeadlineRule],
                                                    period: Period) -> None:
    frequency, rule = frequency_rule
    period = Period(period.year, frequency, min(period.index, frequency.periods_per_year))
    assert rule.deadline(period) < rule.deadline(period.next())


@PROPERTY
@given(usable_rules(), st.dates(date(MIN_YEAR + 2, 1, 1), date(MAX_YEAR - 2, 12, 31)))
def test_the_open_period_is_the_first_whose_deadline_has_not_passed(
        frequency_rule: tuple[Frequency, DeadlineRule], today: date) -> None:
    frequency, rule = frequency_rule
    period = open_period(frequency, rule, today)
    assert period.frequency is frequency
    assert rule.deadline(period) >= today
    assert rule.deadline(period.previous()) < today


@PROPERTY
@given(calendar_days)
def test_the_previous_working_day_is_the_latest_working_day_not_after_the_day(day: date) -> None:
    found = CAL.previous_working_day(day)
    assert found <= day
    assert CAL.is_working_day(found)
    between = (found + timedelta(days=i) for i in range(1, (day - found).days + 1))
    assert not any(CAL.is_working_day(d) for d in between)


@PROPERTY
@given(calendar_days)
def test_the_next_working_day_is_the_earliest_working_day_not_before_the_day(day: date) -> None:
    found = CAL.next_working_day(day)
    assert found >= day
    assert CAL.is_working_day(found)
    assert not any(CAL.is_working_day(day + timedelta(days=i)) for i in range((found - day).days))


@PROPERTY
@given(calendar_days, st.integers(1, 40))
def test_adding_n_working_days_passes_exactly_n_of_them(day: date, n: int) -> None:
    later = CAL.add_working_days(day, n)
    assert CAL.is_working_day(later)
    passed = sum(CAL.is_working_day(day + timedelta(days=i)) for i in range(1, (later - day).days + 1))
    assert passed == n
    earlier = CAL.add_working_days(day, -n)
    assert CAL.is_working_day(earlier)
    passed = sum(CAL.is_working_day(day - timedelta(days=i)) for i in range(1, (day - earlier).days + 1))
    assert passed == n


@PROPERTY
@given(calendar_days, st.integers(1, 40))
def test_going_n_working_days_forward_then_back_lands_on_the_previous_working_day(day: date, n: int) -> None:
    # Forward n then back n skips the same n - 1 working days in between and stops at the last
    # working day not after `day`; the mirror image stops at the first one not before it. For a
    # working day both are the day itself.
    assert CAL.add_working_days(CAL.add_working_days(day, n), -n) == CAL.previous_working_day(day)
    assert CAL.add_working_days(CAL.add_working_days(day, -n), n) == CAL.next_working_day(day)
