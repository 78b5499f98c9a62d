"""The steering committee's summary: numbers checked against hand-computed expectations (ratio
roll-ups as Σnumerator / Σdenominator, on-time counts at the end of the deadline day in
BOT_TIMEZONE), the choice of period, the rendering as one text in sections, and the handlers' permissions and
what they write (nothing)."""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event as sqlalchemy_event

from bot.app import App
from bot.cli import import_plan_file
from handlers import summary as summary_module
from handlers.context import Ctx
from handlers.events import Event
from handlers.inbox import Inbound, handle
from handlers.intents import PeriodHint
from handlers.summary import (
    Standing,
    Summary,
    ask_charts,
    ask_summary,
    build_summary,
    choose_period,
    covered_periods,
    export_for_admin,
    render_summary,
    summary_replies,
    summary_text,
)
from locales import translator
from models import people, store
from models.gaps import Status
from models.periods import Frequency, Period
from models.plan_view import PlanView
from models.store import load_plan_view
from models.targets import Figure
from tests.figures import store_figures

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = Period.parse("2025-03")
D = Decimal


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


@dataclass
class Plan:
    app: App
    code: str

    async def view(self, session: Any) -> PlanView:
        plan = await store.get_plan(session, self.code)
        assert plan is not None
        return await load_plan_view(session, plan.id)

    async def put(self, unit: str, part: str, period: str, figure: Figure, at: datetime) -> None:
        await store_figures(self.app, self.code, [(unit, part, period, figure, at)])

    async def officer(self, unit: str, name: str) -> None:
        async with self.app.unit_of_work() as session:
            view = await self.view(session)
            unit_id = next(u.id for u in view.units.values() if u.code == unit)
            person = await people.ensure_person(session, "console", name, name, name, self.app.now())
            await people.grant_role(session, person=person, role="officer", plan_id=view.plan.id,
                                    unit_id=unit_id, now=self.app.now())

    async def summary(self, period: Period | None, today: date, **kwargs: Any) -> Summary:
        async with self.app.unit_of_work() as session:
            return await build_summary(session, await self.view(session), period, today, ZONE, **kwargs)


@pytest.fixture
async def small(app: App) -> Plan:
    await import_plan_file(app, SMALL)
    return Plan(app, "T2025")


async def march_figures(plan: Plan) -> None:
    """The hand-computed scenario (deadlines: monthly on the 20th, quarterly on the 15th)."""
    # 6: ratio ≥ 90%, reported by vhtt, vp, an-sinh, mao-khe.
    await plan.put("vhtt", "6", "2025-03", Figure(numerator=D(120), denominator=D(150)), local(2025, 3, 18, 9, 0))
    # A correction after the deadline: the figure is the new one, the report stays on time.
    await plan.put("vhtt", "6", "2025-03", Figure(numerator=D(130), denominator=D(150)), local(2025, 3, 22, 10, 0))
    await plan.put("vp", "6", "2025-03", Figure(numerator=D(30), denominator=D(50)), local(2025, 3, 20, 23, 59))
    await plan.put("an-sinh", "6", "2025-03", Figure(numerator=D(45), denominator=D(50)), local(2025, 3, 21, 0, 1))
    # February, for the change: 100/150 + 40/50 = 140/200 = 70%.
    await plan.put("vhtt", "6", "2025-02", Figure(numerator=D(100), denominator=D(150)), local(2025, 2, 18, 9, 0))
    await plan.put("an-sinh", "6", "2025-02", Figure(numerator=D(40), denominator=D(50)), local(2025, 2, 19, 9, 0))
    # 9a (≥ 100%, vhtt and vp), 9b (≥ 95%, an-sinh and mao-khe): plain percentages, averaged.
    await plan.put("vhtt", "9a", "2025-03", Figure(value=D(100)), local(2025, 3, 19, 8, 0))
    await plan.put("vp", "9a", "2025-03", Figure(value=D(90)), local(2025, 3, 19, 8, 0))
    await plan.put("an-sinh", "9b", "2025-03", Figure(value=D(96)), local(2025, 3, 25, 8, 0))
    # 15: at least 3 enterprises (vhtt); 22: below 10% (vnpt); 10: a quarterly milestone (vp).
    await plan.put("vhtt", "15", "2025-03", Figure(value=D(1)), local(2025, 3, 10, 8, 0))
    await plan.put("vnpt", "22", "2025-03", Figure(value=D(12)), local(2025, 3, 10, 8, 0))
    await plan.put("vp", "10", "2025-Q1", Figure(done=True), local(2025, 3, 16, 8, 0))


async def test_ratio_roll_up_reporting_rates_and_on_time_counts(small: Plan) -> None:
    await march_figures(small)
    await small.officer("mao-khe", "Trần Thị Hoa")
    summary = await small.summary(MARCH, date(2025, 3, 25))

    assert summary.period == MARCH
    assert [p for p, _ in summary.periods] == [MARCH, Period.parse("2025-Q1")]
    assert dict(summary.periods) == {MARCH: date(2025, 3, 20), Period.parse("2025-Q1"): date(2025, 3, 15)}
    assert not summary.open
    assert [row.code for row in summary.rows] == ["6", "9a", "9b", "15", "22", "10"]  # no yearly 12a/12b

    six = summary.row("6")
    assert (six.rollup.numerator, six.rollup.denominator) == (D(205), D(250))  # 130 + 30 + 45, 150 + 50 + 50
    assert six.amount == D(82)  # Σnumerator / Σdenominator, not the mean of 86.7%, 60% and 90%
    assert six.status is Status.NOT_MET and six.gap == D(8)
    assert six.previous == D(70) and six.change == D(12)
    assert six.standing is Standing.ON_TRACK  # past the line from 0 to 90% at 3/12 of the year
    assert (six.reports.expected, six.reports.received, six.reports.on_time, six.reports.late) == (4, 3, 2, 1)

    assert summary.row("9a").amount == D(95) and summary.row("9a").standing is Standing.ON_TRACK
    assert summary.row("9b").amount == D(96) and summary.row("9b").standing is Standing.MET
    assert summary.row("15").gap == D(2) and summary.row("15").standing is Standing.ON_TRACK  # 1 ≥ 3 × 3/12
    assert summary.row("22").gap == D(2) and summary.row("22").standing is Standing.OFF_TRACK  # no baseline
    assert summary.row("10").standing is Standing.MET and summary.row("10").reports.late == 1

    reports = summary.reports
    assert (reports.expected, reports.received, reports.on_time, reports.late, reports.missing) == (11, 9, 6, 3, 2)
    assert reports.rate == D(9) * 100 / 11

    by_unit = {u.code: (u.reports.expected, u.reports.received, u.reports.on_time, u.missing_parts, u.late_parts)
               for u in summary.units}
    assert by_unit == {
        "vhtt": (3, 3, 3, (), ()),
        "vp": (3, 3, 2, (), ("10",)),
        "an-sinh": (2, 2, 0, (), ("6", "9b")),
        "mao-khe": (2, 0, 0, ("6", "9b"), ()),
        "vnpt": (1, 1, 1, (), ()),
    }
    assert summary.unit("an-sinh").reports.rate == D(100)
    assert summary.unit("mao-khe").reports.rate == D(0)
    assert [u.code for u in summary.to_chase] == ["mao-khe"]
    assert summary.to_chase[0].officer == "Trần Thị Hoa"

    # Largest gaps relative to the target: 2 of 3 enterprises, 2 of 10 points, 8 of 90, 5 of 100.
    assert [row.code for row in summary.top_gaps] == ["15", "22", "6", "9a"]
    assert summary.counts() == {Standing.MET: 2, Standing.ON_TRACK: 3, Standing.OFF_TRACK: 1, Standing.THIN: 0,
                                Standing.NO_DATA: 0}


async def test_on_time_is_the_end_of_the_deadline_day_in_the_bot_timezone(small: Plan) -> None:
    # 23:59:59 local on 20/3 is 16:59:59 UTC: on time; 00:00 local on 21/3 is already late.
    await small.put("vhtt", "6", "2025-03", Figure(value=D(90)), local(2025, 3, 20, 23, 59, 59))
    await small.put("vp", "6", "2025-03", Figure(value=D(90)), local(2025, 3, 21, 0, 0, 0))
    summary = await small.summary(MARCH, date(2025, 3, 25), details=True)
    assert summary.unit("vhtt").late_parts == () and summary.unit("vp").late_parts == ("6",)
    six = summary.row("6")
    vhtt = next(u.unit_id for u in summary.units if u.code == "vhtt")
    cell = summary.cell(six.part_id, vhtt)
    assert cell is not None and cell.on_time and cell.first_at == local(2025, 3, 20, 23, 59, 59)


async def test_a_correction_counts_from_its_first_version(small: Plan) -> None:
    await small.put("vp", "6", "2025-03", Figure(value=D(50)), local(2025, 3, 21, 9, 0))  # late
    await small.put("vp", "6", "2025-03", Figure(value=D(95)), local(2025, 3, 22, 9, 0))
    summary = await small.summary(MARCH, date(2025, 3, 25))
    assert summary.row("6").amount == D(95)
    assert summary.unit("vp").late_parts == ("6",)


async def test_the_period_just_closed_is_chosen_without_one(small: Plan) -> None:
    async with small.app.unit_of_work() as session:
        view = await small.view(session)
        # 17/3: February's monthly deadline (20/2) and Q1's (15/3) have passed; Q1's is the latest.
        assert choose_period(view, date(2025, 3, 17)) == Period.parse("2025-Q1")
        # ... and March's monthly figures, due 20/3, are not called missing yet.
        assert covered_periods(view, Period.parse("2025-Q1"), date(2025, 3, 17)) == {
            Frequency.QUARTERLY: Period.parse("2025-Q1")}
        # 21/3: March's deadline is the latest passed; Q1 joins the same cycle.
        assert choose_period(view, date(2025, 3, 21)) == MARCH
        assert covered_periods(view, MARCH, date(2025, 3, 21)) == {
            Frequency.MONTHLY: MARCH, Frequency.QUARTERLY: Period.parse("2025-Q1")}
        # Before any deadline of the year: the first month, still open.
        assert choose_period(view, date(2025, 1, 5)) == Period.parse("2025-01")
        # December after every deadline: December, and the year and Q4 join its cycle.
        assert choose_period(view, date(2025, 12, 21)) == Period.parse("2025-12")
        assert covered_periods(view, Period.parse("2025-12"), date(2025, 12, 21)) == {
            Frequency.MONTHLY: Period.parse("2025-12"), Frequency.QUARTERLY: Period.parse("2025-Q4"),
            Frequency.YEARLY: Period.parse("2025")}
    summary = await small.summary(None, date(2025, 3, 17))
    assert summary.period == Period.parse("2025-Q1") and [r.code for r in summary.rows] == ["10"]


async def test_a_summary_of_an_open_period_says_so(small: Plan) -> None:
    await small.put("vhtt", "6", "2025-03", Figure(value=D(91)), local(2025, 3, 18, 9, 0))
    summary = await small.summary(MARCH, date(2025, 3, 18))
    assert summary.open
    assert summary.row("6").amount == D(91)
    text = summary_text(summary, translator("vi"))
    assert "chưa hết hạn" in text


async def test_no_data_and_milestones_not_done(small: Plan) -> None:
    await small.put("vp", "10", "2025-Q1", Figure(done=False), local(2025, 3, 10, 8, 0))
    summary = await small.summary(MARCH, date(2025, 3, 25))
    ten = summary.row("10")
    assert ten.status is Status.NOT_MET and ten.gap == D(1) and ten.rollup.units_done == 0
    assert ten.standing is Standing.OFF_TRACK  # 0% done, the line says 25% by the end of March
    assert summary.row("6").standing is Standing.NO_DATA and summary.row("6").amount is None


async def test_rendered_summary_in_both_languages(small: Plan) -> None:
    await march_figures(small)
    await small.officer("mao-khe", "Trần Thị Hoa")
    summary = await small.summary(MARCH, date(2025, 3, 25))
    vi = summary_text(summary, translator("vi"))
    assert "📊 Tổng hợp chuyển đổi số — tháng 3/2025" in vi
    assert "🗓 Kỳ tháng 3/2025, hạn 20/03/2025" in vi and "🗓 Kỳ quý I/2025, hạn 15/03/2025" in vi
    assert "Đã nhận 9/11 (81,8%)" in vi
    assert "☑️ Đúng hạn 6 · 🕒 Trễ 3 · ❌ Thiếu 2" in vi
    assert "🟡 6 · Hồ sơ xử lý trực tuyến toàn trình" in vi
    assert "   82% (mục tiêu ≥ 90%) · còn cách 8 điểm %" in vi
    assert "   +12 điểm % so với kỳ trước · 3/4 đơn vị có số" in vi
    assert "🔴 22 · Giảm trạm 3G" in vi
    assert "1. 15 · Doanh nghiệp khởi nghiệp số\n   còn cách 2 doanh nghiệp · cần 0,22 doanh nghiệp/tháng" in vi
    assert "• Phường Mạo Khê: thiếu 2/2 (6, 9b) — Trần Thị Hoa" in vi
    en = summary_text(summary, translator("en"))
    assert "Received 9/11 (81.8%)" in en and "☑️ On time 6 · 🕒 Late 3 · ❌ Missing 2" in en
    assert "   82% (target ≥ 90%) · 8 percentage points to go" in en
    for line in vi.splitlines() + en.splitlines():
        assert len(line) <= 120, line  # short lines for a phone


async def test_the_summary_is_one_text_in_sections_separated_by_blank_lines(small: Plan) -> None:
    await march_figures(small)
    summary = await small.summary(MARCH, date(2025, 3, 25))
    t = translator("vi")
    text = summary_text(summary, t)
    sections = text.split("\n\n")
    # Heading, reporting rates, indicators, largest gaps, units to chase: a channel that must split
    # the text cuts at these blank lines first.
    assert [section.splitlines()[0] for section in sections] == [
        "📊 Tổng hợp chuyển đổi số — tháng 3/2025", t("summary-reports-header"),
        t("summary-indicators-header", met=2, on_track=3, off_track=1, thin=0, no_data=0),
        t("summary-top-gaps-header", count=len(summary.top_gaps)), t("summary-chase-header", count="1")]
    assert all(line.strip() for section in sections for line in section.splitlines())
    assert render_summary(summary, t) == [text]  # one message; the scheduler sends it as it is
    (reply,) = await summary_replies(summary, t, charts=False)
    assert reply.text == text and reply.attachments == () and reply.locale == "vi"


def many_units_plan(path: Path, units: int) -> Path:
    lines = ["format: 1", "plan: {code: BIG, title: Kế hoạch lớn, year: 2025}", "units:",
             "  - {code: tp, name: UBND thành phố, kind: city}"]
    lines += [f"  - {{code: x{i}, name: Xã Thử Nghiệm Số {i}, kind: commune, parent: tp}}" for i in range(units)]
    lines += ["indicators:"]
    for n in (1, 2):
        lines += [f'  - code: "{n}"', f'    title: "Chỉ tiêu {n}"', f'    text: "Tỷ lệ {n} đạt 90%"',
                  '    coordinating: "UBND các xã, phường"', '    target: "90%"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_a_long_summary_lists_every_unit_when_asked(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, many_units_plan(tmp_path / "big.yaml", 120))
    plan = Plan(app, "BIG")
    await plan.put("x0", "1", "2025-03", Figure(value=D(95)), local(2025, 3, 18, 9, 0))
    summary = await plan.summary(MARCH, date(2025, 3, 25))
    assert len(summary.to_chase) == 120
    t = translator("vi")
    lines = summary_text(summary, t, max_units=None).splitlines()
    for unit in summary.to_chase:
        assert sum(1 for line in lines if line.startswith(f"• {unit.name}:")) == 1
    # The default keeps the chat short: 30 units, then how many more.
    short = summary_text(summary, t)
    assert sum(1 for line in short.splitlines() if line.startswith("• ")) == 30
    assert "… và 90 đơn vị khác" in short


# --- handlers -----------------------------------------------------------------------------------


async def handler_ctx(app: App, session: Any, *, role: str | None, unit: str | None = None,
                      group_plan: bool = False, user: str = "u1") -> Ctx:
    view_plan = await store.get_plan(session, "T2025")
    assert view_plan is not None
    event = Event(channel="console", chat_id="g1" if group_plan else user,
                  chat_kind="group" if group_plan else "private", sender_id=user, sender_name=user, text="/tonghop")
    ctx = Ctx(app.deps, session, event, app.now())
    if role is not None:
        person = await people.ensure_person(session, "console", user, user, user, app.now())
        unit_id = None
        if unit is not None:
            unit_id = next(u.id for u in await store.plan_units(session, view_plan) if u.code == unit)
        await people.grant_role(session, person=person, role=role, plan_id=view_plan.id, unit_id=unit_id, now=app.now())
        ctx.person = person
        ctx.roles = await people.active_roles(session, person.id)
    if group_plan:
        ctx.group_plan_id = view_plan.id
    return ctx


async def test_leaders_get_the_summary_with_two_charts(small: Plan, clock: Any) -> None:
    await march_figures(small)
    clock.set(local(2025, 3, 25, 9, 0))
    async with small.app.unit_of_work() as session:
        ctx = await handler_ctx(small.app, session, role="leader")
        await ask_summary(ctx, None)
    (reply,) = ctx.replies  # one text with its charts; the channel splits a long one
    assert "tháng 3/2025" in reply.text
    assert [a.kind for a in reply.attachments] == ["photo", "photo"]
    assert all(a.content.startswith(b"\x89PNG\r\n\x1a\n") for a in reply.attachments)


async def test_the_group_gets_it_and_a_period_can_be_named(small: Plan, clock: Any) -> None:
    await march_figures(small)
    clock.set(local(2025, 4, 2, 9, 0))
    async with small.app.unit_of_work() as session:
        ctx = await handler_ctx(small.app, session, role=None, group_plan=True)
        await ask_summary(ctx, PeriodHint(Frequency.QUARTERLY, 1))
    assert "quý I/2025" in ctx.replies[0].text
    async with small.app.unit_of_work() as session:
        ctx = await handler_ctx(small.app, session, role=None, group_plan=True)
        await ask_summary(ctx, PeriodHint(Frequency.MONTHLY, 10, 2024))
    assert len(ctx.replies) == 1 and "năm 2025" in ctx.replies[0].text


async def test_officers_are_told_it_is_for_leaders(small: Plan) -> None:
    async with small.app.unit_of_work() as session:
        ctx = await handler_ctx(small.app, session, role="officer", unit="an-sinh")
        await ask_summary(ctx, None)
        await ask_charts(ctx)
        await export_for_admin(ctx)
    t = translator("vi")
    assert [r.text for r in ctx.replies] == [t("question-leaders-only"), t("question-leaders-only"),
                                             t("export-not-allowed")]


async def test_charts_alone_and_the_spreadsheet_for_leaders_and_admins(small: Plan, clock: Any) -> None:
    await march_figures(small)
    clock.set(local(2025, 3, 25, 9, 0))
    async with small.app.unit_of_work() as session:
        ctx = await handler_ctx(small.app, session, role="leader")
        await ask_charts(ctx)
        await export_for_admin(ctx)
    charts, sheet = ctx.replies
    assert [a.kind for a in charts.attachments] == ["photo", "photo"]
    assert [a.kind for a in sheet.attachments] == ["document"]  # leaders get it too (issue 16)
    async with small.app.unit_of_work() as session:
        ctx = await handler_ctx(small.app, session, role="admin", user="admin1")
        await export_for_admin(ctx)
    (reply,) = ctx.replies
    (document,) = reply.attachments
    assert document.kind == "document" and document.filename == "T2025-2025-03.xlsx"
    assert document.content.startswith(b"PK")


LINES_PLAN = """\
format: 1
plan: {code: LINE, title: Đường tiến độ, year: 2025}
units:
  - {code: tp, name: UBND thành phố, kind: city}
  - {code: a, name: Xã A, kind: commune, parent: tp}
indicators:
  - code: "1"
    title: "Lớp học số mở trong năm"
    text: "Mở ít nhất 12 lớp học số trong năm"
    coordinating: "UBND các xã, phường"
    target: "ít nhất 12 lớp"
    accumulation: per_period
  - code: "2"
    title: "Tỷ lệ có baseline"
    text: "Tỷ lệ đạt 100%"
    coordinating: "UBND các xã, phường"
    baseline: "50%"
    target: "100%"
  - code: "3"
    title: "Giảm xuống dưới 10%"
    text: "Giảm tỷ lệ xuống dưới 10%"
    coordinating: "UBND các xã, phường"
    baseline: "30%"
    target: "dưới 10%"
  - code: "4"
    title: "Giảm không có baseline"
    text: "Giảm tỷ lệ xuống dưới 10%"
    coordinating: "UBND các xã, phường"
    target: "dưới 10%"
"""


async def test_per_period_counts_and_lines_from_the_baseline(app: App, tmp_path: Path) -> None:
    path = tmp_path / "line.yaml"
    path.write_text(LINES_PLAN, encoding="utf-8")
    await import_plan_file(app, path)
    plan = Plan(app, "LINE")
    for month, opened in ((1, 2), (2, 3), (3, 4)):
        await plan.put("a", "1", f"2025-0{month}", Figure(value=D(opened)), local(2025, month, 10, 9, 0))
    await plan.put("a", "2", "2025-03", Figure(value=D(60)), local(2025, 3, 10, 9, 0))
    await plan.put("a", "3", "2025-03", Figure(value=D(24)), local(2025, 3, 10, 9, 0))
    await plan.put("a", "4", "2025-03", Figure(value=D(11)), local(2025, 3, 10, 9, 0))
    summary = await plan.summary(MARCH, date(2025, 3, 25))
    one = summary.row("1")
    # Per-period amounts add up over the year: 2 + 3 + 4 = 9 of 12; this month brought 4.
    assert (one.amount, one.previous, one.change, one.gap) == (D(9), D(5), D(4), D(3))
    assert one.line == D(3) and one.standing is Standing.ON_TRACK
    two = summary.row("2")
    # From last year's 50% to 100%: 62.5% expected by the end of March; 60% is behind.
    assert two.line == D("62.5") and two.standing is Standing.OFF_TRACK
    three = summary.row("3")
    # Down from 30% to below 10%: 25% by the end of March; 24% is ahead of the line.
    assert three.line == D(25) and three.standing is Standing.ON_TRACK
    # Down to below 10% with no start known: off track until met.
    assert summary.row("4").line is None and summary.row("4").standing is Standing.OFF_TRACK


async def test_summary_charts_and_spreadsheet_write_nothing(small: Plan, clock: Any) -> None:
    """On SQLite the first write takes the database's write lock for the rest of the transaction:
    a request that wrote before its build would make every other officer wait for the drawing."""
    await march_figures(small)
    clock.set(local(2025, 3, 25, 9, 0))
    async with small.app.unit_of_work() as session:
        await handler_ctx(small.app, session, role="leader", user="boss")
        await handler_ctx(small.app, session, role="admin", user="admin1")
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = small.app.engine.sync_engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", seen)
    try:
        async with small.app.sessions() as session:
            for user, ask in (("boss", ask_summary), ("boss", ask_charts), ("admin1", export_for_admin)):
                event = Event(channel="console", chat_id=user, chat_kind="private", sender_id=user,
                              sender_name=user, text="/tonghop")
                ctx = Ctx(small.app.deps, session, event, small.app.now())
                ctx.person, ctx.roles = await people.person_and_roles(session, "console", user)
                await ask(ctx, None)
                assert ctx.replies and all(reply.attachments for reply in ctx.replies), ask
            assert not session.new and not session.dirty and not session.deleted
            await session.rollback()
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", seen)
    assert statements
    assert [s for s in statements if not s.lstrip().upper().startswith("SELECT")] == []


async def test_an_officers_figure_is_answered_while_the_summary_is_drawn(
        small: Plan, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The charts are drawn in a worker thread and the summary holds no write lock: another
    officer's figure is recorded and answered meanwhile (the drawing is held until it is)."""
    clock.set(local(2025, 3, 25, 9, 0))
    async with small.app.unit_of_work() as session:
        await handler_ctx(small.app, session, role="leader", user="boss")
        await handler_ctx(small.app, session, role="officer", unit="an-sinh", user="lan")
    drawing, release = threading.Event(), threading.Event()
    held_too_long: list[bool] = []
    draw = summary_module.bullet_chart

    def held(summary: Summary, t: Any) -> bytes:
        drawing.set()
        # Were the chart drawn on the event loop's thread, nothing could release it.
        held_too_long.append(not release.wait(60))
        return draw(summary, t)

    monkeypatch.setattr(summary_module, "bullet_chart", held)
    # Both through the one way in, as any channel hands them over: each its own unit of work.
    asked = asyncio.create_task(handle(small.app.deps, Inbound(Event(
        channel="console", chat_id="boss", chat_kind="private", sender_id="boss", sender_name="boss",
        text="/tonghop"), key="boss-1")))
    try:
        started = asyncio.ensure_future(asyncio.to_thread(drawing.wait, 60))
        await asyncio.wait([started, asked], return_when=asyncio.FIRST_COMPLETED)
        assert drawing.is_set()
        figure = Event(channel="console", chat_id="lan", chat_kind="private", sender_id="lan",
                       sender_name="lan", text="6: 120/150")
        replies = (await asyncio.wait_for(handle(small.app.deps, Inbound(figure, key="lan-1")), 60)).replies
        answered_while_drawing = not release.is_set()
    finally:
        release.set()
    boss = await asyncio.wait_for(asked, 60)
    assert answered_while_drawing and held_too_long == [False]
    assert any("Đã ghi chỉ tiêu 6" in reply.text for reply in replies)
    (summary_reply,) = boss.replies
    assert len(summary_reply.attachments) == 2
