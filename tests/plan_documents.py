"""Plan documents for the tests (issue 22): the seed plans rendered from the committed plan files
as the DOCX and PDF an office would issue, in two layouts, and a few documents no seed looks like.

Layout "a": the seeds' own columns (TT, Mục tiêu, chủ trì, phối hợp, theo dõi, the province's and
the unit's target, Mức độ), numbering restarting in each group, group rows merged across the
table, the table broken over a page with its header repeated and one row split by the break.
Layout "b": other words in another order (STT, theo dõi first, Nội dung chỉ tiêu, one target
column, chủ trì, phối hợp, Kỳ báo cáo, Công thức tính, Ghi chú), numbering running through the
table, groups lettered A, B… in one cell merged across the row, the header repeated mid-table.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
LETTERS = "ABCDEFGHIJKL"

Row = list[str]


def level_word(issuer: str) -> str:
    lowered = issuer.lower()
    for word in ("thành phố", "thị xã", "thị trấn", "huyện", "phường", "xã"):
        if word in lowered:
            return word
    return "đơn vị"


def load_seed(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# --- the document as plain parts -----------------------------------------------------------------


def head_lines(plan: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The header block's two cells: the issuer and number; the national motto and place/date."""
    head = plan["plan"]
    issuer = head.get("issuer") or "UBND"
    left = [issuer.replace("UBND", "ỦY BAN NHÂN DÂN", 1).upper() if issuer.startswith("UBND") else issuer.upper()]
    left.append(f"Số: {head['document']}" if head.get("document") else "Số:      /KH-UBND")
    issued: date | None = head.get("issued_on")
    place = issuer.split()[-1]
    right = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc"]
    if issued:
        right.append(f"{place}, ngày {issued.day:02d} tháng {issued.month:02d} năm {issued.year}")
    return left, right


def schedule_sentence(plan: dict[str, Any]) -> str | None:
    deadlines = (plan.get("schedule") or {}).get("deadlines") or {}
    words = {"monthly": "hằng tháng", "quarterly": "quý", "half_yearly": "6 tháng", "yearly": "năm"}
    pieces = []
    for frequency in ("monthly", "quarterly", "half_yearly", "yearly"):
        rule = deadlines.get(frequency)
        if not rule:
            continue
        when = "trước ngày" if rule.get("before") else "vào ngày"
        month = rule.get("month")
        if frequency == "yearly" and isinstance(month, int):
            day = f"{when} {rule['day']}/{month}"
        elif month == "next":
            day = f"{when} {rule['day']} của tháng sau"
        elif frequency == "quarterly" or frequency == "half_yearly":
            day = f"{when} {rule['day']} của tháng cuối kỳ"
        else:
            day = f"{when} {rule['day']}"
        lead = "báo cáo kết quả" if frequency == "monthly" else "báo cáo"
        pieces.append(f"{lead} {words[frequency]} {day}")
    if not pieces:
        return None
    return "Các cơ quan, đơn vị " + "; ".join(pieces) + "."


def tables_of(plan: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The indicators table by table, in order (an indicator without a table: a table of its own)."""
    titles = {t["code"]: t["title"] for t in plan.get("tables") or []}
    order: list[str | None] = []
    by: dict[str | None, list[dict[str, Any]]] = {}
    for node in plan["indicators"]:
        key = node.get("table")
        if key not in by:
            order.append(key)
            by[key] = []
        by[key].append(node)
    return [(titles.get(key or "", "Các chỉ tiêu chuyển đổi số") if key else "Các chỉ tiêu chuyển đổi số", by[key])
            for key in order]


def group_titles(plan: dict[str, Any]) -> dict[tuple[str | None, str], str]:
    return {(g.get("table"), str(g["code"])): g["title"] for g in plan.get("groups") or []}


def layout_rows(plan: dict[str, Any], layout: str, nodes: list[dict[str, Any]]) -> tuple[Row, list[tuple[str, Row]]]:
    """A table's header and rows: ("group", cells), ("row", cells), ("split", cells: the rest of
    the row above, after a page break), ("header", cells: repeated)."""
    year = plan["plan"]["year"]
    level = level_word(plan["plan"].get("issuer") or "")
    titles = group_titles(plan)
    if layout == "a":
        header = ["TT", "Mục tiêu", "Cơ quan\nchủ trì", "Cơ quan\nphối hợp", "Cơ quan theo\ndõi chỉ tiêu",
                  f"Mục tiêu {year}\ncủa tỉnh", f"Mục tiêu {year}\ncủa {level}", "Mức độ\nchỉ tiêu"]
    else:
        header = ["STT", "Cơ quan chủ trì tổng hợp, báo cáo", "Nội dung chỉ tiêu", f"Chỉ tiêu năm {year}",
                  "Đơn vị chủ trì", "Đơn vị phối hợp", "Kỳ báo cáo", "Công thức tính", "Ghi chú"]
    rows: list[tuple[str, Row]] = []
    group: Any = object()
    groups_seen = 0
    number = 0
    split_done = False
    for position, node in enumerate(nodes):
        if node.get("group") != group:
            group = node.get("group")
            if group is not None:
                title = titles.get((node.get("table"), str(group)), str(group))
                mark = ROMAN[groups_seen] if layout == "a" else LETTERS[groups_seen]
                groups_seen += 1
                rows.append(("group", [mark, title] if layout == "a" else [f"{mark}. {title}"]))
                if layout == "a":
                    number = 0
        number += 1
        text = node["text"]
        cells = {
            "a": [str(number), text, node.get("lead") or "", node.get("coordinating") or "",
                  node.get("tracking") or "", node.get("province_target") or "", node["target"],
                  node.get("level") or ""],
            "b": [str(number), node.get("tracking") or "", text, node["target"], node.get("lead") or "",
                  node.get("coordinating") or "", {"monthly": "Tháng", "quarterly": "Quý", "yearly": "Năm",
                                                   "half_yearly": "6 tháng"}.get(node.get("frequency") or "", ""),
                  node.get("formula") or "", ""],
        }[layout]
        if not split_done and position >= len(nodes) // 2 and len(text.split()) > 6:
            # the row broken by a page: its text and lead cells go on after the break
            words = text.split()
            half = len(words) // 2
            first, rest = list(cells), [""] * len(cells)
            text_at = 1 if layout == "a" else 2
            first[text_at], rest[text_at] = " ".join(words[:half]), " ".join(words[half:])
            rows.append(("row", first))
            rows.append(("break", list(header)))
            rows.append(("split", rest))
            split_done = True
            continue
        rows.append(("row", cells))
        if layout == "b" and position == len(nodes) // 3:
            rows.append(("header", list(header)))
    return header, rows


# --- DOCX ------------------------------------------------------------------------------------------------


def docx_bytes(plan: dict[str, Any], layout: str) -> bytes:
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt

    document = Document()
    document.styles["Normal"].font.size = Pt(10)
    left, right = head_lines(plan)
    head = document.add_table(rows=1, cols=2)
    head.cell(0, 0).text = "\n".join(left)
    head.cell(0, 1).text = "\n".join(right)
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph(plan["plan"]["title"])
    document.add_paragraph("Thực hiện các văn bản của cấp trên, cơ quan ban hành kế hoạch như sau:")
    sentence = schedule_sentence(plan)
    if sentence:
        document.add_paragraph("IV. TỔ CHỨC THỰC HIỆN")
        document.add_paragraph(sentence)
    for index, (title, nodes) in enumerate(tables_of(plan), start=1):
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        document.add_paragraph(f"PHỤ LỤC {index}")
        document.add_paragraph(title.upper())
        document.add_paragraph(f"(Kèm theo Kế hoạch của {plan['plan'].get('issuer') or 'UBND'})")
        header, rows = layout_rows(plan, layout, nodes)
        table = _docx_table(document, header)
        for kind, cells in rows:
            if kind == "break":  # a new table on the next page, its header repeated
                document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
                table = _docx_table(document, header)
                continue
            row = table.add_row()
            if kind == "group" and len(cells) == 1:
                merged = row.cells[0].merge(row.cells[len(header) - 1])
                merged.text = cells[0]
            elif kind == "group":
                row.cells[0].text = cells[0]
                merged = row.cells[1].merge(row.cells[len(header) - 1])
                merged.text = cells[1]
            else:
                for cell, text in zip(row.cells, cells, strict=False):
                    cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_table(document: Any, header: Row) -> Any:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    return table


# --- PDF -------------------------------------------------------------------------------------------------------


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def new_pdf() -> Any:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_font("DejaVu", "", 8)
    pdf.add_page()
    return pdf


def pdf_bytes(plan: dict[str, Any], layout: str) -> bytes:
    pdf = new_pdf()
    left, right = head_lines(plan)
    with pdf.table(borders_layout="NONE", first_row_as_headings=False, line_height=5) as table:
        row = table.row()
        row.cell("\n".join(left))
        row.cell("\n".join(right))
    pdf.ln(4)
    pdf.multi_cell(0, 5, "KẾ HOẠCH", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 5, plan["plan"]["title"], new_x="LMARGIN", new_y="NEXT")
    sentence = schedule_sentence(plan)
    if sentence:
        pdf.multi_cell(0, 5, "IV. TỔ CHỨC THỰC HIỆN", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 5, sentence, new_x="LMARGIN", new_y="NEXT")
    for index, (title, nodes) in enumerate(tables_of(plan), start=1):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"PHỤ LỤC {index}", new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 5, title.upper(), new_x="LMARGIN", new_y="NEXT")
        header, rows = layout_rows(plan, layout, nodes)
        widths = _widths(layout, len(header))
        pieces: list[list[tuple[str, Row]]] = [[]]
        for kind, cells in rows:
            if kind == "break":
                pieces.append([])
            else:
                pieces[-1].append((kind, cells))
        for number, piece in enumerate(pieces):
            if number:
                pdf.add_page()
            _pdf_table(pdf, header, piece, widths)
    return bytes(pdf.output())


def _widths(layout: str, count: int) -> tuple[int, ...]:
    if layout == "a":
        return (8, 70, 30, 34, 30, 24, 24, 20)
    return (9, 28, 64, 22, 28, 32, 16, 40, 14)[:count]


def _pdf_table(pdf: Any, header: Row, rows: Sequence[tuple[str, Row]], widths: tuple[int, ...]) -> None:
    with pdf.table(col_widths=widths, line_height=4, repeat_headings=1, text_align="LEFT") as table:
        head = table.row()
        for text in header:
            head.cell(text)
        for kind, cells in rows:
            row = table.row()
            if kind == "group" and len(cells) == 1:
                row.cell(cells[0], colspan=len(header))
            elif kind == "group":
                row.cell(cells[0])
                row.cell(cells[1], colspan=len(header) - 1)
            else:
                for text in cells:
                    row.cell(text)


# --- documents unlike the seeds' ---------------------------------------------------------------------------------


def commune_docx() -> bytes:
    """A commune's plan as its office might type it: the header block, the reporting days in the
    body in its own words, one table with ĐVT, a baseline, two target columns (the district's and
    the commune's), the tracking office in its own column; lists in cells with line breaks; a
    bulleted sub-row; numbering 1..n without groups; targets as "1.500", "≥ 70%", "Tối thiểu 05"."""
    from docx import Document

    document = Document()
    head = document.add_table(rows=1, cols=2)
    head.cell(0, 0).text = "ỦY BAN NHÂN DÂN\nXÃ TÂN AN\nSố: 12/KH-UBND"
    head.cell(0, 1).text = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n"
                            "Tân An, ngày 15 tháng 01 năm 2026")
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Chuyển đổi số xã Tân An năm 2026")
    document.add_paragraph("I. MỤC ĐÍCH, YÊU CẦU")
    document.add_paragraph("Đẩy mạnh chuyển đổi số trên địa bàn xã.")
    document.add_paragraph("IV. TỔ CHỨC THỰC HIỆN")
    document.add_paragraph("Công chức Văn hóa - Xã hội tổng hợp, báo cáo UBND xã trước ngày 20 hằng tháng; "
                           "báo cáo quý vào ngày 15 của tháng cuối quý; báo cáo năm trước ngày 10/12.")
    document.add_paragraph("PHỤ LỤC")
    document.add_paragraph("CHỈ TIÊU CHUYỂN ĐỔI SỐ XÃ TÂN AN NĂM 2026")
    rows = [
        ["STT", "Tên chỉ tiêu", "ĐVT", "Kết quả năm 2025", "Chỉ tiêu năm 2026 của huyện",
         "Chỉ tiêu năm 2026 của xã", "Đơn vị thực hiện", "Đơn vị theo dõi"],
        ["1", "Tỷ lệ hồ sơ thủ tục hành chính được xử lý trực tuyến toàn trình", "%", "62%", "≥ 70%", "≥ 70%",
         "Bộ phận Một cửa\nCông an xã", "Công chức Văn phòng - Thống kê"],
        ["2", "Số tài khoản định danh điện tử mức 2 được kích hoạt", "tài khoản", "1.200", "", "1.500",
         "Công an xã", "Công an xã"],
        ["3", "Số thôn có tổ công nghệ số cộng đồng hoạt động", "thôn", "3", "Tối thiểu 05", "Tối thiểu 05",
         "Tổ công nghệ số cộng đồng; các thôn", "Công chức Văn hóa - Xã hội"],
        ["4", "Tỷ lệ người dân trưởng thành có điện thoại thông minh", "%", "68%", "Trên 75%", "Từ 80% đến 85%",
         "Công chức Văn hóa - Xã hội", "Công chức Văn hóa - Xã hội"],
        ["", "- Trong đó người cao tuổi được hướng dẫn sử dụng", "", "", "", "", "", ""],
        ["5", "Tỷ lệ hộ gia đình thuộc diện nghèo chưa có kết nối Internet", "%", "9%", "Dưới 5%", "Dưới 5%",
         "Trường Tiểu học Tân An, UBND các thôn", "Công chức Văn hóa - Xã hội"],
        ["6", "Hoàn thành số hóa sổ hộ tịch", "", "", "", "Hoàn thành trong Quý III",
         "Công chức Tư pháp - Hộ tịch", "Công chức Tư pháp - Hộ tịch"],
    ]
    table = document.add_table(rows=0, cols=len(rows[0]))
    table.style = "Table Grid"
    for cells in rows:
        row = table.add_row()
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def district_pdf() -> bytes:
    """A district's task table as a PDF: a two-row header (Chỉ tiêu năm 2026 over "của tỉnh" and
    "của huyện"), column numbers (1) (2)… under it, groups A/B in the TT cell, Thời gian hoàn
    thành, numbering 1.1, 1.2 inside groups; the reporting day in the body in other words."""
    pdf = new_pdf()
    with pdf.table(borders_layout="NONE", first_row_as_headings=False, line_height=5) as table:
        row = table.row()
        row.cell("ỦY BAN NHÂN DÂN\nHUYỆN SƠN ĐỘNG\nSố: 45/KH-UBND")
        row.cell("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nSơn Động, ngày 20/01/2026")
    pdf.ln(3)
    for line in ("KẾ HOẠCH", "Chuyển đổi số huyện Sơn Động năm 2026",
                 "Định kỳ các cơ quan gửi báo cáo tình hình thực hiện về Phòng Văn hóa và Thông tin trước ngày 25 "
                 "hằng tháng để tổng hợp.",
                 "PHỤ LỤC I", "DANH MỤC NHIỆM VỤ, CHỈ TIÊU"):
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    widths = (10, 80, 24, 24, 45, 45, 30)
    with pdf.table(col_widths=widths, line_height=4, num_heading_rows=2, text_align="LEFT") as table:
        row = table.row()
        row.cell("TT", rowspan=2)
        row.cell("Nhiệm vụ", rowspan=2)
        row.cell("Chỉ tiêu năm 2026", colspan=2)
        row.cell("Cơ quan chủ trì", rowspan=2)
        row.cell("Cơ quan phối hợp", rowspan=2)
        row.cell("Thời gian hoàn thành", rowspan=2)
        row = table.row()
        row.cell("của tỉnh")
        row.cell("của huyện")
        for cells in (
            ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)", "(7)"],
            ["A", "CHÍNH QUYỀN SỐ", "", "", "", "", ""],
            ["1.1", "Tỷ lệ văn bản đi được ký số", "95%", "Trên 95%", "Văn phòng HĐND và UBND huyện",
             "Các cơ quan, đơn vị; UBND các xã, thị trấn", "Cả năm"],
            ["1.2", "Triển khai hệ thống họp trực tuyến đến cấp xã", "", "", "Phòng Văn hóa và Thông tin",
             "UBND các xã, thị trấn", "Hoàn thành trong Quý III"],
            ["B", "KINH TẾ SỐ", "", "", "", "", ""],
            ["2.1", "Số doanh nghiệp nhỏ và vừa sử dụng nền tảng số", "", "Tối thiểu 30 doanh nghiệp",
             "Phòng Tài chính - Kế hoạch", "Chi cục Thuế khu vực", "Năm 2026"],
            ["2.2", "Tỷ lệ giao dịch thanh toán không dùng tiền mặt", "", "Từ 70% đến 80%",
             "Phòng Tài chính - Kế hoạch", "Các ngân hàng thương mại", "Năm 2026"],
        ):
            row = table.row()
            if cells[0] in ("A", "B"):
                row.cell(cells[0])
                row.cell(cells[1], colspan=6)
                continue
            for text in cells:
                row.cell(text)
    return bytes(pdf.output())


def no_table_docx() -> bytes:
    from docx import Document

    document = Document()
    head = document.add_table(rows=1, cols=2)
    head.cell(0, 0).text = "ỦY BAN NHÂN DÂN\nXÃ TÂN AN\nSố: 12/KH-UBND"
    head.cell(0, 1).text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc"
    document.add_paragraph("KẾ HOẠCH")
    document.add_paragraph("Chuyển đổi số xã Tân An năm 2026")
    document.add_paragraph("Báo cáo trước ngày 20 hằng tháng.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def scan_pdf() -> bytes:
    """A PDF of one page holding only an image: a scan."""
    from fpdf import FPDF
    from PIL import Image

    image = Image.new("RGB", (200, 280), "white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(io.BytesIO(buffer.getvalue()), x=10, y=10, w=190)
    return bytes(pdf.output())


def locked_pdf() -> bytes:
    from fpdf.enums import EncryptionMethod

    pdf = new_pdf()
    pdf.set_encryption(owner_password="chu", user_password="mat-khau", encryption_method=EncryptionMethod.AES_128)
    pdf.multi_cell(0, 5, "KẾ HOẠCH", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
