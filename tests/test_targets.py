"""Reading targets as the plans write them: every kind domain.md lists, typos and all."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from models.numbers import NumberError, parse_number
from models.targets import (
    Comparison,
    Figure,
    Measure,
    TargetParseError,
    parse_target,
    parse_target_detail,
    split_target,
    stated_comparisons,
)

D = Decimal


@pytest.mark.parametrize(
    ("raw", "comparison", "value"),
    [
        ("100%", Comparison.AT_LEAST, D(100)),
        ("đạt 100%", Comparison.AT_LEAST, D(100)),
        ("tối thiểu 50%", Comparison.AT_LEAST, D(50)),
        ("ít nhất 50 %", Comparison.AT_LEAST, D(50)),
        (">=80%", Comparison.AT_LEAST, D(80)),
        ("≥ 80%", Comparison.AT_LEAST, D(80)),
        ("trên 65%", Comparison.ABOVE, D(65)),
        ("> 65%", Comparison.ABOVE, D(65)),
        ("dưới 10%", Comparison.BELOW, D(10)),
        ("giảm trạm 3G xuống dưới 10%", Comparison.BELOW, D(10)),
        ("tối đa 10%", Comparison.AT_MOST, D(10)),
        ("không quá 10%", Comparison.AT_MOST, D(10)),
        ("72,5%", Comparison.AT_LEAST, D("72.5")),
    ],
)
def test_percent_targets_read_their_direction(raw: str, comparison: Comparison, value: Decimal) -> None:
    target = parse_target(raw)
    assert target.measure is Measure.PERCENT
    assert target.comparison is comparison
    assert target.value == value
    assert target.raw == raw


def test_the_80_ampersand_typo_in_dong_trieu_reads_as_80_percent() -> None:
    target = parse_target("80&")
    assert (target.measure, target.value, target.raw) == (Measure.PERCENT, D(80), "80&")


def test_tren_is_kept_apart_from_toi_thieu() -> None:
    assert parse_target("trên 80%").comparison is Comparison.ABOVE
    assert parse_target("tối thiểu 80%").comparison is Comparison.AT_LEAST


def test_a_bare_percentage_says_its_direction_was_not_stated() -> None:
    assert parse_target_detail("80%")[1] is False
    assert parse_target_detail("trên 80%")[1] is True


@pytest.mark.parametrize("raw", ["47-50%", "từ 47-50%", "47–50 %", "47 - 50%"])
def test_a_range_is_between_its_bounds(raw: str) -> None:
    target = parse_target(raw)
    assert (target.kind, target.low, target.high) == ("range", D(47), D(50))


@pytest.mark.parametrize(
    ("raw", "value", "unit", "comparison"),
    [
        ("1000 điểm", D(1000), "điểm", Comparison.AT_LEAST),
        ("1.000 điểm", D(1000), "điểm", Comparison.AT_LEAST),
        ("ít nhất 03 doanh nghiệp", D(3), "doanh nghiệp", Comparison.AT_LEAST),
        ("6 CSDL", D(6), "CSDL", Comparison.AT_LEAST),
        ("07 xã phường", D(7), "xã phường", Comparison.AT_LEAST),
        ("không quá 2 sự cố", D(2), "sự cố", Comparison.AT_MOST),
    ],
)
def test_counts_keep_their_unit_of_measure(raw: str, value: Decimal, unit: str, comparison: Comparison) -> None:
    target = parse_target(raw)
    assert (target.measure, target.value, target.unit, target.comparison) == (Measure.COUNT, value, unit, comparison)


@pytest.mark.parametrize("raw", ["Hoàn thành", "Kết nối 100%", "Kết nối", "Hoàn thành phủ sóng vùng lõm"])
def test_milestones_are_done_or_not(raw: str) -> None:
    target = parse_target(raw)
    assert (target.measure, target.comparison, target.kind) == (Measure.MILESTONE, Comparison.DONE, "milestone")


def test_a_milestone_keeps_its_date() -> None:
    assert parse_target("Hoàn thành trước ngày 30/9/2024").due == date(2024, 9, 30)


def test_an_explicit_measure_overrides_the_guess() -> None:
    assert parse_target("100%", Measure.RATIO).measure is Measure.RATIO
    assert parse_target("Đạt chuẩn", Measure.MILESTONE).measure is Measure.MILESTONE


@pytest.mark.parametrize("raw", ["-", "", "  ", "--"])
def test_a_cell_without_a_target_is_refused(raw: str) -> None:
    with pytest.raises(TargetParseError):
        parse_target(raw)


def test_compound_cells_split_on_semicolons() -> None:
    assert split_target("10%; 10%; 47-50%; 30%") == ["10%", "10%", "47-50%", "30%"]
    assert split_target("100%;100%") == ["100%", "100%"]


def test_the_text_next_to_a_number_settles_its_direction() -> None:
    text = (
        "Phấn đấu tỷ trọng kinh tế số trên GRDP đạt trên 10%. Tỷ trọng kinh tế số trong từng ngành, "
        "lĩnh vực đạt tối thiểu 10%, trong đó công nghiệp chế biến chế tạo đóng góp từ 47-50% kinh tế số; "
        "công nghiệp khai khoáng 30%"
    )
    stated = stated_comparisons(text)
    assert stated[0] == (D(10), Comparison.ABOVE)
    assert stated[1] == (D(10), Comparison.AT_LEAST)
    assert (D(30), None) in stated


def test_a_word_that_merely_contains_a_cue_is_not_one() -> None:
    assert parse_target("lựa chọn 50%").comparison is Comparison.AT_LEAST  # "chọn" holds "hon"


def test_a_ratio_figure_is_its_percentage() -> None:
    assert Figure(numerator=D(120), denominator=D(150)).amount == D(80)
    assert Figure(numerator=D(1), denominator=D(0)).amount is None
    assert Figure(done=True).amount == D(100)


@pytest.mark.parametrize(
    ("text", "vi", "en"),
    [
        ("72,5", D("72.5"), D("72.5")),
        ("72.5", D("72.5"), D("72.5")),
        ("1.000", D(1000), D(1)),
        ("1,000", D(1), D(1000)),
        ("1.000.000", D(1000000), D(1000000)),
        ("1.234,5", D("1234.5"), D("1234.5")),
        ("03", D(3), D(3)),
    ],
)
def test_numbers_are_read_the_way_each_language_writes_them(text: str, vi: Decimal, en: Decimal) -> None:
    assert parse_number(text, "vi") == vi
    assert parse_number(text, "en") == en


@pytest.mark.parametrize("text", ["abc", "1..2", "1,2,3.4.5", "", "-3", "7a"])
def test_non_numbers_are_refused(text: str) -> None:
    with pytest.raises(NumberError):
        parse_number(text)


@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False))
def test_a_number_written_the_vietnamese_way_reads_back_exactly(value: Decimal) -> None:
    from babel.numbers import format_decimal

    written = format_decimal(value, format="#,##0.###", locale="vi")
    assert parse_number(written, "vi") == value


@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False))
def test_a_number_written_the_english_way_reads_back_exactly(value: Decimal) -> None:
    from babel.numbers import format_decimal

    written = format_decimal(value, format="#,##0.###", locale="en")
    assert parse_number(written, "en") == value


@given(st.text(max_size=60))
def test_target_parsing_never_fails_with_anything_but_its_own_error(text: str) -> None:
    try:
        target = parse_target(text)
    except TargetParseError:
        return
    assert target.raw == text
    if target.comparison is Comparison.BETWEEN:
        assert target.low is not None and target.high is not None and target.low <= target.high
    elif target.measure is not Measure.MILESTONE:
        assert target.value is not None and target.value >= 0


@given(st.integers(min_value=0, max_value=100), st.sampled_from(["", "đạt ", "tối thiểu ", "trên ", "dưới ", "tối đa "]))
def test_any_written_percentage_parses_to_its_value(value: int, cue: str) -> None:
    assert parse_target(f"{cue}{value}%").value == value


def test_from_to_in_words_is_a_range() -> None:
    """"Từ 70% đến 80%" as plans write it (issue 22); a bare "từ 70%" stays "at least"."""
    between = parse_target("Từ 70% đến 80%")
    assert (between.comparison, between.low, between.high, between.measure) == (
        Comparison.BETWEEN, Decimal(70), Decimal(80), Measure.PERCENT)
    counted = parse_target("từ 3 tới 5 doanh nghiệp")
    assert (counted.comparison, counted.low, counted.high, counted.unit) == (
        Comparison.BETWEEN, Decimal(3), Decimal(5), "doanh nghiệp")
    assert parse_target("từ 70%").comparison is Comparison.AT_LEAST
