"""Issue 17's leftovers, end to end through the Bot API emulator over loopback HTTP: the summary
separates approved figures from those awaiting review or returned (per indicator and in total),
a leader asks for the summary of approved figures only ("/tonghop duyet", "tổng hợp số đã
duyệt"), and a corrected figure leaves that summary until it is approved again."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import App
from tests.conftest import Clock
from tests.test_review import LAN, MINH, Desk, desk, plan_file

BOSS = 1003


@pytest.fixture
async def tg(app: App, tmp_path: Path) -> AsyncIterator[Desk]:
    async for harness in desk(app, plan_file(tmp_path, evidence=False)):
        yield harness


def _section(text: str, code: str) -> list[str]:
    """The lines of one indicator in the summary's text."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if f" {code} · " in line)
    end = next((n for n in range(start + 1, len(lines)) if not lines[n].startswith("   ")), len(lines))
    return lines[start:end]


async def test_the_summary_separates_approved_from_pending_and_asks_for_approved_only(tg: Desk,
                                                                                       clock: Clock) -> None:
    await tg.say(LAN, "6: 120/150")
    await tg.say(MINH, "6: 50/100")
    await tg.say(BOSS, f"/start {await tg.invite('leader')}")
    await tg.say(MINH, "/duyet 6")
    [approved] = await tg.press_label(MINH, "✅ Duyệt Xã An Sinh")
    assert "Đã duyệt 1 số liệu" in approved

    [summary, *_] = await tg.say(BOSS, "/tonghop 2025-03")
    assert summary.startswith("📊 Tổng hợp chuyển đổi số — tháng 3/2025")
    six = _section(summary, "6")
    assert "   Duyệt: ✅ 1 đã duyệt · ⏳ 1 chờ duyệt · ↩️ 0 trả lại" in six
    assert "Duyệt: ✅ 1 đã duyệt · ⏳ 1 chờ duyệt · ↩️ 0 trả lại" in summary.split("\n\n")[1]  # in total
    assert "2/" in six[2]  # both figures count in the ordinary summary

    clock.set(clock() + timedelta(minutes=5))
    [only, *_] = await tg.say(BOSS, "/tonghop duyet 2025-03")
    assert only.startswith("📊 Tổng hợp chuyển đổi số (chỉ số đã duyệt) — tháng 3/2025")
    assert "Chỉ tính số liệu đã được cơ quan theo dõi duyệt" in only
    six = _section(only, "6")
    assert "80%" in six[1] and "1/" in six[2]  # An Sinh's 120/150 alone
    assert not any("chờ duyệt" in line for line in six)
    assert "Đơn vị cần đôn đốc" not in only  # figures awaiting review are not missing: no chasing here

    # A correction awaits review again: out of the approved summary until approved.
    clock.set(clock() + timedelta(minutes=5))
    await tg.say(LAN, "sửa chỉ tiêu 6: 130/150")
    [after, *_] = await tg.say(BOSS, "tổng hợp số đã duyệt tháng 3")
    assert "(chỉ số đã duyệt)" in after
    six = _section(after, "6")
    assert "chưa có số liệu" in six[1] and "0/4 đơn vị có số" in six[2]

    clock.set(clock() + timedelta(minutes=5))
    await tg.say(BOSS, "/language en")
    [summary_en, *_] = await tg.say(BOSS, "summary approved March")
    assert "approved figures only" in summary_en
