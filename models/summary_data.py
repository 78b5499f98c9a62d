"""The steering committee's summary as plain data: what models.standing computes and the summary's
text (handlers/summary.py), its charts (handlers/charts.py) and its spreadsheet (handlers/export.py)
show. Pure dataclasses: imports neither SQLAlchemy nor aiogram, so a summary can be handed to a worker
thread and drawn there.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal

from models.gaps import Gap, Status, evaluate
from models.periods import Frequency, Period
from models.rollups import PlanFigure, Rollup, Standing, is_milestone, reporting_rate
from models.targets import Figure, Target

__all__ = ["MARKS", "Cell", "IndicatorRow", "ReportCounts", "Standing", "Summary", "UnitRow"]

# The mark beside each verdict, in the summary and in every plan-wide answer.
MARKS = {Standing.MET: "✅", Standing.ON_TRACK: "🟡", Standing.OFF_TRACK: "🔴", Standing.THIN: "⚪",
         Standing.NO_DATA: "⏳"}


@dataclass(frozen=True, slots=True)
class ReportCounts:
    """Reports expected, received, and received on time (late and missing follow)."""

    expected: int = 0
    received: int = 0
    on_time: int = 0

    @property
    def late(self) -> int:
        return self.received - self.on_time

    @property
    def missing(self) -> int:
        return self.expected - self.received

    @property
    def rate(self) -> Decimal | None:
        """Reports received as a percentage of reports expected (None when none was expected)."""
        return reporting_rate(self.expected, self.received)

    @property
    def on_time_rate(self) -> Decimal | None:
        return reporting_rate(self.expected, self.on_time)


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One indicator part across the plan, for its period in the summary's cycle: what
    models.rollups.plan_figure says about it, with the part's names."""

    part_id: int
    code: str  # the part's code ("6", "9a"), as people type it
    indicator_code: str
    number: str
    title: str
    label: str | None
    target: Target
    frequency: Frequency
    period: Period
    deadline: date
    result: PlanFigure
    reports: ReportCounts

    @property
    def full_title(self) -> str:
        """The indicator's title and the part's label: "Văn bản xử lý … — Cấp xã, phường"."""
        return f"{self.title} — {self.label}" if self.label else self.title

    @property
    def rollup(self) -> Rollup:
        return self.result.rollup

    @property
    def amount(self) -> Decimal | None:
        return self.result.amount

    @property
    def status(self) -> Status:
        return self.result.status

    @property
    def standing(self) -> Standing:
        return self.result.standing

    @property
    def gap(self) -> Decimal | None:
        return self.result.gap

    @property
    def relative_gap(self) -> Decimal | None:
        return self.result.relative_gap

    @property
    def on_the_line(self) -> bool:
        return self.result.on_the_line

    @property
    def line(self) -> Decimal | None:
        return self.result.line

    @property
    def previous(self) -> Decimal | None:
        return self.result.previous

    @property
    def change(self) -> Decimal | None:
        return self.result.change

    @property
    def needed_per_period(self) -> Decimal | None:
        return self.result.needed_per_period

    @property
    def remaining_periods(self) -> int:
        return self.result.remaining_periods

    @property
    def mark(self) -> str:
        return MARKS[self.standing]

    @property
    def is_milestone(self) -> bool:
        return is_milestone(self.target)


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One unit's reports in the summary's cycle."""

    unit_id: int
    code: str
    name: str
    kind: str
    officer: str | None
    reports: ReportCounts
    missing_parts: tuple[str, ...]  # part codes, plan order
    late_parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    """One unit's figure for one part: what the unit sheets and the grid chart show."""

    figure: Figure | None
    gap: Gap
    first_at: datetime | None  # the first version's time (when the summary was built with details)
    on_time: bool | None  # None when nothing was received

    @property
    def received(self) -> bool:
        return self.figure is not None


@dataclass
class Summary:
    """Everything the summary says, computed once; rendered as text, charts and a spreadsheet."""

    plan_id: int
    plan_code: str
    plan_title: str
    plan_year: int
    period: Period  # the headline period
    periods: list[tuple[Period, date]]  # every covered period with its deadline, headline first
    today: date
    open: bool  # the headline period's deadline has not passed yet
    rows: list[IndicatorRow]
    reports: ReportCounts
    units: list[UnitRow]  # every unit expected to report something, in plan order
    top_gaps: list[IndicatorRow]
    to_chase: list[UnitRow]  # units with missing reports, most missing first
    figures: dict[int, dict[int, Figure]] = field(default_factory=dict)  # part id -> unit id -> figure
    on_time: dict[int, set[int]] = field(default_factory=dict)  # part id -> units on time
    first_at: dict[tuple[int, int], datetime] = field(default_factory=dict)  # with details only
    expected: dict[int, list[int]] = field(default_factory=dict)  # part id -> unit ids expected
    cutoffs: dict[Period, datetime] = field(default_factory=dict)  # period -> end of its deadline day
    zone: tzinfo | None = None  # BOT_TIMEZONE, for times shown
    # Issue 17: the tracking office's review. `approved_only`: computed from approved figures only
    # (a figure whose current version the tracking office approved; a correction awaits review again,
    # so it is left out until approved). `approvals`: part id -> (approved, returned) among the
    # current figures of the part's own period; the rest of those received await review.
    approved_only: bool = False
    approvals: dict[int, tuple[int, int]] | None = field(default=None, compare=False)  # read beside the sums
    # (unit id, part id) of the figures of the parts' own periods whose latest decision is a return
    # (the web desk's grid marks them); read with the cells.
    returned: frozenset[tuple[int, int]] = field(default=frozenset(), compare=False)

    def review_counts(self, row: IndicatorRow) -> tuple[int, int, int] | None:
        """(approved, awaiting, returned) of the row's figures received; None when not known."""
        if self.approvals is None:
            return None
        approved, returned = self.approvals.get(row.part_id, (0, 0))
        received = row.reports.received
        approved, returned = min(approved, received), min(returned, max(received - approved, 0))
        return approved, received - approved - returned, returned

    def review_totals(self) -> tuple[int, int, int] | None:
        """(approved, awaiting, returned) over every row; None when not known."""
        if self.approvals is None:
            return None
        totals = [0, 0, 0]
        for row in self.rows:
            for at, count in enumerate(self.review_counts(row) or (0, 0, 0)):
                totals[at] += count
        return totals[0], totals[1], totals[2]

    def counts(self) -> dict[Standing, int]:
        counts = dict.fromkeys(Standing, 0)
        for row in self.rows:
            counts[row.standing] += 1
        return counts

    def row(self, code: str) -> IndicatorRow:
        return next(row for row in self.rows if row.code == code)

    def unit(self, code: str) -> UnitRow:
        return next(unit for unit in self.units if unit.code == code)

    def cell(self, part_id: int, unit_id: int) -> Cell | None:
        """The unit's figure for the part; None when the unit does not report it this cycle."""
        if unit_id not in self._expected_sets().get(part_id, ()):
            return None
        row = self._rows_by_part()[part_id]
        figure = self.figures.get(part_id, {}).get(unit_id)
        if figure is None:
            return Cell(None, evaluate(row.target, None), None, None)
        first = self.first_at.get((part_id, unit_id))
        return Cell(figure, evaluate(row.target, figure), first, unit_id in self.on_time.get(part_id, ()))

    def _expected_sets(self) -> dict[int, frozenset[int]]:
        cached = self.__dict__.get("_expected_cache")
        if cached is None:
            cached = {part: frozenset(units) for part, units in self.expected.items()}
            self.__dict__["_expected_cache"] = cached
        return cached

    def _rows_by_part(self) -> dict[int, IndicatorRow]:
        cached = self.__dict__.get("_rows_cache")
        if cached is None:
            cached = {row.part_id: row for row in self.rows}
            self.__dict__["_rows_cache"] = cached
        return cached
