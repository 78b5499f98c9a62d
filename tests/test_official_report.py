"""The official report (handlers/official_report.py): the DOCX read back with python-docx on the
small plan's seeded March (the figures of tests/test_export.py), its appendix equal to the
spreadsheet's numbers, the command line, /baocaovanban on the console for the right people only,
and, where LibreOffice and pdftoppm are installed, the PDF and its pages as PNG."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import docx
import pytest

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from handlers.formatting import describe_amount
from handlers.official_report import render_report, report_command
from handlers.summary import build_summary
from locales import translator
from models import people, store
from models.periods import Period
from models.store import load_plan_view
from tests.figures import store_figures
from tests.test_export import SMALL, SMALL_FIGURES, ZONE, column, row_with, workbook_of

MARCH = Period.parse("2025-03")


@pytest.fixture
async def small(app: App) -> App:
    """The small plan with March's figures, as tests/test_export.py seeds it."""
    await import_plan_file(app, SMALL)
    await store_figures(app, "T2025", SMALL_FIGURES)
    return app


async def report_of(app: App) -> tuple[Any, Any]:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        summary = await build_summary(session, view, MARCH, date(2025, 3, 25), ZONE)
    from io import BytesIO
    return docx.Document(BytesIO(render_report(view, summary))), summary


def texts(document: Any) -> list[str]:
    return [p.text for p in document.paragraphs]


async def test_the_report_has_the_decree_layout_and_the_summarys_figures(small: App) -> None:
    document, summary = await report_of(small)
    header = [cell.text for cell in document.tables[0].rows[0].cells]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in header[1] and "Độc lập - Tự do - Hạnh phúc" in header[1]
    assert "PHÒNG VĂN HÓA VÀ THÔNG TIN" in header[0]  # the tracking office issues it
    assert "Số: ……/BC-……" in header[0] and ", ngày …… tháng …… năm" in header[1]  # left to fill
    lines = texts(document)
    assert "BÁO CÁO" in lines
    title = next(line for line in lines if line.startswith("Kết quả thực hiện Kế hoạch"))
    assert title.endswith("tháng 3/2025")
    sections = [line for line in lines if line.startswith(("I. ", "II. ", "III. "))]
    assert sections == ["I. KẾT QUẢ THỰC HIỆN", "II. TỒN TẠI, HẠN CHẾ", "III. NHIỆM VỤ TRỌNG TÂM THỜI GIAN TỚI"]
    one, two, three = (lines.index(s) for s in sections)
    # I: the reporting rates and each indicator with its figure, from the summary's roll-up.
    counts = summary.reports
    assert (counts.expected, counts.received, counts.on_time, counts.late, counts.missing) == (11, 8, 6, 2, 3)
    reporting = next(line for line in lines[one:two] if line.startswith("Kỳ tháng 3/2025"))
    assert "phải gửi 11 số liệu; đã nhận 8 (72,73%)" in reporting and "đúng hạn 6" in reporting
    assert "trễ hạn 2; còn thiếu 3" in reporting
    six = next(line for line in lines[one:two] if line.startswith("- Chỉ tiêu 6 "))
    assert "đạt 82%" in six and "3/4 đơn vị có số" in six and "mục tiêu ≥ 90%" in six and "đúng tiến độ" in six
    # II: the units missing and late; III: tasks, with the next period.
    shortcomings = " ".join(lines[two:three])
    assert "Phường Mạo Khê" in shortcomings and "chưa gửi đủ số liệu" in shortcomings
    tasks = " ".join(lines[three:])
    assert "Đôn đốc" in tasks and "tháng 4/2025" in tasks
    signature = [cell.text for cell in document.tables[1].rows[0].cells]
    assert signature[0].startswith("Nơi nhận:") and "Lưu: VT." in signature[0]
    assert "TRƯỞNG PHÒNG" in signature[1]
    # A4, the decree's margins, Times New Roman; the appendix on a landscape page.
    first, appendix = document.sections[0], document.sections[-1]
    assert (round(first.page_width.cm, 1), round(first.page_height.cm, 1)) == (21.0, 29.7)
    margins = (first.left_margin, first.right_margin, first.top_margin, first.bottom_margin)
    assert [round(margin.cm, 1) for margin in margins] == [3.0, 2.0, 2.0, 2.0]  # stored in twips
    assert appendix.page_width > appendix.page_height
    fonts = {run.font.name for p in document.paragraphs for run in p.runs if run.text.strip()}
    assert fonts == {"Times New Roman"}
    sizes = {run.font.size.pt for p in document.paragraphs for run in p.runs if run.text.strip()}
    assert sizes <= {13.0, 14.0}


async def test_the_appendix_table_gives_the_spreadsheets_numbers(small: App) -> None:
    document, summary = await report_of(small)
    table = document.tables[-1]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0][:4] == ["TT", "Mục tiêu, chỉ tiêu", "Mục tiêu 2025", "Kết quả tháng 3/2025"]
    by_number = {row[0]: row for row in rows[1:] if row[0]}
    book = await workbook_of(small, "T2025", "2025-03")
    sheet = book["Phụ lục"]
    figure, status = column(sheet, 3, "Số liệu tháng 3/2025"), column(sheet, 3, "Đánh giá")
    t = translator("vi")
    checked = 0
    for number in ("6", "10", "15"):
        exported = sheet.cell(row_with(sheet, number), figure).value
        row = summary.row(number)
        assert row.amount is not None
        scale = 100 if row.target.is_percentage or row.is_milestone else 1
        assert Decimal(str(exported)) * scale == pytest.approx(row.amount)  # the export's figure is the roll-up's
        assert by_number[number][3] == describe_amount(row.amount, row.target, t)
        assert by_number[number][7] == sheet.cell(row_with(sheet, number), status).value
        checked += 1
    assert checked == 3
    # A compound indicator: its row, then a row per part, as in the spreadsheet.
    nine = next(i for i, row in enumerate(rows) if row[0] == "9")
    assert rows[nine + 1][1].startswith("9a") and rows[nine + 1][3] == "95%"  # as the export has it
    assert rows[nine + 2][1].startswith("9b") and rows[nine + 2][7] == "Chưa có số liệu"


async def test_the_command_writes_the_docx_and_says_about_the_pdf(small: App, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no LibreOffice: the DOCX alone and why
    lines = await report_command(small, "T2025", "2025-03", tmp_path / "out" / "bc.docx")
    assert (tmp_path / "out" / "bc.docx").exists() and not (tmp_path / "out" / "bc.pdf").exists()
    assert lines[0].startswith("Đã ghi") and "LibreOffice" in lines[1] and len(lines) == 2
    from handlers.official_report import ReportError
    with pytest.raises(ReportError, match="2024-03"):
        await report_command(small, "T2025", "2024-03", tmp_path / "x.docx")
    with pytest.raises(ReportError, match="NOPE"):
        await report_command(small, "NOPE", "2025-03", tmp_path / "x.docx")


@pytest.mark.skipif(not (shutil.which("soffice") and shutil.which("pdftoppm")),
                    reason="LibreOffice and pdftoppm are not installed (.ci/run installs them)")
async def test_the_pdf_and_its_pages(small: App, tmp_path: Path) -> None:
    lines = await report_command(small, "T2025", "2025-03", tmp_path / "bc.docx")
    pdf = tmp_path / "bc.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and any("PDF" in line for line in lines)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2 and all(page.stat().st_size > 5_000 for page in pages)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "TỒN TẠI, HẠN CHẾ" in text


class Console:
    def __init__(self, app: App) -> None:
        self.app = app
        self.channel = ConsoleChannel(app.deps, write=lambda _: None)

    async def join(self, user: str, role: str, unit_code: str | None = None) -> None:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "T2025")
            assert plan is not None
            unit = next(u for u in await store.plan_units(session, plan) if u.code == unit_code) if unit_code else None
            issued = await people.create_invite(session, role=role, plan=plan, unit=unit, now=self.app.now())
        await self.channel.send(user, f"/start {issued.code}")

    async def ask(self, user: str, text: str) -> tuple[str, list[Any]]:
        replies = [r for r in await self.channel.send(user, text) if r.to is None]
        return "\n".join(r.text for r in replies), [a for r in replies for a in r.attachments]


async def test_baocaovanban_for_leaders_and_the_tracking_office_only(small: App, clock: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    from datetime import datetime
    clock.set(datetime(2025, 3, 25, 9, 0, tzinfo=ZONE))
    console = Console(small)
    await console.join("Chủ tịch", "leader")
    await console.join("Cán bộ VHTT", "officer", "vhtt")  # the plan's tracking office
    await console.join("Cán bộ xã", "officer", "an-sinh")
    text, attachments = await console.ask("Chủ tịch", "/baocaovanban tháng 3")
    assert "Nghị định 30/2020" in text and "LibreOffice" in text
    (document,) = attachments
    assert document.filename == "bao-cao-T2025-2025-03.docx"
    lines = texts(docx.Document(__import__("io").BytesIO(document.content)))
    assert any(line.endswith("tháng 3/2025") and line.startswith("Kết quả thực hiện") for line in lines)
    text, attachments = await console.ask("Cán bộ VHTT", "báo cáo văn bản")
    assert len(attachments) == 1
    text, attachments = await console.ask("Cán bộ xã", "/baocaovanban")
    assert attachments == [] and "cơ quan theo dõi, lãnh đạo" in text
