"""The form and the official report over the Telegram Bot API emulator (real HTTP): /bieumau's
document downloaded as the officer would, filled with openpyxl, sent back to the bot as a
document (read by handlers/files.py's one way in for files), confirmed by the "có", stored with
channel "xlsx"; /baocaovanban sends the leader the Word file."""
from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import docx
from openpyxl import load_workbook

from handlers.paperwork import MARK_SHEET
from tests.test_paperwork import NOW, current
from tests.test_telegram import (
    LAN,
    Harness,
    tg,  # noqa: F401  (a fixture: the tests' argument of that name)
)

BOSS = 1003


def content_of(tg: Harness, record: object) -> bytes:
    stored = tg.emu._files[record.file_id]  # type: ignore[attr-defined]
    assert stored.content is not None
    return bytes(stored.content)


async def test_the_form_round_trip_through_telegram(tg: Harness, clock: object) -> None:
    clock.set(NOW)  # type: ignore[attr-defined]
    await tg.say(LAN, f"/start {await tg.invite('officer', 'vhtt')}")
    before = len(tg.emu.sent)
    await tg.say(LAN, "gửi biểu mẫu")
    (record,) = [r for r in tg.emu.sent[before:] if r.method == "sendDocument"]
    assert record.filename == "bieu-mau-T2025-vhtt-2025-03.xlsx"
    assert "Phòng Văn hóa và Thông tin" in (record.caption or "")
    book = load_workbook(BytesIO(content_of(tg, record)))
    rows = {str(code): int(row) for row, code, _ in book[MARK_SHEET].iter_rows(min_row=2, values_only=True)}
    form = book.worksheets[0]
    form.cell(rows["6"], 7).value = "72,5%"
    form.cell(rows["15"], 7).value = 3
    book.save(buffer := BytesIO())

    before = len(tg.emu.sent)
    tg.emu.user_document(LAN, "bieu-mau.xlsx", buffer.getvalue())  # sent back as a document
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    (preview,) = [r for r in tg.emu.sent[before:] if r.text and "2 số liệu: 2 mới" in r.text]
    buttons = [b for row in (preview.reply_markup or {}).get("inline_keyboard", []) for b in row]
    assert len(buttons) == 2  # yes / no under the preview
    answer = await tg.say(LAN, "có")
    assert any("72,5%" in text for text in answer)
    stored = await current(tg.app, "vhtt")
    assert {code: (row.value, row.channel) for code, row in stored.items()} == {
        "6": (Decimal("72.5"), "xlsx"), "15": (Decimal("3"), "xlsx")}


async def test_the_official_report_through_telegram(tg: Harness, clock: object) -> None:
    clock.set(NOW)  # type: ignore[attr-defined]
    await tg.say(BOSS, f"/start {await tg.invite('leader')}")
    before = len(tg.emu.sent)
    await tg.say(BOSS, "/baocaovanban tháng 2")
    documents = [r for r in tg.emu.sent[before:] if r.method == "sendDocument"]
    assert documents and documents[0].filename == "bao-cao-T2025-2025-02.docx"
    lines = [p.text for p in docx.Document(BytesIO(content_of(tg, documents[0]))).paragraphs]
    assert "BÁO CÁO" in lines and any(line.endswith("tháng 2/2025") for line in lines)
