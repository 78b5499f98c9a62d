"""The period's results as a spreadsheet in the layout of the plan's own appendix table, in
Vietnamese as offices write it (models.plan_words: "Tháng", "Lũy kế từ đầu năm", "≥", "Phòng, ban").

Sheets, in order:
0. "Tổng hợp" (English: "Overview"): the period's units × indicators table: a row per unit that
   reports anything (its reporting and on-time rates first), a column per part (code and target
   above, the part's reporting rate under the header), each figure coloured by its status (green
   met, yellow not met, red not reported, grey not applicable), in italics when late, the units'
   rates shaded by value, a filter on every column. A tracking office may fill it in and read it
   back (`import-figures`, handlers/paperwork.py).
1. the appendix: the plan's columns in the plan's order (TT, Mục tiêu, Cơ quan chủ trì, Cơ quan
   phối hợp, Cơ quan theo dõi, [Kết quả năm trước], Mục tiêu <năm> của tỉnh, Mục tiêu <năm> của đơn
   vị, [Mục tiêu khác: the target as stated elsewhere in the document, for people to read],
   Mức độ, [Cơ sở đề xuất], [Lý do giao]), group rows numbered as the plan numbers them (I, II, …), then the
   columns the importer needs to rebuild the plan exactly (Mã, Tên ngắn, Tần suất, [Công thức]),
   then the period's results: Phần, Số liệu <kỳ> (the plan-wide figure), Tổng tử số / Tổng mẫu số
   (the sums behind a ratio), Khoảng cách (gap), Đánh giá (met / on track / off track / no data),
   Tỷ lệ báo cáo. A compound indicator's parts each get a result row under it, whose plan columns
   are empty, so the importer passes over them. A plan with several appendix tables (Đông Triều
   2025: Phụ lục 1 and 2) gets a heading row per table, lettered A, B, … as Vietnamese tables
   letter their parts; the importer reads those as groups (see tests/test_export.py).
2. "Kế hoạch" (key, value, with the deadlines in words, coverage threshold and first collected
   month), "Đơn vị" (Mã, Tên, Loại, Trực thuộc, Tên khác, …, closing and merging), "Phần" (the
   parts of every indicator whose parts the appendix row alone does not determine, with the
   reporters the file set, the condition and "không phát sinh") and, when there are any, "Mục tiêu
   khác" (those other statements of the targets, one a row): the optional sheets of the XLSX plan
   format (docs/plan-format.md), so the exported file imports back as the plan.
3. "Tỷ lệ báo cáo": reporting rates per unit (expected, received, on time, late, missing, rates,
   the focal officer), the whole plan's first.
4. up to UNIT_SHEETS_MAX units, one sheet per unit that reports in the period, named by the
   unit's name (cut to 31 characters, without []:*?/\\, made unique): its figure for each part
   with gap, status, first submission time (BOT_TIMEZONE) and whether it was on time. Above it (a
   province has 3,000 units: 3,000 tabs nobody can find a unit in, each holding an open temporary
   file while it is written) the overview is the only per-unit sheet.
5. a hidden sheet naming the plan and period, so that the overview can be read back.

Every sheet prints on A4 landscape, one page wide, its header rows repeated on each page.

Written with XlsxWriter in constant-memory mode (rows stream to temporary files; memory does not
grow with the plan): openpyxl's write-only mode took two to three times the CPU for the same
cells (with or without lxml). Headers bold, column widths set, percentages stored as fractions formatted
0.0%, panes frozen under each header row. The plan columns' headers and words are the plan file
format's keywords and stay Vietnamese in every language; result headers and texts follow the
reader's language.
"""
from __future__ import annotations

import asyncio
import io
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from handlers import export_review as review_sheet
from handlers.formatting import describe_target, period_label
from handlers.paperwork import MARK_SHEET, mark_rows
from handlers.summary_text import coverage_text
from locales import Translator
from models import store
from models.gaps import Status, evaluate
from models.periods import Period, PeriodError
from models.plan_view import PartView, PlanView
from models.plan_words import (
    ACCUMULATION_WORDS,
    COMPARISON_WORDS,
    FREQUENCY_WORDS,
    KIND_WORDS,
    MEASURE_WORDS,
    META_WORDS,
    deadline_text,
    kinds_text,
    word_of,
    yes_no,
)
from models.plan_xlsx import CONFLICTS_SHEET, MATRIX_SHEETS, META_SHEET, PARTS_SHEET, UNITS_SHEET
from models.plans import DEFAULT_TARGET_SOURCE
from models.rollups import Standing
from models.store import load_plan_view
from models.summary_data import Cell as SummaryCell, IndicatorRow, Summary
from models.summary_queries import CellReader, build_summary
from models.tables import Indicator
from models.targets import Comparison, Figure, Measure, TargetParseError, parse_target_detail

__all__ = [
    "UNIT_SHEETS_MAX",
    "ExportError",
    "export_command",
    "export_filename",
    "export_streamed",
    "export_workbook",
    "sheet_title",
    "summary_cells",
    "summary_details",
    "unit_layout",
]

# Up to this many reporting units, one sheet each; above it, one table of all their figures. A
# sheet per unit cannot be navigated by people at province size (3,000 tabs), and each sheet being
# written holds an open temporary file until the workbook is closed.
UNIT_SHEETS_MAX = 200

PERCENT = "0.0%"
DAY = "dd/mm/yyyy"
NUMBER = "#,##0.##"
WHEN = " ".join(("dd/mm/yyyy", "hh:mm"))  # day first, as Vietnamese write dates
# Styles as XlsxWriter format properties, hashable so that each combination is one Format.
_Style = tuple[tuple[str, Any], ...]
HEADER_FONT: _Style = (("bold", True),)
TITLE_FONT: _Style = (("bold", True), ("font_size", 14))
GROUP_FONT: _Style = (("bold", True),)
ITALIC: _Style = (("italic", True),)
HEADER_FILL: _Style = (("bg_color", "#DDEBF7"),)
GROUP_FILL: _Style = (("bg_color", "#F2F2F2"),)
WRAP: _Style = (("text_wrap", True), ("valign", "top"))
TOP: _Style = (("valign", "top"),)
FILLS: dict[Standing, _Style] = {
    Standing.MET: (("bg_color", "#C6EFCE"),),
    Standing.ON_TRACK: (("bg_color", "#FFEB9C"),),
    Standing.OFF_TRACK: (("bg_color", "#FFC7CE"),),
    Standing.THIN: (("bg_color", "#F2F2F2"),),
    Standing.NO_DATA: (("bg_color", "#EDEDED"),),
}
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_LETTERS = "ABCDEFGHKLMNOPQRSTUVXY"  # as Vietnamese tables letter their parts (no I, J, W, Z)
_RESERVED_TITLES = frozenset({"history"})  # Excel keeps this sheet name for itself
_PIXELS_PER_CHARACTER = 7  # Calibri 11's digit: widths set in pixels are stored exactly as given


class ExportError(Exception):
    """An export that cannot be made; str() is a localized explanation for the person asking."""


class AppLike(Protocol):  # bot.app.App, without importing the edge into handlers
    settings: Any
    t: Translator

    def now(self) -> datetime: ...

    def unit_of_work(self) -> Any: ...


@dataclass(frozen=True)
class _Column:
    header: str
    width: float
    wrap: bool = False


class _Styled(NamedTuple):
    """A value with its format, written as its type (text is never read as a formula or a link)."""

    value: Any
    format: Format | None


# --- helpers ----------------------------------------------------------------------------------


def sheet_title(text: str, taken: set[str]) -> str:
    """A valid, unique sheet title: ≤ 31 characters, none of []:*?/\\, unique ignoring case."""
    base = _BAD_TITLE.sub("-", text).strip().strip("'") or "-"
    title = base[:31]
    number = 2
    while title.casefold() in taken or title.casefold() in _RESERVED_TITLES:
        suffix = f"~{number}"
        title = base[: 31 - len(suffix)] + suffix
        number += 1
    taken.add(title.casefold())
    return title


def export_filename(summary: Summary) -> str:
    return f"{summary.plan_code}-{summary.period.id}.xlsx"


def unit_layout(view: PlanView) -> str:
    """"sheets" (one sheet per reporting unit) or "grid" (one sheet: a row per unit, a column per
    part), by the number of units that report anything in the plan, so that a plan's exports keep
    one layout whatever the period."""
    reporting = {unit_id for unit_ids in view.reporters.values() for unit_id in unit_ids}
    return "sheets" if len(reporting) <= UNIT_SHEETS_MAX else "grid"


def summary_details(view: PlanView) -> bool:
    """Whether the export needs the summary's details (each figure's first submission time): the
    unit sheets show it, the grid does not, and at 10,000 units reading it costs a grouped query
    over every version and a dictionary of 300,000 times."""
    return unit_layout(view) == "sheets"


class _Book:
    """An XlsxWriter workbook in constant-memory mode: each row goes to a temporary file as soon as
    the next one starts, so memory stays flat whatever the plan's size. Each combination of font,
    fill, number format and alignment is registered once."""

    def __init__(self, buffer: io.BytesIO, folder: str) -> None:
        """`folder`: where the rows wait until the workbook is closed (removed by the caller
        whatever happens, as XlsxWriter removes them only when it closes)."""
        options = {"constant_memory": True, "remove_timezone": True, "tmpdir": folder}
        self.workbook = xlsxwriter.Workbook(buffer, options)
        self.formats: dict[tuple[Any, ...], Format] = {}

    def format(self, font: _Style | None, fill: _Style | None, number_format: str | None,
               alignment: _Style | None) -> Format | None:
        key = (font, fill, number_format, alignment)
        known = self.formats.get(key)
        if known is None:
            properties = dict((font or ()) + (fill or ()) + (alignment or ()))
            if number_format is not None:
                properties["num_format"] = number_format
            known = self.formats[key] = self.workbook.add_format(properties)
        return known

    def close(self) -> None:
        self.workbook.close()

    def discard(self) -> None:
        """Closes the temporary files of a workbook that will not be finished: XlsxWriter closes
        them only in close(), which would assemble the file first."""
        for worksheet in self.workbook.worksheets():
            handle = getattr(worksheet, "row_data_fh", None)  # constant-memory mode's rows
            if handle is not None:
                handle.close()


def _write(ws: Worksheet, row: int, column: int, value: Any, style: Format | None) -> None:
    """One value by its type (no guessing from text: "=1+1" and "http://…" stay text)."""
    kind = type(value)
    if kind is str:
        ws.write_string(row, column, value, style)
    elif kind is int or kind is float:
        ws.write_number(row, column, value, style)
    elif value is None:
        if style is not None:
            ws.write_blank(row, column, None, style)
    elif kind is bool:
        ws.write_boolean(row, column, value, style)
    elif isinstance(value, Decimal):
        ws.write_number(row, column, float(value), style)
    elif isinstance(value, (datetime, date)):
        ws.write_datetime(row, column, value, style)
    else:
        ws.write_string(row, column, str(value), style)


def _print_setup(ws: Worksheet, header_row: int | None) -> None:
    """Ready to print as offices print tables: A4 landscape, as wide as one page, the header
    repeated on every page (rows numbered from 1)."""
    ws.set_paper(9)
    ws.set_landscape()
    ws.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    ws.fit_to_pages(1, 0)
    if header_row:
        ws.repeat_rows(0, header_row - 1)
    ws.set_footer("&C&P / &N")


class _Sheet:
    """A sheet written row by row: widths first, then rows of plain or styled values."""

    def __init__(self, book: _Book, title: str, columns: Sequence[_Column], header_row: int | None = None) -> None:
        """`header_row`: the header's row number; panes freeze under it."""
        self.book = book
        self.ws = book.workbook.add_worksheet(title)
        self.columns = list(columns)
        for index, column in enumerate(self.columns):
            self.ws.set_column_pixels(index, index, column.width * _PIXELS_PER_CHARACTER)
        if header_row is not None:
            self.ws.freeze_panes(header_row, 0)
        _print_setup(self.ws, header_row)
        self.rows = 0

    def cell(self, value: Any, *, font: _Style | None = None, fill: _Style | None = None,
             number_format: str | None = None, alignment: _Style | None = None) -> _Styled:
        return _Styled(value, self.book.format(font, fill, number_format, alignment))

    def append(self, cells: Sequence[Any]) -> None:
        ws, row = self.ws, self.rows
        for column, cell in enumerate(cells):
            if type(cell) is _Styled:
                _write(ws, row, column, cell.value, cell.format)
            elif cell is not None:
                _write(ws, row, column, cell, None)
        self.rows += 1

    def header(self) -> None:
        self.append([self.cell(c.header, font=HEADER_FONT, fill=HEADER_FILL, alignment=WRAP) for c in self.columns])

    def values(self, values: Sequence[Any], *, font: _Style | None = None, fill: _Style | None = None) -> list[Any]:
        """Plain values as cells aligned like their columns."""
        cells = []
        for index, value in enumerate(values):
            wrap = index < len(self.columns) and self.columns[index].wrap
            if type(value) is _Styled:
                cells.append(value)
            elif value is None and font is None and fill is None:
                cells.append(None)
            else:
                cells.append(self.cell(value, font=font, fill=fill, alignment=WRAP if wrap else None))
        return cells

    def autofilter(self, header_row: int) -> None:
        """A filter on every column of the rows under the header (row numbers from 1)."""
        self.ws.autofilter(header_row - 1, 0, max(self.rows - 1, header_row - 1), len(self.columns) - 1)


def _fraction(value: Decimal | None) -> float | None:
    return None if value is None else float(value / 100)


def _number(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _is_milestone(row: IndicatorRow) -> bool:
    return row.target.measure is Measure.MILESTONE or row.target.comparison is Comparison.DONE


# --- the appendix -----------------------------------------------------------------------------


def _appendix_columns(view: PlanView, t: Translator, label: str) -> list[tuple[str, _Column]]:
    year = view.plan.year
    indicators = view.indicators
    columns: list[tuple[str, _Column]] = [
        ("number", _Column(t("export-col-number"), 6)),
        ("text", _Column(t("export-col-text"), 55, wrap=True)),
        ("lead", _Column(t("export-col-lead"), 26, wrap=True)),
        ("coordinating", _Column(t("export-col-coordinating"), 26, wrap=True)),
        ("tracking", _Column(t("export-col-tracking"), 22, wrap=True)),
    ]
    if any(i.baseline_raw for i in indicators):
        columns.append(("baseline", _Column(t("export-col-baseline", year=year - 1), 20, wrap=True)))
    columns += [
        ("province_target", _Column(t("export-col-province", year=year), 13, wrap=True)),
        ("target", _Column(t("export-col-target", year=year), 13, wrap=True)),
    ]
    if any(i.conflicts for i in indicators):
        columns.append(("conflicts", _Column(t("export-col-conflicts"), 30, wrap=True)))
    columns.append(("level", _Column(t("export-col-level"), 15, wrap=True)))
    if any(i.basis for i in indicators):
        columns.append(("basis", _Column(t("export-col-basis"), 30, wrap=True)))
    if any(i.reporters_reason for i in indicators):
        columns.append(("reporters_reason", _Column(t("export-col-reporters-reason"), 40, wrap=True)))
    columns += [
        ("code", _Column(t("export-col-code"), 8)),
        ("title", _Column(t("export-col-title"), 30, wrap=True)),
        ("frequency", _Column(t("export-col-frequency"), 11)),
        ("accumulation", _Column(t("export-col-accumulation"), 13)),
    ]
    if any(i.formula for i in indicators):
        columns.append(("formula", _Column(t("export-col-formula"), 30, wrap=True)))
    columns += [
        ("part", _Column(t("export-col-part"), 24, wrap=True)),
        ("figure", _Column(t("export-col-figure", period=label), 13)),
        ("coverage", _Column(t("rollup-export-col-coverage"), 14, wrap=True)),
        ("numerator", _Column(t("export-col-numerator"), 12)),
        ("denominator", _Column(t("export-col-denominator"), 12)),
        ("gap", _Column(t("export-col-gap"), 12)),
        ("status", _Column(t("export-col-status"), 16)),
        ("rate", _Column(t("export-col-rate"), 12)),
    ]
    return columns


def _conflicts_text(indicator: Indicator, t: Translator) -> str | None:
    """The other statements of the indicator's targets, one a line: "Khác: trên 50% (Thân kế
    hoạch, mục I.2)", with the part's code when the indicator has several."""
    several = len(indicator.parts) > 1
    lines = [t("export-conflict-part" if several else "export-conflict", part=c["part"], target=c["target"],
               source=c["source"]) for c in indicator.conflicts or []]
    return "\n".join(lines) or None


def _indicator_values(indicator: Indicator, t: Translator) -> dict[str, Any]:
    return {
        "number": indicator.number, "text": indicator.text, "lead": indicator.lead,
        "coordinating": indicator.coordinating, "tracking": indicator.tracking,
        "baseline": indicator.baseline_raw, "province_target": indicator.province_target,
        "target": indicator.target_raw, "level": indicator.level_raw, "basis": indicator.basis,
        "code": indicator.code, "title": indicator.title,
        "frequency": word_of(indicator.frequency, FREQUENCY_WORDS),
        "accumulation": word_of(indicator.accumulation, ACCUMULATION_WORDS), "formula": indicator.formula,
        "reporters_reason": indicator.reporters_reason, "conflicts": _conflicts_text(indicator, t),
    }


def _result_cells(sheet: _Sheet, row: IndicatorRow | None, t: Translator) -> dict[str, Any]:
    if row is None:
        return {}
    cells: dict[str, Any] = {}
    fill = FILLS[row.standing]
    if row.amount is not None:
        if row.target.is_percentage or _is_milestone(row):
            cells["figure"] = sheet.cell(_fraction(row.amount), number_format=PERCENT, alignment=TOP)
        else:
            cells["figure"] = sheet.cell(_number(row.amount), number_format=NUMBER, alignment=TOP)
    cells["coverage"] = sheet.cell(coverage_text(row.rollup, t), alignment=WRAP)
    if row.rollup.numerator is not None and row.rollup.denominator is not None:
        cells["numerator"] = sheet.cell(_number(row.rollup.numerator), number_format=NUMBER, alignment=TOP)
        cells["denominator"] = sheet.cell(_number(row.rollup.denominator), number_format=NUMBER, alignment=TOP)
    if row.gap is not None:
        if row.target.is_percentage and not _is_milestone(row):
            cells["gap"] = sheet.cell(_fraction(row.gap), number_format=PERCENT, alignment=TOP)
        else:
            cells["gap"] = sheet.cell(_number(row.gap), number_format=NUMBER, alignment=TOP)
    cells["status"] = sheet.cell(t(f"summary-standing-{row.standing.value}"), fill=fill, alignment=TOP)
    rate = row.reports.rate
    if rate is not None:
        cells["rate"] = sheet.cell(_fraction(rate), number_format=PERCENT, alignment=TOP)
    return cells


def _write_appendix(workbook: _Book, view: PlanView, summary: Summary, t: Translator, taken: set[str]) -> None:
    label = period_label(summary.period, t)
    keyed = _appendix_columns(view, t, label)
    keys = [key for key, _ in keyed]
    sheet = _Sheet(workbook, sheet_title(t("export-sheet-appendix"), taken), [c for _, c in keyed], header_row=3)
    sheet.append([sheet.cell(view.plan.title, font=TITLE_FONT)])
    sheet.append([sheet.cell(t("export-subtitle", period=label, date=t.date(summary.today),
                               document=view.plan.document or view.plan.code))])
    sheet.header()

    def emit(values: dict[str, Any], *, font: _Style | None = None, fill: _Style | None = None) -> None:
        sheet.append(sheet.values([values.get(key) for key in keys], font=font, fill=fill))

    rows = {row.part_id: row for row in summary.rows}
    tables = {table["code"]: table["title"] for table in view.plan.tables or []}
    groups = {(group.get("table"), group["code"]): group["title"] for group in view.plan.groups or []}
    group_titles = {group["code"]: group["title"] for group in view.plan.groups or []}
    several_tables = len(tables) > 1
    table_letters: dict[str, str] = {}
    shown_table: str | None = None
    shown_group: tuple[str | None, str] | None = None
    for indicator in view.indicators:
        parts = [view.parts[p.id] for p in indicator.parts if p.id in view.parts]
        if not parts:
            continue
        if several_tables and indicator.table_code and indicator.table_code != shown_table:
            shown_table = indicator.table_code
            letter = table_letters.setdefault(shown_table, _LETTERS[len(table_letters) % len(_LETTERS)])
            emit({"number": letter, "text": tables.get(shown_table, shown_table)}, font=GROUP_FONT, fill=GROUP_FILL)
            shown_group = None
        group_key = (indicator.table_code, indicator.group_code) if indicator.group_code else None
        if group_key is not None and group_key != shown_group:
            shown_group = group_key
            title = groups.get(group_key) or group_titles.get(indicator.group_code or "", indicator.group_code)
            emit({"number": indicator.group_code, "text": title}, font=GROUP_FONT, fill=GROUP_FILL)
        values: dict[str, Any] = _indicator_values(indicator, t)
        if len(parts) == 1:
            values["part"] = parts[0].part.label
            values.update(_result_cells(sheet, rows.get(parts[0].part.id), t))
            emit(values)
            continue
        emit(values)
        for pv in parts:
            label_text = f"{pv.code} · {pv.part.label}" if pv.part.label else pv.code
            emit({"part": label_text, **_result_cells(sheet, rows.get(pv.part.id), t)})


# --- the plan format's optional sheets --------------------------------------------------------


def _write_meta(workbook: _Book, view: PlanView, t: Translator, taken: set[str]) -> None:
    plan = view.plan
    sheet = _Sheet(workbook, sheet_title(META_SHEET, taken), [_Column("", 16), _Column("", 90, wrap=True)])
    values: list[tuple[str, Any]] = [
        ("code", plan.code), ("title", plan.title), ("year", plan.year), ("issuer", plan.issuer),
        ("document", plan.document), ("issued_on", plan.issued_on.isoformat() if plan.issued_on else None),
        ("source", plan.source), ("salutation", plan.salutation),
        ("tracking_unit", plan.tracking_unit_code), ("notes", plan.notes),
        ("coverage_threshold", plan.coverage_threshold), ("collect_from", plan.collect_from),
    ]
    # The schedule's deadlines in words: "trước ngày 5 tháng sau" (models.plan_words reads them back).
    for frequency, rule in view.rules.items():
        values.append((f"deadline_{frequency.value}", deadline_text(rule.day, rule.month, rule.before)))
    for key, value in values:
        if value is not None and value != "":
            sheet.append([sheet.cell(word_of(key, META_WORDS), font=HEADER_FONT), sheet.cell(value, alignment=WRAP)])


def _write_units(workbook: _Book, view: PlanView, t: Translator, taken: set[str]) -> None:
    columns = [_Column(t("export-unit-col-code"), 16), _Column(t("export-unit-col-name"), 45, wrap=True),
               _Column(t("export-unit-col-kind"), 12), _Column(t("export-unit-col-parent"), 16),
               _Column(t("export-unit-col-aliases"), 50, wrap=True), _Column(t("export-unit-col-named"), 12),
               _Column(t("export-unit-col-active"), 12), _Column(t("export-unit-col-deactivated-on"), 14),
               _Column(t("export-unit-col-deactivation-reason"), 14), _Column(t("export-unit-col-merged-into"), 16)]
    sheet = _Sheet(workbook, sheet_title(UNITS_SHEET, taken), columns, header_row=1)
    sheet.header()
    for unit in sorted(view.units.values(), key=lambda u: u.id):
        if not unit.in_file:
            continue
        parent = view.units.get(unit.parent_id) if unit.parent_id else None
        merged_into = view.units.get(unit.merged_into_id) if unit.merged_into_id else None
        sheet.append(sheet.values([
            unit.code, unit.name, word_of(unit.kind, KIND_WORDS), parent.code if parent else None,
            "; ".join(unit.aliases or []) or None, yes_no(unit.named_in_plan), yes_no(unit.active),
            unit.deactivated_on.isoformat() if unit.deactivated_on else None, unit.deactivation_reason,
            merged_into.code if merged_into else None,
        ]))


def _needs_part_rows(indicator: Indicator, parts: Sequence[PartView], overridden: frozenset[int]) -> bool:
    """Whether the appendix row alone would not rebuild these parts exactly (then the "Phần"
    sheet states them outright; stating a simple part too is harmless)."""
    if len(parts) != 1:
        return True
    part = parts[0].part
    if part.id in overridden or part.condition or not part.allow_not_applicable:
        return True
    if part.code != indicator.code or part.label or part.applies_to or part.target_raw != indicator.target_raw:
        return True
    if part.numerator_label or part.denominator_label:
        return True
    try:
        parsed, _ = parse_target_detail(indicator.target_raw)
    except (TargetParseError, ValueError):
        return True
    return parsed != parts[0].target


def _write_parts(workbook: _Book, view: PlanView, t: Translator, taken: set[str]) -> None:
    ids = ("indicator", "code", "label", "applies-to", "target", "comparison", "measure", "numerator",
           "denominator", "unit", "condition", "reporters", "allow-not-applicable")
    widths = (12, 10, 40, 24, 22, 12, 12, 40, 40, 16, 40, 40, 14)
    columns = [_Column(t(f"export-part-col-{name}"), width, wrap=width >= 22)
               for name, width in zip(ids, widths, strict=True)]
    sheet = _Sheet(workbook, sheet_title(PARTS_SHEET, taken), columns, header_row=1)
    sheet.header()
    for indicator in view.indicators:
        parts = [view.parts[p.id] for p in indicator.parts if p.id in view.parts]
        if not parts or not _needs_part_rows(indicator, parts, view.overridden):
            continue
        for pv in parts:
            part = pv.part
            # Only reporters the file set are written: an empty cell derives them again on import.
            reporters = None
            if part.id in view.overridden:
                unit_ids = sorted(view.reporters.get(part.id, []))  # as the Đơn vị sheet lists them
                reporters = "; ".join(view.units[unit_id].code for unit_id in unit_ids)
            sheet.append(sheet.values([
                indicator.code, part.code, part.label, kinds_text(part.applies_to or []),
                part.target_raw, word_of(part.comparison, COMPARISON_WORDS), word_of(part.measure, MEASURE_WORDS),
                part.numerator_label,
                part.denominator_label, part.unit_label, part.condition, reporters,
                t("export-part-yes") if part.allow_not_applicable else t("export-part-no"),
            ]))


def _write_conflicts(workbook: _Book, view: PlanView, t: Translator, taken: set[str]) -> None:
    """Other statements of the targets, one a row, so they come back on import; an indicator whose
    chosen target is stated somewhere other than the appendix gets a row even without one."""
    rows: list[list[Any]] = []
    for indicator in view.indicators:
        chosen = indicator.target_source if indicator.target_source not in (None, DEFAULT_TARGET_SOURCE) else None
        conflicts = indicator.conflicts or []
        for conflict in conflicts:
            rows.append([indicator.code, conflict["part"], conflict["target"], conflict["source"], chosen,
                         conflict.get("rule")])
        if not conflicts and chosen:
            rows.append([indicator.code, None, None, None, chosen, None])
    if not rows:
        return
    ids = ("indicator", "part", "target", "source", "chosen", "rule")
    widths = (12, 10, 22, 40, 40, 40)
    columns = [_Column(t(f"export-conflict-col-{name}"), width, wrap=width >= 22)
               for name, width in zip(ids, widths, strict=True)]
    sheet = _Sheet(workbook, sheet_title(CONFLICTS_SHEET, taken), columns, header_row=1)
    sheet.header()
    for row in rows:
        sheet.append(sheet.values(row))


# --- reporting rates and units ----------------------------------------------------------------


def _write_rates(workbook: _Book, summary: Summary, t: Translator, taken: set[str]) -> None:
    ids = ("code", "unit", "kind", "expected", "received", "on-time", "late", "missing", "rate",
           "on-time-rate", "missing-parts", "officer")
    widths = (16, 40, 12, 10, 10, 10, 10, 10, 12, 12, 30, 26)
    columns = [_Column(t(f"export-rates-col-{name}"), width, wrap=width >= 26)
               for name, width in zip(ids, widths, strict=True)]
    sheet = _Sheet(workbook, sheet_title(t("export-sheet-rates"), taken), columns, header_row=1)
    sheet.header()

    def line(code: str | None, name: str, kind: str | None, counts: Any, missing: str | None,
             officer: str | None, font: _Style | None = None) -> None:
        cells = sheet.values([code, name, kind], font=font)
        for value in (counts.expected, counts.received, counts.on_time, counts.late, counts.missing):
            cells.append(sheet.cell(value, font=font, alignment=TOP))
        for rate in (counts.rate, counts.on_time_rate):
            cells.append(sheet.cell(_fraction(rate), number_format=PERCENT, font=font, alignment=TOP))
        cells += sheet.values([None, None, missing, officer], font=font)[2:]
        sheet.append(cells)

    line(summary.plan_code, t("export-rates-whole-plan"), None, summary.reports, None, None, font=HEADER_FONT)
    for unit in summary.units:
        line(unit.code, unit.name, word_of(unit.kind, KIND_WORDS), unit.reports, ", ".join(unit.missing_parts) or None,
             unit.officer or t("summary-chase-no-officer"))


def _measure_cell(sheet: _Sheet, value: Decimal | None, percentage: bool) -> Any:
    if value is None:
        return None
    if percentage:
        return sheet.cell(_fraction(value), number_format=PERCENT, alignment=TOP)
    return sheet.cell(_number(value), number_format=NUMBER, alignment=TOP)


_Words = dict[str, str]
_Figures = tuple[list[Any], str, Any]  # figure, numerator, denominator, gap; status; its fill


class _Texts:
    """What every unit's row of a part repeats, worked out once per part, and the statuses' words
    once per export (a province's table has 90,000 rows)."""

    def __init__(self, summary: Summary, t: Translator) -> None:
        self.t = t
        self.parts: dict[int, tuple[IndicatorRow, str, str, str]] = {
            row.part_id: (row, row.full_title, period_label(row.period, t),
                          describe_target(row.target, t))
            for row in summary.rows
        }
        words = ("export-cell-met", "export-cell-unusable", "export-cell-not-met", "export-cell-missing",
                 "rollup-export-cell-not-applicable", "figure-not-applicable", "figure-done", "figure-not-done",
                 "export-on-time", "export-late")
        self.words = {word: t(word) for word in words}


def _received_cells(sheet: _Sheet, row: IndicatorRow, cell: SummaryCell, words: _Words) -> _Figures:
    """Figure, numerator, denominator and gap of a received figure, with its status and fill."""
    figure = cell.figure
    assert figure is not None
    if _is_milestone(row):
        done = cell.gap.status is Status.MET
        amount = sheet.cell(words["figure-done"] if done else words["figure-not-done"], alignment=TOP)
    else:
        amount = _measure_cell(sheet, figure.amount, row.target.is_percentage)
    cells = [amount, _measure_cell(sheet, figure.numerator, False), _measure_cell(sheet, figure.denominator, False),
             _measure_cell(sheet, cell.gap.gap, row.target.is_percentage)]
    if cell.gap.status is Status.MET:
        return cells, words["export-cell-met"], FILLS[Standing.MET]
    if cell.gap.status is Status.NO_DATA:
        return cells, words["export-cell-unusable"], FILLS[Standing.NO_DATA]
    return cells, words["export-cell-not-met"], FILLS[Standing.ON_TRACK]


def _figure_cells(sheet: _Sheet, row: IndicatorRow, cell: SummaryCell, words: _Words) -> _Figures:
    if cell.figure is None:
        return [None, None, None, None], words["export-cell-missing"], FILLS[Standing.OFF_TRACK]
    if cell.figure.not_applicable:
        return ([sheet.cell(words["figure-not-applicable"], alignment=TOP), None, None, None],
                words["rollup-export-cell-not-applicable"], FILLS[Standing.NO_DATA])
    return _received_cells(sheet, row, cell, words)


def _result_of(sheet: _Sheet, row: IndicatorRow, cell: SummaryCell, words: dict[str, str],
               zone: tzinfo | None) -> tuple[list[Any], Any, Any]:
    """A unit's figure for a part: figure, numerator, denominator, gap and status; the first
    submission's time; whether it was on time."""
    cells, status, fill = _figure_cells(sheet, row, cell, words)
    cells.append(sheet.cell(status, fill=fill, alignment=TOP))
    when = cell.first_at.astimezone(zone).replace(tzinfo=None) if cell.first_at and zone else None
    on_time = None if cell.on_time is None else sheet.cell(
        words["export-on-time"] if cell.on_time else words["export-late"], alignment=TOP)
    return cells, sheet.cell(when, number_format=WHEN, alignment=TOP) if when else None, on_time


def _expected_parts(summary: Summary) -> dict[int, list[int]]:
    """unit id -> the parts it owes in the period, in the summary's order."""
    order = {row.part_id: index for index, row in enumerate(summary.rows)}
    expected: dict[int, list[int]] = {}
    for part_id, unit_ids in summary.expected.items():
        for unit_id in unit_ids:
            expected.setdefault(unit_id, []).append(part_id)
    for parts in expected.values():
        parts.sort(key=order.__getitem__)
    return expected


def _write_unit_sheets(book: _Book, summary: Summary, texts: _Texts, taken: set[str]) -> None:
    """One sheet per unit: the part, the unit's figure, status, first time, deadline, on time."""
    t = texts.t
    ids = ("code", "title", "period", "target", "figure", "numerator", "denominator", "gap", "status",
           "first-at", "deadline", "on-time")
    widths = (8, 40, 14, 14, 12, 12, 12, 12, 16, 17, 12, 12)
    columns = [_Column(t(f"export-unitsheet-col-{name}"), width, wrap=width >= 40)
               for name, width in zip(ids, widths, strict=True)]
    expected = _expected_parts(summary)
    for unit in summary.units:
        sheet = _Sheet(book, sheet_title(unit.name, taken), columns, header_row=3)
        sheet.append([sheet.cell(unit.name, font=TITLE_FONT)])
        counts = unit.reports
        sheet.append([sheet.cell(t("export-unit-line", officer=unit.officer or t("summary-chase-no-officer"),
                                   received=counts.received, expected=counts.expected, on_time=counts.on_time,
                                   late=counts.late, missing=counts.missing))])
        sheet.header()
        for part_id in expected.get(unit.unit_id, []):
            cell = summary.cell(part_id, unit.unit_id)
            assert cell is not None
            row, title, period, target = texts.parts[part_id]
            figures, first_at, on_time = _result_of(sheet, row, cell, texts.words, summary.zone)
            sheet.append([row.code, sheet.cell(title, alignment=WRAP), period, target, *figures, first_at,
                          sheet.cell(row.deadline, number_format=DAY, alignment=TOP), on_time])


class _GridCells:
    """The grid's cells of one sheet: a format per kind of cell, made once, and each distinct
    figure of a part held against its target once (figures repeat: 100%, 0, done). What a cell
    says is what Summary.cell says of it."""

    def __init__(self, sheet: _Sheet, summary: Summary, words: _Words) -> None:
        self.sheet, self.summary, self.words = sheet, summary, words
        self.figures, self.on_time = summary.figures, summary.on_time  # or a chunk's (use)
        # (part id, the figure's identity, late) -> the cell: within one chunk's figures, equal
        # figures are one object (models.summary_queries.CellReader; the summary's own likewise).
        self.shown: dict[tuple[int, int, bool], _Styled] = {}
        self.gaps: dict[tuple[int, Figure], Status] = {}
        self.missing = sheet.cell(None, fill=FILLS[Standing.OFF_TRACK])
        fills = {Status.MET: FILLS[Standing.MET], Status.NO_DATA: FILLS[Standing.NO_DATA]}
        self.formats = {
            (status, late, number_format): sheet.book.format(
                ITALIC if late else None, fills.get(status, FILLS[Standing.ON_TRACK]), number_format, None)
            for status in Status for late in (False, True) for number_format in (PERCENT, NUMBER, None)
        }

    def use(self, chunk: CellChunk) -> None:
        """The figures of the next chunk of units."""
        self.figures, self.on_time = chunk
        self.shown.clear()  # identities are those of the chunk's objects

    def __call__(self, row: IndicatorRow, unit_id: int) -> _Styled:
        """A unit's figure for a part: coloured by its status (as in the unit sheets), in italics
        when it came after the deadline, an empty red cell when it has not come."""
        figure = self.figures.get(row.part_id, {}).get(unit_id)
        if figure is None:
            return self.missing
        late = unit_id not in self.on_time.get(row.part_id, ())
        key = (row.part_id, id(figure), late)
        shown = self.shown.get(key)
        if shown is None:
            shown = self.shown[key] = self._shown(row, figure, late)
        return shown

    def _shown(self, row: IndicatorRow, figure: Figure, late: bool) -> _Styled:
        if figure.not_applicable:
            return _Styled(self.words["figure-not-applicable"], self.formats[Status.NO_DATA, late, None])
        status = self.gaps.get((row.part_id, figure))
        if status is None:
            status = self.gaps[row.part_id, figure] = evaluate(row.target, figure).status
        if _is_milestone(row):
            text = self.words["figure-done"] if status is Status.MET else self.words["figure-not-done"]
            return _Styled(text, self.formats[status, late, None])
        if row.target.is_percentage:
            return _Styled(_fraction(figure.amount), self.formats[status, late, PERCENT])
        return _Styled(_number(figure.amount), self.formats[status, late, NUMBER])


# The grid's figures of some units: (part id -> unit id -> figure, part id -> units on time), as
# Summary.figures and Summary.on_time hold them for all.
CellChunk = tuple[dict[int, dict[int, Figure]], dict[int, set[int]]]
# Asked of the event loop by the thread writing the grid: a chunk's figures, as a future.
CellChunks = Callable[[Sequence[int]], "Future[CellChunk]"]
CELL_CHUNK = 500  # units whose figures are read at once while the grid is written


def _chunks(units: Sequence[Any], cells: CellChunks | None) -> Iterator[tuple[Sequence[Any], CellChunk | None]]:
    """The units in chunks, each with its figures (None: the summary holds them all). The next
    chunk is asked for before this one is written, so the database reads while the grid is written."""
    if cells is None:
        yield units, None
        return
    starts = range(0, len(units), CELL_CHUNK)
    pending = cells([u.unit_id for u in units[:CELL_CHUNK]]) if units else None
    for start in starts:
        assert pending is not None
        chunk = pending.result()
        following = units[start + CELL_CHUNK:start + 2 * CELL_CHUNK]
        pending = cells([u.unit_id for u in following]) if following else None
        yield units[start:start + CELL_CHUNK], chunk


def _write_matrix(book: _Book, summary: Summary, texts: _Texts, taken: set[str],
                  cells: CellChunks | None = None) -> None:
    """The first sheet: the period's units × indicators table. A row per unit (its reporting rate
    and on-time rate first), a column per part (its code and target above, the part's reporting
    rate in the row under the header), each figure coloured by its status (green met, yellow not
    met, red not reported, grey not applicable), in italics when it came after the deadline, with a
    filter on every column. At province size it is the only per-unit sheet: a row per unit and part
    instead would be ten times the cells (90,000 rows of 12) and as many times slower to write;
    each unit's counts of on-time, late and missing figures are on the reporting-rates sheet, the
    plan-wide sums and gaps on the appendix."""
    t = texts.t
    columns = [_Column(t("export-unitsheet-col-unit-code"), 14), _Column(t("export-unitsheet-col-unit"), 30, wrap=True),
               _Column(t("export-rates-col-rate"), 11, wrap=True),
               _Column(t("export-rates-col-on-time-rate"), 11, wrap=True)]
    columns += [_Column(f"{row.code}\n{texts.parts[row.part_id][3]}", 12, wrap=True) for row in summary.rows]
    title = t("paper-sheet-matrix")
    assert title in MATRIX_SHEETS  # the plan reader passes over this sheet by its name
    sheet = _Sheet(book, sheet_title(title, taken), columns)
    ws = sheet.ws
    ws.freeze_panes(4, 2)  # the header, the rates under it and each row's unit stay in sight
    ws.repeat_rows(2, 3)
    ws.repeat_columns(0, 1)
    sheet.append([sheet.cell(t("paper-matrix-title", plan=summary.plan_title, period=period_label(summary.period, t)),
                             font=TITLE_FONT)])
    sheet.append([sheet.cell(t("paper-matrix-legend"))])
    sheet.header()
    percent = (("valign", "top"),)
    rates: list[Any] = [sheet.cell(t("export-rates-whole-plan"), font=HEADER_FONT), None]
    for rate in (summary.reports.rate, summary.reports.on_time_rate):
        rates.append(sheet.cell(_fraction(rate), font=HEADER_FONT, number_format=PERCENT, alignment=percent))
    rates += [sheet.cell(_fraction(row.reports.rate), font=HEADER_FONT, fill=HEADER_FILL, number_format=PERCENT)
              for row in summary.rows]
    sheet.append(rates)
    owed = {part_id: set(unit_ids) for part_id, unit_ids in summary.expected.items()}
    parts = [(row, owed.get(row.part_id, set())) for row in summary.rows]
    grid_cell = _GridCells(sheet, summary, texts.words)
    rate_format = book.format(None, None, PERCENT, None)
    for units, chunk in _chunks(summary.units, cells):
        if chunk is not None:
            grid_cell.use(chunk)
        for unit in units:
            unit_id = unit.unit_id
            counts = unit.reports
            sheet.append([unit.code, unit.name, _Styled(_fraction(counts.rate), rate_format),
                          _Styled(_fraction(counts.on_time_rate), rate_format),
                          *(grid_cell(row, unit_id) if unit_id in owing else None for row, owing in parts)])
    last = max(sheet.rows - 1, 4)
    # The units' rates shaded red → green by value: the laggards stand out (a rule, not per-cell formats).
    ws.conditional_format(4, 2, last, 3, {"type": "3_color_scale", "min_color": "#F8696B",
                                           "mid_color": "#FFEB84", "max_color": "#63BE7B"})
    ws.autofilter(2, 0, last, len(columns) - 1)


# --- entry points -----------------------------------------------------------------------------


def _write_sheets(book: _Book, view: PlanView, summary: Summary, t: Translator,
                  review_rows: list[list[Any]] | None = None, history_rows: list[list[Any]] | None = None,
                  cells: CellChunks | None = None) -> None:
    taken: set[str] = set()
    texts = _Texts(summary, t)
    _write_matrix(book, summary, texts, taken, cells)
    _write_appendix(book, view, summary, t, taken)
    _write_meta(book, view, t, taken)
    _write_units(book, view, t, taken)
    _write_parts(book, view, t, taken)
    _write_conflicts(book, view, t, taken)
    _write_rates(book, summary, t, taken)
    if unit_layout(view) == "sheets":
        _write_unit_sheets(book, summary, texts, taken)
    if review_rows is not None:  # issue 17: approval states and evidence files
        _write_review(book, review_rows, t, taken)
    if history_rows is not None:  # issue 17: the period's whole history
        _write_history(book, history_rows, t, taken)
    # Hidden: the plan and period, so that the overview filled in by a tracking office can be
    # read back (`import-figures`, handlers/paperwork.read_consolidated).
    mark = book.workbook.add_worksheet(sheet_title(MARK_SHEET, taken))
    for row, values in enumerate(mark_rows(summary.plan_code, summary.period.id)):
        mark.write_row(row, 0, values)
    _print_setup(mark, None)
    mark.hide()


def _write_review(book: _Book, rows: list[list[Any]], t: Translator, taken: set[str]) -> None:
    columns = [_Column(t(f"export-review-col-{name}"), width, wrap=width >= 40) for name, width in review_sheet.COLUMNS]
    sheet = _Sheet(book, sheet_title(t("export-sheet-review"), taken), columns, header_row=1)
    sheet.header()
    for row in rows:
        sheet.append(sheet.values(review_sheet.shown(row, t)))


def _write_history(book: _Book, rows: list[list[Any]], t: Translator, taken: set[str]) -> None:
    columns = [_Column(t(f"export-history-col-{name}"), width, wrap=width >= 40)
               for name, width in review_sheet.HISTORY_COLUMNS]
    sheet = _Sheet(book, sheet_title(t("export-sheet-history"), taken), columns, header_row=1)
    sheet.header()
    for row in rows:
        sheet.append(sheet.values(review_sheet.history_shown(row, t)))


def export_workbook(view: PlanView, summary: Summary, t: Translator,
                    review_rows: list[list[Any]] | None = None, history_rows: list[list[Any]] | None = None, *,
                    cells: CellChunks | None = None) -> bytes:
    """The workbook (module docstring) as .xlsx bytes. CPU-bound for seconds at province size:
    callers run it in a worker thread. `cells`: where the grid's figures come from, a chunk of
    units at a time (export_streamed), for a summary built without them; None: the summary's own."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="dtbot-export-") as folder:
        book = _Book(buffer, folder)
        try:
            _write_sheets(book, view, summary, t, review_rows, history_rows, cells)
        except BaseException:
            book.discard()
            raise
        book.close()
    return buffer.getvalue()


def summary_cells(view: PlanView) -> bool:
    """Whether the export needs the summary built with its cells: the unit sheets do (a plan of
    up to UNIT_SHEETS_MAX units); the grid reads them itself, a chunk of units at a time
    (export_streamed), so that its memory does not grow with the units."""
    return unit_layout(view) == "sheets"


async def export_streamed(session: Any, view: PlanView, summary: Summary, t: Translator,
                          review_rows: list[list[Any]] | None = None,
                          history_rows: list[list[Any]] | None = None) -> bytes:
    """export_workbook in a worker thread. With the grid layout, the grid's figures are read
    from the database a chunk of units at a time while it is written (the summary may be built
    without its cells: summary_cells), on the event loop in this session, each chunk asked for by
    the writing thread; the loop keeps serving others between them. Without the grid, the
    summary's own cells."""
    if unit_layout(view) == "sheets":
        return await asyncio.to_thread(export_workbook, view, summary, t, review_rows, history_rows)
    loop = asyncio.get_running_loop()
    reader = await CellReader.open(session, view, summary)  # as the summary read them, not those stored since

    def cells(unit_ids: Sequence[int]) -> Future[CellChunk]:
        return asyncio.run_coroutine_threadsafe(reader.read(session, unit_ids), loop)

    return await asyncio.to_thread(export_workbook, view, summary, t, review_rows, history_rows, cells=cells)


async def export_command(app: AppLike, plan_code: str, period_text: str, out_path: str | Path) -> str:
    """`python -m bot export --plan CODE --period PERIOD --out FILE.xlsx`: writes the file and
    returns the line to print, in BOT_LOCALE. Raises ExportError with a localized explanation for
    an unknown plan, a period that is not one or lies outside the plan's year, or a file that
    cannot be written."""
    t = app.t
    try:
        period = Period.parse(period_text)
    except PeriodError:
        raise ExportError(t("export-error-period", period=period_text)) from None
    today = app.now().astimezone(app.settings.timezone).date()
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        if plan is None:
            known = ", ".join(p.code for p in await store.list_plans(session)) or "-"
            raise ExportError(t("export-error-plan", plan=plan_code, known=known))
        if period.year != plan.year:
            raise ExportError(t("export-error-year", plan=plan.code, year=plan.year, period=period.id))
        view = await load_plan_view(session, plan.id)
        summary = await build_summary(session, view, period, today, app.settings.timezone,
                                      details=summary_details(view), cells=summary_cells(view))
        reviewed = await review_sheet.review_rows(session, view, period)
        history = await review_sheet.history_rows(session, view, period, app.settings.timezone)
        content = await export_streamed(session, view, summary, t, reviewed, history)
    path = Path(out_path)
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    except OSError as exc:
        raise ExportError(t("export-error-write", path=str(path), problem=exc.strerror or str(exc))) from None
    return t("export-written", path=str(path), plan=plan_code, period=period_label(period, t),
             indicators=len(summary.rows), units=len(summary.units))
