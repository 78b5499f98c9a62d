"""Reporting periods, their data cut-off windows, deadlines and Vietnamese working days.

Pure: imports neither aiogram nor SQLAlchemy, so the scheduler, the handlers and the plan loader
can all use it, and it can be tested without a database.

- A period is a month, quarter, half year or year, written "2025-03", "2025-Q1", "2025-H1", "2025".
- Its cut-off window follows Nghị định 09/2019/NĐ-CP, art. 12: figures run from the 15th of the
  month before the period to the 14th of its last month.
- Its deadline is set per plan (docs/plan-format.md, "Schedule") by a DeadlineRule.
- WorkCalendar says which days are working days, so prompts and reminders for a deadline that falls
  on a weekend or a public holiday go out on the working day before it.
"""
from __future__ import annotations

import calendar
import enum
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import ClassVar, NamedTuple

import holidays

__all__ = [
    "DEFAULT_DEADLINES",
    "MAX_YEAR",
    "MIN_YEAR",
    "DeadlineRule",
    "Frequency",
    "Period",
    "PeriodError",
    "WorkCalendar",
    "collects",
    "open_period",
    "period_containing",
    "periods_of_year",
]

# Wide enough for any plan, narrow enough that a period's neighbours, its cut-off window (which
# starts in the previous year) and a "next month" deadline are always representable dates.
MIN_YEAR = 1900
MAX_YEAR = 2199

# The cut-off window runs from this day of the month before the period to the day before it of
# the period's last month (Nghị định 09/2019/NĐ-CP, art. 12).
CUTOFF_DAY = 15


class Frequency(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        """How many calendar months one period of this frequency spans."""
        return _MONTHS[self]

    @property
    def periods_per_year(self) -> int:
        return 12 // _MONTHS[self]


_MONTHS: dict[Frequency, int] = {
    Frequency.MONTHLY: 1,
    Frequency.QUARTERLY: 3,
    Frequency.HALF_YEARLY: 6,
    Frequency.YEARLY: 12,
}


class PeriodError(ValueError):
    """Text or values that do not make a period."""


_ACCEPTED = "2025-03 or 2025-3 (month), 2025-Q1 (quarter), 2025-H1 (half year) or 2025 (year)"
_PERIOD_TEXT = re.compile(
    r"(?P<year>\d{4})(?:-(?:(?P<month>\d{1,2})|[Qq](?P<quarter>\d)|[Hh](?P<half>\d)))?")

_ROMAN = ("I", "II", "III", "IV")
# Fixed names rather than calendar.month_name, which follows the process's LC_TIME.
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def _is_english(locale: str) -> bool:
    return locale.strip().lower().startswith("en")


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as a month or day is a mistake, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """One reporting period. Ordering is chronological within one frequency."""

    year: int
    frequency: Frequency
    index: int  # month 1-12, quarter 1-4, half 1-2, year 1

    def __post_init__(self) -> None:
        try:
            frequency = Frequency(self.frequency)
        except ValueError:
            allowed = ", ".join(f.value for f in Frequency)
            raise PeriodError(f"unknown frequency {self.frequency!r}; use one of {allowed}") from None
        # Coerce "monthly" to Frequency.MONTHLY so equal periods compare and hash equal.
        object.__setattr__(self, "frequency", frequency)
        if not _is_int(self.year) or not MIN_YEAR <= self.year <= MAX_YEAR:
            raise PeriodError(f"year must be {MIN_YEAR}–{MAX_YEAR}, got {self.year!r}")
        count = frequency.periods_per_year
        if not _is_int(self.index) or not 1 <= self.index <= count:
            raise PeriodError(
                f"a {frequency.value} period's index must be 1–{count}, got {self.index!r}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read "2025-03", "2025-3", "2025-Q1", "2025-q1", "2025-H1" or "2025"."""
        if not isinstance(text, str):
            raise PeriodError(f"not a period: {text!r}; use {_ACCEPTED}")
        match = _PERIOD_TEXT.fullmatch(text.strip())
        if match is None:
            raise PeriodError(f"not a period: {text!r}; use {_ACCEPTED}")
        year = int(match["year"])
        if match["month"] is not None:
            frequency, index = Frequency.MONTHLY, int(match["month"])
        elif match["quarter"] is not None:
            frequency, index = Frequency.QUARTERLY, int(match["quarter"])
        elif match["half"] is not None:
            frequency, index = Frequency.HALF_YEARLY, int(match["half"])
        else:
            frequency, index = Frequency.YEARLY, 1
        try:
            return cls(year, frequency, index)
        except PeriodError as exc:
            raise PeriodError(f"not a period: {text!r} ({exc}); use {_ACCEPTED}") from None

    @classmethod
    def of_month(cls, year: int, month: int, frequency: Frequency) -> Period:
        """The period of `frequency` that calendar month `month` of `year` belongs to."""
        if not _is_int(month) or not 1 <= month <= 12:
            raise PeriodError(f"month must be 1–12, got {month!r}")
        return cls(year, frequency, (month - 1) // Frequency(frequency).months + 1)

    @property
    def id(self) -> str:
        """Canonical text: "2025-03", "2025-Q1", "2025-H1", "2025"."""
        match self.frequency:
            case Frequency.MONTHLY:
                return f"{self.year}-{self.index:02d}"
            case Frequency.QUARTERLY:
                return f"{self.year}-Q{self.index}"
            case Frequency.HALF_YEARLY:
                return f"{self.year}-H{self.index}"
            case _:
                return str(self.year)

    def __str__(self) -> str:
        return self.id

    @property
    def first_month(self) -> int:
        return (self.index - 1) * self.frequency.months + 1

    @property
    def last_month(self) -> int:
        return self.index * self.frequency.months

    def cutoff_window(self) -> tuple[date, date]:
        """First and last day (inclusive) whose data belong to this period.

        From the 15th of the month before the period to the 14th of its last month.
        """
        if self.first_month == 1:
            start = date(self.year - 1, 12, CUTOFF_DAY)
        else:
            start = date(self.year, self.first_month - 1, CUTOFF_DAY)
        return start, date(self.year, self.last_month, CUTOFF_DAY - 1)

    def next(self) -> Period:
        if self.index == self.frequency.periods_per_year:
            return Period(self.year + 1, self.frequency, 1)
        return Period(self.year, self.frequency, self.index + 1)

    def previous(self) -> Period:
        if self.index == 1:
            return Period(self.year - 1, self.frequency, self.frequency.periods_per_year)
        return Period(self.year, self.frequency, self.index - 1)

    def remaining_in_year(self) -> int:
        """Periods of this frequency after this one in the same year."""
        return self.frequency.periods_per_year - self.index

    def contains(self, other: Period) -> bool:
        """Whether `other` lies wholly inside this period (a period contains itself)."""
        return (self.year == other.year and self.first_month <= other.first_month
                and other.last_month <= self.last_month)

    def display(self, locale: str) -> str:
        """The period as officers write it: "tháng 3/2025", "quý I/2025"; "March 2025", "Q1 2025"."""
        english = _is_english(locale)
        match self.frequency:
            case Frequency.MONTHLY:
                if english:
                    return f"{_EN_MONTHS[self.index - 1]} {self.year}"
                return f"tháng {self.index}/{self.year}"
            case Frequency.QUARTERLY:
                if english:
                    return f"Q{self.index} {self.year}"
                return f"quý {_ROMAN[self.index - 1]}/{self.year}"
            case Frequency.HALF_YEARLY:
                if english:
                    return f"H{self.index} {self.year}"
                half = "đầu" if self.index == 1 else "cuối"
                return f"6 tháng {half} năm {self.year}"
            case _:
                return str(self.year) if english else f"năm {self.year}"


def periods_of_year(year: int, frequency: Frequency) -> list[Period]:
    """All periods of `frequency` in `year`, in order."""
    frequency = Frequency(frequency)
    return [Period(year, frequency, i) for i in range(1, frequency.periods_per_year + 1)]


def period_containing(day: date, frequency: Frequency) -> Period:
    """The period whose cut-off window contains `day`.

    From the 15th on, a day's data belong to the next month's report (2025-03-15 -> 2025-04).
    """
    year, month = day.year, day.month
    if day.day >= CUTOFF_DAY:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Period.of_month(year, month, frequency)


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """When a period's report is due, as a plan states it (docs/plan-format.md, "Schedule")."""

    day: int  # 1-31, clamped to the month's last day
    month: str | int = "last"  # "last", "next" or a month number 1-12 (yearly deadlines)
    before: bool = False  # "trước ngày X": due by the end of the day before X

    LAST: ClassVar[str] = "last"
    NEXT: ClassVar[str] = "next"

    def __post_init__(self) -> None:
        if not _is_int(self.day) or not 1 <= self.day <= 31:
            raise ValueError(f"deadline day must be a whole number 1–31, got {self.day!r}")
        month = self.month
        if isinstance(month, str):
            # Plan files are written by hand: " Last " means "last".
            month = month.strip().lower()
            if month.isdigit():
                month = int(month)
        if not (month in (self.LAST, self.NEXT) or (_is_int(month) and 1 <= month <= 12)):
            raise ValueError(
                f'deadline month must be "last", "next" or a month number 1–12, got {self.month!r}')
        object.__setattr__(self, "month", month)
        if not isinstance(self.before, bool):
            raise ValueError(f"deadline 'before' must be true or false, got {self.before!r}")

    def validate_for(self, frequency: Frequency) -> None:
        """Raise ValueError if this rule cannot date periods of `frequency`.

        A fixed month number names one month of the year, which only a yearly period can use.
        """
        if isinstance(self.month, int) and Frequency(frequency) is not Frequency.YEARLY:
            raise ValueError(
                f"a deadline in a fixed month ({self.month}) only suits yearly reports, "
                f"not {Frequency(frequency).value} ones; use \"last\" or \"next\"")

    def deadline(self, period: Period) -> date:
        """The last day on which the report for `period` is on time."""
        self.validate_for(period.frequency)
        year = period.year
        if self.month == self.LAST:
            month = period.last_month
        elif self.month == self.NEXT:
            year, month = (year + 1, 1) if period.last_month == 12 else (year, period.last_month + 1)
        else:
            assert isinstance(self.month, int)
            month = self.month
        due = _clamped(year, month, self.day)
        return due - timedelta(days=1) if self.before else due


# Đông Triều's (Kế hoạch 88/KH-UBND of 2024), the defaults for plans that state none.
DEFAULT_DEADLINES: Mapping[Frequency, DeadlineRule] = MappingProxyType({
    Frequency.MONTHLY: DeadlineRule(day=20),
    Frequency.QUARTERLY: DeadlineRule(day=15),
    Frequency.HALF_YEARLY: DeadlineRule(day=15),
    Frequency.YEARLY: DeadlineRule(day=10, month=12, before=True),
})


def open_period(frequency: Frequency, rule: DeadlineRule, today: date) -> Period:
    """The period officers are reporting now: the earliest whose deadline is today or later."""
    rule.validate_for(frequency)
    # Deadlines rise strictly from one period to the next, so start at the calendar period of
    # today and walk: back while the previous one is still open, forward while this one is past.
    period = Period.of_month(today.year, today.month, frequency)
    while rule.deadline(previous := period.previous()) >= today:
        period = previous
    while rule.deadline(period) < today:
        period = period.next()
    return period


class _OfficialYear(NamedTuple):
    holidays: Mapping[date, str]
    weekend_workdays: frozenset[date]  # Saturdays worked in exchange for a bridging day off


@functools.lru_cache(maxsize=512)
def _official_year(year: int, language: str) -> _OfficialYear:
    # Building a holidays object computes the lunar calendar; do it once per year and language
    # and keep a plain frozen copy, since lookups on the object itself may extend it.
    official = holidays.country_holidays("VN", years=year, language=language)
    days = {day: name for day, name in official.items() if day.year == year}
    # Older releases of the package do not track worked Saturdays; treat that as none.
    worked = getattr(official, "weekend_workdays", ())
    workdays = frozenset(day for day in worked if day.year == year)
    return _OfficialYear(MappingProxyType(days), workdays)


def _as_date(day: date) -> date:
    # A datetime never equals a date, so it would miss every holiday lookup.
    return day.date() if isinstance(day, datetime) else day


class WorkCalendar:
    """Working days in Vietnam: Monday-Friday minus public holidays (the `holidays` package,
    country VN, including Tết and the substituted/observed days the package knows)."""

    __slots__ = ("_extra_holidays", "_extra_working_days")

    _VI, _EN = "vi", "en_US"
    _DAY_OFF: ClassVar[Mapping[str, str]] = MappingProxyType({_VI: "Ngày nghỉ", _EN: "Day off"})

    def __init__(self, extra_holidays: Iterable[date] | Mapping[date, str] = (),
                 extra_working_days: Iterable[date] = ()) -> None:
        """Plans and operators add the government's announced swaps the package does not know.

        `extra_holidays` may map each day to its name; `extra_working_days` win over any holiday.
        """
        names = extra_holidays if isinstance(extra_holidays, Mapping) else dict.fromkeys(extra_holidays)
        self._extra_holidays: dict[date, str | None] = {
            self._checked(day, "extra holiday"): name for day, name in names.items()}
        self._extra_working_days = frozenset(
            self._checked(day, "extra working day") for day in extra_working_days)
        clash = self._extra_working_days & self._extra_holidays.keys()
        if clash:
            days = ", ".join(day.isoformat() for day in sorted(clash))
            raise ValueError(f"days cannot be both extra holidays and extra working days: {days}")

    @staticmethod
    def _checked(day: object, what: str) -> date:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise ValueError(f"an {what} must be a date, got {day!r}")
        return day

    def is_working_day(self, day: date) -> bool:
        day = _as_date(day)
        if day in self._extra_working_days:
            return True
        if day in self._extra_holidays:
            return False
        official = _official_year(day.year, self._VI)
        if day.weekday() >= 5:
            return day in official.weekend_workdays
        return day not in official.holidays

    def previous_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the nearest earlier working day."""
        day = _as_date(day)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the nearest later working day."""
        day = _as_date(day)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day strictly after `day` (n > 0) or before it (n < 0); `day` if n == 0.

        add_working_days(Friday, 1) is the Monday; the result is always a working day when n != 0.
        """
        day = _as_date(day)
        step = timedelta(days=1 if n > 0 else -1)
        for _ in range(abs(n)):
            day += step
            while not self.is_working_day(day):
                day += step
        return day

    def holiday_name(self, day: date, locale: str = "vi") -> str | None:
        """The holiday's name in Vietnamese or English ("en…"), or None if `day` is no holiday."""
        day = _as_date(day)
        language = self._EN if _is_english(locale) else self._VI
        if day in self._extra_working_days:
            return None
        if day in self._extra_holidays:
            return self._extra_holidays[day] or self._DAY_OFF[language]
        return _official_year(day.year, language).holidays.get(day)


def collects(collect_from: Period | None, period: Period) -> bool:
    """Whether a plan that collects from month `collect_from` collects `period`: a period is
    collected when it ends in that month or later (from 2025-04: April, Q2, H1 and the year are;
    March and Q1 are not), so nobody is asked for what closed before the bot was there."""
    if collect_from is None:
        return True
    return (period.year, period.last_month) >= (collect_from.year, collect_from.last_month)
