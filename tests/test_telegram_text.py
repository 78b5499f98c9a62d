"""Telegram's message length rule, counted as Telegram counts (UTF-16 code units)."""
from __future__ import annotations

from hypothesis import given, strategies as st

from bot.channels.telegram_text import split_text, units

lines = st.lists(st.sampled_from(["", "Chỉ tiêu 6: 80%", "🔴 chưa đạt", "x" * 70, "ữ" * 33, "🔴" * 40]), max_size=80)


@given(lines=lines, limit=st.integers(min_value=4, max_value=400))
def test_pieces_fit_and_lose_nothing(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    pieces = split_text(text, limit)
    assert all(units(piece) <= limit for piece in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def test_sections_are_kept_whole_and_emoji_count_two() -> None:
    first = "\n".join([f"🔴 Chỉ tiêu {n}" for n in range(5)])
    second = "\n".join([f"🟢 Chỉ tiêu {n}" for n in range(5, 10)])
    text = f"{first}\n\n{second}"
    assert units("🔴") == 2 and units(first) == len(first) + 5
    assert split_text(text, units(first) + 20) == [first, second]  # cut between sections, not inside one
    assert split_text("y" * 9000) == ["y" * 4096, "y" * 4096, "y" * 808]
    assert split_text("🔴" * 2049) == ["🔴" * 2048, "🔴"]  # never half a character
