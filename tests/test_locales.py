"""Both languages carry every message with the same placeholders, and the PO files that run are
the ones messages.yaml describes."""
from __future__ import annotations

import string

import pytest

from locales import LOCALES, catalog, translator
from locales.build import load_source, po_path, render


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_exists_in_every_language() -> None:
    ids = {locale: set(catalog(locale)) for locale in LOCALES}
    assert ids["vi"] == ids["en"]


@pytest.mark.parametrize("message_id", sorted(load_source()))
def test_both_languages_use_the_same_placeholders(message_id: str) -> None:
    texts = load_source()[message_id]
    assert set(texts) == set(LOCALES), f"{message_id} lacks a language"
    assert placeholders(texts["vi"]) == placeholders(texts["en"])


@pytest.mark.parametrize("locale", LOCALES)
def test_the_po_catalogues_are_built_from_messages_yaml(locale: str) -> None:
    assert po_path(locale).read_bytes() == render(locale, load_source()), "run: python -m locales.build"


def test_numbers_follow_the_language() -> None:
    assert translator("vi").percent(72.5) == "72,5%"
    assert translator("vi").number(1000) == "1.000"
    assert translator("en").percent(72.5) == "72.5%"
    assert translator("en").number(1000) == "1,000"


def test_an_unknown_language_falls_back_to_vietnamese() -> None:
    assert translator("fr").locale == "vi"
