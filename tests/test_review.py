"""The tracking office's review (issue 17), end to end through the Bot API emulator over loopback
HTTP: review lists, returning with a reason, the correction awaiting review again, approving,
evidence required before approval, the audit history; and `approve` / `history` on the command
line."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.app import App
from bot.channels.sender import Limits
from bot.channels.telegram import TelegramChannel
from bot.cli import import_plan_file
from models import review
from models.tables import Review
from tests.conftest import Clock
from tests.telegram_emulator import TelegramEmulator
from tests.test_cli import run
from tests.test_evidence import JPEG, Files
from tests.test_telegram import SMALL, TOKEN, USERNAME, Seconds

LAN, MINH, BOSS = 1001, 1002, 1003  # An Sinh's officer; the tracking office (Phòng VHTT); an admin


def plan_file(folder: Path, *, evidence: bool) -> Path:
    """The small test plan, its indicator 6 wanting evidence if asked."""
    data = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    if evidence:
        next(i for i in data["indicators"] if i["code"] == "6")["evidence"] = "required"
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Desk(Files):
    async def buttons(self) -> dict[str, str]:
        """The last message's buttons: label -> data."""
        markup = self.emu.sent[-1].reply_markup or {}
        return {row[0]["text"]: row[0]["callback_data"] for row in markup.get("inline_keyboard", [])}

    async def press_label(self, user: int, starts: str) -> list[str]:
        message = self.emu.sent[-1]
        data = next(d for label, d in (await self.buttons()).items() if label.startswith(starts))
        return await self.press(user, message.message_id, data)


async def desk(app: App, plan: Path) -> AsyncIterator[Desk]:
    await import_plan_file(app, plan)
    seconds = Seconds()
    async with TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds) as emu:
        bot = emu.make_bot()
        channel = TelegramChannel(app, bot, limits=Limits(), sleep=seconds.sleep, monotonic=seconds)
        await channel.start()
        harness = Desk(app, emu, channel)
        stop = asyncio.Event()
        harness.polling = asyncio.create_task(channel.poll(harness.stop_poll, timeout=1))
        sending = asyncio.create_task(channel.sender.run(stop))
        await emu.wait_for_call("getUpdates")
        try:
            await harness.say(LAN, f"/start {await harness.invite('officer', 'an-sinh')}")
            await harness.say(MINH, f"/start {await harness.invite('officer', 'vhtt')}")
            yield harness
        finally:
            stop.set()
            await harness.stop_polling()
            await sending
            await bot.session.close()


@pytest.fixture
async def tg(app: App, tmp_path: Path) -> AsyncIterator[Desk]:
    async for harness in desk(app, plan_file(tmp_path, evidence=False)):
        yield harness


@pytest.fixture
async def tg_evidence(app: App, tmp_path: Path) -> AsyncIterator[Desk]:
    async for harness in desk(app, plan_file(tmp_path, evidence=True)):
        yield harness


async def test_review_return_correction_and_approval(tg: Desk, clock: Clock) -> None:
    await tg.say(LAN, "6: 120/150")
    [refused] = await tg.say(LAN, "/duyet")
    assert "không thuộc cơ quan theo dõi" in refused  # an officer of another unit reviews nothing
    [overview] = await tg.say(MINH, "/duyet")
    assert "• 6 Hồ sơ xử lý trực tuyến toàn trình (tháng 3/2025): 1 / 0 / 0" in overview
    [listing] = await tg.press_label(MINH, "6 ·")
    assert "Xã An Sinh: 80% (120/150)" in listing and "chờ duyệt" in listing
    [asked] = await tg.press_label(MINH, "↩️ Trả lại Xã An Sinh")
    assert "xin gõ lý do" in asked
    before = len(tg.emu.sent)
    await tg.say(MINH, "thiếu minh chứng")
    to_officer = [s.text for s in tg.emu.sent[before:] if s.chat_id == LAN]
    to_reviewer = [s.text for s in tg.emu.sent[before:] if s.chat_id == MINH]
    assert "bị trả lại. Lý do: thiếu minh chứng" in to_officer[0]
    assert "Đã trả lại chỉ tiêu 6 của Xã An Sinh" in to_reviewer[0] and "đã trả lại" in to_reviewer[0]
    clock.set(clock() + timedelta(minutes=10))
    await tg.say(LAN, "sửa chỉ tiêu 6: 125/150")
    [again] = await tg.say(MINH, "/duyet 6")
    assert "83,33% (125/150)" in again and "chờ duyệt" in again  # the correction awaits review again
    [approved] = await tg.press_label(MINH, "✅ Duyệt tất cả")
    assert "Đã duyệt 1 số liệu chỉ tiêu 6" in approved and "✅ đã duyệt" in approved
    [status] = await tg.say(LAN, "/tinhhinh")  # the officer's unit: how its figures stand in review
    assert "Duyệt số liệu kỳ đang báo cáo: ✅ 1 đã duyệt · ⏳ 0 chờ duyệt · ↩️ 0 trả lại." in status
    [history] = await tg.say(MINH, "lịch sử chỉ tiêu 6 xã An Sinh")
    lines = history.splitlines()
    assert "Lịch sử chỉ tiêu 6 — Xã An Sinh" in lines[0]
    assert "phiên bản 1: 120/150" in lines[1] and "trả lại phiên bản 1: thiếu minh chứng" in lines[2]
    assert "phiên bản 2: 125/150" in lines[3] and "duyệt phiên bản 2" in lines[4]
    [own] = await tg.say(LAN, "lịch sử chỉ tiêu 6")  # an officer: their own unit
    assert own.count("phiên bản") == 4
    [other] = await tg.say(LAN, "lịch sử chỉ tiêu 6 Phường Mạo Khê")
    assert "chỉ xem được lịch sử" in other


async def test_evidence_is_required_before_approval(tg_evidence: Desk) -> None:
    tg = tg_evidence
    [stored] = await tg.say(LAN, "6: 120/150")
    assert "cần tài liệu minh chứng" in stored
    await tg.say(MINH, "/duyet 6")
    [blocked] = await tg.press_label(MINH, "✅ Duyệt Xã An Sinh")
    assert "Đã duyệt 0 số liệu" in blocked and "chưa có minh chứng" in blocked
    [kept] = await tg.photo(JPEG)  # right after the figure: proves it
    assert "cho chỉ tiêu 6" in kept
    await tg.say(MINH, "/duyet 6")
    [approved] = await tg.press_label(MINH, "✅ Duyệt Xã An Sinh")
    assert "Đã duyệt 1 số liệu" in approved and "minh chứng: 1" in approved


async def test_a_stray_review_button_is_refused(tg: Desk) -> None:
    await tg.say(LAN, "6: 120/150")
    await tg.say(MINH, "/duyet 6")
    data = (await tg.buttons())["✅ Duyệt tất cả (1)"]
    last_to_lan = max(s.message_id for s in tg.emu.sent if s.chat_id == LAN)
    before = len(tg.emu.sent)
    tg.emu.press_button(LAN, last_to_lan, data, check=False)  # forged data, from another officer
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    [refused] = [s.text or "" for s in tg.emu.sent[before:]]
    assert "không thuộc cơ quan theo dõi" in refused
    async with tg.app.unit_of_work() as session:
        from sqlalchemy import func, select
        assert await session.scalar(select(func.count()).select_from(Review)) == 0


def test_tracking_units_come_from_the_plan() -> None:
    from types import SimpleNamespace as N

    units = {1: N(id=1, code="vhtt", name="Phòng Văn hóa và Thông tin", aliases=["Phòng VHTT"]),
             2: N(id=2, code="vp", name="Văn phòng HĐND và UBND thành phố", aliases=[])}
    view = N(units=units, plan=N(tracking_unit_code="vhtt"))
    assert review.tracking_units(view, N(tracking="Phòng VHTT theo dõi")) == {1}  # type: ignore[arg-type]
    assert review.tracking_units(view, N(tracking="Văn phòng HĐND và UBND thành phố")) == {2}  # type: ignore[arg-type]
    assert review.tracking_units(view, N(tracking=None)) == {1}  # type: ignore[arg-type]  # the plan's


def test_approve_and_history_on_the_command_line(tmp_path: Path) -> None:
    assert run("import-plan", str(SMALL), cwd=tmp_path).returncode == 0
    code = json.loads(run("invite", "--plan", "T2025", "--role", "officer", "--unit", "an-sinh", "--json",
                          cwd=tmp_path).stdout)["code"]
    console = subprocess_console(tmp_path, f"/start {code}\n6: 120/150\n")
    assert "Đã ghi chỉ tiêu 6" in console
    period = "2025-" + console.split("(tháng ")[1].split("/")[0].zfill(2)
    done = run("approve", "--plan", "T2025", "--period", period, "--indicator", "6", "--json", cwd=tmp_path)
    assert json.loads(done.stdout) == {"approved": ["an-sinh"], "no_evidence": [], "already": 0}
    again = run("approve", "--plan", "T2025", "--period", period, "--indicator", "6", "--unit", "an-sinh",
                cwd=tmp_path)
    assert "Đã duyệt 0 số liệu (1 số liệu đã duyệt từ trước)" in again.stdout
    shown = json.loads(run("history", "--plan", "T2025", "--unit", "an-sinh", "--indicator", "6", "--json",
                           cwd=tmp_path).stdout)
    assert [(e["kind"], e["version"], e["channel"]) for e in shown] == [("version", 1, "console"),
                                                                       ("approved", 1, "cli")]
    wrong = run("approve", "--plan", "T2025", "--period", period, "--indicator", "77", cwd=tmp_path)
    assert wrong.returncode != 0 and "Không có chỉ tiêu «77»" in wrong.stderr and "Traceback" not in wrong.stderr


def subprocess_console(cwd: Path, script: str) -> str:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.run([sys.executable, "-m", "bot", "console", "--user", "Lan"], input=script,
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120).stdout


async def test_closing_a_period_then_a_refused_and_a_granted_change_request(tg: Desk) -> None:
    await tg.say(LAN, "6: 120/150")
    [refused] = await tg.say(LAN, "/khoaso 6")
    assert "không thuộc cơ quan theo dõi" in refused  # officers of other units cannot close
    [closed] = await tg.say(MINH, "/khoaso 6")
    assert "Đã khóa sổ tháng 3/2025: chỉ tiêu 6" in closed
    asked = await tg.say(LAN, "sửa chỉ tiêu 6: 125/150")
    assert "đã khóa sổ, số liệu chưa được ghi" in asked[0]
    before = len(tg.emu.sent)
    await tg.say(LAN, "nhập nhầm số hồ sơ")
    [request] = [s for s in tg.emu.sent[before:] if s.chat_id == MINH]
    assert "Xã An Sinh đề nghị sửa chỉ tiêu 6" in request.text and "Lý do: nhập nhầm số hồ sơ" in request.text
    before = len(tg.emu.sent)
    tg.emu.press_button(MINH, request.message_id, request.reply_markup["inline_keyboard"][1][0]["callback_data"])
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    told = [s.text for s in tg.emu.sent[before:] if s.chat_id == LAN]
    assert "không được đồng ý; số liệu cũ giữ nguyên" in told[0]

    await tg.say(LAN, "sửa chỉ tiêu 6: 130/150")
    before = len(tg.emu.sent)
    await tg.say(LAN, "bổ sung hồ sơ cuối tháng")
    [request] = [s for s in tg.emu.sent[before:] if s.chat_id == MINH]
    before = len(tg.emu.sent)
    tg.emu.press_button(MINH, request.message_id, request.reply_markup["inline_keyboard"][0][0]["callback_data"])
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    told = [s.text for s in tg.emu.sent[before:] if s.chat_id == LAN]
    assert "được đồng ý: đã ghi 86,67% (130/150)" in told[0]
    [history] = await tg.say(MINH, "lịch sử chỉ tiêu 6 xã An Sinh")
    assert "phiên bản 2: 130/150 (bổ sung hồ sơ cuối tháng)" in history
    [reopened] = await tg.say(MINH, "/mokhoa 6")
    assert "Đã mở lại tháng 3/2025" in reopened
    [stored] = await tg.say(LAN, "sửa chỉ tiêu 6: 131/150")
    assert "Đã ghi" in stored or "→" in stored


async def test_leaders_see_histories_but_neither_review_nor_close_and_admins_do_both(tg: Desk) -> None:
    await tg.say(LAN, "6: 120/150")
    await tg.say(BOSS, f"/start {await tg.invite('leader')}")
    [no_review] = await tg.say(BOSS, "/duyet 6")
    [no_close] = await tg.say(BOSS, "/khoaso 6")
    assert "không thuộc cơ quan theo dõi" in no_review and "không thuộc cơ quan theo dõi" in no_close
    [seen] = await tg.say(BOSS, "lịch sử chỉ tiêu 6 xã An Sinh")
    assert "phiên bản 1: 120/150" in seen
    admin = 1004
    await tg.say(admin, f"/start {await tg.invite('admin')}")
    await tg.say(admin, "/duyet 6")
    [approved] = await tg.press_label(admin, "✅ Duyệt Xã An Sinh")
    assert "Đã duyệt 1 số liệu" in approved
    [closed] = await tg.say(admin, "/khoaso 6")
    assert "Đã khóa sổ" in closed
    # /xuat: the spreadsheet admins get carries the review sheet too.
    from io import BytesIO

    from openpyxl import load_workbook

    await tg.say(admin, "/xuat 2025-03")
    [document] = [s for s in tg.emu.sent if s.chat_id == admin and s.method == "sendDocument"]
    stored = next(f for f in tg.emu._files.values() if f.file_id == document.file_id)
    sheet = load_workbook(BytesIO(stored.content or b""), read_only=True)["Duyệt và minh chứng"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Mã đơn vị" and list(rows[1])[:3] == ["an-sinh", "Xã An Sinh", "6"]


def test_the_export_carries_review_states_and_evidence_file_names(tmp_path: Path) -> None:
    from openpyxl import load_workbook

    assert run("import-plan", str(SMALL), cwd=tmp_path).returncode == 0
    code = json.loads(run("invite", "--plan", "T2025", "--role", "officer", "--unit", "an-sinh", "--json",
                          cwd=tmp_path).stdout)["code"]
    console = subprocess_console(tmp_path, f"/start {code}\n6: 120/150\n")
    period = "2025-" + console.split("(tháng ")[1].split("/")[0].zfill(2)
    assert run("approve", "--plan", "T2025", "--period", period, "--indicator", "6", cwd=tmp_path).returncode == 0
    out = tmp_path / "out.xlsx"
    done = run("export", "--plan", "T2025", "--period", period, "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sheet = load_workbook(out, read_only=True)["Duyệt và minh chứng"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:6] == ["Mã đơn vị", "Đơn vị", "Chỉ tiêu", "Kỳ", "Số liệu", "Trạng thái duyệt"]
    assert rows[1][:6] == ["an-sinh", "Xã An Sinh", "6", period, "120/150", "✅ đã duyệt"]
