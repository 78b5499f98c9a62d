"""The reporting schedule performed: a quarter of the Đông Triều 2025 plan walked tick by tick, the Tết
case, catching up after downtime, the `tick` command, the schedule view and the APScheduler job."""
from __future__ import annotations

import asyncio
import io
from argparse import Namespace
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import App, build_app
from bot.channels.console import ConsoleChannel
from bot.channels.sender import OutboxSender, SendResult
from bot.channels.telegram_text import split_text
from bot.cli import import_plan_file
from bot.config import load_settings
from bot.tick_cli import add_tick_parser, cmd_tick
from handlers.context import Ctx
from handlers.events import Event
from handlers.schedule import show_schedule, upcoming
from models import people, store
from models.due import Kind, is_quiet
from models.store import load_plan_view
from models.submissions import store_figure
from models.tables import OutboxMessage, Unit
from models.targets import Figure, Measure
from scheduler.jobs import JOB_ID, start_scheduler, stop_scheduler, tick_job
from scheduler.tick import TickReport, tick
from tests.conftest import PLANS, Clock

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DT2025 = PLANS / "dong-trieu-2025.yaml"
QUIET = (time(21), time(7))  # the plan's quiet hours (domain.md's default)


def local(year: int, month: int, day: int, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


# --- helpers (also used by test_scheduler_concurrency.py) ----------------------------------------


@dataclass(frozen=True)
class Delivery:
    key: str
    chat: str
    text: str
    at: datetime

    @property
    def kind(self) -> str:
        return self.key.split(":")[0]

    @property
    def period(self) -> str:
        return self.key.split(":")[2]


class Recorder:
    """A channel transport that records what it was asked to send."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.sent: list[Delivery] = []

    async def __call__(self, row: OutboxMessage) -> SendResult:
        self.sent.append(Delivery(row.key, row.chat_id, row.payload["text"], self.clock()))
        return SendResult(True, channel_message_id=str(len(self.sent)))

    def to(self, chat: str) -> list[Delivery]:
        return [d for d in self.sent if d.chat == chat]


async def no_sleep(_seconds: float) -> None:
    return None


def console_sender(app: App, transport, worker: str = "test") -> OutboxSender:  # type: ignore[no-untyped-def]
    return OutboxSender(app.sessions, "console", transport, worker=worker, wall_clock=app.now, sleep=no_sleep)


def figure_for(measure: Measure) -> Figure:
    if measure is Measure.MILESTONE:
        return Figure(done=True)
    if measure is Measure.RATIO:
        return Figure(numerator=Decimal(90), denominator=Decimal(100))
    if measure is Measure.COUNT:
        return Figure(value=Decimal(5))
    return Figure(value=Decimal(95))


class Office:
    """The people around one plan: invites, registrations through the console, figures."""

    def __init__(self, app: App, plan_code: str) -> None:
        self.app = app
        self.plan_code = plan_code
        self.console = ConsoleChannel(app.deps, write=lambda _text: None)

    async def invite(self, role: str, unit: str | None = None) -> str:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, self.plan_code)
            found = None
            if unit:
                found = next(u for u in await store.plan_units(session, plan) if u.code == unit)
            issued = await people.create_invite(session, role=role, plan=plan, unit=found, now=self.app.now())
        return issued.code

    async def say(self, user: str, text: str, **kwargs: object) -> str:
        replies = await self.console.send(user, text, **kwargs)  # type: ignore[arg-type]
        return "\n".join(r.text for r in replies)

    async def register(self, user: str, role: str, unit: str | None = None) -> str:
        return await self.say(user, f"/start {await self.invite(role, unit)}")

    async def bind_group(self, chat: str) -> str:
        return await self.say("Admin", f"/start {await self.invite('group')}", chat=chat, group=True)

    async def report(self, unit_code: str, period: str, *, skip: Iterable[str] = ()) -> list[str]:
        """Store a figure for every part of `period`'s frequency the unit owes, except `skip`."""
        from models.periods import Period

        wanted = Period.parse(period)
        skipped = set(skip)
        stored = []
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, self.plan_code)
            view = await load_plan_view(session, plan.id)
            unit = next(u for u in view.units.values() if u.code == unit_code)
            for pv in view.parts_of_unit(unit.id):
                if pv.frequency is not wanted.frequency or pv.code in skipped:
                    continue
                await store_figure(session, plan_id=plan.id, part_id=pv.part.id, unit_id=unit.id, period=period,
                                   figure=figure_for(pv.target.measure), person_id=None, channel="console",
                                   now=self.app.now())
                stored.append(pv.code)
        return stored


# --- the quarter walk ----------------------------------------------------------------------------


@pytest.fixture
async def dt(app: App, clock: Clock) -> Office:
    clock.set(local(2025, 1, 2, 9))
    await import_plan_file(app, DT2025)
    office = Office(app, "DT2025")
    assert "Xã An Sinh" in await office.register("Lan", "officer", "an-sinh")
    await office.register("Minh", "officer", "mao-khe")
    await office.register("Hoa", "officer", "vhtt")  # the tracking office
    await office.register("Nam", "officer", "thue")
    await office.say("Nam", "/language en")
    await office.register("ChuTich", "leader")
    assert "Ban Chỉ đạo" in await office.bind_group("BCĐ")
    return office


Expected = set[tuple[str, str, str]]  # (kind, period, chat)


async def walk(app: App, clock: Clock, recorder: Recorder,
               timeline: list[tuple[datetime, object]]) -> dict[datetime, TickReport]:
    """Go through the timeline in order: at each instant either tick and compare what was
    delivered with what was expected, or do something (an officer reports)."""
    sender = console_sender(app, recorder)
    reports = {}
    for instant, step in sorted(timeline, key=lambda entry: entry[0]):
        clock.set(instant)
        if callable(step):
            await step()
            continue
        before = len(recorder.sent)
        report = await tick(app.deps, instant, senders={"console": sender})
        fresh = recorder.sent[before:]
        got = {(d.kind, d.period, d.chat) for d in fresh}
        assert got == step, f"at {instant:%a %d/%m %H:%M}: got {sorted(got)}, expected {sorted(step)}"  # type: ignore[arg-type]
        # A long summary goes out in parts (key#1, key#2, …); each part once.
        keys = [d.key for d in fresh]
        assert len(keys) == len(set(keys)), f"a message twice at {instant}"
        assert len({k.split("#")[0] for k in keys}) == len(got), f"a message twice at {instant}"
        again = await tick(app.deps, instant, senders={"console": sender})
        assert again.queued == [] and len(recorder.sent) - before == len(fresh), f"the second tick at {instant} sent"
        reports[instant] = report
    return reports


OFFICERS = {"Lan", "Minh", "Hoa", "Nam"}
OVERSEERS = {"ChuTich", "Hoa"}


def each(kind: str, period: str, chats: Iterable[str]) -> Expected:
    return {(kind, period, chat) for chat in chats}


async def test_a_quarter_of_dong_trieu_2025(app: App, clock: Clock, dt: Office) -> None:
    recorder = Recorder(clock)
    nothing: Expected = set()
    timeline: list[tuple[datetime, object]] = [
        # --- January: due Monday 20/1 -------------------------------------------------------------
        (local(2025, 1, 14, 8), nothing),
        (local(2025, 1, 15, 7, 59), nothing),
        (local(2025, 1, 15, 8), each("prompt", "2025-01", OFFICERS)),
        (local(2025, 1, 15, 22), nothing),  # quiet hours
        (local(2025, 1, 16, 9), lambda: dt.say("Lan", "1: 100%")),  # through the conversation
        (local(2025, 1, 16, 9, 5), lambda: dt.report("an-sinh", "2025-01", skip={"1"})),
        (local(2025, 1, 17, 10), lambda: dt.report("vhtt", "2025-01")),
        (local(2025, 1, 17, 11), lambda: dt.report("thue", "2025-01")),
        (local(2025, 1, 20, 8), each("reminder", "2025-01", {"Minh"})),  # only the unit still missing
        (local(2025, 1, 21, 8), each("overdue", "2025-01", {"Minh"})),
        (local(2025, 1, 21, 9), each("summary", "2025-01", {"BCĐ"}) | each("review", "2025-01", {"Hoa"})),
        (local(2025, 1, 22, 8), each("escalation", "2025-01", OVERSEERS)),
        (local(2025, 1, 25, 10), nothing),  # a Saturday
        (local(2025, 1, 29, 8), nothing),  # Tết
        # --- February: due Thursday 20/2 ----------------------------------------------------------
        (local(2025, 2, 17, 8), each("prompt", "2025-02", OFFICERS)),
        (local(2025, 2, 18, 10), lambda: dt.report("an-sinh", "2025-02", skip={"6", "8"})),
        (local(2025, 2, 18, 11), lambda: dt.report("vhtt", "2025-02")),
        (local(2025, 2, 18, 12), lambda: dt.report("thue", "2025-02")),
        (local(2025, 2, 20, 8), each("reminder", "2025-02", {"Lan", "Minh"})),
        (local(2025, 2, 21, 8), each("overdue", "2025-02", {"Lan", "Minh"})),
        (local(2025, 2, 21, 9), each("summary", "2025-02", {"BCĐ"}) | each("review", "2025-02", {"Hoa"})),
        (local(2025, 2, 21, 10), lambda: dt.report("an-sinh", "2025-02")),  # late, but complete
        (local(2025, 2, 24, 8), each("escalation", "2025-02", OVERSEERS)),
        # --- Q1: due Saturday 15/3, so reminded on Friday 14/3; March: due Thursday 20/3 -----------
        (local(2025, 3, 11, 8), each("prompt", "2025-Q1", OFFICERS)),
        (local(2025, 3, 12, 9), lambda: dt.report("vhtt", "2025-Q1")),
        (local(2025, 3, 13, 9), lambda: dt.report("an-sinh", "2025-Q1")),
        (local(2025, 3, 14, 8), each("reminder", "2025-Q1", {"Minh", "Nam"})),
        (local(2025, 3, 15, 8), nothing),  # the deadline itself, a Saturday: nothing new
        (local(2025, 3, 16, 10), nothing),
        (local(2025, 3, 17, 8), each("overdue", "2025-Q1", {"Minh", "Nam"}) | each("prompt", "2025-03", OFFICERS)),
        (local(2025, 3, 17, 9), each("summary", "2025-Q1", {"BCĐ"}) | each("review", "2025-Q1", {"Hoa"})),
        (local(2025, 3, 18, 8), each("escalation", "2025-Q1", OVERSEERS)),
        (local(2025, 3, 18, 15), lambda: dt.report("an-sinh", "2025-03")),
        (local(2025, 3, 19, 9), lambda: dt.report("vhtt", "2025-03")),
        (local(2025, 3, 19, 10), lambda: dt.report("thue", "2025-03")),
        (local(2025, 3, 20, 8), each("reminder", "2025-03", {"Minh"})),
        (local(2025, 3, 21, 8), each("overdue", "2025-03", {"Minh"})),
        (local(2025, 3, 21, 9), each("summary", "2025-03", {"BCĐ"}) | each("review", "2025-03", {"Hoa"})),
        (local(2025, 3, 21, 21, 30), nothing),
        (local(2025, 3, 24, 8), each("escalation", "2025-03", OVERSEERS)),
        (local(2025, 3, 31, 8), nothing),
    ]
    await walk(app, clock, recorder, timeline)

    # Nothing went out at night, every key once.
    assert all(not is_quiet(d.at.astimezone(ZONE).time(), *QUIET) for d in recorder.sent)
    assert len({d.key for d in recorder.sent}) == len(recorder.sent)

    # What the messages say.
    first = recorder.to("Lan")[0]
    assert first.key == "prompt:DT2025:2025-01:an-sinh@console"
    assert "Kính gửi đồng chí Lan" in first.text and "Xã An Sinh" in first.text and "tháng 1/2025" in first.text
    assert "Hạn gửi: thứ Hai 20/01/2025" in first.text
    assert ("⬜ 1 · Phê duyệt cấp độ và phương án an toàn HTTT — Hệ thống thông tin được phê duyệt cấp độ an toàn"
            " — mục tiêu ≥ 100%") in first.text
    assert first.text.count("⬜") == 7  # the commune's 7 monthly indicator parts, no quarterly one
    feb_prompt = next(d for d in recorder.to("Lan") if d.key.startswith("prompt:DT2025:2025-02"))
    assert "kỳ trước: 100% (tháng 1/2025)" in feb_prompt.text  # last figures

    lan_reminder = next(d for d in recorder.to("Lan") if d.kind == "reminder")
    assert "còn thiếu 2 chỉ tiêu kỳ tháng 2/2025" in lan_reminder.text
    lines = [line for line in lan_reminder.text.splitlines() if line.startswith("• ")]
    assert [line.split(" · ")[0] for line in lines] == ["• 6", "• 8"]  # only what is missing

    q1_reminder = next(d for d in recorder.to("Minh") if d.key.startswith("reminder:DT2025:2025-Q1"))
    assert "thứ Bảy 15/03/2025 — ngày nghỉ (cuối tuần), xin gửi trước, chậm nhất thứ Sáu 14/03/2025" in q1_reminder.text
    assert q1_reminder.text.count("\n• ") == 2

    nam = recorder.to("Nam")
    assert nam[0].text.startswith(
        "📋 Dear Nam: Chi cục Thuế thành phố's report for January 2025 is open (4 indicators)")
    assert "weekend" in next(d for d in nam if d.kind == "reminder").text

    overdue = next(d for d in recorder.to("Minh") if d.key.startswith("overdue:DT2025:2025-01"))
    assert "Phường Mạo Khê đã quá hạn báo cáo tháng 1/2025" in overdue.text and "2 ngày làm việc" in overdue.text

    escalation = next(d for d in recorder.to("ChuTich") if d.period == "2025-02")
    assert "Quá hạn 2 ngày làm việc" in escalation.text
    assert "• Phường Mạo Khê — cán bộ đầu mối: Minh — thiếu 7:" in escalation.text
    assert "Xã An Sinh" not in escalation.text  # complete by then
    assert "chưa có cán bộ đầu mối" in escalation.text  # units nobody registered for still count
    assert "29/32 đơn vị" in escalation.text
    assert escalation.key.startswith("escalation:DT2025:2025-02:p") and escalation.key.endswith("@console")
    q1_escalation = next(d for d in recorder.to("Hoa") if d.kind == "escalation" and d.period == "2025-Q1")
    assert "Chi cục Thuế thành phố — cán bộ đầu mối: Nam — thiếu 1" in q1_escalation.text

    review_list = next(d for d in recorder.to("Hoa") if d.kind == "review" and d.period == "2025-01")
    assert "📋 Duyệt chỉ tiêu" in review_list.text and "chờ duyệt" in review_list.text
    assert "Gõ /duyet" in review_list.text  # issue 17: how the tracking office acts on it

    summary = next(d for d in recorder.to("BCĐ") if d.period == "2025-01")
    assert summary.key == "summary:DT2025:2025-01:group@console:BCĐ#1"  # the first part of the summary
    assert "Đơn vị đã nộp đủ: 3/32" in summary.text


async def test_a_deadline_in_tet_is_reminded_before_the_holiday(app: App, clock: Clock, tmp_path: Path) -> None:
    # Đông Triều's rules a year on: 20/2/2026 falls in Tết (16–20/2), 15/3/2026 is a Sunday.
    text = DT2025.read_text(encoding="utf-8")
    text = text.replace("code: DT2025", "code: DT2026").replace("year: 2025", "year: 2026")
    path = tmp_path / "dong-trieu-2026.yaml"
    path.write_text(text, encoding="utf-8")
    clock.set(local(2026, 1, 5, 9))
    await import_plan_file(app, path)
    office = Office(app, "DT2026")
    await office.register("Minh", "officer", "mao-khe")
    await office.register("ChuTich", "leader")
    recorder = Recorder(clock)
    nothing: Expected = set()
    timeline: list[tuple[datetime, object]] = [
        (local(2026, 1, 15, 8), {("prompt", "2026-01", "Minh")}),
        (local(2026, 1, 20, 8), {("reminder", "2026-01", "Minh")}),
        (local(2026, 1, 21, 8), {("overdue", "2026-01", "Minh")}),
        (local(2026, 1, 22, 8), {("escalation", "2026-01", "ChuTich")}),
        (local(2026, 2, 10, 8), {("prompt", "2026-02", "Minh")}),
        (local(2026, 2, 13, 8), {("reminder", "2026-02", "Minh")}),  # the Friday before Tết
        (local(2026, 2, 16, 8), nothing),
        (local(2026, 2, 20, 8), nothing),  # the deadline, Mùng 4 Tết
        (local(2026, 2, 23, 8), {("overdue", "2026-02", "Minh")}),  # the first working day after
        (local(2026, 2, 24, 8), {("escalation", "2026-02", "ChuTich")}),
        (local(2026, 3, 10, 8), {("prompt", "2026-Q1", "Minh")}),
        (local(2026, 3, 13, 8), {("reminder", "2026-Q1", "Minh")}),  # Friday: 15/3 is a Sunday
        (local(2026, 3, 15, 8), nothing),
        (local(2026, 3, 16, 8), {("overdue", "2026-Q1", "Minh")}),
        (local(2026, 3, 17, 8), {("escalation", "2026-Q1", "ChuTich"), ("prompt", "2026-03", "Minh")}),
    ]
    await walk(app, clock, recorder, timeline)
    reminder = next(d for d in recorder.sent if d.kind == "reminder" and d.period == "2026-02")
    assert ("thứ Sáu 20/02/2026 — ngày nghỉ (Mùng bốn Tết Nguyên Đán), xin gửi trước, chậm nhất thứ Sáu 13/02/2026"
            in reminder.text)


# --- catching up, idempotence, who gets nothing --------------------------------------------------


async def test_catching_up_after_a_missed_reminder_sends_the_overdue_notice_not_both(app: App, clock: Clock,
                                                                                   dt: Office) -> None:
    recorder = Recorder(clock)
    sender = console_sender(app, recorder)
    clock.set(local(2025, 1, 15, 8))
    await tick(app.deps, clock(), senders={"console": sender})  # the prompts
    await dt.report("an-sinh", "2025-01")
    # Down from 16/1 to the morning after the deadline.
    clock.set(local(2025, 1, 21, 10, 17))
    report = await tick(app.deps, clock(), senders={"console": sender})
    assert sorted({(m.kind.value, m.recipient) for m in report.queued}) == [
        ("overdue", "Hoa"), ("overdue", "Minh"), ("overdue", "Nam"), ("review", "Hoa"), ("summary", "BCĐ")]
    assert not [d for d in recorder.sent if d.kind == "reminder"]
    # Started after the next period's deadline, January's notices are no longer sent at all.
    clock.set(local(2025, 2, 21, 10))
    later = await tick(app.deps, clock(), senders={"console": sender})
    assert {m.item.period_ids for m in later.queued} == {"2025-02"}


async def test_tick_twice_for_the_same_instant_sends_nothing_the_second_time(app: App, clock: Clock,
                                                                            dt: Office) -> None:
    recorder = Recorder(clock)
    clock.set(local(2025, 1, 15, 8))
    first = await tick(app.deps, clock(), senders={"console": console_sender(app, recorder)})
    assert len(first.queued) == 4 and all(first.state(m) == "sent" for m in first.queued)
    restarted = build_app(app.settings, clock=clock)  # another process, same database
    try:
        second = await tick(restarted.deps, clock(), senders={"console": console_sender(restarted, recorder, "other")})
    finally:
        await restarted.close()
    assert second.queued == [] and second.delivered == 0 and len(recorder.sent) == 4


async def test_deactivated_units_and_units_without_officers_get_nothing(app: App, clock: Clock, dt: Office) -> None:
    async with app.unit_of_work() as session:
        await session.execute(update(Unit).where(Unit.code == "mao-khe")
                              .values(active=False, deactivated_on=date(2024, 12, 1)))
    app.deps.plan_views.clear()
    clock.set(local(2025, 1, 15, 8))
    report = await tick(app.deps, clock())
    assert sorted(m.recipient for m in report.queued) == ["Hoa", "Lan", "Nam"]
    clock.set(local(2025, 1, 22, 8))
    escalation = next(m for m in (await tick(app.deps, clock())).queued if m.kind is Kind.ESCALATION)
    assert "Mạo Khê" not in escalation.text and "/31 đơn vị" in escalation.text


async def test_a_unit_that_reported_everything_before_the_prompt_is_not_prompted(app: App, clock: Clock,
                                                                                 dt: Office) -> None:
    await dt.report("an-sinh", "2025-01")
    clock.set(local(2025, 1, 15, 8))
    report = await tick(app.deps, clock())
    assert "Lan" not in {m.recipient for m in report.queued}
    minh = next(m for m in report.queued if m.recipient == "Minh")
    assert minh.key == "prompt:DT2025:2025-01:mao-khe@console"


async def test_a_partly_reported_unit_sees_what_is_already_in(app: App, clock: Clock, dt: Office) -> None:
    await dt.report("an-sinh", "2025-01", skip={"1"})
    clock.set(local(2025, 1, 15, 8))
    lan = next(m for m in (await tick(app.deps, clock())).queued if m.recipient == "Lan")
    assert lan.text.count("☑️") == 6 and lan.text.count("⬜") == 1 and "⬜ 1 ·" in lan.text


async def test_nothing_to_report_is_a_report_and_is_never_chased(app: App, clock: Clock, dt: Office) -> None:
    await dt.report("an-sinh", "2025-01", skip={"1"})
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        view = await load_plan_view(session, plan.id)
        unit = next(u for u in view.units.values() if u.code == "an-sinh")
        one = next(pv for pv in view.parts_of_unit(unit.id) if pv.code == "1")
        await store_figure(session, plan_id=plan.id, part_id=one.part.id, unit_id=unit.id, period="2025-01",
                           figure=Figure(not_applicable=True), person_id=None, channel="console", now=app.now())
    clock.set(local(2025, 1, 20, 8))
    reminded = {m.recipient for m in (await tick(app.deps, clock())).queued if m.kind is Kind.REMINDER}
    assert "Minh" in reminded and "Lan" not in reminded


async def test_without_senders_messages_stay_queued(app: App, clock: Clock, dt: Office) -> None:
    clock.set(local(2025, 1, 15, 8))
    report = await tick(app.deps, clock())
    assert {report.state(m) for m in report.queued} == {"pending"} and report.drained == ()
    recorder = Recorder(clock)
    await console_sender(app, recorder).drain()  # `run` delivers them later
    assert sorted(d.chat for d in recorder.sent) == sorted(OFFICERS)


# --- the tick command ----------------------------------------------------------------------------


def tick_args(now: str | None) -> Namespace:
    import argparse

    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    from locales import translator

    add_tick_parser(commands, translator("vi"))
    return parser.parse_args(["tick", *(["--now", now] if now else [])])


async def test_the_tick_command_prints_what_it_queued_without_a_channel(app: App, clock: Clock, dt: Office) -> None:
    out = io.StringIO()
    assert await cmd_tick(app, tick_args("2025-01-15T08:00"), out=out) == 0
    printed = out.getvalue()
    assert "Lịch nhắc lúc 15/01/2025 08:00: 1 việc đến hạn, 4 tin mới." in printed
    assert "Chưa cấu hình kênh nào" in printed
    assert "… Mời báo cáo · tháng 1/2025 → Lan (Xã An Sinh) · console:Lan" in printed
    assert "📋 Kính gửi đồng chí Lan" in printed
    again = io.StringIO()
    await cmd_tick(app, tick_args("2025-01-15T08:00"), out=again)
    assert "0 tin mới" in again.getvalue() and "Không có tin nào cần gửi" in again.getvalue()
    with pytest.raises(SystemExit):
        tick_args("next tuesday")


async def test_the_tick_command_sends_through_telegram(app: App, clock: Clock) -> None:
    from tests.telegram_emulator import TelegramEmulator

    clock.set(local(2025, 1, 2, 9))
    await import_plan_file(app, DT2025)
    async with TelegramEmulator() as emu:
        telegram = build_app(load_settings(DATABASE_URL=app.settings.database_url, BOT_TOKEN=emu.token,
                                           TELEGRAM_API_URL=emu.base_url), clock=clock)
        try:
            office = Office(telegram, "DT2025")
            async with telegram.unit_of_work() as session:  # a Telegram user registered earlier
                person = await people.ensure_person(session, "telegram", "4242", "Lan", "4242", clock())
                plan = await store.get_plan(session, "DT2025")
                unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
                await people.grant_role(session, person=person, role="officer", plan_id=plan.id, unit_id=unit.id,
                                        now=clock())
            emu.add_chat(4242, "private", first_name="Lan")
            await office.register("Minh", "officer", "mao-khe")  # console only: stays queued
            out = io.StringIO()
            assert await cmd_tick(telegram, tick_args("2025-01-15 08:00"), out=out) == 0
        finally:
            await telegram.close()
    assert len(emu.messages_to(4242)) == 1 and "Kính gửi đồng chí Lan" in emu.messages_to(4242)[0]
    printed = out.getvalue()
    assert "✓ Mời báo cáo · tháng 1/2025 → Lan (Xã An Sinh) · telegram:4242" in printed
    assert "… Mời báo cáo · tháng 1/2025 → Minh (Phường Mạo Khê) · console:Minh" in printed
    assert "Đã gửi 1, gửi lỗi 0, còn chờ 1." in printed


# --- the schedule view ---------------------------------------------------------------------------


async def ctx_of(app: App, user: str, now: datetime, session) -> Ctx:  # type: ignore[no-untyped-def]
    event = Event(channel="console", chat_id=user, chat_kind="private", sender_id=user, sender_name=user, text="/lich")
    ctx = Ctx(app.deps, session, event, now)
    ctx.person = await people.person_by_identity(session, "console", user)
    ctx.roles = await people.active_roles(session, ctx.person.id) if ctx.person else []
    return ctx


async def test_admins_see_the_upcoming_schedule(app: App, clock: Clock, dt: Office) -> None:
    await dt.register("Admin", "admin")
    now = local(2025, 3, 12, 10)
    async with app.unit_of_work() as session:
        admin = await ctx_of(app, "Admin", now, session)
        await show_schedule(admin)
        officer = await ctx_of(app, "Lan", now, session)
        await show_schedule(officer)
        stranger = await ctx_of(app, "Nobody", now, session)
        await show_schedule(stranger)
        plan = await store.get_plan(session, "DT2025")
        items = await upcoming(session, app.deps, plan.id, now, limit=2)
    text = admin.replies[0].text
    assert text.startswith("🗓 Lịch nhắc sắp tới — Chuyển đổi số thành phố Đông Triều năm 2025:")
    assert ("• thứ Sáu 14/03/2025 lúc 08:00 — Nhắc đơn vị còn thiếu quý I/2025 (hạn thứ Bảy 15/03/2025 — ngày nghỉ "
            "(cuối tuần), xin gửi trước, chậm nhất thứ Sáu 14/03/2025)") in text
    assert "• thứ Hai 17/03/2025 lúc 08:00 — Mời báo cáo tháng 3/2025 (hạn thứ Năm 20/03/2025)" in text
    assert "• thứ Hai 17/03/2025 lúc 09:00 — Tổng hợp gửi nhóm Ban Chỉ đạo quý I/2025" in text
    assert "không nhắn tin từ 21:00 đến 07:00" in text
    assert [(i.kind, i.period_ids) for i in items] == [(Kind.REMINDER, "2025-Q1"), (Kind.PROMPT, "2025-03")]
    lan = officer.replies[0].text
    assert lan.startswith("🗓 Các hạn báo cáo sắp tới của Xã An Sinh:")
    assert "• quý I/2025: hạn thứ Bảy 15/03/2025" in lan and "(2 chỉ tiêu)" in lan
    assert "• tháng 3/2025: hạn thứ Năm 20/03/2025 (7 chỉ tiêu)" in lan
    assert stranger.replies[0].text == "Chức năng này dành cho quản trị viên."


# --- the APScheduler job -------------------------------------------------------------------------


async def test_the_scheduler_ticks_at_start_and_every_minute(app: App, clock: Clock, dt: Office) -> None:
    clock.set(local(2025, 1, 15, 8))
    reports: list[TickReport] = []
    done = asyncio.Event()

    def seen(report: TickReport) -> None:
        reports.append(report)
        done.set()

    recorder = Recorder(clock)
    sender = console_sender(app, recorder)
    scheduler = start_scheduler(app.deps, {"console": sender}, on_report=seen)
    try:
        job = scheduler.get_job(JOB_ID)
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time
        assert "second='0'" in str(job.trigger) and str(scheduler.timezone) == "Asia/Ho_Chi_Minh"  # each minute
        await asyncio.wait_for(done.wait(), timeout=10)  # the catch-up tick at start
        assert len(reports[0].queued) == 4 and sender.wake.is_set()
        assert tick_job(scheduler).last is reports[0]
    finally:
        await stop_scheduler(scheduler)
    assert not scheduler.running
    await sender.drain()
    assert len(recorder.sent) == 4


async def test_outbox_keys_fit_the_column(app: App, clock: Clock, dt: Office) -> None:
    clock.set(local(2025, 1, 15, 8))
    await tick(app.deps, clock())
    async with app.unit_of_work() as session:
        keys = list(await session.scalars(select(OutboxMessage.key)))
    assert keys and max(len(k) for k in keys) <= 200
    assert all(k.count(":") >= 3 for k in keys)


# --- end to end through Telegram (the emulator, flood limits on) ----------------------------------


class FakeTime:
    """Monotonic seconds shared by the channel's rate limiter and the emulator; sleeping moves it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds
        await asyncio.sleep(0)


async def test_a_month_end_to_end_through_telegram(app: App, clock: Clock) -> None:
    from bot.channels.telegram import TelegramChannel
    from tests.telegram_emulator import TelegramEmulator

    clock.set(local(2025, 1, 2, 9))
    await import_plan_file(app, DT2025)
    office = Office(app, "DT2025")
    fake = FakeTime()
    async with TelegramEmulator(clock=fake) as emu:
        emu.rate_limit(per_second=30)
        bot = emu.make_bot()
        channel = TelegramChannel(app, bot, sleep=fake.sleep, monotonic=fake)
        offset: list[int] = [0]

        async def pump() -> None:
            updates = await bot.get_updates(offset=offset[0] or None, timeout=0)
            if updates:
                assert await channel.intake(updates)
                await channel.settle()  # the replies are sent in the background
                offset[0] = updates[-1].update_id + 1

        async def at(instant: datetime) -> TickReport:
            clock.set(instant)
            return await tick(app.deps, instant, senders={"telegram": channel.sender})

        try:
            emu.user_message(1001, f"/start {await office.invite('officer', 'an-sinh')}", first_name="Lan")
            emu.user_message(1002, f"/start {await office.invite('officer', 'mao-khe')}", first_name="Minh")
            emu.user_message(1009, f"/start {await office.invite('leader')}", first_name="Chủ tịch")
            emu.group_message(-1001234, 1009, f"/start {await office.invite('group')}", title="BCĐ Đông Triều")
            await pump()
            assert "cán bộ đầu mối của Xã An Sinh" in emu.messages_to(1001)[0]
            assert "Ban Chỉ đạo" in emu.messages_to(-1001234)[0]

            prompts = await at(local(2025, 1, 15, 8))
            assert sorted(m.chat_id for m in prompts.queued) == ["1001", "1002"]
            assert all(prompts.state(m) == "sent" for m in prompts.queued)
            assert "Kính gửi đồng chí Lan" in emu.messages_to(1001)[-1]

            clock.set(local(2025, 1, 16, 9))
            emu.user_message(1001, "1: 100%", first_name="Lan")
            await pump()
            assert "Đã ghi chỉ tiêu 1 (tháng 1/2025): 100%" in emu.messages_to(1001)[-1]
            await office.report("an-sinh", "2025-01", skip={"1"})

            reminders = await at(local(2025, 1, 20, 8))
            assert [m.chat_id for m in reminders.queued] == ["1002"]
            assert "còn thiếu 7 chỉ tiêu" in emu.messages_to(1002)[-1]
            overdue = await at(local(2025, 1, 21, 8))
            assert [(m.kind, m.chat_id) for m in overdue.queued] == [(Kind.OVERDUE, "1002")]
            summary = await at(local(2025, 1, 21, 9))
            assert {(m.kind, m.chat_id) for m in summary.queued} == {(Kind.SUMMARY, "-1001234")}
            assert "Đơn vị đã nộp đủ: 1/32" in "\n".join(emu.messages_to(-1001234))
            assert [r.filename for r in emu.sent_to(-1001234) if r.method == "sendPhoto"]  # with its charts
            escalation = await at(local(2025, 1, 22, 8))
            assert [(m.kind, m.chat_id) for m in escalation.queued] == [(Kind.ESCALATION, "1009")]
            assert "Phường Mạo Khê — cán bộ đầu mối: Minh — thiếu 7" in emu.messages_to(1009)[-1]
            assert (await at(local(2025, 1, 22, 8))).queued == []
        finally:
            await bot.session.close()
    assert emu.too_many_requests == 0
    assert [len(emu.messages_to(chat)) for chat in (1001, 1002, 1009)] == [3, 4, 2]
    # The binding's confirmation, then the summary: one text, in as many messages as Telegram needs.
    [summary_text] = [m.text for m in summary.queued]
    sent = [r.text for r in emu.sent_to(-1001234) if r.method == "sendMessage"]
    assert sent[1:] == split_text(summary_text) and len(sent) > 2


async def test_an_escalation_says_when_the_officer_cannot_be_reached(app: App, clock: Clock, dt: Office) -> None:
    from models.tables import Person

    async with app.unit_of_work() as session:
        await session.execute(update(Person).where(Person.display_name == "Minh")
                              .values(unreachable_at=local(2025, 1, 10),
                                      unreachable_reason="forbidden: bot was blocked"))
    clock.set(local(2025, 1, 22, 8))
    escalation = next(m for m in (await tick(app.deps, clock())).queued if m.kind is Kind.ESCALATION)
    assert ("Phường Mạo Khê — cán bộ đầu mối: Minh (không nhận được tin nhắn của bot, xem /khonglienlac)"
            in escalation.text)


async def test_one_plan_failing_does_not_stop_the_others(app: App, clock: Clock, dt: Office,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import scheduler.tick as module

    await import_plan_file(app, Path(__file__).resolve().parent / "data" / "small-plan.yaml")
    small = Office(app, "T2025")
    await small.register("Ba", "officer", "an-sinh")
    real = module.build_messages

    async def broken(session, app_, view, item):  # type: ignore[no-untyped-def]
        if view.plan.code == "DT2025":
            raise RuntimeError("a bad row")
        return await real(session, app_, view, item)

    monkeypatch.setattr(module, "build_messages", broken)
    clock.set(local(2025, 1, 15, 8))
    out = io.StringIO()
    assert await cmd_tick(app, tick_args(None), out=out) == 1
    assert "DT2025" in out.getvalue() and "Ba (Xã An Sinh)" in out.getvalue()
    monkeypatch.setattr(module, "build_messages", real)
    healed = await tick(app.deps, clock())
    assert healed.failed_plans == [] and len(healed.queued) == 4
