"""One unit's standing against a target: met / not met / no data, the gap, and the pace still needed."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from models.gaps import Accumulation, Gap, Status, change, evaluate, is_done, needed_per_period
from models.targets import Comparison, Figure, Measure, Target, parse_target

D = Decimal


def pct(value: str) -> Figure:
    return Figure(value=D(value))


def ratio(numerator: int, denominator: int) -> Figure:
    return Figure(numerator=D(numerator), denominator=D(denominator))


def percent_target(comparison: Comparison, value: str) -> Target:
    return Target(Measure.PERCENT, comparison, value=D(value))


def ratio_target(comparison: Comparison, value: str) -> Target:
    return Target(Measure.RATIO, comparison, value=D(value))


MILESTONE = Target(Measure.MILESTONE, Comparison.DONE)
RANGE = Target(Measure.PERCENT, Comparison.BETWEEN, low=D(47), high=D(50), raw="47-50%")


# --- at least / above -------------------------------------------------------------------------


def test_a_figure_over_an_at_least_target_is_met_with_its_margin() -> None:
    gap = evaluate(parse_target("tối thiểu 50%"), pct("62.5"))
    assert gap == Gap(Status.MET, D("62.5"), None, D("12.5"), False, None)
    assert gap.met


def test_a_figure_exactly_on_an_at_least_target_is_met_with_no_margin() -> None:
    gap = evaluate(parse_target("đạt 100%"), pct("100"))
    assert gap.status is Status.MET
    assert gap.margin == 0
    assert not gap.on_the_line


def test_a_figure_short_of_an_at_least_target_is_not_met_by_the_difference() -> None:
    gap = evaluate(parse_target(">=80%"), pct("72.5"))
    assert gap == Gap(Status.NOT_MET, D("72.5"), D("7.5"), None, False, None)


def test_a_figure_exactly_on_a_strict_target_is_not_met_and_says_so() -> None:
    gap = evaluate(parse_target("trên 80%"), pct("80"))
    assert gap.status is Status.NOT_MET
    assert gap.on_the_line
    assert gap.gap == 0
    assert gap.margin is None


def test_a_figure_past_a_strict_above_target_is_met() -> None:
    gap = evaluate(parse_target("trên 65%"), pct("65.1"))
    assert gap.status is Status.MET
    assert gap.margin == D("0.1")
    assert not gap.on_the_line


def test_a_figure_under_a_strict_above_target_is_not_met_and_not_on_the_line() -> None:
    gap = evaluate(parse_target("trên 65%"), pct("60"))
    assert gap.status is Status.NOT_MET
    assert gap.gap == 5
    assert not gap.on_the_line


# --- at most / below --------------------------------------------------------------------------


def test_a_figure_under_an_at_most_target_is_met_with_the_room_left_as_margin() -> None:
    gap = evaluate(percent_target(Comparison.AT_MOST, "10"), pct("7"))
    assert gap == Gap(Status.MET, D(7), None, D(3), False, None)


def test_a_figure_exactly_on_an_at_most_target_is_met() -> None:
    gap = evaluate(percent_target(Comparison.AT_MOST, "10"), pct("10"))
    assert gap.status is Status.MET
    assert gap.margin == 0


def test_a_figure_over_an_at_most_target_is_not_met_by_the_excess() -> None:
    gap = evaluate(percent_target(Comparison.AT_MOST, "10"), pct("14"))
    assert gap == Gap(Status.NOT_MET, D(14), D(4), None, False, None)


def test_a_figure_exactly_on_a_strict_below_target_is_not_met_and_says_so() -> None:
    target = parse_target("giảm trạm 3G xuống dưới 10%")
    assert target.comparison is Comparison.BELOW
    gap = evaluate(target, pct("10"))
    assert gap.status is Status.NOT_MET
    assert gap.on_the_line
    assert gap.gap == 0


def test_a_figure_under_a_strict_below_target_is_met() -> None:
    gap = evaluate(percent_target(Comparison.BELOW, "10"), pct("9.5"))
    assert gap.status is Status.MET
    assert gap.margin == D("0.5")


def test_a_figure_over_a_strict_below_target_is_not_met_by_the_excess() -> None:
    gap = evaluate(percent_target(Comparison.BELOW, "10"), pct("12"))
    assert gap.gap == 2
    assert not gap.on_the_line


# --- ranges -----------------------------------------------------------------------------------


def test_a_figure_inside_a_range_is_met_with_the_distance_to_the_nearer_bound() -> None:
    assert evaluate(RANGE, pct("48")).margin == 1
    assert evaluate(RANGE, pct("49.5")).margin == D("0.5")


def test_a_figure_on_a_range_bound_is_met_with_no_margin() -> None:
    for value in ("47", "50"):
        gap = evaluate(RANGE, pct(value))
        assert gap.status is Status.MET
        assert gap.margin == 0


def test_a_figure_under_a_range_is_short_by_the_distance_to_its_low_bound() -> None:
    assert evaluate(RANGE, pct("40")) == Gap(Status.NOT_MET, D(40), D(7), None, False, None)


def test_a_figure_over_a_range_is_past_it_by_the_distance_to_its_high_bound() -> None:
    assert evaluate(RANGE, pct("53")) == Gap(Status.NOT_MET, D(53), D(3), None, False, None)


# --- counts -----------------------------------------------------------------------------------


def test_a_count_short_of_its_target_is_not_met_by_the_missing_items() -> None:
    target = parse_target("ít nhất 03 doanh nghiệp")
    assert target.measure is Measure.COUNT
    gap = evaluate(target, Figure(value=D(2)))
    assert gap.gap == 1
    assert gap.numerator_needed is None


def test_a_count_reaching_its_target_is_met() -> None:
    gap = evaluate(parse_target("1000 điểm"), Figure(value=D(1200)))
    assert gap.status is Status.MET
    assert gap.margin == 200


# --- milestones -------------------------------------------------------------------------------


def test_a_milestone_reported_done_is_met_with_neither_gap_nor_margin() -> None:
    assert evaluate(MILESTONE, Figure(done=True)) == Gap(Status.MET, D(100), None, None, False, None)


def test_a_milestone_reported_not_done_is_not_met_with_no_gap() -> None:
    assert evaluate(MILESTONE, Figure(done=False)) == Gap(Status.NOT_MET, D(0), None, None, False, None)


def test_a_milestone_given_as_one_hundred_percent_is_done() -> None:
    gap = evaluate(parse_target("Kết nối 100%"), pct("100"))
    assert gap.status is Status.MET
    assert gap.amount == 100


def test_a_milestone_given_as_a_lower_percentage_is_not_done_and_keeps_the_percentage() -> None:
    gap = evaluate(MILESTONE, pct("95"))
    assert gap.status is Status.NOT_MET
    assert gap.amount == 95
    assert gap.gap is None


def test_an_explicit_not_done_wins_over_a_percentage() -> None:
    assert is_done(Figure(value=D(100), done=False)) is False
    assert evaluate(MILESTONE, Figure(value=D(100), done=False)).status is Status.NOT_MET


def test_a_milestone_with_nothing_usable_has_no_data() -> None:
    assert evaluate(MILESTONE, Figure()).status is Status.NO_DATA
    assert evaluate(MILESTONE, ratio(0, 0)).status is Status.NO_DATA


# --- no data ----------------------------------------------------------------------------------


@pytest.mark.parametrize("figure", [None, Figure(), ratio(0, 0), ratio(3, 0)])
def test_a_missing_or_unusable_figure_has_no_data(figure: Figure | None) -> None:
    gap = evaluate(percent_target(Comparison.AT_LEAST, "80"), figure)
    assert gap == Gap(Status.NO_DATA, None, None, None, False, None)
    assert not gap.met


# --- ratios and the numerator still needed ----------------------------------------------------


def test_a_ratio_is_compared_as_its_percentage() -> None:
    gap = evaluate(ratio_target(Comparison.AT_LEAST, "80"), ratio(45, 60))
    assert gap.amount == 75
    assert gap.gap == 5


def test_a_ratio_short_of_an_at_least_target_says_how_many_more_items_reach_it() -> None:
    # 45 of 60 dossiers online is 75%; 48 of 60 is 80%.
    assert evaluate(ratio_target(Comparison.AT_LEAST, "80"), ratio(45, 60)).numerator_needed == 3


def test_the_items_needed_are_rounded_up_to_a_whole_item() -> None:
    # 50% of 3 is 1.5 items: 1 more makes 2 of 3.
    assert evaluate(ratio_target(Comparison.AT_LEAST, "50"), ratio(1, 3)).numerator_needed == 1


def test_a_ratio_on_a_strict_target_needs_one_more_item_to_pass_it() -> None:
    gap = evaluate(ratio_target(Comparison.ABOVE, "80"), ratio(48, 60))
    assert gap.on_the_line
    assert gap.numerator_needed == 1


def test_a_ratio_under_a_strict_target_needs_the_first_whole_item_past_the_line() -> None:
    # Over 50% of 4 means 3 of 4: 2 of 4 sits on the line.
    assert evaluate(ratio_target(Comparison.ABOVE, "50"), ratio(1, 4)).numerator_needed == 2


def test_a_ratio_over_an_at_most_target_says_how_many_fewer_items_reach_it() -> None:
    # 7 of 50 stations is 14%; at most 10% is 5 of 50.
    assert evaluate(ratio_target(Comparison.AT_MOST, "10"), ratio(7, 50)).numerator_needed == 2


def test_a_ratio_on_a_strict_below_target_needs_one_fewer_item() -> None:
    gap = evaluate(ratio_target(Comparison.BELOW, "10"), ratio(5, 50))
    assert gap.on_the_line
    assert gap.numerator_needed == 1


def test_a_ratio_outside_a_range_needs_items_toward_the_nearer_bound() -> None:
    target = Target(Measure.RATIO, Comparison.BETWEEN, low=D(47), high=D(50))
    assert evaluate(target, ratio(40, 100)).numerator_needed == 7
    assert evaluate(target, ratio(55, 100)).numerator_needed == 5


def test_a_range_narrower_than_one_item_cannot_say_how_many_items() -> None:
    # 47-50% of 3 dossiers is 1.41 to 1.5: neither 1 nor 2 of 3 lands in it.
    target = Target(Measure.RATIO, Comparison.BETWEEN, low=D(47), high=D(50))
    gap = evaluate(target, ratio(0, 3))
    assert gap.status is Status.NOT_MET
    assert gap.numerator_needed is None


def test_a_met_ratio_needs_no_items() -> None:
    assert evaluate(ratio_target(Comparison.AT_LEAST, "80"), ratio(50, 60)).numerator_needed is None


def test_a_percentage_without_numerator_and_denominator_cannot_say_how_many_items() -> None:
    assert evaluate(ratio_target(Comparison.AT_LEAST, "80"), pct("75")).numerator_needed is None


# --- malformed targets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        Target(Measure.PERCENT, Comparison.AT_LEAST),
        Target(Measure.PERCENT, Comparison.BELOW),
        Target(Measure.PERCENT, Comparison.BETWEEN, low=D(47)),
        Target(Measure.PERCENT, Comparison.BETWEEN, low=D(50), high=D(47)),
    ],
)
def test_a_target_missing_its_numbers_is_refused_loudly(target: Target) -> None:
    with pytest.raises(ValueError):
        evaluate(target, pct("50"))


# --- what is still needed per period ----------------------------------------------------------


def test_a_year_to_date_rate_needs_the_rest_of_its_gap_spread_over_the_periods_left() -> None:
    target = percent_target(Comparison.AT_LEAST, "80")
    needed = needed_per_period(target, Accumulation.YEAR_TO_DATE, [pct("50"), pct("62")], 6)
    assert needed == 3


def test_a_cumulative_count_needs_the_missing_items_spread_over_the_periods_left() -> None:
    target = parse_target("1000 điểm")
    figures = [Figure(value=D(250)), Figure(value=D(400))]
    assert needed_per_period(target, Accumulation.CUMULATIVE, figures, 4) == 150


def test_per_period_amounts_are_added_up_before_the_rest_is_spread() -> None:
    target = parse_target("1000 điểm")
    figures = [Figure(value=D(100)), Figure(value=D(150))]
    assert needed_per_period(target, Accumulation.PER_PERIOD, figures, 5) == 150


def test_per_period_amounts_with_none_reported_yet_need_the_whole_target() -> None:
    target = parse_target("1000 điểm")
    assert needed_per_period(target, Accumulation.PER_PERIOD, [], 4) == 250


def test_a_standing_already_met_needs_nothing_more() -> None:
    target = percent_target(Comparison.AT_LEAST, "80")
    assert needed_per_period(target, Accumulation.YEAR_TO_DATE, [pct("85")], 3) is None


def test_a_milestone_has_no_pace() -> None:
    assert needed_per_period(MILESTONE, Accumulation.YEAR_TO_DATE, [Figure(done=False)], 3) is None


def test_with_no_period_left_the_whole_gap_is_needed_now() -> None:
    target = percent_target(Comparison.AT_LEAST, "80")
    assert needed_per_period(target, Accumulation.YEAR_TO_DATE, [pct("62")], 0) == 18


def test_a_year_to_date_rate_with_no_figure_yet_has_no_pace() -> None:
    target = percent_target(Comparison.AT_LEAST, "80")
    assert needed_per_period(target, Accumulation.YEAR_TO_DATE, [], 6) is None
    assert needed_per_period(target, Accumulation.CUMULATIVE, [ratio(0, 0)], 6) is None


def test_the_latest_usable_figure_is_the_standing() -> None:
    target = ratio_target(Comparison.AT_LEAST, "80")
    figures = [ratio(30, 50), ratio(0, 0)]  # the last one has no dossiers: 60% still stands
    assert needed_per_period(target, Accumulation.YEAR_TO_DATE, figures, 4) == 5


def test_an_at_most_target_needs_a_positive_reduction_per_period() -> None:
    target = parse_target("giảm trạm 3G xuống dưới 10%")
    assert needed_per_period(target, Accumulation.YEAR_TO_DATE, [pct("25")], 3) == 5


def test_a_range_is_approached_toward_its_nearer_bound() -> None:
    assert needed_per_period(RANGE, Accumulation.YEAR_TO_DATE, [pct("41")], 3) == 2
    assert needed_per_period(RANGE, Accumulation.YEAR_TO_DATE, [pct("56")], 3) == 2


def test_a_pace_that_does_not_divide_evenly_is_rounded_up_so_it_still_reaches_the_target() -> None:
    target = percent_target(Comparison.AT_LEAST, "80")
    needed = needed_per_period(target, Accumulation.YEAR_TO_DATE, [pct("79")], 3)
    assert needed is not None
    assert needed > D(1) / 3
    assert needed * 3 >= 1


def test_a_negative_number_of_remaining_periods_is_refused() -> None:
    with pytest.raises(ValueError):
        needed_per_period(percent_target(Comparison.AT_LEAST, "80"), Accumulation.YEAR_TO_DATE, [], -1)


# --- change since the previous figure ---------------------------------------------------------


def test_the_change_is_the_current_amount_less_the_previous_one() -> None:
    assert change(pct("50"), pct("62.5")) == D("12.5")
    assert change(pct("62.5"), pct("50")) == D("-12.5")
    assert change(ratio(30, 60), ratio(45, 60)) == 25


@pytest.mark.parametrize(
    ("previous", "current"),
    [(None, Figure(value=D(1))), (Figure(value=D(1)), None), (ratio(0, 0), Figure(value=D(1))), (None, None)],
)
def test_there_is_no_change_without_two_usable_figures(previous: Figure | None, current: Figure | None) -> None:
    assert change(previous, current) is None


# --- properties -------------------------------------------------------------------------------

PERCENTS = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
COUNTS = st.integers(min_value=0, max_value=100_000).map(Decimal)
ONE_VALUE = [Comparison.AT_LEAST, Comparison.ABOVE, Comparison.AT_MOST, Comparison.BELOW]


@st.composite
def targets(draw: st.DrawFn, measures: tuple[Measure, ...] = tuple(Measure)) -> Target:
    measure = draw(st.sampled_from(measures))
    if measure is Measure.MILESTONE:
        return Target(measure, Comparison.DONE)
    numbers = COUNTS if measure is Measure.COUNT else PERCENTS
    comparison = draw(st.sampled_from([*ONE_VALUE, Comparison.BETWEEN]))
    if comparison is Comparison.BETWEEN:
        low, high = sorted([draw(numbers), draw(numbers)])
        return Target(measure, comparison, low=low, high=high)
    return Target(measure, comparison, value=draw(numbers))


@st.composite
def ratios(draw: st.DrawFn, positive: bool = False) -> Figure:
    denominator = draw(st.integers(min_value=1 if positive else 0, max_value=10_000))
    numerator = draw(st.integers(min_value=0, max_value=denominator))
    return ratio(numerator, denominator)


FIGURES = st.one_of(
    st.none(),
    st.just(Figure()),
    PERCENTS.map(lambda value: Figure(value=value)),
    COUNTS.map(lambda value: Figure(value=value)),
    ratios(),
    st.booleans().map(lambda done: Figure(done=done)),
)
DATA_TARGETS = targets((Measure.PERCENT, Measure.RATIO, Measure.COUNT))


@given(targets(), FIGURES)
def test_evaluate_never_raises_for_a_valid_target_and_figure(target: Target, figure: Figure | None) -> None:
    gap = evaluate(target, figure)
    assert (gap.status is Status.NO_DATA) == (gap.amount is None)
    assert gap.on_the_line <= (gap.status is Status.NOT_MET)


@given(DATA_TARGETS, FIGURES)
def test_a_figure_with_data_is_met_exactly_when_it_has_no_gap(target: Target, figure: Figure | None) -> None:
    gap = evaluate(target, figure)
    if gap.status is not Status.NO_DATA:
        assert (gap.status is Status.MET) == (gap.gap is None)
        assert (gap.status is Status.MET) == (gap.margin is not None)


@given(DATA_TARGETS, FIGURES)
def test_a_figure_not_met_is_short_by_a_positive_gap_unless_on_the_line(
    target: Target, figure: Figure | None
) -> None:
    gap = evaluate(target, figure)
    if gap.status is Status.NOT_MET:
        assert gap.gap is not None
        assert gap.gap > 0 or (gap.on_the_line and gap.gap == 0)
    if gap.status is Status.MET:
        assert gap.margin is not None and gap.margin >= 0


@given(PERCENTS, PERCENTS, PERCENTS)
def test_raising_a_figure_never_undoes_an_at_least_target(value: Decimal, low: Decimal, high: Decimal) -> None:
    low, high = sorted([low, high])
    target = percent_target(Comparison.AT_LEAST, str(value))
    before, after = evaluate(target, Figure(value=low)), evaluate(target, Figure(value=high))
    assert not (before.status is Status.MET and after.status is Status.NOT_MET)


@given(targets((Measure.RATIO,)), ratios(positive=True))
def test_the_items_needed_are_exactly_enough_to_meet_a_ratio_target(target: Target, figure: Figure) -> None:
    gap = evaluate(target, figure)
    if gap.status is not Status.NOT_MET:
        return
    assert figure.numerator is not None and figure.denominator is not None
    if gap.numerator_needed is None:
        # Only a range narrower than one item at this denominator has no answer.
        assert target.comparison is Comparison.BETWEEN
        assert target.low is not None and target.high is not None
        assert (target.high - target.low) * figure.denominator < 100
        return
    assert gap.numerator_needed >= 1
    raising = target.comparison in (Comparison.AT_LEAST, Comparison.ABOVE) or (
        target.comparison is Comparison.BETWEEN and target.low is not None and gap.amount is not None
        and gap.amount < target.low
    )
    step = gap.numerator_needed if raising else -gap.numerator_needed
    one_less = step - 1 if raising else step + 1
    reached = Figure(numerator=figure.numerator + step, denominator=figure.denominator)
    assert evaluate(target, reached).status is Status.MET
    short = Figure(numerator=figure.numerator + one_less, denominator=figure.denominator)
    assert evaluate(target, short).status is Status.NOT_MET


@given(
    st.sampled_from([Measure.PERCENT, Measure.COUNT]),
    st.sampled_from([Comparison.AT_LEAST, Comparison.ABOVE]),
    COUNTS,
    st.lists(COUNTS, max_size=12),
    st.sampled_from(list(Accumulation)),
    st.integers(min_value=0, max_value=12),
)
def test_the_pace_over_the_periods_left_covers_the_whole_gap_of_an_at_least_target(
    measure: Measure,
    comparison: Comparison,
    value: Decimal,
    amounts: list[Decimal],
    accumulation: Accumulation,
    remaining: int,
) -> None:
    target = Target(measure, comparison, value=value)
    figures = [Figure(value=amount) for amount in amounts]
    needed = needed_per_period(target, accumulation, figures, remaining)
    if accumulation is Accumulation.PER_PERIOD:
        standing: Figure | None = Figure(value=sum(amounts, D(0)))
    else:
        standing = figures[-1] if figures else None
    gap = evaluate(target, standing)
    if gap.status is Status.NOT_MET:
        assert needed is not None and gap.gap is not None
        assert needed >= 0
        assert needed * max(remaining, 1) >= gap.gap
    else:
        assert needed is None


@given(FIGURES, FIGURES)
@settings(max_examples=50)
def test_the_change_takes_the_previous_figure_to_the_current_one(
    previous: Figure | None, current: Figure | None
) -> None:
    difference = change(previous, current)
    if difference is None:
        return
    assert previous is not None and current is not None
    assert previous.amount is not None and current.amount is not None
    # Ratios carry 28 significant digits, so the sum is checked to well within any displayed precision.
    assert abs(previous.amount + difference - current.amount) < D("1E-15")
    assert change(current, previous) == -difference
