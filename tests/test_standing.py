"""models.standing without a database: the current figure of each unit is its highest version
whatever order the rows come in, a report is on time when some version was, and a summary's
counts add up the same way per part, per unit and for the whole plan (property tests over
plans drawn at random)."""
from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from models.gaps import Accumulation, Status
from models.periods import Frequency, Period
from models.rollups import Standing
from models.standing import (
    TOP_GAPS,
    FigureRow,
    choose_period,
    compute_summary,
    covered_periods,
    current_figures,
    periods_to_read,
)
from models.targets import Comparison, Figure, Measure, Target

D = Decimal
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = Period.parse("2025-03")
PERCENT = Target(Measure.PERCENT, Comparison.AT_LEAST, value=D(90))
COUNT = Target(Measure.COUNT, Comparison.AT_LEAST, value=D(12), unit="lớp")


# --- a plan as plain data (models.standing.PlanLike) --------------------------------------------


@dataclass(frozen=True)
class _Plan:
    id: int = 1
    code: str = "P"
    title: str = "Kế hoạch thử"
    year: int = 2025


@dataclass(frozen=True)
class _Unit:
    id: int
    code: str
    name: str
    kind: str = "commune"
    active: bool = True


@dataclass(frozen=True)
class _Indicator:
    code: str
    number: str
    title: str
    frequency: Frequency
    accumulation: str = Accumulation.YEAR_TO_DATE.value
    baseline: Decimal | None = None
    parts: tuple[Any, ...] = ((),)


@dataclass(frozen=True)
class _Part:
    id: int
    code: str
    label: str | None = None


@dataclass(frozen=True)
class _PartView:
    part: _Part
    indicator: _Indicator
    target: Target

    @property
    def code(self) -> str:
        return self.part.code

    @property
    def frequency(self) -> Frequency:
        return self.indicator.frequency


@dataclass
class _View:
    parts: dict[int, _PartView]
    units: dict[int, _Unit]
    reporters: dict[int, list[int]]
    plan: _Plan = field(default_factory=_Plan)
    coverage_threshold: Decimal = Decimal(80)

    def deadline(self, period: Period) -> date:  # the 20th of the month after (15th for quarters)
        year, month = (period.year + 1, 1) if period.last_month == 12 else (period.year, period.last_month + 1)
        return date(year, month, 15 if period.frequency is not Frequency.MONTHLY else 20)

    def active_unit(self, unit: _Unit, period: Period) -> bool:
        return unit.active

    def collecting(self, frequency: Frequency, today: date) -> Period | None:
        return None


def _view(units: int, targets: Sequence[Target], inactive: set[int], frequencies: Sequence[Frequency],
          reporters: Mapping[int, list[int]]) -> _View:
    parts = {}
    for number, (target, frequency) in enumerate(zip(targets, frequencies, strict=True), start=1):
        indicator = _Indicator(str(number), str(number), f"Chỉ tiêu {number}", frequency)
        parts[number] = _PartView(_Part(number, str(number)), indicator, target)
    all_units = {uid: _Unit(uid, f"u{uid}", f"Xã {uid}", active=uid not in inactive) for uid in range(1, units + 1)}
    return _View(parts, all_units, {part: list(reporters.get(part, [])) for part in parts})


# --- current figures -------------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6), st.integers(0, 100),
                          st.booleans()), max_size=40), st.randoms())
def test_the_current_figure_is_the_highest_version_in_any_order(
    drawn: list[tuple[int, int, int, int, bool]], rng: random.Random,
) -> None:
    # One row per (part, unit, version): versions of a figure are unique.
    rows: dict[tuple[int, int, int], FigureRow] = {}
    for part, unit, version, value, early in drawn:
        rows[(part, unit, version)] = (part, unit, "2025-03", version, str(value), None, None, None, 0, int(early))
    shuffled = list(rows.values())
    rng.shuffle(shuffled)
    by_key, early_units = current_figures(shuffled)
    for (part, unit, _), _row in rows.items():
        highest = max(v for (p, u, v) in rows if (p, u) == (part, unit))
        assert by_key[(part, "2025-03")][unit] == Figure(D(rows[(part, unit, highest)][4]))
        assert (unit in early_units.get(part, ())) == any(
            row[9] for (p, u, _v), row in rows.items() if (p, u) == (part, unit))


def test_equal_figures_share_one_object_and_numbers_come_as_text_or_decimal() -> None:
    rows = [(1, 1, "2025-03", 1, "50", None, None, None, 0, 0), (1, 2, "2025-03", 1, "50", None, None, None, 0, 1),
            (2, 1, "2025-03", 1, None, D(3), D(4), None, False, 0), (3, 1, "2025-Q1", 2, None, None, None, 1, 0, 0)]
    by_key, early = current_figures(rows)
    assert by_key[(1, "2025-03")][1] is by_key[(1, "2025-03")][2]
    assert by_key[(2, "2025-03")][1] == Figure(numerator=D(3), denominator=D(4))
    assert by_key[(3, "2025-Q1")][1] == Figure(done=True)
    assert early == {1: {2}}


# --- the summary's counts -------------------------------------------------------------------------


TARGETS = st.sampled_from([PERCENT, COUNT])
FIGURES = st.one_of(st.integers(0, 100).map(lambda v: Figure(D(v))), st.just(Figure(not_applicable=True)))


@st.composite
def plans(draw: st.DrawFn) -> tuple[_View, list[FigureRow]]:
    units = draw(st.integers(1, 8))
    parts = draw(st.integers(1, 6))
    targets = draw(st.lists(TARGETS, min_size=parts, max_size=parts))
    frequencies = draw(st.lists(st.sampled_from([Frequency.MONTHLY, Frequency.QUARTERLY]), min_size=parts,
                                max_size=parts))
    inactive = draw(st.sets(st.integers(1, units), max_size=units // 2))
    reporters = {part: sorted(draw(st.sets(st.integers(1, units)))) for part in range(1, parts + 1)}
    view = _view(units, targets, inactive, frequencies, reporters)
    rows: list[FigureRow] = []
    for part, unit_ids in reporters.items():
        period = Period.of_month(2025, 3, frequencies[part - 1])
        for unit in unit_ids:
            if draw(st.booleans()):
                figure = draw(FIGURES)
                rows.append((part, unit, period.id, 1, figure.value, None, None, None, figure.not_applicable,
                             draw(st.booleans())))
    return view, rows


@given(plans())
def test_the_counts_add_up_per_part_per_unit_and_for_the_plan(drawn: tuple[_View, list[FigureRow]]) -> None:
    view, rows = drawn
    today = date(2025, 4, 30)  # every deadline of March's cycle has passed
    chosen = covered_periods(view, MARCH, today)
    parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
    summary = compute_summary(view, MARCH, chosen, parts, rows, {1: "Lan"}, today, ZONE)

    total = summary.reports
    assert total.expected == sum(r.reports.expected for r in summary.rows) == sum(u.reports.expected
                                                                                   for u in summary.units)
    assert total.received == sum(u.reports.received for u in summary.units)
    assert total.on_time == sum(u.reports.on_time for u in summary.units)
    for row in summary.rows:
        expected = [uid for uid in view.reporters[row.part_id] if view.units[uid].active]
        assert summary.expected[row.part_id] == expected
        assert 0 <= row.reports.on_time <= row.reports.received <= row.reports.expected == len(expected)
        for uid in view.units:
            assert (summary.cell(row.part_id, uid) is None) == (uid not in expected)
    for unit in summary.units:
        assert unit.reports.missing == len(unit.missing_parts) and unit.reports.late == len(unit.late_parts)
        assert unit.officer == ("Lan" if unit.unit_id == 1 else None)
    assert summary.to_chase == sorted((u for u in summary.units if u.reports.missing),
                                      key=lambda u: (-u.reports.missing, u.name))
    assert len(summary.top_gaps) <= TOP_GAPS
    assert all(r.status is Status.NOT_MET and r.standing in (Standing.ON_TRACK, Standing.OFF_TRACK)
               for r in summary.top_gaps)
    gaps = [r.relative_gap for r in summary.top_gaps]
    assert gaps == sorted(gaps, reverse=True)  # type: ignore[type-var]


def test_a_quarterly_part_joins_march_once_its_deadline_has_passed() -> None:
    view = _view(2, [PERCENT, PERCENT], set(), [Frequency.MONTHLY, Frequency.QUARTERLY], {1: [1, 2], 2: [1]})
    assert covered_periods(view, MARCH, date(2025, 4, 10)) == {Frequency.MONTHLY: MARCH}
    assert covered_periods(view, MARCH, date(2025, 4, 16)) == {Frequency.MONTHLY: MARCH,
                                                               Frequency.QUARTERLY: Period.parse("2025-Q1")}
    # On 16/4 the latest closed periods are February (due 20/3; March is due 20/4) and Q1 (due 15/4).
    assert choose_period(view, date(2025, 4, 16)) == Period.parse("2025-Q1")
    assert choose_period(view, date(2025, 1, 2)) == Period.parse("2025-01")  # before any deadline


def test_a_per_period_indicator_reads_every_earlier_period_of_the_year() -> None:
    view = _view(1, [COUNT], set(), [Frequency.MONTHLY], {1: [1]})
    per_period = _PartView(view.parts[1].part, _Indicator("1", "1", "Lớp", Frequency.MONTHLY,
                                                          accumulation=Accumulation.PER_PERIOD.value), COUNT)
    assert periods_to_read([view.parts[1]], {Frequency.MONTHLY: MARCH}) == {"2025-03", "2025-02"}
    assert periods_to_read([per_period], {Frequency.MONTHLY: MARCH}) == {"2025-01", "2025-02", "2025-03"}
