"""Every user-facing string, by message id, in Vietnamese (default) and English.

Catalogues are gettext PO files read with Babel at first use (no compile step, so a fresh clone
runs as it is). Message ids are kebab-case and grouped by job (`plan-error-…`, `cli-…`);
placeholders are Python format fields (`{field}`). Numbers are formatted per language with Babel:
72,5% and 1.000 in Vietnamese, 72.5% and 1,000 in English.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol, get_minus_sign_symbol

LOCALES = ("vi", "en")
DEFAULT_LOCALE = "vi"
_HERE = Path(__file__).parent


def normalize_locale(locale: str | None) -> str:
    """'en_US', 'EN', 'english' -> 'en'; anything else we do not speak -> Vietnamese."""
    if locale and locale.strip().lower().startswith("en"):
        return "en"
    return DEFAULT_LOCALE


@cache
def catalog(locale: str) -> dict[str, str]:
    """The message id -> text map of one language."""
    path = _HERE / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    return {str(message.id): str(message.string) for message in po if message.id and message.string}


_CENT = Decimal("0.01")
NUMBER_PATTERN = "#,##0.##"


@cache
def _symbols(locale: str) -> tuple[str, str, str]:
    """(group, decimal, minus) of the language, from Babel's locale data."""
    return get_group_symbol(locale), get_decimal_symbol(locale), get_minus_sign_symbol(locale)


def format_number(value: Decimal | int | float, locale: str) -> str:
    """Babel's format_decimal(value, "#,##0.##", locale) for a finite number, at a tenth of its
    cost: a plan page shows thousands of figures. Same rounding (half to even, at most two
    decimals, a float read as its shortest text), same symbols, read from Babel;
    tests/test_locales.py holds the two equal over arbitrary numbers."""
    number = value if isinstance(value, Decimal) else Decimal(str(value) if isinstance(value, float) else value)
    if not number.is_finite():
        return format_decimal(number, format=NUMBER_PATTERN, locale=locale)
    group, point, minus = _symbols(locale)
    with localcontext() as context:
        # Rounding to two decimals needs as many digits as the number has: past the default 28 a
        # huge figure would raise instead of printing.
        context.prec = max(context.prec, number.adjusted() + 4)
        rounded = number.quantize(_CENT, rounding=ROUND_HALF_EVEN)
    whole, _, fraction = format(rounded.copy_abs(), "f").partition(".")
    fraction = fraction.rstrip("0")
    text = f"{int(whole):,}".replace(",", group) + (point + fraction if fraction else "")
    return minus + text if rounded.is_signed() else text


class Translator:
    """Texts and number formats of one language."""

    def __init__(self, locale: str) -> None:
        self.locale = normalize_locale(locale)
        self._messages = catalog(self.locale)
        self._fallback = catalog(DEFAULT_LOCALE)

    def __call__(self, message_id: str, **params: object) -> str:
        template = self._messages.get(message_id) or self._fallback.get(message_id)
        if template is None:
            raise KeyError(f"no message {message_id!r} in locale {self.locale!r}")
        return template.format(**params) if params else template

    def number(self, value: Decimal | int | float) -> str:
        return format_number(value, self.locale)

    def percent(self, value: Decimal | int | float) -> str:
        return f"{self.number(value)}%"

    def date(self, value: date) -> str:
        """30/09/2024 in Vietnamese, 30 Sep 2024 in English."""
        return format_date(value, format="dd/MM/yyyy" if self.locale == "vi" else "d MMM yyyy", locale=self.locale)


@cache
def translator(locale: str | None = None) -> Translator:
    return Translator(normalize_locale(locale))
