"""The spreadsheet export: cells read back with openpyxl, the plan's appendix layout imports back
as the same plan, and the command-line helper."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.app import App
from bot.cli import import_plan_file
from handlers.export import ExportError, export_command, export_workbook, sheet_title
from handlers.summary import build_summary
from locales import translator
from models import store
from models.periods import Period
from models.plans import PlanSpec, load_plan_file
from models.store import load_plan_view
from models.targets import Figure
from tests.figures import store_figures

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small-plan.yaml"
DONG_TRIEU = ROOT / "data" / "plans" / "dong-trieu-2025.yaml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
D = Decimal



async def workbook_of(app: App, code: str, period: str, locale: str = "vi") -> Any:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, code)
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        summary = await build_summary(session, view, Period.parse(period), date(2025, 3, 25), ZONE, details=True)
    return load_workbook(BytesIO(export_workbook(view, summary, translator(locale))))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


SMALL_FIGURES = [
    ("vhtt", "6", "2025-03", Figure(numerator=D(120), denominator=D(150)), local(2025, 3, 18, 9, 0)),
    ("vhtt", "6", "2025-03", Figure(numerator=D(130), denominator=D(150)), local(2025, 3, 22, 10, 0)),
    ("vp", "6", "2025-03", Figure(numerator=D(30), denominator=D(50)), local(2025, 3, 20, 23, 59)),
    ("an-sinh", "6", "2025-03", Figure(numerator=D(45), denominator=D(50)), local(2025, 3, 21, 0, 1)),
    ("vhtt", "9a", "2025-03", Figure(value=D(100)), local(2025, 3, 19, 8, 0)),
    ("vp", "9a", "2025-03", Figure(value=D(90)), local(2025, 3, 19, 8, 0)),
    ("vhtt", "15", "2025-03", Figure(value=D(1)), local(2025, 3, 10, 8, 0)),
    ("vnpt", "22", "2025-03", Figure(value=D(12)), local(2025, 3, 10, 8, 0)),
    ("vp", "10", "2025-Q1", Figure(done=True), local(2025, 3, 16, 8, 0)),
]


@pytest.fixture
async def small(app: App) -> App:
    await import_plan_file(app, SMALL)
    await store_figures(app, "T2025", SMALL_FIGURES)
    return app


def rows_of(sheet: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def column(sheet: Any, header_row: int, name: str) -> int:
    headers = [cell.value for cell in sheet[header_row]]
    return headers.index(name) + 1


def row_with(sheet: Any, first: str) -> int:
    return next(cell.row for cell in sheet["A"] if cell.value == first)


async def test_the_appendix_carries_the_plan_wide_figures(small: App) -> None:
    book = await workbook_of(small, "T2025", "2025-03")
    assert book.sheetnames[:6] == ["Tổng hợp", "Phụ lục", "Kế hoạch", "Đơn vị", "Phần", "Tỷ lệ báo cáo"]
    sheet = book["Phụ lục"]
    assert sheet.freeze_panes == "A4"
    headers = [cell.value for cell in sheet[3]]
    assert headers[:8] == ["TT", "Mục tiêu", "Cơ quan chủ trì", "Cơ quan phối hợp", "Cơ quan theo dõi",
                           "Mục tiêu 2025 của tỉnh", "Mục tiêu 2025 của đơn vị", "Mức độ"]
    assert "Số liệu tháng 3/2025" in headers and headers[-4:] == [
        "Tổng mẫu số", "Khoảng cách", "Đánh giá", "Tỷ lệ báo cáo"]
    assert all(cell.font.b for cell in sheet[3])
    assert sheet.column_dimensions["B"].width == 55

    figure, gap, status, rate = (column(sheet, 3, name) for name in (
        "Số liệu tháng 3/2025", "Khoảng cách", "Đánh giá", "Tỷ lệ báo cáo"))
    numerator, denominator = column(sheet, 3, "Tổng tử số"), column(sheet, 3, "Tổng mẫu số")
    six = row_with(sheet, "6")
    assert sheet.cell(six - 1, 1).value == "II" and sheet.cell(six - 1, 2).value == "Chính quyền số"
    assert sheet.cell(six, figure).value == pytest.approx(0.82)  # (130 + 30 + 45) / (150 + 50 + 50)
    assert sheet.cell(six, figure).number_format == "0.0%"
    assert (sheet.cell(six, numerator).value, sheet.cell(six, denominator).value) == (205, 250)
    assert sheet.cell(six, gap).value == pytest.approx(0.08) and sheet.cell(six, gap).number_format == "0.0%"
    assert sheet.cell(six, status).value == "Đúng tiến độ"
    assert sheet.cell(six, rate).value == pytest.approx(0.75)

    # A compound indicator: its row as the plan has it, then a result row per part.
    nine = row_with(sheet, "9")
    assert sheet.cell(nine, 7).value == "100%; 95%" and sheet.cell(nine, figure).value is None
    part = column(sheet, 3, "Phần")
    assert sheet.cell(nine + 1, 1).value is None and sheet.cell(nine + 1, part).value == "9a · Cấp thành phố"
    assert sheet.cell(nine + 1, figure).value == pytest.approx(0.95)
    assert sheet.cell(nine + 2, part).value == "9b · Cấp xã, phường"
    assert sheet.cell(nine + 2, status).value == "Chưa có số liệu"

    fifteen = row_with(sheet, "15")
    assert sheet.cell(fifteen, figure).value == 1 and sheet.cell(fifteen, gap).value == 2
    ten = row_with(sheet, "10")
    assert sheet.cell(ten, figure).value == pytest.approx(1.0) and sheet.cell(ten, status).value == "Đạt"
    twelve = row_with(sheet, "12")  # yearly: not in March's cycle, no result
    assert sheet.cell(twelve + 1, status).value is None


async def test_reporting_rates_and_unit_sheets(small: App) -> None:
    book = await workbook_of(small, "T2025", "2025-03")
    rates = book["Tỷ lệ báo cáo"]
    assert rates.freeze_panes == "A2" and all(cell.font.b for cell in rates[1])
    rows = rows_of(rates)
    assert rows[0][:10] == ("Mã", "Đơn vị", "Loại", "Phải nộp", "Đã nhận", "Đúng hạn", "Trễ hạn", "Còn thiếu",
                            "Tỷ lệ đã nhận", "Tỷ lệ đúng hạn")
    assert rows[1][:8] == ("T2025", "Toàn kế hoạch", None, 11, 8, 6, 2, 3)
    assert rows[1][8] == pytest.approx(8 / 11) and rates.cell(2, 9).number_format == "0.0%"
    by_code = {row[0]: row for row in rows[2:]}
    assert by_code["vp"][3:8] == (3, 3, 2, 1, 0)
    assert by_code["mao-khe"][3:8] == (2, 0, 0, 0, 2) and by_code["mao-khe"][10] == "6, 9b"
    assert by_code["an-sinh"][3:8] == (2, 1, 0, 1, 1)

    unit = book["Phòng Văn hóa và Thông tin"]  # sheets named by the unit's name
    assert unit.freeze_panes == "A4" and unit["A1"].value == "Phòng Văn hóa và Thông tin"
    header = [cell.value for cell in unit[3]]
    assert header[:5] == ["Mã", "Chỉ tiêu", "Kỳ", "Mục tiêu", "Số liệu"]
    six = row_with(unit, "6")
    values = {name: unit.cell(six, header.index(name) + 1).value for name in header}
    assert values["Số liệu"] == pytest.approx(130 / 150)  # the corrected figure
    assert (values["Tử số"], values["Mẫu số"]) == (130, 150)
    assert values["Khoảng cách"] == pytest.approx((90 - 130 * 100 / 150) / 100)
    assert values["Đánh giá"] == "Chưa đạt" and values["Đúng hạn?"] == "Đúng hạn"
    assert values["Nộp lần đầu"] == datetime(2025, 3, 18, 9, 0)  # the first version, local time
    assert values["Hạn"] == datetime(2025, 3, 20)
    an_sinh = book["Xã An Sinh"]
    late = row_with(an_sinh, "6")
    assert an_sinh.cell(late, 12).value == "Trễ hạn"
    assert an_sinh.cell(row_with(an_sinh, "9b"), 9).value == "Chưa báo cáo"


async def test_english_results_keep_the_plan_columns_readable_by_the_importer(small: App, tmp_path: Path) -> None:
    book = await workbook_of(small, "T2025", "2025-03", locale="en")
    sheet = book.worksheets[1]
    assert sheet.title == "Appendix"
    headers = [cell.value for cell in sheet[3]]
    assert headers[0] == "TT" and "Figure, March 2025" in headers and "Assessment" in headers
    assert sheet.cell(row_with(sheet, "6"), headers.index("Assessment") + 1).value == "On track"
    path = tmp_path / "en.xlsx"
    book.save(path)
    assert {i.code for i in load_plan_file(path).indicators} == {i.code for i in load_plan_file(SMALL).indicators}


def test_sheet_titles_are_valid_and_unique() -> None:
    taken: set[str] = {"phụ lục"}
    assert sheet_title("a/b:c*d?e[f]g\\h", taken) == "a-b-c-d-e-f-g-h"
    long = "x" * 40
    assert sheet_title(long, taken) == "x" * 31
    assert sheet_title(long, taken) == "x" * 29 + "~2"
    assert sheet_title("Phụ lục", taken) == "Phụ lục~2"
    assert all(len(title) <= 31 for title in taken)


# --- the plan round trip ---------------------------------------------------------------------------


def normalized(spec: PlanSpec) -> PlanSpec:
    """What the XLSX plan format does not carry (docs/plan-format.md): appendix tables (exported as
    lettered heading rows, read back as groups) and the schedule's source text."""
    return dataclasses.replace(
        spec,
        schedule=dataclasses.replace(spec.schedule, source=None),
        indicators=tuple(dataclasses.replace(i, table=None, group=None) for i in spec.indicators),
        tables=(), groups=(),
    )


PLANS = sorted((ROOT / "data" / "plans").glob("*.yaml"))


@pytest.mark.parametrize("plan_file", PLANS, ids=[p.stem for p in PLANS])
async def test_an_exported_appendix_imports_back_as_the_same_plan(app: App, tmp_path: Path, plan_file: Path) -> None:
    source = load_plan_file(plan_file)
    await import_plan_file(app, plan_file)
    path = tmp_path / f"{source.code}.xlsx"
    line = await export_command(app, source.code, f"{source.year}-03", path)
    assert str(path) in line
    exported = load_plan_file(path)

    assert normalized(exported) == normalized(source)
    # Spelled out, what the people using the plan work with: reporters of every part (set in the
    # file or derived), why, conditions, "không phát sinh", other statements of the targets, units,
    # schedule, when collecting starts.
    assert [(p.code, p.reporters, p.reporters_overridden) for p in exported.parts] == [
        (p.code, p.reporters, p.reporters_overridden) for p in source.parts]
    assert [i.reporters_reason for i in exported.indicators] == [i.reporters_reason for i in source.indicators]
    assert [(i.target_source, i.conflicts) for i in exported.indicators] == [
        (i.target_source, i.conflicts) for i in source.indicators]
    assert [(p.target.condition, p.allow_not_applicable) for p in exported.parts] == [
        (p.target.condition, p.allow_not_applicable) for p in source.parts]
    assert exported.units == source.units
    assert exported.schedule.deadlines == source.schedule.deadlines
    assert (exported.collect_from, exported.coverage_threshold) == (source.collect_from, source.coverage_threshold)
    if source.tables:  # separately numbered tables come back as lettered groups, their groups as groups
        letters = {"A", "B", "C", "D"}
        assert [(g.code, g.title) for g in exported.groups if g.code not in letters] == [
            (g.code, g.title) for g in source.groups]
    else:
        assert [i.group for i in exported.indicators] == [i.group for i in source.indicators]


def test_the_seed_plans_use_what_the_round_trip_checks() -> None:
    """The round trip above proves something only if the seeds set what it compares."""
    specs = [load_plan_file(path) for path in PLANS]
    parts = [part for spec in specs for part in spec.parts]
    assert any(p.reporters_overridden for p in parts) and any(not p.reporters_overridden for p in parts)
    assert any(p.target.condition for p in parts)
    assert any(i.reporters_reason for spec in specs for i in spec.indicators)
    assert any(i.conflicts for spec in specs for i in spec.indicators)


async def test_export_command_refuses_bad_input_with_a_clear_line(small: App, tmp_path: Path) -> None:
    t = translator("vi")
    with pytest.raises(ExportError) as error:
        await export_command(small, "T2025", "2025-13", tmp_path / "x.xlsx")
    assert str(error.value) == t("export-error-period", period="2025-13")
    with pytest.raises(ExportError) as error:
        await export_command(small, "NOPE", "2025-03", tmp_path / "x.xlsx")
    assert "NOPE" in str(error.value) and "T2025" in str(error.value)
    with pytest.raises(ExportError) as error:
        await export_command(small, "T2025", "2024-Q4", tmp_path / "x.xlsx")
    assert "2025" in str(error.value)
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ExportError) as error:
        await export_command(small, "T2025", "2025-03", tmp_path / "file" / "x.xlsx")
    assert "x.xlsx" in str(error.value)


async def test_export_command_writes_the_file(small: App, tmp_path: Path, clock: Any) -> None:
    clock.set(local(2025, 4, 1, 9, 0))  # March's deadline (20/3) has passed: its cycle joins Q1's
    path = tmp_path / "out" / "t.xlsx"
    line = await export_command(small, "T2025", "2025-Q1", path)
    assert line == translator("vi")("export-written", path=str(path), plan="T2025", period="quý I/2025",
                                      indicators=6, units=5)
    book = load_workbook(path)
    assert book["Phụ lục"].cell(3, 1).value == "TT"


async def test_what_the_seeds_leave_unset_comes_back_too(app: App, tmp_path: Path) -> None:
    """collect_from, a part that takes no "không phát sinh" and a condition stated apart from the
    target: no seed plan sets them, so a copy of the small plan does."""
    text = SMALL.read_text(encoding="utf-8").replace(
        "  coverage_threshold: 50\n", "  coverage_threshold: 50\n  collect_from: \"2025-02\"\n").replace(
        '{code: "15", target: "ít nhất 03 doanh nghiệp"}',
        '{code: "15", target: "ít nhất 03 doanh nghiệp", allow_not_applicable: false,'
        ' condition: "sau khi có quy hoạch"}')
    changed = tmp_path / "small.yaml"
    changed.write_text(text, encoding="utf-8")
    await import_plan_file(app, changed)
    path = tmp_path / "small.xlsx"
    await export_command(app, "T2025", "2025-03", path)
    source, exported = load_plan_file(changed), load_plan_file(path)
    assert normalized(exported) == normalized(source)
    fifteen = next(p for p in exported.parts if p.code == "15")
    assert (fifteen.allow_not_applicable, fifteen.target.condition) == (False, "sau khi có quy hoạch")
    assert (exported.collect_from, exported.coverage_threshold) == (Period.parse("2025-02"), 50)
    parts = rows_of(load_workbook(path)["Phần"])
    header = parts[0]
    row = next(r for r in parts if r[header.index("Mã phần")] == "15")
    assert (row[header.index("Cho phép không phát sinh")], row[header.index("Điều kiện")]) == (
        "không", "sau khi có quy hoạch")


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_conflicting_targets_are_shown_beside_the_target(app: App, locale: str) -> None:
    await import_plan_file(app, ROOT / "data" / "plans" / "bac-giang-2024.yaml")
    book = await workbook_of(app, "BG2024", "2024-03", locale)
    sheet = book.worksheets[1]  # after the overview
    t = translator(locale)
    headers = [cell.value for cell in sheet[3]]
    other = headers.index(t("export-col-conflicts")) + 1
    assert other == headers.index("Mục tiêu 2024 của đơn vị") + 2  # right beside the chosen target
    cells = {sheet.cell(row, 1).value: sheet.cell(row, other).value for row in range(4, sheet.max_row + 1)
             if sheet.cell(row, other).value}
    source = "Thân kế hoạch, mục II. Mục tiêu"
    assert t("export-conflict", target="trên 50%", source=source) in cells.values()
    if locale == "vi":
        assert "Khác: trên 50% (Thân kế hoạch, mục II. Mục tiêu)" in cells.values()
    assert t("export-conflict-part", part="7a", target="Trên 90%", source=source) + "\n" + t(
        "export-conflict-part", part="7b", target="70%", source=source) in cells.values()
    # The importer reads them from their own sheet, one a row.
    assert rows_of(book["Mục tiêu khác"])[1][:4] == ("7", "7a", "Trên 90%", source)
    # Reasons for the reporters are there too, under the header the importer reads.
    reason = headers.index("Lý do giao") + 1
    assert any((sheet.cell(row, reason).value or "").startswith("Số liệu chung của cả thành phố")
               for row in range(4, sheet.max_row + 1))


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_the_spreadsheet_speaks_as_offices_write_and_prints(small: App, locale: str) -> None:
    """No internal keys in any cell (Tháng, Lũy kế từ đầu năm, ≥, Phòng, ban instead), an overview
    first, unit sheets named by the unit's name, every sheet ready to print on A4 landscape."""
    book = await workbook_of(small, "T2025", "2025-03", locale=locale)
    internal = {"monthly", "quarterly", "yearly", "half_yearly", "year_to_date", "cumulative", "per_period",
                "at_least", "at_most", "above", "below", "percent", "ratio", "count", "milestone",
                "department", "commune", "ward", "city", "enterprise", "true", "false", "deadline_monthly"}
    words = {cell.value for sheet in book.worksheets for row in sheet.iter_rows() for cell in row
             if isinstance(cell.value, str)}
    assert not words & internal, words & internal
    assert {"Tháng", "Phòng, ban", "Xã", "Phường", "Có"} <= words
    assert book.sheetnames[0] == ("Tổng hợp" if locale == "vi" else "Overview")
    assert "Phòng Văn hóa và Thông tin" in book.sheetnames and "vhtt" not in book.sheetnames
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9, sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToHeight == 0
    assert book["Tỷ lệ báo cáo" if locale == "vi" else "Reporting rates"].print_title_rows == "$1:$1"
    overview = book.worksheets[0]
    rows = list(overview.iter_rows(values_only=True))
    header = rows[2]
    six = header.index(next(h for h in header if h and str(h).startswith("6\n")))
    assert rows[3][six] == pytest.approx(0.75)  # indicator 6's reporting rate under its header
    by_code = {row[0]: row for row in rows[4:]}
    assert by_code["vhtt"][six] == pytest.approx(130 / 150) and by_code["mao-khe"][six] is None
    assert overview.cell(5 + list(by_code).index("mao-khe"), six + 1).fill.fgColor.rgb == "FFFFC7CE"  # missing: red


def test_sheet_titles_keep_excels_limit_and_stay_unique() -> None:
    from handlers.export import sheet_title
    taken: set[str] = set()
    long = "Trung tâm Phục vụ hành chính công thành phố Đông Triều"
    first, second = sheet_title(long, taken), sheet_title(long, taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert sheet_title("Phòng: Tài chính / Kế hoạch", taken) == "Phòng- Tài chính - Kế hoạch"
