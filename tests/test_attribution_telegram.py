"""Issue 12 items 3 and 6 and issue 10's lists, through the real aiogram bot and the Bot API
emulator: text that is not a figure is never stored, not even during a guided step; a huge number
is refused as typed; a unit named in a report must be the officer's own."""
from __future__ import annotations

from sqlalchemy import select

from models.tables import IndicatorPart, Submission
from tests.test_telegram import LAN, Harness, tg  # noqa: F401  (tg is the fixture)


async def stored(h: Harness) -> list[tuple[str, str]]:
    async with h.app.unit_of_work() as session:
        rows = await session.execute(select(IndicatorPart.code, Submission.period)
                                     .join(Submission, Submission.part_id == IndicatorPart.id)
                                     .order_by(Submission.id))
        return [(code, period) for code, period in rows]


async def test_garbage_huge_numbers_and_other_units_are_never_stored(tg: Harness) -> None:  # noqa: F811
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    [huge] = await tg.say(LAN, "6: 99999999999999999999999999")
    assert "quá lớn" in huge
    [injected] = await tg.say(LAN, '6: " OR 1=1 --')
    assert "Chỉ tiêu 6: không đọc được số liệu" in injected
    [other] = await tg.say(LAN, "Phường Mạo Khê 6: 81%")
    assert "Phường Mạo Khê" in other and "chưa ghi" in other
    assert await stored(tg) == []

    before = len(tg.emu.sent)
    await tg.say(LAN, "/baocao")
    listing = tg.emu.sent[before]
    pick = next(row[0]["callback_data"] for row in listing.reply_markup["inline_keyboard"] if " 9b " in row[0]["text"])
    [asked] = await tg.press(LAN, listing.message_id, pick)
    assert "9b" in asked
    [refused] = await tg.say(LAN, "6: ~~")  # during the guided step for 9b: neither 6 nor 9b
    assert "Chỉ tiêu 6: không đọc được số liệu" in refused
    assert await stored(tg) == []

    [both] = await tg.say(LAN, "CT 6, 9: 100%")
    assert "chỉ tiêu 6 (tháng 3/2025)" in both and "chỉ tiêu 9b (tháng 3/2025)" in both
    assert await stored(tg) == [("6", "2025-03"), ("9b", "2025-03")]
