"""What the plan files say beyond one target per row: the month collecting starts, conditional
targets, targets a document states twice, and who hears of escalations."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from bot.app import App
from bot.cli import import_plan_file
from handlers.formatting import describe_target
from locales import translator
from models import store
from models.due import Kind, plan_items
from models.periods import Frequency, Period, collects
from models.plans import PlanFileError, load_plan_file
from models.store import load_plan_view
from models.targets import Comparison, Measure, parse_target
from scheduler.tick import situation, tick
from tests.conftest import PLANS, Clock
from tests.test_scheduler_tick import ZONE, Office, local

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
DT2025 = PLANS / "dong-trieu-2025.yaml"


def small_with(tmp_path: Path, head: str = "", indicator: str = "") -> Path:
    """The small test plan with lines added to its `plan:` head and a last indicator."""
    text = SMALL.read_text(encoding="utf-8")
    text = text.replace("  tracking_unit: vhtt\n", "  tracking_unit: vhtt\n" + head, 1)
    path = tmp_path / "plan.yaml"
    path.write_text(text + indicator, encoding="utf-8")
    return path


# --- collect_from ----------------------------------------------------------------------------------


periods = st.builds(
    lambda year, frequency, index: Period(year, frequency, (index % frequency.periods_per_year) + 1),
    st.integers(2020, 2030), st.sampled_from(list(Frequency)), st.integers(0, 11))
months = st.builds(lambda year, month: Period(year, Frequency.MONTHLY, month), st.integers(2020, 2030),
                   st.integers(1, 12))


@given(months, periods)
def test_a_period_is_collected_exactly_when_it_ends_in_or_after_the_first_month(start: Period, period: Period) -> None:
    ends = (period.year, period.last_month)
    assert collects(start, period) == (ends >= (start.year, start.index))
    if collects(start, period):
        assert collects(start, period.next())  # once collecting, always collecting
    assert collects(None, period)


def test_from_april_march_and_q1_are_not_collected_but_q2_h1_and_the_year_are() -> None:
    april = Period.parse("2025-04")
    assert [collects(april, Period.parse(p)) for p in ("2025-03", "2025-04", "2025-Q1", "2025-Q2", "2025-H1", "2025")] \
        == [False, True, False, True, True, True]


def test_collect_from_is_read_as_a_month(tmp_path: Path) -> None:
    plan = load_plan_file(small_with(tmp_path, '  collect_from: "2025-04"\n'))
    assert plan.collect_from == Period.parse("2025-04")
    assert not collects(plan.collect_from, Period.parse("2025-Q1")) and collects(plan.collect_from, Period.parse("2025-Q2"))
    assert load_plan_file(small_with(tmp_path, "  collect_from: 2025-04-01\n")).collect_from == Period.parse("2025-04")
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(small_with(tmp_path, '  collect_from: "2025-Q2"\n'))
    rendered = caught.value.render(translator("vi"))
    assert "plan.collect_from" in rendered and "viết như 2025-04" in rendered


async def dt_collecting_from_april(app: App, clock: Clock, tmp_path: Path) -> Office:
    text = DT2025.read_text(encoding="utf-8").replace("  tracking_unit:", '  collect_from: "2025-04"\n  tracking_unit:', 1)
    assert "collect_from" in text
    path = tmp_path / "dt2025.yaml"
    path.write_text(text, encoding="utf-8")
    clock.set(local(2025, 3, 3, 9))
    await import_plan_file(app, path)
    office = Office(app, "DT2025")
    await office.register("Lan", "officer", "an-sinh")
    await office.register("ChuTich", "leader")
    return office


async def test_nobody_is_prompted_chased_or_escalated_for_a_period_before_collect_from(
        app: App, clock: Clock, tmp_path: Path) -> None:
    await dt_collecting_from_april(app, clock, tmp_path)
    # March and Q1 would be prompted, reminded, overdue, escalated and summarised in these days.
    for day in (11, 14, 17, 18, 20, 21, 24):
        clock.set(local(2025, 3, day, 9))
        assert (await tick(app.deps, clock())).queued == [], day
    clock.set(local(2025, 4, 15, 9))  # April's prompt: the first period collected
    report = await tick(app.deps, clock())
    assert {(m.kind, m.recipient) for m in report.queued} == {(Kind.PROMPT, "Lan")}
    assert "tháng 4/2025" in report.queued[0].text


async def test_who_owes_what_leaves_out_periods_before_collect_from(app: App, clock: Clock, tmp_path: Path) -> None:
    await dt_collecting_from_april(app, clock, tmp_path)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        view = await load_plan_view(session, plan.id)
        items = plan_items("DT2025", 2025, {}, app.deps.calendar, ZONE, {Frequency.MONTHLY, Frequency.QUARTERLY},
                           view.collect_from)
        assert min(item.periods[0] for item in items if item.periods[0].frequency is Frequency.MONTHLY).id == "2025-04"
        escalation = next(i for i in items if i.kind is Kind.ESCALATION and i.periods[0].id == "2025-04")
        march = escalation.__class__(Kind.ESCALATION, "DT2025", (Period.parse("2025-03"),), escalation.deadline,
                                     escalation.fire_at, escalation.until)
        assert (await situation(session, view, march)).owed == {}
        assert (await situation(session, view, escalation)).owed  # April is owed


# --- escalations ---------------------------------------------------------------------------------


async def test_an_escalation_reaches_admins_leaders_and_everyone_in_the_tracking_offices(
        app: App, clock: Clock) -> None:
    clock.set(local(2025, 1, 2, 9))
    await import_plan_file(app, DT2025)
    office = Office(app, "DT2025")
    await office.register("Lan", "officer", "an-sinh")
    await office.register("Hoa", "officer", "vhtt")  # the plan's tracking office
    await office.register("ChuTich", "leader")
    await office.register("QuanTri", "admin")
    # The public-service centre tracks indicators 2, 3, 6 and 8, which the commune still owes.
    await office.register("Tuan", "officer", "hcc")
    await office.report("hcc", "2025-01")
    clock.set(local(2025, 1, 22, 8))
    escalations = [m for m in (await tick(app.deps, clock())).queued if m.kind is Kind.ESCALATION]
    assert {m.recipient for m in escalations} == {"ChuTich", "QuanTri", "Hoa", "Tuan"}
    assert all("Xã An Sinh" in m.text for m in escalations)
    assert "Lan" not in {m.recipient for m in escalations}  # a unit's own officer gets the overdue notice


# --- targets stated inside a row's text ----------------------------------------------------------


@pytest.mark.parametrize(("text", "comparison", "value"), [
    ("giảm trạm 3G xuống dưới 10%", Comparison.BELOW, 10),
    ("giảm trạm 3G xuống 10%", Comparison.AT_MOST, 10),
    ("tăng tỷ lệ trạm 4G lên trên 70%", Comparison.ABOVE, 70),
    ("tăng tỷ lệ trạm 4G lên 70%", Comparison.AT_LEAST, 70),
    ("đối với các xã khu vực còn lại đạt tối thiểu 80%", Comparison.AT_LEAST, 80),
    ("tối thiểu: 90%", Comparison.AT_LEAST, 90),
])
def test_the_phrasings_of_the_rows(text: str, comparison: Comparison, value: int) -> None:
    target = parse_target(text)
    assert (target.measure, target.comparison, target.value, target.condition) == (
        Measure.PERCENT, comparison, Decimal(value), None)


def test_sau_khi_makes_a_condition_shown_beside_the_target() -> None:
    target = parse_target("tăng tỷ lệ trạm 5G lên tối thiểu 20% sau khi Bộ TT&TT cấp phép thương mại")
    assert (target.comparison, target.value) == (Comparison.AT_LEAST, Decimal(20))
    assert target.condition == "sau khi Bộ TT&TT cấp phép thương mại"
    assert describe_target(target, translator("vi")) == "≥ 20% (sau khi Bộ TT&TT cấp phép thương mại)"
    assert describe_target(target, translator("en")).endswith("(condition: sau khi Bộ TT&TT cấp phép thương mại)")
    assert parse_target("tắt sóng 2G").measure is Measure.MILESTONE


@given(st.integers(1, 99), st.sampled_from(["trên ", "tối thiểu ", "dưới ", ""]),
       st.text(alphabet="abcdeghiklmnoprstuvxyđâêôơư ", min_size=1, max_size=30))
def test_whatever_follows_sau_khi_never_changes_the_target(value: int, cue: str, rest: str) -> None:
    bare = parse_target(f"{cue}{value}%")
    conditional = parse_target(f"{cue}{value}% sau khi {rest}")
    assert (conditional.measure, conditional.comparison, conditional.value) == (bare.measure, bare.comparison, bare.value)
    assert conditional.condition is not None and conditional.condition.startswith("sau khi")


CONFLICT = """
  - code: "30"
    title: "Doanh nghiệp nhỏ và vừa dùng nền tảng số"
    text: "Doanh nghiệp nhỏ và vừa sử dụng nền tảng số đạt trên 15%"
    lead: "Phòng Văn hóa và Thông tin"
    target: "trên 15%"
    frequency: yearly
    conflicts:
      - source: "Thân kế hoạch, mục I.2"
        target: "trên 50%"
"""


def test_a_conflict_is_kept_beside_the_chosen_target(tmp_path: Path) -> None:
    plan = load_plan_file(small_with(tmp_path, indicator=CONFLICT))
    thirty = next(i for i in plan.indicators if i.code == "30")
    assert thirty.target_source == "Phụ lục"
    assert [(c.part, c.source, c.target.comparison, c.target.value) for c in thirty.conflicts] == [
        ("30", "Thân kế hoạch, mục I.2", Comparison.ABOVE, Decimal(50))]
    assert store.conflict_rows(thirty) == [{
        "part": "30", "source": "Thân kế hoạch, mục I.2", "target": "trên 50%", "chosen_source": "Phụ lục",
        "chosen_target": "trên 15%", "rule": None}]


def test_a_conflict_must_name_a_part_of_its_indicator(tmp_path: Path) -> None:
    broken = CONFLICT.replace('        target: "trên 50%"', '        target: "trên 50%"\n        part: "31"')
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(small_with(tmp_path, indicator=broken))
    assert "indicators.30.conflicts[1].part" in caught.value.render(translator("en"))


async def test_reimporting_with_a_conflict_and_a_new_part_keeps_ids_and_figures(app: App, clock: Clock,
                                                                               tmp_path: Path) -> None:
    from models.submissions import store_figure
    from models.targets import Figure

    first = small_with(tmp_path)
    await import_plan_file(app, first)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        view = await load_plan_view(session, plan.id)
        part = next(pv.part for pv in view.parts.values() if pv.code == "22")
        unit = next(u for u in view.units.values() if u.code == "vnpt")
        await store_figure(session, plan_id=plan.id, part_id=part.id, unit_id=unit.id, period="2025-02",
                           figure=Figure(value=Decimal(12)), person_id=None, channel="console", now=clock())
        part_id = part.id
    # Indicator 22 gains a sibling stated in its text, keeping code "22" for the first part.
    text = first.read_text(encoding="utf-8").replace(
        '    text: "Giảm trạm 3G xuống dưới 10%"\n    lead: "VNPT"\n    target: "10%"',
        '    text: "Giảm trạm 3G xuống dưới 10%, tăng trạm 4G lên trên 70%"\n    lead: "VNPT"\n    target: "10%"\n'
        '    parts:\n      - {code: "22"}\n      - {code: 22b, target: "tăng trạm 4G lên trên 70%"}')
    first.write_text(text + CONFLICT, encoding="utf-8")
    result = await import_plan_file(app, first)
    assert [c["part"] for c in result.conflicts] == ["30"]
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        view = await load_plan_view(session, plan.id)
        twenty_two = [pv for pv in view.parts.values() if pv.indicator.code == "22"]
        assert [(pv.code, pv.target.comparison) for pv in twenty_two] == [("22", Comparison.BELOW), ("22b", Comparison.ABOVE)]
        assert twenty_two[0].part.id == part_id
        from models.submissions import current_for_plan

        assert [(r.part_id, r.value) for r in await current_for_plan(session, plan.id, ["2025-02"])] == [(part_id, Decimal(12))]


async def test_an_xlsx_parts_sheet_can_set_a_parts_reporters_and_condition(app: App, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from handlers.export import export_command
    from models.plan_xlsx import PARTS_SHEET

    await import_plan_file(app, SMALL)
    path = tmp_path / "small.xlsx"
    await export_command(app, "T2025", "2025-03", path)
    workbook = load_workbook(path)
    sheet = workbook[PARTS_SHEET]
    width = sheet.max_column
    sheet.cell(1, width + 1, "Đơn vị báo cáo")
    sheet.cell(1, width + 2, "Điều kiện")
    rows = {sheet.cell(row, 2).value: row for row in range(2, sheet.max_row + 1)}
    sheet.cell(rows["12a"], width + 1, "vhtt; vnpt")
    sheet.cell(rows["12b"], width + 2, "sau khi có số liệu của Chi cục Thống kê")
    workbook.save(path)
    parts = {part.code: part for part in load_plan_file(path).parts}
    assert (parts["12a"].reporters, parts["12a"].reporters_overridden) == (("vhtt", "vnpt"), True)
    assert parts["12b"].target.condition == "sau khi có số liệu của Chi cục Thống kê"
    assert not parts["9a"].reporters_overridden


async def test_the_period_reported_now_is_never_one_before_collect_from(app: App, clock: Clock, tmp_path: Path) -> None:
    await dt_collecting_from_april(app, clock, tmp_path)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        view = await load_plan_view(session, plan.id)
    assert view.reporting_period(Frequency.MONTHLY, date(2025, 4, 2)).id == "2025-04"  # not March
    assert view.reporting_period(Frequency.QUARTERLY, date(2025, 4, 2)).id == "2025-Q2"  # not Q1
    assert view.reporting_period(Frequency.MONTHLY, date(2025, 5, 17)).id == "2025-05"
    assert view.reporting_period(Frequency.YEARLY, date(2025, 4, 2)).id == "2025"


async def test_a_figure_sent_early_in_the_first_collected_month_is_filed_for_that_month(
        app: App, clock: Clock, tmp_path: Path) -> None:
    office = await dt_collecting_from_april(app, clock, tmp_path)
    clock.set(local(2025, 4, 2, 9))  # March's cut-off has passed, but March is not collected
    reply = await office.say("Lan", "6: 80%")
    assert "tháng 4/2025" in reply and "tháng 3/2025" not in reply
