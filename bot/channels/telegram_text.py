"""Telegram's rules for a message's text: at most 4,096 UTF-16 code units (an emoji such as 🔴
counts two), which is how Telegram counts, not Python."""
from __future__ import annotations

from collections.abc import Iterator

MAX_TEXT = 4096


def units(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` units, cut between sections (at a blank line) where possible, else
    at a line end, else inside a line that is longer than a message."""
    if units(text) <= limit:
        return [text]
    pieces: list[str] = []
    lines: list[str] = []
    size = 0  # units of "\n".join(lines)
    for line in text.split("\n"):
        for chunk in _cut(line, limit):
            width = units(chunk)
            while lines and size + 1 + width > limit:
                keep = _section_end(lines)
                pieces.append("\n".join(lines[:keep]))
                lines = lines[keep:]
                while lines and not lines[0].strip():
                    lines.pop(0)  # a piece does not start with the blank line that ended the last
                size = units("\n".join(lines))
            size = size + 1 + width if lines else width
            lines.append(chunk)
    if lines:
        pieces.append("\n".join(lines))
    return [piece.rstrip("\n") for piece in pieces if piece.strip()] or [text[:limit]]


def _section_end(lines: list[str]) -> int:
    """Where the current piece should end: after its last complete section, or all of it."""
    for index in range(len(lines) - 1, 0, -1):
        if not lines[index].strip() and any(line.strip() for line in lines[:index]):
            return index
    return len(lines)


def _cut(line: str, limit: int) -> Iterator[str]:
    """A line in chunks of at most `limit` units, never splitting a character."""
    if units(line) <= limit:
        yield line
        return
    chunk, width = [], 0
    for char in line:
        size = 2 if ord(char) > 0xFFFF else 1
        if width + size > limit:
            yield "".join(chunk)
            chunk, width = [], 0
        chunk.append(char)
        width += size
    if chunk:
        yield "".join(chunk)
