"""Write the gettext catalogues from locales/messages*.yaml: `python -m locales.build`.

messages.yaml keeps both languages of each message side by side, which is how a missing or
drifting translation gets noticed while writing; the PO files are what runs and what translation
tools (Poedit, Weblate) open. tests/test_locales.py fails when they are out of step.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from locales import LOCALES

HERE = Path(__file__).parent
# messages.yaml, plus messages-<topic>.yaml files, merged; an id may appear in only one of them.
SOURCES = "messages*.yaml"


# A fixed comment instead of Babel's template, whose copyright line carries the current year.
HEADER_COMMENT = "# {language} messages of dtbot, written by `python -m locales.build` from messages*.yaml.\n#"
# Header fields that say when or with which tool the file was written, not what it holds: left out,
# so a rebuild without changes, on any day and with any Babel release, writes the same bytes.
VOLATILE_HEADER_FIELDS = (b'"POT-Creation-Date', b'"PO-Revision-Date', b'"Generated-By')


def render(locale: str, messages: dict[str, dict[str, str]]) -> bytes:
    catalog = Catalog(locale=locale, project="dtbot", charset="utf-8",
                      header_comment=HEADER_COMMENT.format(language=locale))
    for message_id, texts in messages.items():
        catalog.add(message_id, texts[locale])
    buffer = io.BytesIO()
    write_po(buffer, catalog, omit_header=False, sort_output=False, width=0)
    lines = [line for line in buffer.getvalue().split(b"\n") if not line.startswith(VOLATILE_HEADER_FIELDS)]
    return b"\n".join(lines)


def load_source() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(HERE.glob(SOURCES)):
        with path.open(encoding="utf-8") as handle:
            messages = yaml.safe_load(handle) or {}
        twice = set(merged) & set(messages)
        if twice:
            raise ValueError(f"{path.name} repeats message ids: {', '.join(sorted(twice))}")
        merged.update(messages)
    return merged


def po_path(locale: str) -> Path:
    return HERE / locale / "LC_MESSAGES" / "messages.po"


def main() -> int:
    messages = load_source()
    for locale in LOCALES:
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(render(locale, messages))
    print(f"wrote {len(messages)} messages for {', '.join(LOCALES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
