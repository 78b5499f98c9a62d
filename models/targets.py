"""Targets: what an indicator part must reach, parsed from the plan's Vietnamese text.

Pure: imports neither aiogram nor SQLAlchemy.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from models.numbers import NUMBER_PATTERN, NumberError, parse_number
from models.text import fold


class Measure(enum.StrEnum):
    """How a figure is expressed."""

    PERCENT = "percent"  # a percentage, 0-100
    RATIO = "ratio"  # numerator / denominator, compared as a percentage
    COUNT = "count"  # a non-negative number of things, with a unit of measure
    MILESTONE = "milestone"  # done / not done


class Comparison(enum.StrEnum):
    """How a figure is held against the target."""

    AT_LEAST = "at_least"  # figure >= value
    ABOVE = "above"  # figure > value ("trên": strictly)
    AT_MOST = "at_most"  # figure <= value
    BELOW = "below"  # figure < value ("dưới": strictly)
    BETWEEN = "between"  # low <= figure <= high
    DONE = "done"  # milestone reached


@dataclass(frozen=True, slots=True)
class Target:
    measure: Measure
    comparison: Comparison
    value: Decimal | None = None  # for AT_LEAST/ABOVE/AT_MOST/BELOW
    low: Decimal | None = None  # for BETWEEN
    high: Decimal | None = None  # for BETWEEN
    unit: str | None = None  # unit of measure of a count ("điểm", "doanh nghiệp")
    due: date | None = None  # a milestone's date, when the plan gives one
    raw: str = ""  # the text it was parsed from
    # What the target waits for, in the plan's words ("sau khi Bộ TT&TT … cấp phép thương mại"):
    # shown beside the target so nobody is judged against it unawares.
    condition: str | None = None

    @property
    def kind(self) -> str:
        """The target kind as domain.md names it: percent, ratio, count, range or milestone."""
        if self.comparison is Comparison.BETWEEN:
            return "range"
        return self.measure.value

    @property
    def is_percentage(self) -> bool:
        return self.measure in (Measure.PERCENT, Measure.RATIO)


@dataclass(frozen=True, slots=True)
class Figure:
    """One reported figure: a number, a numerator and denominator, done / not done, or "không
    phát sinh" (nothing to report for the period: counted as reported, left out of roll-ups)."""

    value: Decimal | None = None  # a percentage (0-100) or a count
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    done: bool | None = None
    not_applicable: bool = False

    @property
    def amount(self) -> Decimal | None:
        """The figure as one number comparable with a target: the percentage for a ratio
        (None when the denominator is zero), the value otherwise, 100/0 for a milestone, None for
        "không phát sinh"."""
        if self.not_applicable:
            return None
        if self.numerator is not None and self.denominator is not None:
            if self.denominator == 0:
                return None
            return self.numerator * 100 / self.denominator
        if self.value is not None:
            return self.value
        if self.done is not None:
            return Decimal(100) if self.done else Decimal(0)
        return None


class TargetParseError(ValueError):
    """A target text that says no measurable target."""


# Cues read right before the number. Matched on folded text (no diacritics), longest first.
_CUES: list[tuple[str, Comparison]] = [
    (">=", Comparison.AT_LEAST),
    ("<=", Comparison.AT_MOST),
    (">", Comparison.ABOVE),
    ("<", Comparison.BELOW),
    ("khong vuot qua", Comparison.AT_MOST),
    ("khong qua", Comparison.AT_MOST),
    ("toi da", Comparison.AT_MOST),
    ("toi thieu", Comparison.AT_LEAST),
    ("it nhat", Comparison.AT_LEAST),
    ("tu", Comparison.AT_LEAST),
    ("tren", Comparison.ABOVE),
    ("hon", Comparison.ABOVE),
    ("duoi", Comparison.BELOW),
]
# A word cue must start a word: "chọn 50%" folds to "chon 50%", which holds "hon" but no cue.
_CUE_ALTERNATION = "(?<![a-z])(?:" + "|".join(re.escape(cue) for cue, _ in _CUES) + ")"
_CUE_OF = dict(_CUES)
_NUM = NUMBER_PATTERN
# "đạt", "mức", "là" may sit between a cue and its number: "trên mức 80%", "tối thiểu đạt 50%".
_FILLER = r"(?:(?:dat|muc|la|khoang|bang)\s+)*"
_PERCENT = re.compile(rf"(?:(?P<cue>{_CUE_ALTERNATION})\s*{_FILLER})?(?P<num>{_NUM})\s*%")
_RANGE = re.compile(rf"(?P<low>{_NUM})\s*%?\s*-\s*(?P<high>{_NUM})\s*(?P<pct>%)?")
# A count's unit of measure: the few words after the number ("03 doanh nghiệp khởi nghiệp").
_COUNT = re.compile(
    rf"(?:(?P<cue>{_CUE_ALTERNATION})\s*{_FILLER})?\b(?P<num>{_NUM})"
    r"(?:\s+(?P<unit>[^\W\d_]+(?:[ &][^\W\d_]+){0,3}))?"
)
_MILESTONE_WORDS = (
    "hoan thanh", "ket noi", "trien khai", "xay dung", "ban hanh", "dua vao", "van hanh",
    "phe duyet", "cap nhat", "duy tri", "thuc hien", "xong", "co ", "dat chuan", "so hoa",
    "tich hop", "phu song", "phat song", "ap dung", "nang cap", "thanh lap", "to chuc", "lap ",
    "tat song",
)
# "… sau khi Bộ Thông tin và Truyền thông hoàn thành quy hoạch": the rest is a condition, not part
# of the target (its words would otherwise read as a milestone or a count).
_CONDITION = re.compile(r"\bsau khi\b")
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_FROM_TO = re.compile(rf"\b[Tt]ừ\s+(?P<low>{_NUM}\s*%?)\s+(?:đến|tới)\s+(?P<high>{_NUM}\s*%?)")


def split_target(raw: str) -> list[str]:
    """The pieces of a compound target cell: "10%; 10%; 47-50%; 30%" -> four pieces."""
    return [piece.strip() for piece in raw.split(";") if piece.strip()]


def parse_target(raw: str, measure: Measure | None = None) -> Target:
    """Parse one target piece as the plans write it; raises TargetParseError."""
    return parse_target_detail(raw, measure)[0]


def parse_target_detail(raw: str, measure: Measure | None = None) -> tuple[Target, bool]:
    """Parse one target piece; also say whether the text itself stated the comparison
    (False for a bare "80%", whose direction the indicator's text may settle)."""
    try:
        return _parse(raw, measure)
    except NumberError:  # a number beyond reason, such as 29 digits
        raise TargetParseError(raw) from None


def _parse(raw: str, measure: Measure | None) -> tuple[Target, bool]:
    text = _prepare(raw)
    condition = None
    found = _CONDITION.search(fold(text))
    if found:
        condition = text[found.start():].strip(" ,;.)(") or None
        text = text[: found.start()].strip(" ,;")
    target, explicit = _parse_prepared(raw, text, measure)
    return (replace(target, condition=condition) if condition else target), explicit


def _parse_prepared(raw: str, text: str, measure: Measure | None) -> tuple[Target, bool]:
    if not text or text in {"-", "--", "x", "0"} or set(text) <= {"-", ".", " "}:
        raise TargetParseError(raw)
    folded = fold(text)
    if measure is Measure.MILESTONE or (measure is None and _is_milestone(folded)):
        return Target(Measure.MILESTONE, Comparison.DONE, due=_due_date(folded), raw=raw), True

    rng = _RANGE.search(folded)
    if rng and (rng.group("pct") or "%" not in folded):
        low = parse_number(rng.group("low"))
        high = parse_number(rng.group("high"))
        if low > high:
            low, high = high, low
        kind = measure or (Measure.PERCENT if rng.group("pct") else Measure.COUNT)
        unit = None if kind is not Measure.COUNT else _unit_after(folded, rng.end(), text)
        return Target(kind, Comparison.BETWEEN, low=low, high=high, unit=unit, raw=raw), True

    pct = _PERCENT.search(folded)
    if pct:
        value = parse_number(pct.group("num"))
        cue = pct.group("cue")
        comparison = _CUE_OF[cue] if cue else Comparison.AT_LEAST
        if cue is None and re.search(r"\bduoi\b", folded[: pct.start()]):
            comparison = Comparison.BELOW
        elif cue is None and re.search(r"\bgiam\b.*\bxuong\s*$", folded[: pct.start()]):
            # "giảm … xuống 10%": brought down to 10% is met at 10%; "xuống dưới 10%" is strict.
            comparison = Comparison.AT_MOST
        kind = measure if measure in (Measure.PERCENT, Measure.RATIO) else Measure.PERCENT
        return Target(kind, comparison, value=value, raw=raw), cue is not None

    count = _COUNT.search(folded)
    if count:
        value = parse_number(count.group("num"))
        cue = count.group("cue")
        comparison = _CUE_OF[cue] if cue else Comparison.AT_LEAST
        unit = _original_span(text, folded, count.start("unit"), count.end("unit"))
        return Target(Measure.COUNT, comparison, value=value, unit=unit, raw=raw), cue is not None
    raise TargetParseError(raw)


def _prepare(raw: str) -> str:
    text = raw.strip().strip(".").strip()
    text = re.sub(r"(\d)\s*&", r"\1%", text)  # "80&": a typo for "80%" seen in the plans
    text = text.replace("≥", ">=").replace("≤", "<=").replace("–", "-").replace("—", "-")
    text = re.sub(r"\s+", " ", text)
    # "Từ 70% đến 80%" is the range "70%-80%" (a bare "từ 70%" stays "at least").
    return _FROM_TO.sub(r"\g<low>-\g<high>", text)


def _is_milestone(folded: str) -> bool:
    # "Kết nối 100%" is a milestone; "đạt 100%" and "trên 80%" are not. Text that neither starts
    # with an action nor holds a number is refused rather than guessed: the plan can say
    # `measure: milestone` outright.
    return folded.startswith(_MILESTONE_WORDS) or folded in {"co", "xong"}


def _due_date(folded: str) -> date | None:
    match = _DATE.search(folded)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _unit_after(folded: str, end: int, original: str) -> str | None:
    rest = folded[end:].strip()
    return _original_span(original, folded, len(folded) - len(rest), len(folded)) if rest else None


def _original_span(original: str, folded: str, start: int, end: int) -> str | None:
    """The original (accented) text of a span found in the folded text.

    Folding keeps one character per character for Vietnamese (NFD then dropping combining marks
    maps each precomposed letter to one base letter), so positions line up after _prepare.
    """
    if start < 0 or end <= start:
        return None
    span = original[start:end] if len(original) == len(folded) else folded[start:end]
    return span.strip() or None


def stated_comparisons(text: str) -> list[tuple[Decimal, Comparison | None]]:
    """Every percentage in a sentence with the comparison words right before it, in order:
    "đạt trên 10% ... tối thiểu 10%" -> [(10, ABOVE), (10, AT_LEAST)]. Plans often print a bare
    "80%" in the target column and say "trên 80%" in the indicator's text."""
    folded = fold(_prepare(text))
    found: list[tuple[Decimal, Comparison | None]] = []
    for match in _PERCENT.finditer(folded):
        cue = match.group("cue")
        comparison = _CUE_OF[cue] if cue else None
        if cue is None and re.search(r"giam\b[^%]*\bxuong\s*$", folded[: match.start()]):
            comparison = Comparison.AT_MOST
        try:
            found.append((parse_number(match.group("num")), comparison))
        except NumberError:
            continue
    return found
