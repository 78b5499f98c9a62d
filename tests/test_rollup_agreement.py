"""Every answer gives the same plan-wide figure and coverage for the same period: /chuanop, the
summary (/tonghop), /tinhhinh, the question about one indicator across units, the charts and the
spreadsheet — on the seed plan DT2025, through the console channel, with a ratio indicator that
some units reported as percentages only and one unit with nothing to report ("không phát sinh")."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from handlers.charts import _value_text, grid_matrix
from handlers.summary import Standing, build_summary, collecting_period
from locales import translator
from models import people, store
from models.periods import Period
from models.plans import PlanFileError, load_plan_file
from models.store import load_plan_view
from models.targets import Figure
from tests.figures import store_figures

DT2025 = Path(__file__).resolve().parent.parent / "data" / "plans" / "dong-trieu-2025.yaml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH = Period.parse("2025-03")
D = Decimal


class Leader:
    """The chairman and an admin on the console, on DT2025."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.channel = ConsoleChannel(app.deps, write=lambda _: None)

    async def join(self, user: str, role: str) -> None:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "DT2025")
            issued = await people.create_invite(session, role=role, plan=plan, unit=None, now=self.app.now())
        await self.channel.send(user, f"/start {issued.code}")

    async def ask(self, user: str, text: str) -> tuple[str, list[Any]]:
        replies = [r for r in await self.channel.send(user, text) if r.to is None]
        return "\n".join(r.text for r in replies), [a for r in replies for a in r.attachments]


SEVEN_BY_THE_CITY = "    reporters: {units: [hcc]}\n\n  - code: \"8\""


def dt2025_with_communes_reporting_seven(folder: Path) -> Path:
    """DT2025 as a plan in which every commune and ward reports indicator 7 (a ratio) too: the seed
    plan gives it to the public-service centre alone, which would leave nothing to roll up."""
    text = DT2025.read_text(encoding="utf-8")
    assert text.count(SEVEN_BY_THE_CITY) == 1
    path = folder / "dt2025.yaml"
    path.write_text(text.replace(SEVEN_BY_THE_CITY, SEVEN_BY_THE_CITY.replace(
        "[hcc]}", "[hcc], kinds: [commune, ward]}")), encoding="utf-8")
    return path


@pytest.fixture
async def plan(app: App, clock: Any, tmp_path: Path) -> Leader:
    await import_plan_file(app, dt2025_with_communes_reporting_seven(tmp_path))
    march = datetime(2025, 3, 17, 9, 0, tzinfo=ZONE)
    await store_figures(app, "DT2025", [
        ("an-sinh", "7", "2025-03", Figure(numerator=D(120), denominator=D(150)), march),
        ("viet-dan", "7", "2025-03", Figure(value=D(100)), march),
        ("mao-khe", "7", "2025-03", Figure(value=D(95)), march),
        ("hong-phong", "7", "2025-03", Figure(not_applicable=True), march),
    ])
    clock.set(datetime(2025, 3, 18, 2, 0, tzinfo=ZONE))  # March is being collected (due 20/3)
    leader = Leader(app)
    await leader.join("Chủ tịch", "leader")
    await leader.join("Admin", "admin")
    return leader


async def test_every_answer_gives_the_same_figure_and_coverage(plan: Leader, app: App) -> None:
    async with app.unit_of_work() as session:
        view = await load_plan_view(session, (await store.get_plan(session, "DT2025")).id)  # type: ignore[union-attr]
        assert collecting_period(view, date(2025, 3, 18)) == MARCH
        summary = await build_summary(session, view, MARCH, date(2025, 3, 18), ZONE)
    seven = summary.row("7")
    expected = seven.rollup.units_expected
    counted = expected - 1  # Hồng Phong has nothing to report: not awaited, not in the figure
    # (120 + 100% and 95% of an average unit's 150) / (3 × 150): nobody's percentage is dropped.
    assert seven.amount is not None and seven.amount.quantize(D("0.01")) == D("91.67")
    assert (seven.rollup.units_reporting, seven.rollup.units_counted) == (3, counted)
    assert seven.reports.received == 4  # "không phát sinh" is a report received
    assert seven.standing is Standing.THIN  # 3 of ~30 units: no ✅ / 🔴 on that
    coverage = f"3/{counted} đơn vị có số"
    figure = "91,67%"

    text, charts = await plan.ask("Chủ tịch", "/tonghop tháng 3")
    lines = text.splitlines()
    start = next(index for index, row in enumerate(lines) if " 7 · TTHC" in row)
    line = "\n".join(lines[start:start + 3])
    assert line.startswith("⚪ 7 · TTHC") and figure in line and coverage in line
    assert "1 không phát sinh" in line and "2 chỉ gửi tỷ lệ %" in line and "chưa đủ số liệu" in line
    # The two charts, and the spreadsheet its list of units to chase, cut short, speaks of (issue 16).
    assert [a.kind for a in charts] == ["photo", "photo", "document"]

    status, _ = await plan.ask("Chủ tịch", "/tinhhinh")
    seven_status = next(row for row in status.splitlines() if " 7 · " in row)
    assert seven_status.startswith("⚪") and figure in seven_status and coverage in seven_status
    assert "tháng 3/2025" in seven_status

    across, _ = await plan.ask("Chủ tịch", "chỉ tiêu 7 các đơn vị")
    assert figure in across and coverage in across
    assert "➖ Phường Hồng Phong: không phát sinh" in across and "Xã Việt Dân: 100%" in across

    missing, _ = await plan.ask("Chủ tịch", "/chuanop")
    named, _ = await plan.ask("Chủ tịch", "đơn vị nào chưa báo cáo tháng 3?")
    assert missing == named
    assert f"⏳ {len(summary.to_chase)} đơn vị chưa báo cáo đủ (tháng 3/2025" in missing
    chased = {unit.name for unit in summary.to_chase}
    listed = {row.split(" — ")[0].removeprefix("• ") for row in missing.splitlines() if row.startswith("• ")}
    assert listed == chased
    assert "Phường Hồng Phong" in listed  # owes other indicators, not 7
    hong_phong = next(row for row in missing.splitlines() if row.startswith("• Phường Hồng Phong"))
    assert " 7," not in hong_phong and "(7" not in hong_phong

    assert _value_text(seven, translator("vi")) == f"{figure} / ≥ 100% · 3/{counted}"
    hong_phong_row = next(unit for unit in summary.units if unit.code == "hong-phong")
    assert grid_matrix(summary, [hong_phong_row], [seven]) == [[4]]  # its own "nothing to report" colour

    unit_status, _ = await plan.ask("Chủ tịch", "tình hình phường Hồng Phong")
    assert "➖ 7 · TTHC đủ điều kiện cung cấp DVCTT toàn trình: không phát sinh (tháng 3/2025)" in unit_status
    assert "1 không phát sinh" in unit_status

    _, documents = await plan.ask("Admin", "/xuat tháng 3")
    workbook = load_workbook(io.BytesIO(documents[0].content), read_only=True)
    own = [row for row in workbook["Phường Hồng Phong"].iter_rows(values_only=True) if row and row[0] == "7"]
    assert own[0][4] == "không phát sinh" and "Không phát sinh" in own[0]
    sheet = workbook.worksheets[1]  # the appendix, after the overview
    rows = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    header = next(row for row in rows if row and "Số liệu: đơn vị có số" in row)
    code = header.index("Mã")
    row = next(r for r in rows if len(r) > code and r[code] == "7")
    assert round(row[header.index("Số liệu: đơn vị có số") - 1], 4) == round(float(seven.amount) / 100, 4)
    assert coverage in row[header.index("Số liệu: đơn vị có số")]
    assert row[header.index("Đánh giá")] == "Chưa đủ số liệu"


async def test_a_named_quarter_and_the_summary_of_that_quarter_agree(plan: Leader, app: App) -> None:
    named, _ = await plan.ask("Chủ tịch", "đơn vị nào chưa báo cáo quý I?")
    async with app.unit_of_work() as session:
        view = await load_plan_view(session, (await store.get_plan(session, "DT2025")).id)  # type: ignore[union-attr]
        summary = await build_summary(session, view, Period.parse("2025-Q1"), date(2025, 3, 18), ZONE)
    assert f"⏳ {len(summary.to_chase)} đơn vị chưa báo cáo đủ (quý I/2025" in named


async def test_still_missing_counts_what_is_being_collected_grouped_by_period(plan: Leader, app: App) -> None:
    async with app.unit_of_work() as session:
        dt = await store.get_plan(session, "DT2025")
        assert dt is not None
        view = await load_plan_view(session, dt.id)
        unit = next(u for u in view.units.values() if u.code == "an-sinh")
        issued = await people.create_invite(session, role="officer", plan=dt, unit=unit, now=app.now())
    await plan.channel.send("Lan", f"/start {issued.code}")
    answer, _ = await plan.ask("Lan", "8: 91%")
    # Owed now: every part of An Sinh whose period's cut-off has passed (March, Q1), less 7 (sent
    # earlier) and 8; never the yearly parts, whose period opens in December.
    owed: dict[Period, list[str]] = {}
    for pv in view.parts_of_unit(unit.id):
        period = view.collecting(pv.frequency, date(2025, 3, 18))
        if period is not None and pv.code not in ("7", "8"):
            owed.setdefault(period, []).append(pv.code)
    assert all(period.frequency.value != "yearly" for period in owed)
    count = sum(len(codes) for codes in owed.values())
    assert f"Còn thiếu {count} chỉ tiêu kỳ này: " in answer
    for period, codes in owed.items():
        shown = f"{period.display('vi')} (hạn {view.deadline(period).strftime('%d/%m/%Y')}): {', '.join(codes)}"
        assert shown in answer


async def test_why_explains_the_marks_with_the_plans_threshold(plan: Leader) -> None:
    await plan.ask("Chủ tịch", "/tinhhinh")
    why, _ = await plan.ask("Chủ tịch", "vì sao?")
    assert "🟡 Đúng tiến độ" in why and "kết quả năm trước" in why and "kém hơn kỳ trước" in why
    assert "dưới 80% số đơn vị" in why
    await plan.ask("Chủ tịch", "/language en")
    english, _ = await plan.ask("Chủ tịch", "why?")
    assert "How plan-wide indicators are judged" in english and "fewer than 80% of the units" in english


def test_the_coverage_threshold_comes_from_the_plan_file(tmp_path: Path) -> None:
    small = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
    assert load_plan_file(small).coverage_threshold == 50
    assert load_plan_file(DT2025).coverage_threshold is None  # the default, 80%
    broken = tmp_path / "broken.yaml"
    broken.write_text(small.read_text(encoding="utf-8").replace("coverage_threshold: 50", "coverage_threshold: 0"),
                      encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(broken)
    assert [(issue.field, issue.message) for issue in caught.value.issues] == [
        ("plan.coverage_threshold", "plan-error-integer")]
