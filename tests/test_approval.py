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


async def test_history_lists_closings_and_change_requests_in_chat_cli_and_export(tg: Desk, clock: Clock) -> None:
    import argparse
    import json
    from io import BytesIO

    from openpyxl import load_workbook

    from bot.review_cli import cmd_history

    def later() -> None:
        clock.set(clock() + timedelta(minutes=1))

    await tg.say(LAN, "6: 120/150")
    later()
    await tg.say(MINH, "/khoaso 6")
    later()
    await tg.say(LAN, "sửa chỉ tiêu 6: 125/150")
    before = len(tg.emu.sent)
    await tg.say(LAN, "nhập nhầm số hồ sơ")
    [request] = [s for s in tg.emu.sent[before:] if s.chat_id == MINH]
    later()
    tg.emu.press_button(MINH, request.message_id, request.reply_markup["inline_keyboard"][1][0]["callback_data"])
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    later()
    await tg.say(LAN, "sửa chỉ tiêu 6: 130/150")
    before = len(tg.emu.sent)
    await tg.say(LAN, "bổ sung hồ sơ cuối tháng")
    [request] = [s for s in tg.emu.sent[before:] if s.chat_id == MINH]
    later()
    tg.emu.press_button(MINH, request.message_id, request.reply_markup["inline_keyboard"][0][0]["callback_data"])
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    later()
    await tg.say(MINH, "/mokhoa 6")

    [shown] = await tg.say(MINH, "lịch sử chỉ tiêu 6 xã An Sinh")
    lines = shown.splitlines()[1:]
    assert "phiên bản 1: 120/150 — An (telegram)" in lines[0]
    assert "khóa sổ — An (telegram)" in lines[1]
    assert "đề nghị sửa thành 125/150: nhập nhầm số hồ sơ — An (telegram)" in lines[2]
    assert "không đồng ý đề nghị sửa thành 125/150 — An (telegram)" in lines[3]
    assert "đề nghị sửa thành 130/150: bổ sung hồ sơ cuối tháng" in lines[4]
    assert "phiên bản 2: 130/150 (bổ sung hồ sơ cuối tháng)" in lines[5]
    assert "đồng ý đề nghị sửa thành 130/150" in lines[6] and "mở lại sổ" in lines[7]
    assert len(lines) == 8

    args = argparse.Namespace(plan="T2025", unit="an-sinh", indicator="6", json=True)
    entries = json.loads(await cmd_history(tg.app, args))
    assert [e["kind"] for e in entries] == ["version", "closed", "change_requested", "change_refused",
                                            "change_requested", "version", "change_granted", "reopened"]
    granted = entries[6]
    assert granted["version"] == 2 and granted["note"] == "bổ sung hồ sơ cuối tháng" and granted["unit"] == "an-sinh"
    assert entries[1]["unit"] is None and entries[1]["channel"] == "telegram"
    text = await cmd_history(tg.app, argparse.Namespace(plan="T2025", unit="an-sinh", indicator="6", json=False))
    assert "khóa sổ" in text and "không đồng ý đề nghị sửa" in text

    # The export's history sheet: every event of the period, who, when, channel, why.
    admin = 1004
    await tg.say(admin, f"/start {await tg.invite('admin')}")
    await tg.say(admin, "/xuat 2025-03")
    [document] = [s for s in tg.emu.sent if s.chat_id == admin and s.method == "sendDocument"]
    stored = next(f for f in tg.emu._files.values() if f.file_id == document.file_id)
    sheet = load_workbook(BytesIO(stored.content or b""), read_only=True)["Lịch sử"]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Thời điểm", "Việc", "Mã đơn vị", "Đơn vị", "Chỉ tiêu", "Kỳ", "Phiên bản", "Số liệu",
                       "Người thực hiện", "Kênh", "Lý do / ghi chú", "Tệp minh chứng"]
    assert [r[1] for r in rows[1:]] == ["Gửi số liệu", "Khóa sổ", "Đề nghị sửa", "Không đồng ý sửa", "Đề nghị sửa",
                                        "Gửi số liệu", "Đồng ý sửa", "Mở lại sổ"]
    assert rows[1][2:8] == ["an-sinh", "Xã An Sinh", "6", "2025-03", 1, "120/150"]
    assert rows[3][10] == "nhập nhầm số hồ sơ" and rows[3][9] == "telegram"
    assert rows[1][0].startswith("2025-03-17 ")


async def test_the_figures_export_carries_each_figures_review_and_evidence(tg: Desk, capsys: object) -> None:
    import argparse
    import json

    from bot.web_cli import cmd_figures
    from tests.test_evidence import JPEG

    await tg.say(LAN, "6: 120/150")
    [kept] = await tg.photo(JPEG)  # right after the figure: proves it
    assert "cho chỉ tiêu 6" in kept
    await tg.say(MINH, "/duyet 6")
    await tg.press_label(MINH, "✅ Duyệt Xã An Sinh")
    capsys.readouterr()  # type: ignore[attr-defined]
    await cmd_figures(tg.app, argparse.Namespace(plan="T2025", period="2025-03", unit=None, versions=True,
                                                 json=True, csv=False))
    [figure] = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert figure["review"] == "approved" and len(figure["evidence"]) == 1
    assert figure["evidence"][0].endswith(".jpg")
    await tg.say(LAN, "sửa chỉ tiêu 6: 125/150")  # the correction awaits review; the old version stays approved
    await cmd_figures(tg.app, argparse.Namespace(plan="T2025", period="2025-03", unit=None, versions=True,
                                                 json=True, csv=False))
    versions = json.loads(capsys.readouterr().out)  # type: ignore[attr-defined]
    assert [(v["version"], v["review"]) for v in versions] == [(1, "approved"), (2, "awaiting")]
    await cmd_figures(tg.app, argparse.Namespace(plan="T2025", period="2025-03", unit=None, versions=False,
                                                 json=False, csv=True))
    lines = capsys.readouterr().out.splitlines()  # type: ignore[attr-defined]
    assert lines[0].endswith(",version,review,evidence") and ",2,awaiting," in lines[1]


GROUP_CHAT = -1001234


async def test_the_role_matrix_summary_and_export_cells_end_to_end(tg: Desk, clock: Clock) -> None:
    """The README's rows "see the plan's summary" and "export the period's spreadsheet", each
    column: an officer, the tracking office (Phòng VHTT's officer), a leader, an admin, the group."""
    from tests.test_roles import matrix

    rows = dict(matrix())
    summary_cells = rows["see the plan's summary (also of approved figures only)"]
    export_cells = rows["export the period's spreadsheet"]
    admin = 1004
    await tg.say(LAN, "6: 120/150")
    await tg.say(BOSS, f"/start {await tg.invite('leader')}")
    await tg.say(admin, f"/start {await tg.invite('admin')}")
    [bound] = await tg.say(BOSS, f"/start {await tg.invite('group')}", chat=GROUP_CHAT)
    assert "Ban Chỉ đạo" in bound
    askers = [(LAN, None), (MINH, None), (BOSS, None), (admin, None), (BOSS, GROUP_CHAT)]
    for (user, chat), may_see, may_export in zip(askers, summary_cells, export_cells, strict=True):
        clock.set(clock() + timedelta(minutes=5))
        [answer, *_] = await tg.say(user, "/tonghop duyet 2025-03", chat=chat)
        assert answer.startswith("📊 Tổng hợp chuyển đổi số (chỉ số đã duyệt)") is (may_see != "no"), (user, chat)
        if may_see == "no":
            assert "dành cho lãnh đạo" in answer
        clock.set(clock() + timedelta(minutes=5))
        before = len(tg.emu.sent)
        await tg.say(user, "/xuat 2025-03", chat=chat)
        documents = [s for s in tg.emu.sent[before:] if s.method == "sendDocument"]
        assert bool(documents) is (may_export != "no"), (user, chat)


async def test_the_spreadsheet_names_the_evidence_in_its_review_and_history_sheets(tg: Desk, clock: Clock) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    from tests.test_evidence import JPEG

    await tg.say(LAN, "6: 120/150")
    clock.set(clock() + timedelta(minutes=1))
    await tg.photo(JPEG)  # right after the figure: proves it
    admin = 1004
    await tg.say(admin, f"/start {await tg.invite('admin')}")
    await tg.say(admin, "/xuat 2025-03")
    [document] = [s for s in tg.emu.sent if s.chat_id == admin and s.method == "sendDocument"]
    stored = next(f for f in tg.emu._files.values() if f.file_id == document.file_id)
    book = load_workbook(BytesIO(stored.content or b""), read_only=True)
    [reviewed] = [list(r) for r in book["Duyệt và minh chứng"].iter_rows(min_row=2, values_only=True)]
    assert reviewed[5:7] == ["⏳ chờ duyệt", None] and reviewed[7] == 1 and reviewed[8].endswith(".jpg")
    history = [list(r) for r in book["Lịch sử"].iter_rows(min_row=2, values_only=True)]
    assert [r[1] for r in history] == ["Gửi số liệu", "Gửi minh chứng"]
    assert history[1][11] == reviewed[8] and history[1][2] == "an-sinh"


async def test_the_approved_only_sql_summary_is_the_python_summary_of_the_approved_figures(app: object) -> None:
    """The one filter in models/summary_queries.py against the reference: models.standing's
    summary of the raw versions of exactly the figures whose current version's latest decision
    is an approval (decisions on older versions, returns after approvals and approvals after
    returns included), with and without the cells, on SQLite and PostgreSQL."""
    import random
    from datetime import date

    from sqlalchemy import func, select

    from bot.cli import import_plan_file
    from models import store
    from models.periods import Period
    from models.standing import compute_summary, covered_periods, end_of_day, periods_to_read
    from models.summary_queries import build_summary, figure_versions
    from models.tables import Review, Submission
    from tests.figures import store_figures
    from tests.test_summary import SMALL
    from tests.test_summary_sql import ZONE, _scenario

    await import_plan_file(app, SMALL)  # type: ignore[arg-type]
    rng = random.Random(17)
    await store_figures(app, "T2025", _scenario(rng))  # type: ignore[arg-type]
    async with app.unit_of_work() as session:  # type: ignore[attr-defined]
        rows = (await session.execute(select(Submission))).scalars().all()
        at = max(r.submitted_at for r in rows)
        for row in rows:
            for _ in range(rng.choice([0, 1, 1, 2])):
                decision = rng.choice(["approved", "approved", "returned"])
                session.add(Review(submission_id=row.id, plan_id=row.plan_id, unit_id=row.unit_id,
                                   part_id=row.part_id, period=row.period, decision=decision,
                                   reason=None if decision == "approved" else "x", person_id=None, channel="cli",
                                   decided_at=at))
    async with app.unit_of_work() as session:  # type: ignore[attr-defined]
        latest = {}
        for review in (await session.execute(select(Review).order_by(Review.id))).scalars():
            latest[review.submission_id] = review.decision
        top = dict(((u, p, q), v) for u, p, q, v in await session.execute(
            select(Submission.unit_id, Submission.part_id, Submission.period, func.max(Submission.version))
            .group_by(Submission.unit_id, Submission.part_id, Submission.period)))
        approved = {(r.unit_id, r.part_id, r.period) for r in rows
                    if top[(r.unit_id, r.part_id, r.period)] == r.version and latest.get(r.id) == "approved"}
        assert 0 < len(approved) < len(top)
        found = await store.get_plan(session, "T2025")
        view = await store.load_plan_view(session, found.id)
        for period, today in ((Period.parse("2025-03"), date(2025, 3, 25)),
                              (Period.parse("2025-Q1"), date(2025, 4, 20)),
                              (Period.parse("2025-02"), date(2025, 3, 1))):
            by_sql = await build_summary(session, view, period, today, ZONE, approved_only=True)
            lean = await build_summary(session, view, period, today, ZONE, approved_only=True, cells=False)
            chosen = covered_periods(view, period, today)
            parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
            cutoffs = {p.id: end_of_day(view.deadline(p), ZONE) for p in chosen.values()}
            raw = await figure_versions(session, view.plan.id, periods_to_read(parts, chosen), cutoffs)
            kept = [r for r in raw if (r[1], r[0], r[2]) in approved]
            officers = {u.unit_id: u.officer for u in by_sql.units if u.officer}
            by_python = compute_summary(view, by_sql.period, chosen, parts, kept, officers, today, ZONE)
            assert (by_sql.rows, by_sql.units, by_sql.reports, by_sql.figures, by_sql.on_time) == (
                by_python.rows, by_python.units, by_python.reports, by_python.figures, by_python.on_time), period
            assert (lean.rows, lean.units, lean.reports) == (by_python.rows, by_python.units, by_python.reports)
            everything = await build_summary(session, view, period, today, ZONE)
            assert by_sql.reports.received < everything.reports.received
