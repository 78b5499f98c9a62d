"""The summary by SQL aggregation (models.summary_queries.build_summary) is exactly the summary
computed in Python from every raw version of every figure (models.standing.compute_summary), on
SQLite and PostgreSQL: random figures of every kind (ratios, percentage-only ratios, fractions
for percentages, counts, milestones by answer and by 100%, "không phát sinh", zero
denominators, corrections before and after the deadline), from units that report the part and
units that do not, with a unit deactivated in the middle, on a plan with a per-period indicator.

And, without a database (hypothesis), roll_up from FigureTotals is the list-by-list roll-up
the project had before the totals (kept below as the reference)."""
from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import delete, update

from bot.app import App
from bot.cli import import_plan_file
from models import store, summary_queries
from models.gaps import is_done
from models.periods import Period
from models.rollups import Rollup, roll_up
from models.standing import compute_summary, covered_periods, end_of_day, periods_to_read
from models.store import load_plan_view
from models.summary_queries import build_summary, figure_versions
from models.tables import Submission, Unit
from models.targets import Comparison, Figure, Measure, Target
from tests.figures import store_figures
from tests.test_current_marker import assert_marker_holds
from tests.test_summary import SMALL

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
D = Decimal
UNITS = ["tp", "vhtt", "vp", "an-sinh", "mao-khe", "vnpt"]
PARTS = {"6": ["2025-01", "2025-02", "2025-03"], "9a": ["2025-02", "2025-03"], "9b": ["2025-03"],
         "15": ["2025-01", "2025-02", "2025-03"], "22": ["2025-02", "2025-03"], "10": ["2025-Q1"],
         "12a": ["2025"]}


def _number(rng: random.Random) -> Decimal:
    whole = rng.choice([0, 1, 3, 50, 99, 100, 150, 999_999_999])
    places = rng.choice([0, 0, 1, 2, 6])
    return Decimal(whole) + Decimal(rng.randrange(10 ** places)).scaleb(-places) if places else Decimal(whole)


def _figure(rng: random.Random) -> Figure:
    kind = rng.randrange(6)
    if kind == 0:
        return Figure(not_applicable=True)
    if kind == 1:
        return Figure(done=rng.random() < 0.5)
    if kind == 2:
        denominator = rng.choice([D(0), D(3), D(150), D("2.5"), D(7)])
        return Figure(numerator=min(_number(rng), denominator), denominator=denominator)
    return Figure(value=_number(rng))


def _scenario(rng: random.Random) -> list[tuple[str, str, str, Figure, datetime]]:
    rows = []
    for part, periods in PARTS.items():
        for period in periods:
            for unit in UNITS:
                if rng.random() < 0.3:
                    continue
                # Around March's deadlines (the 20th for months, the 15th for quarters).
                # Around March's deadlines (the 20th for months, the 15th for quarters), to the
                # minute: the end of the deadline day in Hanoi is 17:00 UTC the day before.
                at = datetime(2025, 3, 14, tzinfo=ZONE) + timedelta(minutes=rng.randrange(9 * 24 * 60))
                for _ in range(rng.choice([1, 1, 1, 2, 3])):
                    rows.append((unit, part, period, _figure(rng), at))
                    at += timedelta(minutes=rng.randrange(4 * 24 * 60))
    return rows


@pytest.fixture
async def plan(app: App, tmp_path: Path) -> App:
    text = SMALL.read_text(encoding="utf-8")
    marker = '    target: "-"\n'
    assert marker in text
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace(marker, marker + "    accumulation: per_period\n"), encoding="utf-8")
    await import_plan_file(app, path)
    return app


async def _both(app: App, period: Period, today: date) -> tuple[object, object]:
    async with app.unit_of_work() as session:
        found = await store.get_plan(session, "T2025")
        assert found is not None
        view = await load_plan_view(session, found.id)
        by_sql = await build_summary(session, view, period, today, ZONE)
        lean = await build_summary(session, view, period, today, ZONE, cells=False)
        chosen = covered_periods(view, period, today)
        parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
        cutoffs = {p.id: end_of_day(view.deadline(p), ZONE) for p in chosen.values()}
        rows = await figure_versions(session, view.plan.id, periods_to_read(parts, chosen), cutoffs)
        officers = {u.unit_id: u.officer for u in by_sql.units if u.officer}
        by_python = compute_summary(view, by_sql.period, chosen, parts, rows, officers, today, ZONE)
    # Without the cells every figure of the summary is added up by the database.
    assert lean.figures == {} and lean.on_time == {}
    assert (lean.rows, lean.units, lean.reports, lean.top_gaps, lean.to_chase) == (
        by_python.rows, by_python.units, by_python.reports, by_python.top_gaps, by_python.to_chase)
    return by_sql, by_python


@pytest.mark.parametrize("seed", range(4))
async def test_the_sql_summary_is_the_python_summary_of_the_raw_figures(
        plan: App, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if seed % 2:  # units named in one bound list, as for a province's thousands of units
        monkeypatch.setattr(summary_queries, "_LISTED", 0)
    rng = random.Random(seed)
    checked = 0
    for round_ in range(6):
        async with plan.unit_of_work() as session:
            await session.execute(delete(Submission))
            deactivated = rng.choice([None, date(2025, 2, 10), date(2025, 3, 5)])
            await session.execute(update(Unit).values(active=True, deactivated_on=None))
            if deactivated is not None:
                await session.execute(update(Unit).where(Unit.code == rng.choice(UNITS))
                                      .values(active=False, deactivated_on=deactivated))
        plan.deps.plan_views.clear()
        await store_figures(plan, "T2025", _scenario(rng))
        async with plan.unit_of_work() as session:  # what the SQL reads as current (migration 0017)
            await assert_marker_holds(session)
        for period, today in ((Period.parse("2025-03"), date(2025, 3, 25)),
                              (Period.parse("2025-Q1"), date(2025, 4, 20)),
                              (Period.parse("2025-02"), date(2025, 3, 1))):
            by_sql, by_python = await _both(plan, period, today)
            assert by_sql == by_python, (seed, round_, period)
            checked += 1
    assert checked == 18


async def test_without_cells_only_the_unit_by_unit_figures_are_left_out(plan: App) -> None:
    await store_figures(plan, "T2025", _scenario(random.Random(7)))
    async with plan.unit_of_work() as session:
        found = await store.get_plan(session, "T2025")
        assert found is not None
        view = await load_plan_view(session, found.id)
        full = await build_summary(session, view, Period.parse("2025-03"), date(2025, 3, 25), ZONE)
        lean = await build_summary(session, view, Period.parse("2025-03"), date(2025, 3, 25), ZONE, cells=False)
    assert full.figures and any(full.on_time.values())
    assert (lean.figures, lean.on_time) == ({}, {})
    assert (lean.rows, lean.units, lean.reports, lean.to_chase, lean.top_gaps, lean.expected) == (
        full.rows, full.units, full.reports, full.to_chase, full.top_gaps, full.expected)


# --- the roll-up from totals is the roll-up from lists ---------------------------------------------
# The list-by-list roll-up as it was before FigureTotals (models/rollups.py, unweighted).


def _reference(target: Target, figures: Sequence[Figure | None]) -> Rollup:
    zero, hundred = Decimal(0), Decimal(100)
    not_applicable = sum(1 for f in figures if f is not None and f.not_applicable)
    amounts = [None if f is None else f.amount for f in figures]
    usable = [a for a in amounts if a is not None]
    if target.measure is Measure.MILESTONE or target.comparison is Comparison.DONE:
        answers = [is_done(f) for f in figures if f is not None and not f.not_applicable]
        reporting = sum(1 for a in answers if a is not None)
        done = sum(1 for a in answers if a)
        counted = len(figures) - not_applicable
        return Rollup(Decimal(done) * hundred / counted if reporting else None, None, None, reporting,
                      len(figures), done, not_applicable)
    if target.measure is Measure.COUNT:
        return Rollup(sum(usable, zero) if usable else None, None, None, len(usable), len(figures), None,
                      not_applicable)
    mean = sum(usable, zero) / len(usable) if usable else None
    if target.measure is not Measure.RATIO:
        return Rollup(mean, None, None, len(usable), len(figures), None, not_applicable)
    pairs = [(f.numerator, f.denominator) for f in figures if f is not None and f.numerator is not None
             and f.denominator is not None and f.denominator > 0]
    if not pairs:
        return Rollup(mean, None, None, len(usable), len(figures), None, not_applicable, len(usable))
    numerator, denominator = sum((p[0] for p in pairs), zero), sum((p[1] for p in pairs), zero)
    shares = [f.value for f in figures if f is not None and f.numerator is None and f.value is not None
              and not f.not_applicable]
    if not shares:
        amount = numerator * hundred / denominator
    else:
        mean_denominator = denominator / len(pairs)
        amount = (numerator + sum(shares, zero) * mean_denominator / hundred) * hundred / (
            denominator + mean_denominator * len(shares))
    return Rollup(amount, numerator, denominator, len(pairs) + len(shares), len(figures), None, not_applicable,
                  len(shares))


_numbers = st.decimals(min_value=0, max_value=10 ** 9, places=6, allow_nan=False, allow_infinity=False)
_figures = st.one_of(
    st.none(),
    st.builds(Figure, value=_numbers),
    st.builds(Figure, done=st.booleans()),
    st.builds(Figure, not_applicable=st.just(True)),
    st.tuples(_numbers, _numbers).map(lambda p: Figure(numerator=min(p), denominator=max(p))),
    st.builds(Figure, numerator=_numbers, denominator=st.just(Decimal(0))),
)
_targets = st.sampled_from([
    Target(Measure.RATIO, Comparison.AT_LEAST, value=Decimal(90)),
    Target(Measure.PERCENT, Comparison.AT_LEAST, value=Decimal(95)),
    Target(Measure.COUNT, Comparison.AT_LEAST, value=Decimal(3)),
    Target(Measure.MILESTONE, Comparison.DONE),
])


@settings(max_examples=300, deadline=None)
@given(target=_targets, figures=st.lists(_figures, max_size=12))
def test_the_roll_up_from_totals_is_the_roll_up_from_the_list(target: Target, figures: list[Figure | None]) -> None:
    new, old = roll_up(target, figures), _reference(target, figures)
    plain_pairs = target.measure in (Measure.PERCENT, Measure.COUNT) and any(
        f is not None and f.numerator is not None and f.denominator for f in figures)
    if plain_pairs and new.amount is not None and old.amount is not None:
        # Quotients are added in ascending order now: equal up to the 28th significant digit.
        assert abs(new.amount - old.amount) <= abs(old.amount) * Decimal("1e-25")
        assert new == Rollup(new.amount, *[getattr(old, name) for name in Rollup.__slots__[1:]])
    else:
        assert new == old
