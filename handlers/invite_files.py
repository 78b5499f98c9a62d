"""A plan's invites as files (issue 16): a spreadsheet and a CSV to send on, and printable A4 cards
— the unit's name, the code in large type, a QR code of the Telegram link, three short steps and
the expiry — to hand out at a meeting.

No database and no channel here: the command line (`invite --all --out`) and the chat (`/moi tất
cả`) pass the issued invites in and get bytes back. Building a province's cards takes seconds, so
callers run it in a thread.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from locales import Translator
from models.onboarding import IssuedLine

FORMATS = (".xlsx", ".csv", ".pdf")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Card:
    """One unit's invite as every file shows it."""

    unit_code: str
    unit_name: str
    kind: str
    code: str
    telegram_link: str | None
    zalo_send: str | None  # what to send the bot on Zalo (no deep links there); None without Zalo
    expires_at: datetime  # in the deployment's time zone
    replacing: str | None = None
    greet: str | None = None  # the roster's name for the unit's officer, when known


def cards_of(lines: Sequence[IssuedLine], *, link: Callable[[str], str | None] | None, zalo: bool,
             timezone: ZoneInfo, names: dict[str, str] | None = None) -> list[Card]:
    names = names or {}
    return [Card(line.unit_code, line.unit_name, line.kind, line.code, link(line.code) if link else None,
                 line.code if zalo else None, line.expires_at.astimezone(timezone), line.replacing,
                 names.get(line.unit_code))
            for line in lines]


def json_rows(cards: Sequence[Card]) -> list[dict[str, Any]]:
    """`invite --all --json`: the single invite's fields (interfaces.md), one object per unit."""
    return [{"code": card.code, "role": "officer", "unit": card.unit_code, "unit_name": card.unit_name,
             "kind": card.kind, "telegram_link": card.telegram_link,
             "zalo_hint": {"send": card.zalo_send, "link": None} if card.zalo_send else None,
             "expires_at": card.expires_at.isoformat(), "replacing": card.replacing, "person": card.greet}
            for card in cards]


def _columns(t: Translator, cards: Sequence[Card]) -> list[tuple[str, Callable[[Card], str]]]:
    columns: list[tuple[str, Callable[[Card], str]]] = [
        (t("invites-col-unit-code"), lambda c: c.unit_code),
        (t("invites-col-unit"), lambda c: c.unit_name),
        (t("invites-col-kind"), lambda c: c.kind),
        (t("invites-col-code"), lambda c: c.code),
        (t("invites-col-telegram"), lambda c: c.telegram_link or t("invites-no-link", code=c.code)),
    ]
    if any(card.zalo_send for card in cards):
        columns.append((t("invites-col-zalo"), lambda c: t("invites-zalo-send", code=c.zalo_send or c.code)))
    columns.append((t("invites-col-expires"), lambda c: when(t, c.expires_at)))
    if any(card.greet for card in cards):
        columns.append((t("invites-col-person"), lambda c: c.greet or ""))
    if any(card.replacing for card in cards):
        columns.append((t("invites-col-replacing"), lambda c: c.replacing or ""))
    return columns


def when(t: Translator, moment: datetime) -> str:
    return f"{moment:%H:%M} {t.date(moment.date())}"


def to_csv(cards: Sequence[Card], t: Translator) -> bytes:
    """UTF-8 with a byte-order mark: Excel on Windows opens it with the diacritics intact."""
    columns = _columns(t, cards)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([title for title, _ in columns])
    for card in cards:
        writer.writerow([value(card) for _, value in columns])
    return buffer.getvalue().encode("utf-8-sig")


def to_xlsx(cards: Sequence[Card], t: Translator, plan_title: str) -> bytes:
    import xlsxwriter

    columns = _columns(t, cards)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet(t("invites-sheet"))
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#DDEBF7", "border": 1})
    code = book.add_format({"bold": True, "font_name": "Consolas", "font_size": 12})
    sheet.write(0, 0, t("invites-sheet-title", plan=plan_title), book.add_format({"bold": True, "font_size": 13}))
    for col, (title, _) in enumerate(columns):
        sheet.write(2, col, title, bold)
    widths = {t("invites-col-unit"): 44, t("invites-col-telegram"): 44, t("invites-col-zalo"): 30,
              t("invites-col-person"): 26, t("invites-col-replacing"): 26, t("invites-col-expires"): 18}
    for col, (title, _) in enumerate(columns):
        sheet.set_column(col, col, widths.get(title, 14))
    for row, card in enumerate(cards, start=3):
        for col, (title, value) in enumerate(columns):
            sheet.write_string(row, col, value(card), code if title == t("invites-col-code") else None)
    sheet.freeze_panes(3, 0)
    book.close()
    return buffer.getvalue()


# --- printable cards -------------------------------------------------------------------------------

PAGE_W, PAGE_H, MARGIN = 210.0, 297.0, 10.0
COLUMNS, ROWS = 2, 3  # six cards to an A4 page: each about 95 × 92 mm, cut along the dashed lines
QR_SIZE = 40.0  # mm: phones read it from arm's length


@cache
def _font_dir() -> Path:
    """DejaVu ships with matplotlib (already a dependency) and has every Vietnamese glyph."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def to_pdf(cards: Sequence[Card], t: Translator, plan_title: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(t("invites-sheet-title", plan=plan_title))
    pdf.set_creator("dtbot")
    fonts = _font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.add_font("DejaVuMono", "B", str(fonts / "DejaVuSansMono-Bold.ttf"))
    width = (PAGE_W - 2 * MARGIN) / COLUMNS
    height = (PAGE_H - 2 * MARGIN) / ROWS
    per_page = COLUMNS * ROWS
    layout = _Layout(pdf)
    if not cards:
        pdf.add_page()
        pdf.set_font("DejaVu", "", 12)
        pdf.text(MARGIN, MARGIN + 10, t("invites-none"))
    for index, card in enumerate(cards):
        slot = index % per_page
        if slot == 0:
            pdf.add_page()
            _cut_lines(pdf, width, height)
        x = MARGIN + (slot % COLUMNS) * width
        y = MARGIN + (slot // COLUMNS) * height
        _card(layout, card, t, plan_title, x, y, width)
    return bytes(pdf.output())


def _cut_lines(pdf: Any, width: float, height: float) -> None:
    pdf.set_draw_color(170, 170, 170)
    pdf.set_line_width(0.2)
    with pdf.local_context(dash_pattern={"dash": 1.5, "gap": 1.5}):
        for col in range(COLUMNS + 1):
            pdf.line(MARGIN + col * width, MARGIN, MARGIN + col * width, PAGE_H - MARGIN)
        for row in range(ROWS + 1):
            pdf.line(MARGIN, MARGIN + row * height, PAGE_W - MARGIN, MARGIN + row * height)


class _Layout:
    """Text placed line by line with the lines broken once per distinct text: the plan's title,
    the steps and the expiry are the same on every card, and fpdf2's line breaking is most of
    the time a card takes."""

    def __init__(self, pdf: Any) -> None:
        self.pdf = pdf
        self.broken: dict[tuple[str, str, float, float, str], list[str]] = {}

    def para(self, x: float, y: float, width: float, height: float, text: str) -> float:
        """Writes `text` wrapped to `width` from the top at `y`; returns the y below it."""
        pdf = self.pdf
        key = (pdf.font_family, pdf.font_style, pdf.font_size_pt, width, text)
        lines = self.broken.get(key)
        if lines is None:
            lines = self.broken[key] = pdf.multi_cell(width, height, text, dry_run=True, output="LINES")
        for line in lines:
            pdf.text(x, y + height * 0.78, line)
            y += height
        return y


def _card(layout: _Layout, card: Card, t: Translator, plan_title: str, x: float, y: float, w: float) -> None:
    pdf, pad = layout.pdf, 5.0
    inner, left = w - 2 * pad, x + pad
    pdf.set_text_color(90, 90, 90)
    pdf.set_font("DejaVu", "", 7)
    at = layout.para(left, y + pad, inner, 3.2, _clip(plan_title, 140))
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("DejaVu", "B", 11)
    at = layout.para(left, at + 0.5, inner, 5, _clip(card.unit_name, 110))
    if card.greet:
        pdf.set_font("DejaVu", "", 8.5)
        at = layout.para(left, at, inner, 4, t("invites-card-for", name=card.greet))
    top = max(at + 1.5, y + 22)
    if card.telegram_link:
        _qr(pdf, card.telegram_link, x + w - pad - QR_SIZE, top, QR_SIZE)
    text_w = inner - (QR_SIZE + 3 if card.telegram_link else 0)
    pdf.set_font("DejaVu", "", 8)
    at = layout.para(left, top, text_w, 4, t("invites-card-code"))
    pdf.set_font("DejaVuMono", "B", 20)
    pdf.text(left, at + 7.5, _spaced(card.code))
    pdf.set_font("DejaVu", "", 7.5)
    at = layout.para(left, at + 10, text_w, 3.4, t("invites-card-expires", when=when(t, card.expires_at)))
    at = max(at + 2, top + (QR_SIZE + 2 if card.telegram_link else 0))
    pdf.set_font("DejaVu", "", 8)
    for number, step in enumerate(_steps(t, card), start=1):
        at = layout.para(left, at, inner, 3.7, f"{number}. {step}")


def _steps(t: Translator, card: Card) -> list[str]:
    """The same words on every card (the code stands above them): laid out once for all."""
    first = "invites-step-scan" if card.telegram_link else "invites-step-open"
    last = "invites-step-zalo" if card.zalo_send else "invites-step-help"
    return [t(first), t("invites-step-start"), t(last)]


def _spaced(code: str) -> str:
    """Two groups of four: read over the phone and typed from paper without losing one's place."""
    return f"{code[:4]} {code[4:]}" if len(code) == 8 else code


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _qr(pdf: Any, text: str, x: float, y: float, size: float) -> None:
    """The QR code as one filled path of rectangles (one per run of dark modules in a row): sharp
    at any zoom and print resolution, where a small bitmap would be smoothed into grey. Written as
    PDF operators in one go (fpdf2's `_out`): 3,000 cards are some 600,000 rectangles, and one
    `rect()` call each took a third of the time a province's cards take."""
    import segno

    matrix = segno.make_qr(text, error="m").matrix
    quiet = 2  # modules of white border inside `size` (the card's white around it does the rest)
    k, page_h = pdf.k, pdf.h
    module = size / (len(matrix) + 2 * quiet) * k
    left, top = (x * k) + quiet * module, (page_h - y) * k - quiet * module
    ops = []
    for row_index, row in enumerate(matrix):
        row_top = top - row_index * module
        start = None
        for col_index, dark in enumerate([*row, 0]):
            if dark and start is None:
                start = col_index
            elif not dark and start is not None:
                # 5% taller: the rows overlap, so no hairline seam shows between them
                ops.append(f"{left + start * module:.2f} {row_top:.2f} {(col_index - start) * module:.2f} "
                           f"{-module * 1.05:.2f} re")
                start = None
    pdf.set_fill_color(0, 0, 0)
    pdf._out(" ".join(ops) + " f")


def file_bytes(kind: str, cards: Sequence[Card], t: Translator, plan_title: str) -> bytes:
    """The file for a suffix of FORMATS."""
    if kind == ".pdf":
        return to_pdf(cards, t, plan_title)
    if kind == ".csv":
        return to_csv(cards, t)
    return to_xlsx(cards, t, plan_title)


def file_name(plan_code: str, today: date, suffix: str) -> str:
    return f"moi-{plan_code}-{today:%Y%m%d}{suffix}"
