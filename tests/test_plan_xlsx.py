"""An appendix table typed into a spreadsheet imports like a YAML plan."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook

from models.periods import DeadlineRule, Frequency, Period
from models.plan_xlsx import header_field
from models.plans import PlanFileError, load_plan_file
from models.targets import Comparison, Measure


def appendix(path: Path, *, units: bool = True, meta: bool = True, extra_rows: list[list[object]] | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Phụ lục 1"
    sheet.append(["CÁC MỤC TIÊU, CHỈ TIÊU CHUYỂN ĐỔI SỐ NĂM 2025"])
    sheet.append([])
    sheet.append(["TT", "Mục tiêu", "Cơ quan\nchủ trì", "Cơ quan phối hợp", "Cơ quan theo dõi chỉ tiêu",
                  "Mục tiêu 2025 của tỉnh", "Mục tiêu 2025 của thành phố", "Mức độ chỉ tiêu"])
    sheet.append(["I", "Về phát triển dữ liệu số"])
    sheet.append([1, "Tỷ lệ phê duyệt cấp độ an toàn hệ thống thông tin đạt 100%", "Phòng Văn hóa và Thông tin",
                  "Các cơ quan, đơn vị, UBND các xã, phường", "Phòng VHTT", "100%", "100%", "Nâng cao"])
    sheet.append(["II", "Phát triển chính quyền số"])
    sheet.append([2, "Tỷ lệ doanh nghiệp sử dụng hợp đồng điện tử", "Phòng Văn hóa và Thông tin",
                  "UBND các xã,", "Phòng VHTT", 0.8, 0.8, "*Chỉ tiêu mới"])
    sheet.cell(row=sheet.max_row, column=6).number_format = "0%"
    sheet.cell(row=sheet.max_row, column=7).number_format = "0%"
    sheet.append([None, "đạt trên 80%", None, "phường", None, None, None, None])  # a row split over two lines
    sheet.append(["TT", "Mục tiêu", "Cơ quan\nchủ trì", "Cơ quan phối hợp", "Cơ quan theo dõi chỉ tiêu",
                  "Mục tiêu 2025 của tỉnh", "Mục tiêu 2025 của thành phố", "Mức độ chỉ tiêu"])  # repeated header
    sheet.append([3, "Số hóa 1000 điểm chỉ dẫn", "Phòng Văn hóa và Thông tin", None, "Phòng VHTT", "-",
                  "1000 điểm", "Nâng cao"])
    for row in extra_rows or []:
        sheet.append(row)
    if units:
        unit_sheet = book.create_sheet("Đơn vị")
        unit_sheet.append(["Mã", "Tên", "Loại", "Trực thuộc", "Tên khác"])
        unit_sheet.append(["tp", "UBND thành phố", "city", None, None])
        unit_sheet.append(["vhtt", "Phòng Văn hóa và Thông tin", "department", "tp", "Phòng VHTT"])
        unit_sheet.append(["an-sinh", "Xã An Sinh", "commune", "tp", None])
        unit_sheet.append(["mao-khe", "Phường Mạo Khê", "ward", "tp", None])
    if meta:
        meta_sheet = book.create_sheet("Kế hoạch")
        meta_sheet.append(["code", "X2025"])
        meta_sheet.append(["title", "Chuyển đổi số 2025"])
        meta_sheet.append(["year", 2025])
    book.save(path)
    return path


def test_an_appendix_sheet_imports(tmp_path: Path) -> None:
    plan = load_plan_file(appendix(tmp_path / "pl.xlsx"))
    assert (plan.code, plan.year) == ("X2025", 2025)
    assert [g.code for g in plan.groups] == ["I", "II"]
    indicators = {i.code: i for i in plan.indicators}
    assert set(indicators) == {"1", "2", "3"}
    assert indicators["1"].level == "raised" and indicators["1"].group == "I"
    two = indicators["2"]
    assert two.target_raw == "80%"  # a percentage-formatted cell reads as people see it
    assert two.text.endswith("đạt trên 80%")  # the continuation row joined
    assert two.parts[0].target.comparison is Comparison.ABOVE
    assert set(two.parts[0].reporters) == {"vhtt", "an-sinh", "mao-khe"}
    assert indicators["3"].parts[0].target.measure is Measure.COUNT


def test_without_a_units_sheet_the_named_offices_become_units(tmp_path: Path) -> None:
    plan = load_plan_file(appendix(tmp_path / "pl.xlsx", units=False, meta=False))
    assert plan.code == "pl" and plan.year == 2025
    assert {u.name for u in plan.units} >= {"Phòng Văn hóa và Thông tin"}


def test_a_bad_row_is_named_by_sheet_and_row(tmp_path: Path) -> None:
    path = appendix(tmp_path / "pl.xlsx", extra_rows=[[4, "Chỉ tiêu lạ", "Phòng Văn hóa và Thông tin", None, None, None, "rất nhiều", None]])
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(path)
    [issue] = caught.value.issues
    assert (issue.sheet, issue.where, issue.number, issue.message) == ("Phụ lục 1", "row", 11, "plan-error-target")


def test_a_file_that_is_not_a_spreadsheet_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_text("not a zip", encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(path)
    assert caught.value.issues[0].message == "plan-error-xlsx"


def test_a_sheet_without_the_appendix_header_is_explained(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(["Họ tên", "Điện thoại"])
    book.save(tmp_path / "other.xlsx")
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(tmp_path / "other.xlsx")
    assert caught.value.issues[0].message == "plan-error-xlsx-header"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("TT", "number"), ("STT", "number"), ("Cơ quan\nchủ trì", "lead"), ("Cơ quan triển khai thực hiện", "lead"),
        ("Cơ quan chủ trì tổng hợp, báo cáo", "tracking"), ("Cơ quan theo dõi chỉ tiêu", "tracking"),
        ("Cơ quan phối hợp", "coordinating"), ("Mục tiêu 2025 của tỉnh", "province_target"),
        ("Kết quả năm 2023", "baseline"), ("MỨC ĐỘ CHỈ TIÊU", "level"), ("Ghi chú", "formula"),
        ("Cơ sở đề xuất", "basis"), ("Số liệu 2025-03", None), ("Lý do giao", "reporters_reason"),
        ("Mục tiêu khác", None),
    ],
)
def test_headers_are_matched_tolerantly(header: str, field: str | None) -> None:
    assert header_field(header, set()) == field


def test_the_first_objective_column_is_the_text_and_the_next_the_target() -> None:
    assert header_field("Chỉ tiêu chiến lược Chính quyền số", set()) == "text"
    assert header_field("Chỉ tiêu", {"text"}) == "target"
    assert header_field("Mục tiêu 2025 của thành phố", {"number", "text"}) == "target"


def test_what_an_export_writes_beyond_the_appendix_is_read(tmp_path: Path) -> None:
    """The columns and sheets handlers/export.py adds: a Mã column with numbered groups ("1.1"),
    Lý do giao, the Phần sheet's reporters, condition and "không phát sinh", the units' closing,
    other statements of a target, and the meta sheet's deadlines, coverage threshold and first
    collected month."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Phụ lục"
    sheet.append(["TT", "Mục tiêu", "Cơ quan chủ trì", "Mục tiêu 2025 của đơn vị", "Mục tiêu khác", "Lý do giao", "Mã"])
    sheet.append(["1.1", "Chính quyền số"])
    sheet.append([1, "Tỷ lệ hồ sơ trực tuyến đạt 80%", "Phòng VHTT", "80%", "Khác: trên 85% (Thân kế hoạch)",
                  "Mỗi xã tự có số hồ sơ của mình", "1"])
    sheet.append(["2", "Kinh tế số"])
    sheet.append([1, "Số hóa 10 điểm di tích", "Phòng VHTT", "10 điểm", None, None, "2.1"])
    units = book.create_sheet("Đơn vị")
    units.append(["Mã", "Tên", "Loại", "Trực thuộc", "Tên khác", "Nêu trong KH", "Hoạt động", "Ngừng từ ngày",
                  "Lý do ngừng", "Sáp nhập vào"])
    units.append(["vhtt", "Phòng VHTT", "department", None, None, "true", "true", None, None, None])
    units.append(["an-sinh", "Xã An Sinh", "commune", None, None, "true", "true", None, None, None])
    units.append(["binh-khe", "Xã Bình Khê", "commune", None, None, "true", "false", "2025-11-01", "merged", "an-sinh"])
    parts = book.create_sheet("Phần")
    parts.append(["Mã chỉ tiêu", "Mã phần", "Mục tiêu", "Điều kiện", "Đơn vị báo cáo", "Cho phép không phát sinh"])
    parts.append(["1", "1", "80%", None, "an-sinh; binh-khe", "không"])
    parts.append(["2.1", "2.1", "10 điểm", "sau khi có kinh phí", None, "có"])
    conflicts = book.create_sheet("Mục tiêu khác")
    conflicts.append(["Mã chỉ tiêu", "Mã phần", "Mục tiêu", "Nguồn", "Mục tiêu đã chọn theo", "Quy tắc chọn"])
    conflicts.append(["1", "1", "trên 85%", "Thân kế hoạch, mục I.2", "Phụ lục, TT 6", None])
    conflicts.append(["2.1", None, None, None, "Phụ lục, cột của thị xã", None])
    meta = book.create_sheet("Kế hoạch")
    for row in (["code", "X2025"], ["title", "Thử"], ["year", 2025], ["coverage_threshold", 60],
                ["collect_from", "2025-04"], ["deadline_monthly", "5 next before"], ["deadline_yearly", "10 12"]):
        meta.append(row)
    book.save(tmp_path / "x.xlsx")

    plan = load_plan_file(tmp_path / "x.xlsx")
    assert [(g.code, g.title) for g in plan.groups] == [("1.1", "Chính quyền số"), ("2", "Kinh tế số")]
    one, two = plan.indicators
    assert (one.code, one.group, two.code, two.group) == ("1", "1.1", "2.1", "2")
    assert one.reporters_reason == "Mỗi xã tự có số hồ sơ của mình"
    # The conflicts sheet is read; the appendix's "Mục tiêu khác" column, its display, is not.
    [conflict] = one.conflicts
    assert (conflict.part, conflict.source, conflict.target.raw, conflict.target.comparison) == (
        "1", "Thân kế hoạch, mục I.2", "trên 85%", Comparison.ABOVE)
    assert (one.target_source, two.target_source, two.conflicts) == ("Phụ lục, TT 6", "Phụ lục, cột của thị xã", ())
    assert (one.parts[0].reporters, one.parts[0].reporters_overridden) == (("an-sinh", "binh-khe"), True)
    assert one.parts[0].allow_not_applicable is False and two.parts[0].allow_not_applicable is True
    assert two.parts[0].target.condition == "sau khi có kinh phí" and not two.parts[0].reporters_overridden
    closed = plan.units[2]
    assert (closed.active, closed.deactivated_on, closed.deactivation_reason, closed.merged_into) == (
        False, date(2025, 11, 1), "merged", "an-sinh")
    assert (plan.coverage_threshold, plan.collect_from) == (60, Period.parse("2025-04"))
    assert plan.schedule.deadlines[Frequency.MONTHLY] == DeadlineRule(5, "next", True)
    assert plan.schedule.deadlines[Frequency.YEARLY] == DeadlineRule(10, 12, False)


def test_an_appendix_written_with_vietnamese_words_imports(tmp_path: Path) -> None:
    """Tần suất "Tháng/Quý/Năm", "Lũy kế từ đầu năm", unit kinds "Phòng, ban" / "Xã", "≥", and the
    "Kế hoạch" sheet's keys and deadlines in words, as an office writes them."""
    path = appendix(tmp_path / "vi.xlsx", meta=False, units=False)
    from openpyxl import load_workbook
    book = load_workbook(path)
    sheet = book["Phụ lục 1"]
    for header_row in (3, 9):  # the header and its repetition after a page break
        sheet.cell(header_row, 9, "Tần suất báo cáo")
        sheet.cell(header_row, 10, "Cách tính")
    sheet.cell(5, 9, "Quý")
    sheet.cell(5, 10, "Lũy kế từ đầu năm")
    sheet.cell(7, 9, "Tháng")
    sheet.cell(10, 9, "Năm")
    sheet.cell(10, 10, "Cộng dồn")
    units = book.create_sheet("Đơn vị")
    units.append(["Mã", "Tên", "Loại", "Trực thuộc", "Tên khác", "Nêu trong KH", "Hoạt động"])
    units.append(["tp", "UBND thành phố", "UBND thị xã/thành phố", None, None, "Có", "Có"])
    units.append(["vhtt", "Phòng Văn hóa và Thông tin", "Phòng, ban", "tp", "Phòng VHTT", "Có", "Có"])
    units.append(["an-sinh", "Xã An Sinh", "Xã", "tp", None, "Không", "Có"])
    units.append(["mao-khe", "Phường Mạo Khê", "phuong", "tp", None, "Không", "Có"])
    parts = book.create_sheet("Phần")
    parts.append(["Mã chỉ tiêu", "Mã phần", "Nhãn", "Áp dụng cho", "Mục tiêu", "So sánh", "Đo lường"])
    parts.append(["1", "1", None, "Phòng, ban; Xã, phường", "100%", "≥", "Tỷ lệ %"])
    meta = book.create_sheet("Kế hoạch")
    for row in (["Mã kế hoạch", "V2025"], ["Tên kế hoạch", "Chuyển đổi số 2025"], ["Năm", 2025],
                ["Hạn báo cáo tháng", "trước ngày 5 tháng sau"], ["Hạn báo cáo năm", "ngày 10 tháng 12"]):
        meta.append(row)
    book.save(path)

    plan = load_plan_file(path)
    assert (plan.code, plan.year) == ("V2025", 2025)
    indicators = {i.code: i for i in plan.indicators}
    assert indicators["1"].frequency is Frequency.QUARTERLY and indicators["1"].accumulation == "year_to_date"
    assert indicators["2"].frequency is Frequency.MONTHLY
    assert indicators["3"].frequency is Frequency.YEARLY and indicators["3"].accumulation == "cumulative"
    one = indicators["1"].parts[0]
    assert one.applies_to == ("department", "commune", "ward") and one.target.comparison is Comparison.AT_LEAST
    kinds = {u.code: u.kind for u in plan.units}
    assert kinds == {"tp": "city", "vhtt": "department", "an-sinh": "commune", "mao-khe": "ward"}
    assert plan.schedule.deadlines[Frequency.MONTHLY] == DeadlineRule(day=5, month="next", before=True)
    assert plan.schedule.deadlines[Frequency.YEARLY] == DeadlineRule(day=10, month=12)


def test_a_wrong_frequency_word_lists_the_vietnamese_choices(tmp_path: Path) -> None:
    path = appendix(tmp_path / "bad.xlsx")
    from openpyxl import load_workbook
    book = load_workbook(path)
    book["Phụ lục 1"].cell(3, 9, "Tần suất")
    book["Phụ lục 1"].cell(9, 9, "Tần suất")
    book["Phụ lục 1"].cell(5, 9, "Hàng tuần")
    book.save(path)
    with pytest.raises(PlanFileError) as raised:
        load_plan_file(path)
    from locales import translator
    text = raised.value.render(translator("vi"))
    assert "Hàng tuần" in text and "Tháng (monthly)" in text and "Quý (quarterly)" in text
