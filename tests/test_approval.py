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


async def _store(tg: Desk, unit: str, code: str, period: str, figure: object) -> None:
    """A figure stored as if sent earlier (the period before, for the change and the flags)."""
    from models import store
    from models.submissions import store_figure

    async with tg.app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        view = await store.load_plan_view(session, plan.id)
        unit_id = next(u.id for u in view.units.values() if u.code == unit)
        part_id = next(pv.part.id for pv in view.parts.values() if pv.code == code)
        await store_figure(session, plan_id=plan.id, part_id=part_id, unit_id=unit_id, period=period,
                           figure=figure, person_id=None, channel="cli", now=tg.app.now())


async def test_the_review_list_flags_figures_out_of_line_with_a_reason(tg: Desk) -> None:
    from decimal import Decimal

    from models.targets import Figure

    await _store(tg, "an-sinh", "6", "2025-02", Figure(numerator=Decimal(10), denominator=Decimal(150)))
    [asked] = await tg.say(LAN, "6: 120/150")  # 80% after 6,67%: twelve times
    assert "Có đúng không?" in asked
    await tg.say(LAN, "có")  # confirmed: it stands, and the tracking office sees it flagged
    # The chat refuses a numerator over its denominator; one can still come from elsewhere (a file).
    await _store(tg, "vhtt", "6", "2025-03", Figure(numerator=Decimal(160), denominator=Decimal(100)))
    [listing] = await tg.say(MINH, "/duyet 6")
    lines = listing.splitlines()
    an_sinh = next(n for n, line in enumerate(lines) if "Xã An Sinh: 80% (120/150)" in line)
    assert "(kỳ trước: 6,67% (10/150))" in lines[an_sinh]
    assert lines[an_sinh + 1] == "   ⚠️ Cần xem lại: gấp 12 lần kỳ trước (6,67%)"
    vhtt = next(n for n, line in enumerate(lines) if "Phòng Văn hóa và Thông tin: " in line)
    assert lines[vhtt + 1] == "   ⚠️ Cần xem lại: tử số lớn hơn mẫu số"
    assert sum("⚠️" in line for line in lines) == 2
