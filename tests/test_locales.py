"""Both languages carry every message with the same placeholders, and the PO files that run are
the ones messages.yaml describes."""
from __future__ import annotations

import ast
import io
import re
import string
from decimal import Decimal, localcontext
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from hypothesis import given, strategies as st

from locales import LOCALES, NUMBER_PATTERN, catalog, format_number, translator
from locales.build import load_source, po_path, render

# Forms of address exist in Vietnamese only ("đồng chí", "anh/chị"); English may leave them out.
LANGUAGE_SPECIFIC = {"salutation"}


ROOT = Path(__file__).resolve().parent.parent


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_exists_in_every_language() -> None:
    ids = {locale: set(catalog(locale)) for locale in LOCALES}
    assert ids["vi"] == ids["en"]


SOURCE = load_source()


@pytest.mark.parametrize("message_id", sorted(SOURCE))
def test_both_languages_use_the_same_placeholders(message_id: str) -> None:
    texts = SOURCE[message_id]
    assert set(texts) == set(LOCALES), f"{message_id} lacks a language"
    assert placeholders(texts["vi"]) - LANGUAGE_SPECIFIC == placeholders(texts["en"]) - LANGUAGE_SPECIFIC


def _messages_of(po: bytes, locale: str) -> list[tuple[str, str]]:
    return [(str(m.id), str(m.string)) for m in read_po(io.BytesIO(po), locale=locale) if m.id]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_po_catalogues_are_built_from_messages_yaml(locale: str) -> None:
    # Compared as messages, in order: how a Babel release lays out the file is not our concern.
    expected = [(message_id, texts[locale]) for message_id, texts in SOURCE.items()]
    assert _messages_of(po_path(locale).read_bytes(), locale) == expected, "run: python -m locales.build"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_catalogue_says_nothing_of_when_or_by_which_tool_it_was_written(locale: str) -> None:
    rendered = render(locale, SOURCE)
    assert b"Generated-By" not in rendered and b"Creation-Date" not in rendered
    assert not re.search(rb"\b20\d\d\b", rendered.split(b'msgid "', 2)[1]), "a year in the header"


def test_numbers_follow_the_language() -> None:
    assert translator("vi").percent(72.5) == "72,5%"
    assert translator("vi").number(1000) == "1.000"
    assert translator("en").percent(72.5) == "72.5%"
    assert translator("en").number(1000) == "1,000"


NUMBERS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-10**9, max_value=10**9, places=3),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    st.integers(min_value=-10**20, max_value=10**20),
)


@given(NUMBERS, st.sampled_from(LOCALES))
def test_numbers_are_formatted_as_babel_formats_them(value: Decimal | float | int, locale: str) -> None:
    with localcontext() as context:  # as many digits as the number has, as format_number allows
        context.prec = max(context.prec, Decimal(str(value)).adjusted() + 4)
        expected = format_decimal(value, format=NUMBER_PATTERN, locale=locale)
    assert format_number(value, locale) == expected


def test_an_unknown_language_falls_back_to_vietnamese() -> None:
    assert translator("fr").locale == "vi"


def _prose_literals(path: Path) -> list[tuple[int, str]]:
    """String constants that read like words for a person, outside docstrings and log calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))  # docstring
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SKIPPED_CALLS:
            skip.update(id(arg) for arg in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            text = node.value
            words = re.findall(r"[^\W\d_]{2,}", text)
            if re.search(r"[À-ỹ]", text) or (len(words) >= 3 and " " in text):
                found.append((node.lineno, text))
    return found


# Log lines are for operators; regular expressions read what people type.
SKIPPED_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "compile"}
# Words the bot reads (choices shown as language names, sample figures) are not translations.
ALLOWED = {"Tiếng Việt"}


# understand.py holds the words people type, not words the bot says.
HANDLERS = sorted(p for p in (ROOT / "handlers").glob("*.py") if p.name != "understand.py")


@pytest.mark.parametrize("path", HANDLERS, ids=lambda p: p.name)
def test_no_user_facing_literal_is_left_in_a_handler(path: Path) -> None:
    found = [(line, text) for line, text in _prose_literals(path) if text not in ALLOWED]
    assert found == [], f"move these to locales/messages.yaml: {found}"
