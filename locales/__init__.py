"""Every user-facing string, by message id, in Vietnamese (default) and English.

Catalogues are gettext PO files read with Babel at first use (no compile step, so a fresh clone
runs as it is). Message ids are kebab-case and grouped by job (`plan-error-…`, `cli-…`);
placeholders are Python format fields (`{field}`). Numbers are formatted per language with Babel:
72,5% and 1.000 in Vietnamese, 72.5% and 1,000 in English.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext
from functools import cache
from pathlib import Path

from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

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
        if isinstance(value, Decimal) and value.is_finite():
            # Rounding to two decimals needs as many digits as the number has: past the default
            # 28 a huge figure would raise instead of printing.
            with localcontext() as context:
                context.prec = max(context.prec, value.adjusted() + 4)
                return format_decimal(value, format="#,##0.##", locale=self.locale)
        return format_decimal(value, format="#,##0.##", locale=self.locale)

    def percent(self, value: Decimal | int | float) -> str:
        return f"{self.number(value)}%"

    def date(self, value: date) -> str:
        """30/09/2024 in Vietnamese, 30 Sep 2024 in English."""
        return format_date(value, format="dd/MM/yyyy" if self.locale == "vi" else "d MMM yyyy", locale=self.locale)


@cache
def translator(locale: str | None = None) -> Translator:
    return Translator(normalize_locale(locale))
