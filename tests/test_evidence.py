"""Evidence files (issue 17), end to end: the real aiogram bot through the Bot API emulator over
loopback HTTP, files fetched with getFile and the download path, kept in the file store."""
from __future__ import annotations

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.channels.sender import Limits
from bot.channels.telegram import TelegramChannel
from bot.cli import import_plan_file
from bot.config import load_settings
from handlers.events import Event, IncomingFile
from models.file_store import LocalFileStore, sha256
from models.kinds import ChatKind
from models.tables import Evidence, EvidenceFile
from tests.conftest import Clock
from tests.telegram_emulator import TelegramEmulator
from tests.test_telegram import SMALL, TOKEN, USERNAME, Harness, Seconds

LAN = 1001
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def office(main: str, *, macro: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main, "<x/>")
        if macro:
            archive.writestr("xl/vbaProject.bin", b"\x00")
    return buffer.getvalue()


class Files(Harness):
    async def photo(self, content: bytes, caption: str | None = None) -> list[str]:
        before = len(self.emu.sent)
        self.emu.user_photo(LAN, content, caption)
        await self.emu.wait_until_updates_consumed()
        await self.channel.settle()
        return [r.text or "" for r in self.emu.sent[before:]]

    async def document(self, name: str, content: bytes, caption: str | None = None) -> list[str]:
        before = len(self.emu.sent)
        self.emu.user_document(LAN, name, content, caption)
        await self.emu.wait_until_updates_consumed()
        await self.channel.settle()
        return [r.text or "" for r in self.emu.sent[before:]]

    async def kept(self) -> list[tuple[str, str, str, str]]:
        """(unit code, part code, period, name) of every evidence row, oldest first."""
        async with self.app.unit_of_work() as session:
            rows = (await session.scalars(select(Evidence).order_by(Evidence.id))).all()
            view = {}
            from models.store import load_plan_view  # the plan's codes, as handlers see them
            out = []
            for row in rows:
                if row.plan_id not in view:
                    view[row.plan_id] = await load_plan_view(session, row.plan_id)
                plan = view[row.plan_id]
                out.append((plan.units[row.unit_id].code, plan.parts[row.part_id].code, row.period, row.name))
            return out


@pytest.fixture
async def tg(app: App) -> AsyncIterator[Files]:
    await import_plan_file(app, SMALL)
    seconds = Seconds()
    async with TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds) as emu:
        bot = emu.make_bot()
        channel = TelegramChannel(app, bot, limits=Limits(), sleep=seconds.sleep, monotonic=seconds)
        await channel.start()
        harness = Files(app, emu, channel)
        stop = asyncio.Event()
        harness.polling = asyncio.create_task(channel.poll(harness.stop_poll, timeout=1))
        sending = asyncio.create_task(channel.sender.run(stop))
        await emu.wait_for_call("getUpdates")
        try:
            yield harness
        finally:
            stop.set()
            await harness.stop_polling()
            await sending
            await bot.session.close()


async def registered(tg: Files) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")


async def test_a_photo_alone_is_asked_about_and_attached_by_button(tg: Files, clock: Clock) -> None:
    await registered(tg)
    [asked] = await tg.photo(JPEG)
    assert "Ảnh này là minh chứng cho chỉ tiêu nào?" in asked
    question = tg.emu.sent[-1]
    rows = question.reply_markup["inline_keyboard"]
    assert [row[0]["text"].split(" ·")[0] for row in rows] == ["6", "9b"]
    [done] = await tg.press(LAN, question.message_id, rows[0][0]["callback_data"])
    assert "Đã lưu minh chứng" in done and "chỉ tiêu 6 (tháng 3/2025)" in done
    assert "Chưa có số liệu kỳ này" in done
    assert await tg.kept() == [("an-sinh", "6", "2025-03", "photo-17-03-2025.jpg")]
    # The bytes are in the file store, under their SHA-256, and the same photo is kept once.
    store = LocalFileStore(tg.app.settings.file_store_dir)
    assert await store.get(sha256(JPEG)) == JPEG
    [again] = await tg.photo(JPEG, caption="9")
    assert "chỉ tiêu 9b" in again
    async with tg.app.unit_of_work() as session:
        assert len((await session.scalars(select(EvidenceFile))).all()) == 1


async def test_a_caption_names_the_indicator_and_a_file_after_a_figure_proves_it(tg: Files, clock: Clock) -> None:
    await registered(tg)
    [done] = await tg.photo(JPEG, caption="minh chứng ct 6")
    assert "chỉ tiêu 6 (tháng 3/2025)" in done
    [stored] = await tg.say(LAN, "9: 80%")
    assert "Đã ghi" in stored
    clock.set(clock() + timedelta(minutes=5))
    [after] = await tg.document("bao-cao.pdf", PDF)
    assert "Đã lưu minh chứng bao-cao.pdf cho chỉ tiêu 9b (tháng 3/2025)" in after
    assert "Chưa có số liệu" not in after
    # A caption that is a figure stores it, then the file proves it.
    stored_figure, proved = await tg.photo(JPEG + b"x", caption="6: 120/150")
    assert "Đã ghi chỉ tiêu 6" in stored_figure and "cho chỉ tiêu 6 (tháng 3/2025)" in proved
    assert [k[1] for k in await tg.kept()] == ["6", "9b", "6"]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("bao-cao.pdf", b"MZ\x90\x00" + bytes(300), "là chương trình hoặc tập lệnh"),
    ("so-lieu.xlsm", office("xl/workbook.xml", macro=True), "có chứa macro"),
    ("anh.png", b"just some text, not an image", "không nhận loại tệp"),
    ("lon.pdf", b"%PDF-1.4\n" + bytes(20 * 1024 * 1024), "lớn hơn 20 MB"),
])
async def test_files_refused_with_a_clear_reason(tg: Files, name: str, content: bytes, reason: str) -> None:
    await registered(tg)
    [refused] = await tg.document(name, content, caption="6")
    assert reason in refused and name in refused
    assert await tg.kept() == []


async def test_office_files_are_told_apart_by_content(tg: Files) -> None:
    await registered(tg)
    [xlsx] = await tg.document("bieu-mau.xlsx", office("xl/workbook.xml"), caption="6")
    [docx] = await tg.document("bao-cao.docx", office("word/document.xml"), caption="6")
    assert "Đã lưu minh chứng bieu-mau.xlsx" in xlsx and "Đã lưu minh chứng bao-cao.docx" in docx
    async with tg.app.unit_of_work() as session:
        types = sorted(f.content_type for f in await session.scalars(select(EvidenceFile)))
    assert types[0].endswith("spreadsheetml.sheet") and types[1].endswith("wordprocessingml.document")


async def test_a_typed_number_picks_the_indicator_and_strangers_are_not_served(tg: Files) -> None:
    [stranger] = await tg.photo(JPEG)
    assert "/start" in stranger  # not registered: how to begin, nothing fetched or kept
    assert not tg.emu.calls_of("getFile")
    await registered(tg)
    await tg.photo(JPEG)
    [done] = await tg.say(LAN, "2")
    assert "cho chỉ tiêu 9b" in done


def test_an_event_with_files_survives_the_intake_journal() -> None:
    event = Event(channel="telegram", chat_id="1", chat_kind=ChatKind.PRIVATE, sender_id="1", sender_name="An",
                  text="6", files=(IncomingFile("document", "ref-1", "a.pdf", "application/pdf", 12),))
    assert Event.from_payload(event.to_payload()) == event
    assert Event.from_payload({**event.to_payload(), "files": None}).files == ()  # journaled before files


async def test_files_survive_a_restart_and_a_backup_restore_round_trip(app: App, clock: Clock, tmp_path: Path,
                                                                        database_url: str) -> None:
    from bot.backup import backup, restore
    from bot.channels.console import ConsoleChannel
    from models import people, store

    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
        code = (await people.create_invite(session, role="officer", plan=plan, unit=unit, now=clock())).code
    console = ConsoleChannel(app.deps, write=lambda _: None)
    await console.send("Lan", f"/start {code}")
    scan = tmp_path / "bien-ban.pdf"
    scan.write_bytes(PDF)
    [reply] = await console.send("Lan", "minh chứng 6", files=(scan,))
    assert "Đã lưu minh chứng bien-ban.pdf cho chỉ tiêu 6" in reply.text

    # A restart: a new application on the same settings finds the bytes under the row's hash.
    again = build_app(app.settings, clock=clock)
    try:
        async with again.unit_of_work() as session:
            kept = (await session.scalars(select(EvidenceFile))).one()
        assert again.deps.file_store is not None and await again.deps.file_store.get(kept.sha256) == PDF
    finally:
        await again.close()

    # A backup carries the files beside it; a restore elsewhere puts them back.
    out = tmp_path / "bot.backup"
    await backup(database_url, out, app.t, app.deps.file_store)
    assert (tmp_path / "bot.backup.files.zip").is_file()
    target_url = f"sqlite+aiosqlite:///{tmp_path}/restored/bot.db"
    (tmp_path / "restored").mkdir()
    elsewhere = LocalFileStore(tmp_path / "restored-files")
    await restore(out, target_url, app.t, files=elsewhere)
    assert await elsewhere.get(sha256(PDF)) == PDF
    restored = build_app(load_settings(DATABASE_URL=target_url, FILE_STORE_DIR=str(tmp_path / "restored-files")),
                         clock=clock)
    try:
        async with restored.unit_of_work() as session:
            [row] = (await session.scalars(select(Evidence))).all()
            assert row.name == "bien-ban.pdf"
    finally:
        await restored.close()
