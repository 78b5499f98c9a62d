"""The plan-wide figure of one indicator part across units, and reporting rates."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from models.gaps import Status
from models.periods import Period
from models.rollups import Rollup, Standing, plan_figure, reporting_rate, roll_up
from models.targets import Comparison, Figure, Measure, Target

D = Decimal

RATIO = Target(Measure.RATIO, Comparison.AT_LEAST, value=D(80))
PERCENT = Target(Measure.PERCENT, Comparison.AT_LEAST, value=D(80))
COUNT = Target(Measure.COUNT, Comparison.AT_LEAST, value=D(1000), unit="điểm")
MILESTONE = Target(Measure.MILESTONE, Comparison.DONE)


def ratio(numerator: int, denominator: int) -> Figure:
    return Figure(numerator=D(numerator), denominator=D(denominator))


def pct(value: str) -> Figure:
    return Figure(value=D(value))


# --- ratios -----------------------------------------------------------------------------------


def test_a_ratio_rolls_up_as_the_sum_of_numerators_over_the_sum_of_denominators() -> None:
    # The city: 90 of 100 dossiers online (90%); a commune: 1 of 10 (10%).
    rollup = roll_up(RATIO, [ratio(90, 100), ratio(1, 10)])
    assert rollup == Rollup(D(91) * 100 / D(110), D(91), D(110), 2, 2, None)


def test_a_ratio_roll_up_is_not_the_mean_of_the_unit_percentages() -> None:
    rollup = roll_up(RATIO, [ratio(90, 100), ratio(1, 10)])
    assert rollup.amount is not None
    assert rollup.amount.quantize(D("0.01")) == D("82.73")
    assert rollup.amount != (D(90) + D(10)) / 2


def test_units_that_have_not_reported_count_as_expected_but_not_reporting() -> None:
    rollup = roll_up(RATIO, [ratio(45, 60), None, ratio(15, 40)])
    assert rollup.amount == 60
    assert (rollup.units_reporting, rollup.units_expected) == (2, 3)


def test_a_ratio_given_only_as_a_percentage_counts_at_the_mean_denominator_of_the_others() -> None:
    # 10% of an average unit's 60 dossiers is 6: (45 + 6) / (60 + 60).
    rollup = roll_up(RATIO, [ratio(45, 60), pct("10")])
    assert rollup.amount == D("42.5")
    assert (rollup.numerator, rollup.denominator) == (D(45), D(60))  # what units actually sent
    assert (rollup.units_reporting, rollup.units_percent_only) == (2, 1)


def test_the_issue_example_an_sinh_120_of_150_viet_dan_100_mao_khe_95() -> None:
    rollup = roll_up(RATIO, [ratio(120, 150), pct("100"), pct("95")] + [None] * 29)
    assert rollup.amount is not None
    assert rollup.amount.quantize(D("0.01")) == D("91.67")  # (120 + 150 + 142.5) / 450
    assert (rollup.units_reporting, rollup.units_counted, rollup.units_percent_only) == (3, 32, 2)


def test_ratios_given_only_as_percentages_fall_back_to_their_mean_and_say_so() -> None:
    rollup = roll_up(RATIO, [pct("90"), pct("70"), None])
    assert rollup == Rollup(D(80), None, None, 2, 3, None, 0, 2)


def test_nothing_to_report_is_left_out_of_the_figure_and_of_its_coverage() -> None:
    nothing = Figure(not_applicable=True)
    rollup = roll_up(RATIO, [ratio(45, 60), nothing, None, None])
    assert rollup.amount == 75
    assert (rollup.units_reporting, rollup.units_expected, rollup.units_not_applicable) == (1, 4, 1)
    assert rollup.units_counted == 3 and rollup.coverage == D(100) / 3
    milestones = roll_up(MILESTONE, [Figure(done=True), nothing])
    assert (milestones.amount, milestones.units_done, milestones.units_counted) == (D(100), 1, 1)
    assert roll_up(COUNT, [nothing, nothing]).amount is None
    assert roll_up(PERCENT, [nothing, pct("40")]).amount == 40


def test_a_unit_with_a_zero_denominator_adds_nothing_to_a_ratio_roll_up() -> None:
    rollup = roll_up(RATIO, [ratio(45, 60), ratio(0, 0)])
    assert rollup.amount == 75
    assert (rollup.numerator, rollup.denominator) == (D(45), D(60))
    assert rollup.units_reporting == 1


def test_ratios_all_over_zero_denominators_roll_up_to_no_figure() -> None:
    assert roll_up(RATIO, [ratio(0, 0), ratio(0, 0)]) == Rollup(None, None, None, 0, 2, None)


def test_a_single_unit_rolls_up_to_its_own_figure() -> None:
    assert roll_up(RATIO, [ratio(1, 3)]).amount == ratio(1, 3).amount


# --- counts -----------------------------------------------------------------------------------


def test_counts_roll_up_as_their_sum() -> None:
    rollup = roll_up(COUNT, [Figure(value=D(250)), None, Figure(value=D(400)), Figure(value=D(0))])
    assert rollup == Rollup(D(650), None, None, 3, 4, None)


def test_counts_with_no_report_roll_up_to_no_figure_rather_than_zero() -> None:
    assert roll_up(COUNT, [None, None]).amount is None


# --- milestones -------------------------------------------------------------------------------


def test_milestones_roll_up_as_the_share_of_expected_units_done() -> None:
    rollup = roll_up(MILESTONE, [Figure(done=True), Figure(done=True), Figure(done=False), None])
    assert rollup == Rollup(D(50), None, None, 3, 4, 2)


def test_a_milestone_reported_as_one_hundred_percent_counts_as_done() -> None:
    rollup = roll_up(MILESTONE, [pct("100"), pct("95")])
    assert rollup.units_done == 1
    assert rollup.amount == 50


def test_milestones_with_no_report_have_no_share_and_none_done() -> None:
    rollup = roll_up(MILESTONE, [None, Figure()])
    assert rollup == Rollup(None, None, None, 0, 2, 0)


# --- plain percentages ------------------------------------------------------------------------


def test_plain_percentages_roll_up_as_their_mean() -> None:
    assert roll_up(PERCENT, [pct("90"), pct("60"), None]) == Rollup(D(75), None, None, 2, 3, None)


def test_plain_percentages_roll_up_as_a_weighted_mean_when_weights_are_given() -> None:
    rollup = roll_up(PERCENT, [pct("90"), pct("60")], weights=[D(3), D(1)])
    assert rollup.amount == D("82.5")


def test_the_weights_of_units_that_have_not_reported_are_left_out() -> None:
    rollup = roll_up(PERCENT, [pct("90"), None, pct("60")], weights=[D(1), D(100), D(1)])
    assert rollup.amount == 75


def test_a_zero_total_weight_falls_back_to_the_plain_mean() -> None:
    assert roll_up(PERCENT, [pct("90"), pct("60")], weights=[D(0), D(0)]).amount == 75


def test_weights_also_weigh_ratios_known_only_as_percentages() -> None:
    rollup = roll_up(RATIO, [pct("90"), pct("60")], weights=[D(3), D(1)])
    assert rollup.amount == D("82.5")
    assert rollup.numerator is None


def test_weights_that_do_not_match_the_figures_are_refused() -> None:
    with pytest.raises(ValueError):
        roll_up(PERCENT, [pct("90"), pct("60")], weights=[D(1)])
    with pytest.raises(ValueError):
        roll_up(PERCENT, [pct("90")], weights=[D(-1)])


# --- empty inputs -----------------------------------------------------------------------------


@pytest.mark.parametrize("target", [RATIO, PERCENT, COUNT])
def test_no_units_roll_up_to_no_figure(target: Target) -> None:
    assert roll_up(target, []) == Rollup(None, None, None, 0, 0, None)


def test_no_units_roll_up_to_no_milestone_share() -> None:
    assert roll_up(MILESTONE, []) == Rollup(None, None, None, 0, 0, 0)


# --- reporting rates --------------------------------------------------------------------------


def test_the_reporting_rate_is_the_share_of_expected_reports_received() -> None:
    assert reporting_rate(20, 15) == 75
    assert reporting_rate(3, 3) == 100
    assert reporting_rate(4, 0) == 0


def test_there_is_no_reporting_rate_when_nothing_was_expected() -> None:
    assert reporting_rate(0, 0) is None


@pytest.mark.parametrize(("expected", "received"), [(3, 4), (-1, 0), (3, -1)])
def test_impossible_report_counts_are_refused(expected: int, received: int) -> None:
    with pytest.raises(ValueError):
        reporting_rate(expected, received)


# --- properties -------------------------------------------------------------------------------

PERCENTS = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
WEIGHTS = st.decimals(min_value=0, max_value=1000, places=1, allow_nan=False, allow_infinity=False)


@st.composite
def ratios(draw: st.DrawFn) -> Figure:
    denominator = draw(st.integers(min_value=0, max_value=10_000))
    return ratio(draw(st.integers(min_value=0, max_value=denominator)), denominator)


ANY_FIGURE = st.one_of(
    st.none(),
    st.just(Figure()),
    PERCENTS.map(lambda value: Figure(value=value)),
    ratios(),
    st.booleans().map(lambda done: Figure(done=done)),
    st.just(Figure(not_applicable=True)),
)


@given(st.lists(ratios(), max_size=20))
def test_a_ratio_roll_up_lies_between_the_lowest_and_highest_unit_percentages(figures: list[Figure]) -> None:
    rollup = roll_up(RATIO, figures)
    percentages = [figure.amount for figure in figures if figure.amount is not None]
    if not percentages:
        assert rollup.amount is None
        return
    assert rollup.amount is not None
    assert min(percentages) <= rollup.amount <= max(percentages)
    assert rollup.units_reporting == len(percentages)


@given(st.lists(ratios(), max_size=10), st.lists(PERCENTS, max_size=10))
def test_a_ratio_roll_up_with_percentage_only_units_lies_between_the_units(
    pairs: list[Figure], shares: list[Decimal]
) -> None:
    figures = pairs + [Figure(value=share) for share in shares]
    rollup = roll_up(RATIO, figures)
    percentages = [figure.amount for figure in figures if figure.amount is not None]
    if not percentages:
        assert rollup.amount is None
        return
    assert rollup.amount is not None
    assert min(percentages) <= rollup.amount <= max(percentages)
    assert rollup.units_reporting == len(percentages)
    assert rollup.units_percent_only == (len(shares) if rollup.units_reporting else 0)


@given(st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)), max_size=20))
def test_the_count_roll_up_is_the_sum_of_the_counts(counts: list[int | None]) -> None:
    figures = [None if count is None else Figure(value=D(count)) for count in counts]
    reported = [count for count in counts if count is not None]
    rollup = roll_up(COUNT, figures)
    assert rollup.amount == (D(sum(reported)) if reported else None)
    assert (rollup.units_reporting, rollup.units_expected) == (len(reported), len(counts))


@given(st.lists(st.tuples(st.one_of(st.none(), PERCENTS), WEIGHTS), max_size=20), st.booleans())
def test_a_mean_of_percentages_lies_between_the_lowest_and_highest(
    rows: list[tuple[Decimal | None, Decimal]], weighted: bool
) -> None:
    figures = [None if value is None else Figure(value=value) for value, _ in rows]
    weights = [weight for _, weight in rows] if weighted else None
    rollup = roll_up(PERCENT, figures, weights)
    values = [value for value, _ in rows if value is not None]
    if not values:
        assert rollup.amount is None
        return
    assert rollup.amount is not None
    assert min(values) <= rollup.amount <= max(values)


@given(st.sampled_from([RATIO, PERCENT, COUNT, MILESTONE]), st.lists(ANY_FIGURE, max_size=20))
def test_a_roll_up_never_raises_and_counts_units_consistently(target: Target, figures: list[Figure | None]) -> None:
    rollup = roll_up(target, figures)
    assert rollup.units_expected == len(figures)
    assert rollup.units_not_applicable == sum(1 for f in figures if f is not None and f.not_applicable)
    assert 0 <= rollup.units_reporting <= rollup.units_counted
    assert rollup.coverage is None or 0 <= rollup.coverage <= 100
    assert (rollup.amount is None) == (rollup.units_reporting == 0)
    if target is MILESTONE:
        assert rollup.units_done is not None and rollup.units_done <= rollup.units_reporting
        if rollup.amount is not None:
            assert 0 <= rollup.amount <= 100
    else:
        assert rollup.units_done is None


@given(st.integers(min_value=0, max_value=10_000), st.data())
def test_a_reporting_rate_is_a_percentage(expected: int, data: st.DataObject) -> None:
    received = data.draw(st.integers(min_value=0, max_value=expected))
    rate = reporting_rate(expected, received)
    assert (rate is None) == (expected == 0)
    if rate is not None:
        assert 0 <= rate <= 100


# --- the plan-wide verdict --------------------------------------------------------------------

MARCH = Period.parse("2025-03")


def test_no_verdict_below_the_coverage_threshold() -> None:
    # 3 of 32 units, all above the target: the figure is shown, "met" is not declared.
    figures = [ratio(95, 100)] * 3 + [None] * 29
    thin = plan_figure(RATIO, MARCH, figures, previous=None)
    assert thin.status is Status.MET and thin.standing is Standing.THIN
    assert plan_figure(RATIO, MARCH, figures, previous=None, threshold=D(9)).standing is Standing.MET
    # Units with nothing to report are not awaited: 3 of 3 counted.
    nothing = [ratio(95, 100)] * 3 + [Figure(not_applicable=True)] * 29
    assert plan_figure(RATIO, MARCH, nothing, previous=None).standing is Standing.MET
    assert plan_figure(RATIO, MARCH, [None] * 4, previous=None).standing is Standing.NO_DATA


def test_a_figure_that_got_worse_is_never_on_track_without_saying_so() -> None:
    # 50% in March is past the line from 0 to 80% (20%), but down from 60% in February.
    fell = plan_figure(RATIO, MARCH, [ratio(50, 100)], previous=D(60))
    assert fell.standing is Standing.ON_TRACK and fell.worse and fell.change == -10
    rose = plan_figure(RATIO, MARCH, [ratio(50, 100)], previous=D(40))
    assert rose.standing is Standing.ON_TRACK and not rose.worse
    below = Target(Measure.PERCENT, Comparison.BELOW, value=D(10))
    assert plan_figure(below, MARCH, [pct("30")], previous=D(25), baseline=D(40)).worse


def test_the_line_starts_at_the_baseline() -> None:
    # From 70% last year to 80%: at the end of March the line stands at 72.5%.
    assert plan_figure(RATIO, MARCH, [pct("72")], previous=None, baseline=D(70)).standing is Standing.OFF_TRACK
    assert plan_figure(RATIO, MARCH, [pct("73")], previous=None, baseline=D(70)).standing is Standing.ON_TRACK
    assert plan_figure(RATIO, MARCH, [pct("21")], previous=None).standing is Standing.ON_TRACK
