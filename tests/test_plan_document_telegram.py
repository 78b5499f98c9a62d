"""A new plan sent to the bot as its DOCX or PDF (issue 22), over the Telegram Bot API emulator
(real HTTP): the summary and doubts, the draft attached, "Xác nhận" under them imports it; "Hủy"
imports nothing; an officer's PDF that is no plan stays evidence."""
from __future__ import annotations

from pathlib import Path

import yaml

from bot.cli import import_plan_file
from models import store
from tests import plan_documents as docs
from tests.test_paperwork import NOW
from tests.test_telegram import (
    LAN,
    SMALL,
    Harness,
    tg,  # noqa: F401  (a fixture: the tests' argument of that name)
)

BOSS = 1004
OTHER = 1005


async def _plans(tg: Harness) -> list[str]:
    async with tg.app.unit_of_work() as session:
        return [p.code for p in await store.list_plans(session)]


async def _send(tg: Harness, user: int, name: str, content: bytes, caption: str | None = None) -> list[object]:
    before = len(tg.emu.sent)
    tg.emu.user_document(user, name, content, caption=caption)
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    return list(tg.emu.sent[before:])


async def test_an_admin_sends_the_plans_docx_and_confirms(tg: Harness, clock: object) -> None:
    clock.set(NOW)  # type: ignore[attr-defined]
    await tg.say(BOSS, f"/start {await tg.invite('admin')}")
    sent = await _send(tg, BOSS, "ke-hoach-2026.docx", docs.commune_docx())
    (summary,) = [r for r in sent if r.text and r.text.startswith("Đọc ke-hoach-2026.docx")]  # type: ignore[attr-defined]
    assert "6 chỉ tiêu" in summary.text and "số 12/KH-UBND" in summary.text  # type: ignore[attr-defined]
    assert "«các thôn» là một nhóm đơn vị" in summary.text  # type: ignore[attr-defined]
    (draft,) = [r for r in sent if r.method == "sendDocument"]  # type: ignore[attr-defined]
    assert draft.filename == "ke-hoach-2026.yaml"  # type: ignore[attr-defined]
    stored = tg.emu._files[draft.file_id]  # type: ignore[attr-defined]
    assert yaml.safe_load(bytes(stored.content).decode("utf-8"))["plan"]["document"] == "12/KH-UBND"
    buttons = [b for row in (summary.reply_markup or {}).get("inline_keyboard", []) for b in row]  # type: ignore[attr-defined]
    assert [b["text"] for b in buttons] == ["Xác nhận", "Hủy"]
    assert await _plans(tg) == ["T2025"]
    said = await tg.press(BOSS, summary.message_id, buttons[0]["callback_data"])  # type: ignore[attr-defined]
    assert any("Đã nhập kế hoạch ke-hoach-2026: 6 chỉ tiêu" in text for text in said)
    assert sorted(await _plans(tg)) == ["T2025", "ke-hoach-2026"]


async def test_the_tracking_office_sends_a_pdf_and_cancels(tg: Harness, clock: object) -> None:
    clock.set(NOW)  # type: ignore[attr-defined]
    await tg.say(LAN, f"/start {await tg.invite('officer', 'vhtt')}")  # vhtt tracks the test plan
    sent = await _send(tg, LAN, "ke-hoach-son-dong.pdf", docs.district_pdf())
    assert any((r.text or "").startswith("Đọc ke-hoach-son-dong.pdf") for r in sent)  # type: ignore[attr-defined]
    said = await tg.say(LAN, "Hủy")
    assert any("không nhập gì" in text for text in said)
    assert await _plans(tg) == ["T2025"]


async def test_a_bad_document_from_an_admin_is_one_line(tg: Harness, clock: object) -> None:
    clock.set(NOW)  # type: ignore[attr-defined]
    await tg.say(BOSS, f"/start {await tg.invite('admin')}")
    sent = await _send(tg, BOSS, "scan.pdf", docs.scan_pdf())
    texts = [r.text for r in sent if r.text]  # type: ignore[attr-defined]
    assert texts == ["scan.pdf: Tệp PDF là bản quét (ảnh, không có chữ); hãy gửi bản DOCX hoặc PDF có chữ. "
                     "Không nhập gì."]
    assert await _plans(tg) == ["T2025"]


async def test_an_officers_pdf_that_is_no_plan_stays_evidence(tg: Harness, clock: object) -> None:
    clock.set(NOW)  # type: ignore[attr-defined]
    await tg.say(OTHER, f"/start {await tg.invite('officer', 'an-sinh')}")
    sent = await _send(tg, OTHER, "ke-hoach.docx", docs.commune_docx())
    texts = [r.text or "" for r in sent]  # type: ignore[attr-defined]
    assert not any(text.startswith("Đọc ") for text in texts)  # not the tracking office: evidence
    assert await _plans(tg) == ["T2025"]


async def test_on_the_console_the_choices_are_numbered(app: object, clock: object, tmp_path: Path) -> None:
    """The console (as Zalo) shows "1. Xác nhận" and "2. Hủy"; "1" typed back imports the plan."""
    from bot.channels.console import ConsoleChannel, render
    from models import people

    clock.set(NOW)  # type: ignore[attr-defined]
    await import_plan_file(app, SMALL)  # type: ignore[arg-type]
    async with app.unit_of_work() as session:  # type: ignore[attr-defined]
        code = (await people.create_invite(session, role="admin", plan=None, unit=None,
                                           now=app.now())).code  # type: ignore[attr-defined]
    channel = ConsoleChannel(app.deps, write=lambda _text: None)  # type: ignore[attr-defined]
    await channel.send("Boss", f"/start {code}")
    path = tmp_path / "ke-hoach-2026.pdf"
    path.write_bytes(docs.district_pdf())
    replies = await channel.send("Boss", None, files=(path,))
    shown = "\n".join(render(reply) for reply in replies)
    assert "Đọc ke-hoach-2026.pdf" in shown and "  1. Xác nhận\n  2. Hủy" in shown
    assert "[document: ke-hoach-2026.yaml]" in shown
    done = await channel.send("Boss", "1")
    assert any("Đã nhập kế hoạch ke-hoach-2026: 4 chỉ tiêu" in reply.text for reply in done)
    async with app.unit_of_work() as session:  # type: ignore[attr-defined]
        assert sorted(p.code for p in await store.list_plans(session)) == ["T2025", "ke-hoach-2026"]
