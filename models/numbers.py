"""Reading numbers the way Vietnamese and English users write them.

Vietnamese writes 72,5 and 1.000; English 72.5 and 1,000. Officers mix both, so the reader is
tolerant: a separator followed by exactly three digits (repeated) is a thousands separator in the
language that uses it that way, anything else is the decimal mark.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

NUMBER_PATTERN = r"\d+(?:[.,]\d+)*"
_NUMBER = re.compile(rf"^{NUMBER_PATTERN}$")
_GROUPED = {
    ".": re.compile(r"^\d{1,3}(?:\.\d{3})+$"),
    ",": re.compile(r"^\d{1,3}(?:,\d{3})+$"),
}


class NumberError(ValueError):
    """Text that is not a number."""


def parse_number(text: str, locale: str = "vi") -> Decimal:
    """Parse a non-negative number written by a person; raises NumberError."""
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    if not _NUMBER.match(s):
        raise NumberError(text)
    thousands = "," if locale.startswith("en") else "."
    decimal_mark = "." if thousands == "," else ","
    if "." in s and "," in s:
        # Both present: the last one is the decimal mark.
        last = max(s.rfind("."), s.rfind(","))
        integer, fraction = s[:last], s[last + 1 :]
        grouping = "," if s[last] == "." else "."
        if not _GROUPED[grouping].match(integer):
            raise NumberError(text)
        s = f"{integer.replace(grouping, '')}.{fraction}"
    elif _GROUPED[thousands].match(s):
        s = s.replace(thousands, "")
    elif s.count(decimal_mark) > 1 and _GROUPED[decimal_mark].match(s):
        # 1.000.000 typed by an English user (or 1,000,000 by a Vietnamese one): only grouping
        # can repeat, so this reading is unambiguous.
        s = s.replace(decimal_mark, "")
    elif s.count(decimal_mark) + s.count(thousands) > 1:
        raise NumberError(text)
    else:
        s = s.replace(",", ".")
    try:
        return normalize(Decimal(s))
    except InvalidOperation as exc:  # digits beyond what the decimal context can normalise
        raise NumberError(text) from exc


def normalize(value: Decimal) -> Decimal:
    """72.50 -> 72.5, 1E+3 -> 1000: one spelling per value, so equal figures compare and print alike."""
    value = value.normalize()
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value


# What a stored figure can hold (models.tables.FigureNumber): 12 digits before the decimal mark
# and 6 after, NUMERIC(18, 6) on PostgreSQL and a 64-bit integer of millionths on SQLite.
FIGURE_PLACES = 6
FIGURE_DIGITS = 12
_FIGURE_LIMIT = Decimal(10) ** FIGURE_DIGITS


def fits_figure(value: Decimal) -> bool:
    """Whether a figure can be stored exactly: fewer than 10^12 in size, at most 6 decimals."""
    if not value.is_finite() or abs(value) >= _FIGURE_LIMIT:
        return False
    exponent = value.normalize().as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -FIGURE_PLACES
