"""The plan format's words, Vietnamese and English, both ways (models.plan_words)."""
from __future__ import annotations

import pytest

from models.plan_words import (
    ACCUMULATION_WORDS,
    COMPARISON_WORDS,
    FREQUENCY_WORDS,
    KIND_WORDS,
    MEASURE_WORDS,
    deadline_text,
    deadline_words,
    key_of,
    kinds_of,
    kinds_text,
    word_of,
)


@pytest.mark.parametrize("words", [FREQUENCY_WORDS, ACCUMULATION_WORDS, COMPARISON_WORDS, MEASURE_WORDS, KIND_WORDS])
def test_every_word_written_reads_back_as_its_key(words: dict[str, tuple[str, ...]]) -> None:
    for key in words:
        assert key_of(word_of(key, words), words) == key
        assert key_of(key, words) == key  # the English keys stay accepted


@pytest.mark.parametrize(("text", "key"), [
    ("Tháng", "monthly"), ("thang", "monthly"), ("HÀNG QUÝ", "quarterly"), ("6 tháng", "half_yearly"),
    ("Năm", "yearly"), ("hằng năm", "yearly"), ("monthly", "monthly"), ("half yearly", "half_yearly"),
])
def test_frequencies_as_offices_write_them(text: str, key: str) -> None:
    assert key_of(text, FREQUENCY_WORDS) == key


def test_unknown_words_are_none() -> None:
    assert key_of("hàng tuần", FREQUENCY_WORDS) is None and key_of(None, FREQUENCY_WORDS) is None


@pytest.mark.parametrize(("text", "kinds", "unknown"), [
    ("Xã, phường", ["commune", "ward"], []),
    ("Phòng, ban; Xã, phường", ["department", "commune", "ward"], []),
    ("commune, ward", ["commune", "ward"], []),
    ("xã/phường/thị trấn", ["commune", "ward", "township"], []),
    ("Phòng, ban; hợp tác xã", ["department"], ["hợp tác xã"]),
])
def test_kind_lists(text: str, kinds: list[str], unknown: list[str]) -> None:
    assert kinds_of(text) == (kinds, unknown)


def test_kinds_are_written_in_their_order() -> None:
    assert kinds_text(["commune", "ward"]) == "Xã, phường"
    assert kinds_text(["ward", "commune"]) == "Phường; Xã"
    assert kinds_of(kinds_text(["department", "agency"]) or "")[0] == ["department", "agency"]
    assert kinds_text([]) is None


@pytest.mark.parametrize(("day", "month", "before"), [(5, "next", True), (20, "last", False), (10, 12, True)])
def test_deadlines_in_words_read_back(day: int, month: str | int, before: bool) -> None:
    text = deadline_text(day, month, before)
    assert "next" not in text and "last" not in text
    assert deadline_words(text) == (str(day), str(month), before)


def test_the_older_deadline_form_still_reads() -> None:
    assert deadline_words("5 next before") == ("5", "next", True)
    assert deadline_words("10 12") == ("10", "12", False)
