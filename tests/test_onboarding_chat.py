"""Onboarding from the chat (issue 16), end to end through the Bot API emulator: /moi for one unit
and for all, who is on board (/canbo and the questions in words), and who may ask."""
from __future__ import annotations

import re

from tests.test_onboarding import read_cards
from tests.test_telegram import LAN, MINH, USERNAME, Harness, tg  # noqa: F401  (the fixture)

BOSS = 1003
VHTT = 1004
LEADER = 1005


async def registered(harness: Harness, user: int, role: str, unit: str | None = None) -> None:
    code = await harness.invite(role, unit)
    await harness.say(user, f"/start {code}")


async def test_an_admin_invites_one_unit_and_the_invited_officer_registers_with_the_forwarded_link(
        tg: Harness) -> None:  # noqa: F811
    await registered(tg, BOSS, "admin")
    made, forward = await tg.say(BOSS, "/moi an sinh")
    code = re.search(r"Xã An Sinh: ([A-Z0-9]{8})", made)[1]
    assert "dùng một lần" in made and "Chuyển tiếp tin nhắn dưới đây" in made
    assert f"https://t.me/{USERNAME}?start={code}" in forward and "cán bộ đầu mối" in forward
    [welcome, *_] = await tg.say(LAN, f"/start {code}")
    assert "Xã An Sinh" in welcome
    # A second invite for a unit with an officer says it hands over.
    made, hands_over, _ = await tg.say(BOSS, "/moi Xã An Sinh")
    assert "nhận bàn giao" in hands_over and "Xã An Sinh" in hands_over
    [unknown] = await tg.say(BOSS, "/moi Sao Hỏa")
    assert "Không tìm thấy đơn vị “Sao Hỏa”" in unknown
    [usage] = await tg.say(BOSS, "/moi")
    assert "/moi tất cả" in usage


async def test_invite_all_sends_the_spreadsheet_and_the_cards(tg: Harness) -> None:  # noqa: F811
    await registered(tg, BOSS, "admin")
    await registered(tg, LAN, "officer", "an-sinh")
    before = len(tg.emu.sent)
    said = await tg.say(BOSS, "/moi tất cả")
    assert "Đã tạo 5 mã mời" in said[0]
    documents = [r for r in tg.emu.sent[before:] if r.method == "sendDocument"]
    assert [d.filename.rsplit(".", 1)[1] for d in documents] == ["xlsx", "pdf"]
    pdf = tg.emu._files[documents[1].file_id].content
    links, _, pages = read_cards(pdf)
    assert pages == 1 and len(links) == 5
    assert all(link.startswith(f"https://t.me/{USERNAME}?start=") for link in links)
    # One of the printed codes works.
    [welcome, *_] = await tg.say(MINH, "/start " + links[0].rsplit("=", 1)[1])
    assert "cán bộ đầu mối" in welcome
    [pending] = await tg.say(BOSS, "mã mời nào chưa dùng?")
    assert "Mã mời chưa dùng (4)" in pending
    [without] = await tg.say(BOSS, "đơn vị nào chưa có cán bộ đầu mối?")
    assert "Đơn vị chưa có cán bộ đầu mối (4/6)" in without and "Xã An Sinh" not in without
    [board] = await tg.say(BOSS, "/canbo")
    assert "2/6 đơn vị đã có cán bộ đầu mối" in board and "Xã An Sinh: " in board
    [again] = await tg.say(BOSS, "ai chua dang ky")
    assert again == without


async def test_the_tracking_office_may_invite_leaders_may_look_officers_may_not(tg: Harness) -> None:  # noqa: F811
    await registered(tg, VHTT, "officer", "vhtt")  # Phòng VHTT: the plan's tracking unit
    await registered(tg, LAN, "officer", "an-sinh")
    await registered(tg, LEADER, "leader")
    made, _ = await tg.say(VHTT, "/moi mao khe")
    assert "Phường Mạo Khê" in made
    [refused] = await tg.say(LAN, "/moi mao khe")
    assert "quản trị viên và cơ quan theo dõi" in refused
    [refused] = await tg.say(LEADER, "/moi tất cả")
    assert "quản trị viên và cơ quan theo dõi" in refused
    [board] = await tg.say(LEADER, "/canbo")
    assert "2/6 đơn vị" in board
    [refused] = await tg.say(LAN, "/canbo")
    assert "dành cho quản trị viên, cơ quan theo dõi và lãnh đạo" in refused
    # An officer's question in words is not theirs to ask: it is read as anything else would be.
    said = await tg.say(LAN, "ai chưa đăng ký?")
    assert not any("chưa có cán bộ đầu mối" in text for text in said)


async def test_a_new_officer_gets_one_short_welcome_and_no_backlog(tg: Harness) -> None:  # noqa: F811
    from scheduler.tick import tick

    # Monday 17 March 2025: January and February are overdue, March is due on the 20th.
    said = await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    [welcome] = said
    assert "cán bộ đầu mối của Xã An Sinh" in welcome and "Bot nhắc lịch báo cáo" in welcome
    assert "📅 Hạn tới: tháng 3/2025 — thứ Năm 20/03/2025; đơn vị cần báo cáo" in welcome
    assert "📌 Các kỳ trước còn thiếu: tháng 1/2025 (" in welcome and "tháng 2/2025 (" in welcome
    assert "/baocao" in welcome and "/help" in welcome
    # The scheduler's catch-up of what was planned before today's registration is not sent to them.
    report = await tick(tg.app.deps, tg.app.now())
    assert [m for m in report.queued if m.chat_id == str(LAN)] == []


async def test_an_officer_hands_over_admins_are_told_and_the_successor_registers(tg: Harness) -> None:  # noqa: F811
    from sqlalchemy import select

    from models.tables import Role, Submission

    await registered(tg, BOSS, "admin")
    await registered(tg, LAN, "officer", "an-sinh")
    await tg.say(LAN, "6: 120/150")
    [asked] = await tg.say(LAN, "/bangiao")
    assert "/bangiao đồng ý" in asked
    before = len(tg.emu.sent)
    await tg.say(LAN, "/bangiao đồng ý")
    sent = tg.emu.sent[before:]
    done = next(r.text for r in sent if r.chat_id == LAN)
    told = next(r.text for r in sent if r.chat_id == BOSS)
    code = re.search(r"mã mời ([A-Z0-9]{8})", done)[1]
    assert f"https://t.me/{USERNAME}?start={code}" in done
    assert "đã bàn giao, thôi làm cán bộ đầu mối của Xã An Sinh" in told
    [gone] = await tg.say(LAN, "6: 130/150")
    assert "Đã ghi" not in gone  # no longer their unit's figures to send
    [welcome] = await tg.say(MINH, f"/start {code}")
    assert "cán bộ đầu mối của Xã An Sinh" in welcome
    async with tg.app.unit_of_work() as session:
        roles = list(await session.scalars(select(Role).where(Role.role == "officer").order_by(Role.id)))
        figures = list(await session.scalars(select(Submission)))
    assert [(r.ended_reason is not None, r.ended_reason) for r in roles] == [(True, "handed_over_by_self"),
                                                                            (False, None)]
    assert len(figures) == 1 and figures[0].person_id == roles[0].person_id  # history kept


async def test_the_welcome_greets_the_person_the_roster_names(tg: Harness, tmp_path) -> None:  # noqa: F811
    from argparse import Namespace

    from bot.onboard_cli import cmd_import_people

    roster = tmp_path / "roster.csv"
    roster.write_text("Đơn vị,Họ và tên\nXã An Sinh,Nguyễn Thị Lan\n", encoding="utf-8")
    await cmd_import_people(tg.app, Namespace(path=str(roster), plan="T2025"))
    [welcome] = await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    assert "Nguyễn Thị Lan" in welcome
    [board] = await tg.say(LAN, "/tinhhinh")
    assert board  # an ordinary exchange afterwards


async def test_practice_stays_out_of_the_live_plan_and_leaving_is_one_command(
        tg: Harness, capsys) -> None:  # noqa: F811
    import json
    from argparse import Namespace

    from sqlalchemy import func, select

    from bot import cli
    from models import store
    from models.tables import Submission
    from scheduler.tick import tick

    await registered(tg, BOSS, "admin")
    [ready] = await tg.say(BOSS, "/thuchanh")
    assert "T2025-TH" in ready and "không bao giờ vào tổng hợp" in ready
    await registered(tg, LAN, "officer", "an-sinh")  # the live officer of An Sinh
    capsys.readouterr()
    await cli.cmd_invite(tg.app, Namespace(role="officer", plan="T2025", unit=None, days=14, json=True, all=True,
                                           kind=None, replace=False, out=None, practice=True))
    made = {row["unit"]: row["code"] for row in json.loads(capsys.readouterr().out)}
    assert len(made) == 6  # every unit of the copy: nobody practises there yet
    [welcome] = await tg.say(MINH, f"/start {made['an-sinh']}")
    assert "[Thực hành]" in welcome
    [stored] = await tg.say(MINH, "6: 120/150")
    assert "Đã ghi chỉ tiêu 6" in stored
    async with tg.app.unit_of_work() as session:
        live = await store.get_plan(session, "T2025")
        copy = await store.get_plan(session, "T2025-TH")
        in_live = await session.scalar(select(func.count()).select_from(Submission)
                                       .where(Submission.plan_id == live.id))
        in_copy = await session.scalar(select(func.count()).select_from(Submission)
                                       .where(Submission.plan_id == copy.id))
    assert (in_live, in_copy) == (0, 1)
    [summary, *_] = await tg.say(BOSS, "/tonghop")  # the admin's plan is the live one
    assert "T2025-TH" not in summary and "Thực hành" not in summary
    report = await tick(tg.app.deps, tg.app.now())
    assert not [m for m in report.queued if m.chat_id == str(MINH)]  # no reminders from a copy
    [left] = await tg.say(MINH, "/thuchanh xong")
    assert "Đã rời bản thực hành" in left
    [after] = await tg.say(MINH, "6: 130/150")
    assert "Đã ghi" not in after
