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
from handlers.context import load_plan_view
from handlers.export import ExportError, export_command, export_workbook, sheet_title
from handlers.summary import build_summary
from locales import translator
from models import store
from models.plans import PlanSpec, load_plan_file
from models.periods import Period
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
    assert book.sheetnames[:5] == ["Phụ lục", "Kế hoạch", "Đơn vị", "Phần", "Tỷ lệ báo cáo"]
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

    unit = book["vhtt"]
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
    an_sinh = book["an-sinh"]
    late = row_with(an_sinh, "6")
    assert an_sinh.cell(late, 12).value == "Trễ hạn"
    assert an_sinh.cell(row_with(an_sinh, "9b"), 9).value == "Chưa báo cáo"


async def test_english_results_keep_the_plan_columns_readable_by_the_importer(small: App, tmp_path: Path) -> None:
    book = await workbook_of(small, "T2025", "2025-03", locale="en")
    sheet = book.worksheets[0]
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
    """What the XLSX plan format cannot carry: appendix tables (exported as lettered heading rows,
    read back as groups) and the schedule's source text; and what export does not write yet though
    the reader takes it: reporters set in the file ("Đơn vị báo cáo" of the Phần sheet) and why
    ("Lý do giao")."""
    return dataclasses.replace(
        spec,
        schedule=dataclasses.replace(spec.schedule, source=None),
        indicators=tuple(dataclasses.replace(
            i, table=None, group=None, reporters_reason=None,
            parts=tuple(dataclasses.replace(p, reporters=(), reporters_overridden=False) for p in i.parts),
        ) for i in spec.indicators),
        tables=(), groups=(),
    )


async def test_an_exported_appendix_imports_back_as_the_same_plan(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, DONG_TRIEU)
    path = tmp_path / "dong-trieu.xlsx"
    line = await export_command(app, "DT2025", "2025-03", path)
    assert str(path) in line
    source, exported = load_plan_file(DONG_TRIEU), load_plan_file(path)

    assert normalized(exported) == normalized(source)
    # Everything the people using the plan work with comes back: codes, numbers, texts, parts,
    # targets, reporters, units.
    assert [i.code for i in exported.indicators] == [i.code for i in source.indicators]
    assert [(p.code, p.target) for p in exported.parts] == [(p.code, p.target) for p in source.parts]
    derived = [(p.code, p.reporters) for p in source.parts if not p.reporters_overridden]
    assert derived and [(p.code, p.reporters) for p in exported.parts if (p.code, p.reporters) in derived] == derived
    assert exported.units == source.units
    assert [i.accumulation for i in exported.indicators] == [i.accumulation for i in source.indicators]
    assert exported.schedule.deadlines == source.schedule.deadlines
    # Groups of Phụ lục 1 come back as groups; Phụ lục 2's heading comes back as group "B".
    assert [i.group for i in exported.indicators[:22]] == [i.group for i in source.indicators[:22]]
    assert {i.group for i in exported.indicators[22:]} == {"B"}
    assert [(g.code, g.title) for g in exported.groups if g.code not in ("A", "B")] == [
        (g.code, g.title) for g in source.groups]


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
    assert book.worksheets[0].cell(3, 1).value == "TT"
