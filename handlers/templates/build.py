"""Writes the official report's Word template, handlers/templates/bao-cao-ket-qua.docx (beside this file).

    .venv/bin/python handlers/templates/build.py [OUT.docx]

The template is the file the bot fills (handlers/official_report.py, with docxtpl's Jinja tags);
it is kept in the repository so that an office can open it in Word and change the wording, the
recipients or the signer, keeping the {{ … }} and {% … %} tags. This script only makes the first
version, laid out as Nghị định 30/2020/NĐ-CP (Phụ lục I) sets an administrative report: A4,
margins top and bottom 20 mm, left 30 mm, right 20 mm; Times New Roman 14 pt (12-13 for the
national name, 12 for "Nơi nhận", 11 for its lines); the issuing body on the left of the header
and the Quốc hiệu – Tiêu ngữ on the right; the place and date in italics; the title in bold
capitals; Nơi nhận at the bottom left and the signature at the bottom right; then the appendix
table on a landscape page.
"""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph

TEMPLATE = Path(__file__).resolve().parent / "bao-cao-ket-qua.docx"
FONT = "Times New Roman"


def _font(run: object, size: float, *, bold: bool = False, italic: bool = False) -> None:
    run.font.name = FONT  # type: ignore[attr-defined]
    run.font.size = Pt(size)  # type: ignore[attr-defined]
    run.font.bold = bold  # type: ignore[attr-defined]
    run.font.italic = italic  # type: ignore[attr-defined]
    # East Asian and complex-script fonts too, so Word does not substitute another face.
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()  # type: ignore[attr-defined]
    for key in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(key), FONT)


def _para(container: object, text: str = "", size: float = 14, *, bold: bool = False, italic: bool = False,
          align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = False, before: float = 0,
          after: float = 6) -> Paragraph:
    paragraph = container.add_paragraph()  # type: ignore[attr-defined]
    if text:
        _font(paragraph.add_run(text), size, bold=bold, italic=italic)
    form = paragraph.paragraph_format
    form.space_before, form.space_after = Pt(before), Pt(after)
    form.line_spacing = 1.15
    if align is not None:
        paragraph.alignment = align
    if indent:
        form.first_line_indent = Cm(1.27)
    return paragraph


def _plain_cell(cell: object) -> object:
    """A table cell without its default empty paragraph's spacing, ready for _para."""
    first = cell.paragraphs[0]  # type: ignore[attr-defined]
    first._element.getparent().remove(first._element)
    return cell


def _no_borders(table: Table) -> None:
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    properties.append(borders)


def _header_block(document: object) -> None:
    table = document.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # the widths below, not Word's guess: the motto must fit on one line
    left, right = (_plain_cell(cell) for cell in table.rows[0].cells)
    table.columns[0].width = left.width = Cm(6)
    table.columns[1].width = right.width = Cm(10)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(left, "{{ parent_body }}", 13, align=center, after=0)
    _para(left, "{{ issuing_body }}", 13, bold=True, align=center, after=0)
    _para(left, "———", 13, align=center, after=6)
    _para(left, "Số: {{ number_line }}", 13, align=center, after=0)
    _para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 12, bold=True, align=center, after=0)
    _para(right, "Độc lập - Tự do - Hạnh phúc", 14, bold=True, align=center, after=0)
    _para(right, "———————————", 13, align=center, after=6)
    _para(right, "{{ place }}, ngày {{ day }} tháng {{ month }} năm {{ year }}", 14, italic=True, align=center,
          after=0)


def _body(document: object) -> None:
    center, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY
    _para(document, "BÁO CÁO", 14, bold=True, align=center, before=18, after=0)
    _para(document, "{{ title }}", 14, bold=True, align=center, after=12)
    _para(document, "{{ opening }}", align=justify, indent=True)
    _para(document, "I. KẾT QUẢ THỰC HIỆN", bold=True, indent=True)
    _para(document, "1. Tình hình báo cáo số liệu", bold=True, indent=True)
    _para(document, "{{ reporting }}", align=justify, indent=True)
    _para(document, "2. Kết quả thực hiện các chỉ tiêu", bold=True, indent=True)
    _para(document, "{{ results_overview }}", align=justify, indent=True)
    # One paragraph a line: {%p %} tags stand on paragraphs of their own (docxtpl removes them).
    _para(document, "{%p for line in results %}")
    _para(document, "{{ line }}", align=justify, indent=True)
    _para(document, "{%p endfor %}")
    _para(document, "II. TỒN TẠI, HẠN CHẾ", bold=True, indent=True)
    _para(document, "{%p for line in shortcomings %}")
    _para(document, "{{ line }}", align=justify, indent=True)
    _para(document, "{%p endfor %}")
    _para(document, "III. NHIỆM VỤ TRỌNG TÂM THỜI GIAN TỚI", bold=True, indent=True)
    _para(document, "{%p for line in tasks %}")
    _para(document, "{{ line }}", align=justify, indent=True)
    _para(document, "{%p endfor %}")
    _para(document, "{{ closing }}", align=justify, indent=True)


def _signature_block(document: object) -> None:
    table = document.add_table(rows=1, cols=2)  # type: ignore[attr-defined]
    _no_borders(table)
    table.autofit = False
    left, right = (_plain_cell(cell) for cell in table.rows[0].cells)
    table.columns[0].width = left.width = Cm(8)
    table.columns[1].width = right.width = Cm(8)
    _para(left, "Nơi nhận:", 12, bold=True, italic=True, before=12, after=0)
    for line in ("- {{ parent_body_name }} (b/c);", "- Ban Chỉ đạo chuyển đổi số (b/c);",
                 "- Các cơ quan, đơn vị, địa phương;", "- Lưu: VT."):
        _para(left, line, 11, after=0)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(right, "{{ signer_title }}", 14, bold=True, align=center, before=12, after=0)
    _para(right, "(Ký, ghi rõ họ tên)", 14, italic=True, align=center, after=60)
    _para(right, "{{ signer_name }}", 14, bold=True, align=center, after=0)


def _appendix(document: object) -> None:
    section = document.add_section(WD_SECTION.NEW_PAGE)  # type: ignore[attr-defined]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(2), Cm(2)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(document, "PHỤ LỤC", 14, bold=True, align=center, after=0)
    _para(document, "{{ appendix_title }}", 14, bold=True, align=center, after=0)
    attached = "(Kèm theo Báo cáo số {{ number_line }} ngày {{ day }}/{{ month }}/{{ year }} của {{ issuing_name }})"
    _para(document, attached, 13, italic=True, align=center, after=12)
    headers = ("TT", "Mục tiêu, chỉ tiêu", "Mục tiêu {{ plan_year }}", "Kết quả {{ period }}", "Kỳ trước",
               "Số đơn vị có số liệu", "Khoảng cách", "Đánh giá")
    widths = (1.2, 9.0, 2.6, 2.8, 2.4, 3.2, 2.4, 2.6)
    table = document.add_table(rows=3, cols=len(headers))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for index, (header, width) in enumerate(zip(headers, widths, strict=True)):
        table.columns[index].width = Cm(width)
        cell = _plain_cell(table.rows[0].cells[index])
        cell.width = Cm(width)
        _para(cell, header, 12, bold=True, align=center, after=0)
    # The header repeats on every page of the table.
    header_row = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    header_row.append(repeat)
    # A row for each line of the appendix: {%tr %} rows are removed, the one between repeats.
    _plain_cell(table.rows[1].cells[0])
    _para(table.rows[1].cells[0], "{%tr for row in appendix %}", 12, after=0)
    fields = ("row.number", "row.text", "row.target", "row.figure", "row.previous", "row.coverage", "row.gap",
              "row.status")
    for index, name in enumerate(fields):
        cell = _plain_cell(table.rows[2].cells[index])
        cell.width = Cm(widths[index])
        _para(cell, "{{ " + name + " }}", 12, align=None if name == "row.text" else center, after=0)
    closing = table.add_row()
    _plain_cell(closing.cells[0])
    _para(closing.cells[0], "{%tr endfor %}", 12, after=0)


def build(path: Path = TEMPLATE) -> Path:
    document = Document()
    style = document.styles["Normal"]
    style.font.name, style.font.size = FONT, Pt(14)
    style.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FONT)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)  # A4
    section.top_margin, section.bottom_margin = Cm(2), Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(2)
    _header_block(document)
    _body(document)
    _signature_block(document)
    _appendix(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE))
