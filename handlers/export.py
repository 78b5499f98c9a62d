"""The period's results as a spreadsheet in the layout of the plan's own appendix table.

Sheets, in order:
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
2. "Kế hoạch" (key, value, with the deadlines, coverage threshold and first collected month),
   "Đơn vị" (Mã, Tên, Loại, Trực thuộc, Tên khác, …, closing and merging), "Phần" (the parts of
   every indicator whose parts the appendix row alone does not determine, with the reporters the
   file set, the condition and "không phát sinh") and, when there are any, "Mục tiêu khác" (those
   other statements of the targets, one a row): the optional sheets of the XLSX plan format
   (docs/plan-format.md), so the exported file imports back as the plan.
3. "Tỷ lệ báo cáo": reporting rates per unit (expected, received, on time, late, missing, rates,
   the focal officer), the whole plan's first.
4. one sheet per unit that reports in the period: its figure for each part with gap, status, first
   submission time (BOT_TIMEZONE) and whether it was on time. Sheet titles are the unit codes, cut
   to 31 characters, without []:*?/\\ and made unique.

Headers bold, column widths set, percentages stored as fractions formatted 0.0%, panes frozen
under each header row. The plan columns' headers are the plan file format's keywords and stay
Vietnamese in every language; result headers and texts follow the reader's language.
"""
from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol
from weakref import WeakKeyDictionary

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from handlers.formatting import describe_target, period_label
from handlers.summary_text import coverage_text
from locales import Translator
from models import store
from models.gaps import Status
from models.periods import Period, PeriodError
from models.plan_view import PartView, PlanView
from models.plan_xlsx import CONFLICTS_SHEET, META_SHEET, PARTS_SHEET, UNITS_SHEET
from models.plans import DEFAULT_TARGET_SOURCE
from models.rollups import Standing
from models.store import load_plan_view
from models.summary_data import Cell as SummaryCell, IndicatorRow, Summary
from models.summary_queries import build_summary
from models.tables import Indicator
from models.targets import Comparison, Measure, TargetParseError, parse_target_detail

__all__ = ["ExportError", "export_command", "export_filename", "export_workbook", "sheet_title"]

PERCENT = "0.0%"
DAY = "dd/mm/yyyy"
NUMBER = "#,##0.##"
WHEN = " ".join(("dd/mm/yyyy", "hh:mm"))  # day first, as Vietnamese write dates
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
GROUP_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
GROUP_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
FILLS = {
    Standing.MET: PatternFill("solid", fgColor="C6EFCE"),
    Standing.ON_TRACK: PatternFill("solid", fgColor="FFEB9C"),
    Standing.OFF_TRACK: PatternFill("solid", fgColor="FFC7CE"),
    Standing.THIN: PatternFill("solid", fgColor="F2F2F2"),
    Standing.NO_DATA: PatternFill("solid", fgColor="EDEDED"),
}
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_LETTERS = "ABCDEFGHKLMNOPQRSTUVXY"  # as Vietnamese tables letter their parts (no I, J, W, Z)


class ExportError(Exception):
    """An export that cannot be made; str() is a localized explanation for the person asking."""


class _App(Protocol):  # bot.app.App, without importing the edge into handlers
    settings: Any
    t: Translator

    def now(self) -> datetime: ...

    def unit_of_work(self) -> Any: ...


@dataclass(frozen=True)
class _Column:
    header: str
    width: float
    wrap: bool = False


# --- helpers ----------------------------------------------------------------------------------


def sheet_title(text: str, taken: set[str]) -> str:
    """A valid, unique sheet title: ≤ 31 characters, none of []:*?/\\, unique ignoring case."""
    base = _BAD_TITLE.sub("-", text).strip().strip("'") or "-"
    title = base[:31]
    number = 2
    while title.casefold() in taken:
        suffix = f"~{number}"
        title = base[: 31 - len(suffix)] + suffix
        number += 1
    taken.add(title.casefold())
    return title


def export_filename(summary: Summary) -> str:
    return f"{summary.plan_code}-{summary.period.id}.xlsx"


_STYLES: WeakKeyDictionary[Workbook, _Styles] = WeakKeyDictionary()


class _Styles:
    """Each distinct combination of font, fill, number format and alignment is registered with
    the workbook once and then copied onto cells (as openpyxl's own sheet copier copies styles):
    styling a million cells one attribute at a time would take most of a minute."""

    def __init__(self) -> None:
        self.known: dict[tuple[Any, ...], Any] = {}

    def apply(self, cell: Cell, key: tuple[Any, ...]) -> None:
        style = self.known.get(key)
        if style is None:
            model = WriteOnlyCell(cell.parent)
            font, fill, number_format, alignment = key
            if font is not None:
                model.font = font
            if fill is not None:
                model.fill = fill
            if number_format is not None:
                model.number_format = number_format
            if alignment is not None:
                model.alignment = alignment
            style = self.known[key] = model._style
        cell._style = copy(style)


class _Sheet:
    """A write-only sheet: widths first, then rows of styled cells."""

    def __init__(self, workbook: Workbook, title: str, columns: Sequence[_Column],
                 header_row: int | None = None) -> None:
        """`header_row`: the header's row number; panes freeze under it (set before any row is
        written, as a write-only sheet writes its view first)."""
        styles = _STYLES.get(workbook)
        if styles is None:
            styles = _STYLES[workbook] = _Styles()
        self.styles = styles
        self.ws = workbook.create_sheet(title)
        self.columns = list(columns)
        for index, column in enumerate(self.columns, start=1):
            self.ws.column_dimensions[get_column_letter(index)].width = column.width
        if header_row is not None:
            self.ws.freeze_panes = f"A{header_row + 1}"
        self.rows = 0

    def cell(self, value: Any, *, font: Font | None = None, fill: PatternFill | None = None,
             number_format: str | None = None, alignment: Alignment | None = None) -> Cell:
        cell = WriteOnlyCell(self.ws, value=value)
        if isinstance(value, str) and value.startswith("="):
            cell.data_type = "s"  # text, not a formula
        if font is not None or fill is not None or number_format is not None or alignment is not None:
            self.styles.apply(cell, (font, fill, number_format, alignment))
        return cell

    def append(self, cells: Sequence[Any]) -> None:
        self.ws.append(list(cells))
        self.rows += 1

    def header(self) -> None:
        self.append([self.cell(c.header, font=HEADER_FONT, fill=HEADER_FILL, alignment=WRAP) for c in self.columns])

    def values(self, values: Sequence[Any], *, font: Font | None = None, fill: PatternFill | None = None) -> list[Any]:
        """Plain values as cells aligned like their columns."""
        cells = []
        for index, value in enumerate(values):
            wrap = index < len(self.columns) and self.columns[index].wrap
            if isinstance(value, Cell):
                cells.append(value)
            elif value is None and font is None and fill is None:
                cells.append(None)
            else:
                cells.append(self.cell(value, font=font, fill=fill, alignment=WRAP if wrap else None))
        return cells


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
        "code": indicator.code, "title": indicator.title, "frequency": indicator.frequency,
        "accumulation": indicator.accumulation, "formula": indicator.formula,
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


def _write_appendix(workbook: Workbook, view: PlanView, summary: Summary, t: Translator, taken: set[str]) -> None:
    label = period_label(summary.period, t)
    keyed = _appendix_columns(view, t, label)
    keys = [key for key, _ in keyed]
    sheet = _Sheet(workbook, sheet_title(t("export-sheet-appendix"), taken), [c for _, c in keyed], header_row=3)
    sheet.append([sheet.cell(view.plan.title, font=TITLE_FONT)])
    sheet.append([sheet.cell(t("export-subtitle", period=label, date=t.date(summary.today),
                               document=view.plan.document or view.plan.code))])
    sheet.header()

    def emit(values: dict[str, Any], *, font: Font | None = None, fill: PatternFill | None = None) -> None:
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


def _write_meta(workbook: Workbook, view: PlanView, t: Translator, taken: set[str]) -> None:
    plan = view.plan
    sheet = _Sheet(workbook, sheet_title(META_SHEET, taken), [_Column("", 16), _Column("", 90, wrap=True)])
    values: list[tuple[str, Any]] = [
        ("code", plan.code), ("title", plan.title), ("year", plan.year), ("issuer", plan.issuer),
        ("document", plan.document), ("issued_on", plan.issued_on.isoformat() if plan.issued_on else None),
        ("source", plan.source), ("salutation", plan.salutation),
        ("tracking_unit", plan.tracking_unit_code), ("notes", plan.notes),
        ("coverage_threshold", plan.coverage_threshold), ("collect_from", plan.collect_from),
    ]
    # The schedule's deadlines as "day month [before]": "5 next before" = before the 5th of the next month.
    for frequency, rule in view.rules.items():
        values.append((f"deadline_{frequency.value}", " ".join(
            [str(rule.day), str(rule.month), *(["before"] if rule.before else [])])))
    for key, value in values:
        if value is not None and value != "":
            sheet.append([sheet.cell(key, font=HEADER_FONT), sheet.cell(value, alignment=WRAP)])


def _write_units(workbook: Workbook, view: PlanView, t: Translator, taken: set[str]) -> None:
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
            unit.code, unit.name, unit.kind, parent.code if parent else None,
            "; ".join(unit.aliases or []) or None, "true" if unit.named_in_plan else "false",
            "true" if unit.active else "false",
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


def _write_parts(workbook: Workbook, view: PlanView, t: Translator, taken: set[str]) -> None:
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
                indicator.code, part.code, part.label, ", ".join(part.applies_to or []) or None,
                part.target_raw, part.comparison, part.measure, part.numerator_label,
                part.denominator_label, part.unit_label, part.condition, reporters,
                t("export-part-yes") if part.allow_not_applicable else t("export-part-no"),
            ]))


def _write_conflicts(workbook: Workbook, view: PlanView, t: Translator, taken: set[str]) -> None:
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


def _write_rates(workbook: Workbook, summary: Summary, t: Translator, taken: set[str]) -> None:
    ids = ("code", "unit", "kind", "expected", "received", "on-time", "late", "missing", "rate",
           "on-time-rate", "missing-parts", "officer")
    widths = (16, 40, 12, 10, 10, 10, 10, 10, 12, 12, 30, 26)
    columns = [_Column(t(f"export-rates-col-{name}"), width, wrap=width >= 26)
               for name, width in zip(ids, widths, strict=True)]
    sheet = _Sheet(workbook, sheet_title(t("export-sheet-rates"), taken), columns, header_row=1)
    sheet.header()

    def line(code: str | None, name: str, kind: str | None, counts: Any, missing: str | None,
             officer: str | None, font: Font | None = None) -> None:
        cells = sheet.values([code, name, kind], font=font)
        for value in (counts.expected, counts.received, counts.on_time, counts.late, counts.missing):
            cells.append(sheet.cell(value, font=font, alignment=TOP))
        for rate in (counts.rate, counts.on_time_rate):
            cells.append(sheet.cell(_fraction(rate), number_format=PERCENT, font=font, alignment=TOP))
        cells += sheet.values([None, None, missing, officer], font=font)[2:]
        sheet.append(cells)

    line(summary.plan_code, t("export-rates-whole-plan"), None, summary.reports, None, None, font=HEADER_FONT)
    for unit in summary.units:
        line(unit.code, unit.name, unit.kind, unit.reports, ", ".join(unit.missing_parts) or None,
             unit.officer or t("summary-chase-no-officer"))


def _measure_cell(sheet: _Sheet, value: Decimal | None, percentage: bool) -> Any:
    if value is None:
        return None
    if percentage:
        return sheet.cell(_fraction(value), number_format=PERCENT, alignment=TOP)
    return sheet.cell(_number(value), number_format=NUMBER, alignment=TOP)


def _received_cells(sheet: _Sheet, row: IndicatorRow, cell: SummaryCell, t: Translator) -> tuple[list[Any], str, Any]:
    """Figure, numerator, denominator and gap of a received figure, with its status and fill."""
    figure = cell.figure
    assert figure is not None
    if _is_milestone(row):
        done = cell.gap.status is Status.MET
        amount = sheet.cell(t("figure-done") if done else t("figure-not-done"), alignment=TOP)
    else:
        amount = _measure_cell(sheet, figure.amount, row.target.is_percentage)
    cells = [amount, _measure_cell(sheet, figure.numerator, False), _measure_cell(sheet, figure.denominator, False),
             _measure_cell(sheet, cell.gap.gap, row.target.is_percentage)]
    if cell.gap.status is Status.MET:
        return cells, t("export-cell-met"), FILLS[Standing.MET]
    if cell.gap.status is Status.NO_DATA:
        return cells, t("export-cell-unusable"), FILLS[Standing.NO_DATA]
    return cells, t("export-cell-not-met"), FILLS[Standing.ON_TRACK]


def _figure_cells(sheet: _Sheet, row: IndicatorRow, cell: SummaryCell, t: Translator) -> tuple[list[Any], str, Any]:
    if cell.figure is None:
        return [None, None, None, None], t("export-cell-missing"), FILLS[Standing.OFF_TRACK]
    if cell.figure.not_applicable:
        return ([sheet.cell(t("figure-not-applicable"), alignment=TOP), None, None, None],
                t("rollup-export-cell-not-applicable"), FILLS[Standing.NO_DATA])
    return _received_cells(sheet, row, cell, t)


def _unit_part_row(
    sheet: _Sheet, row: IndicatorRow, cell: SummaryCell, t: Translator, zone: tzinfo | None,
) -> list[Any]:
    """One line of a unit's sheet: the part, the unit's figure, status, first time, deadline, on time."""
    cells = sheet.values([row.code, f"{row.title} — {row.label}" if row.label else row.title,
                          period_label(row.period, t), describe_target(row.target, t)])
    figure_cells, status, fill = _figure_cells(sheet, row, cell, t)
    cells += figure_cells
    cells.append(sheet.cell(status, fill=fill, alignment=TOP))
    when = cell.first_at.astimezone(zone).replace(tzinfo=None) if cell.first_at and zone else None
    cells.append(sheet.cell(when, number_format=WHEN, alignment=TOP) if when else None)
    cells.append(sheet.cell(row.deadline, number_format=DAY, alignment=TOP))
    if cell.on_time is None:
        cells.append(None)
    else:
        cells.append(sheet.cell(t("export-on-time") if cell.on_time else t("export-late"), alignment=TOP))
    return cells


def _write_unit_sheets(workbook: Workbook, summary: Summary, t: Translator, taken: set[str]) -> None:
    ids = ("code", "title", "period", "target", "figure", "numerator", "denominator", "gap", "status",
           "first-at", "deadline", "on-time")
    widths = (8, 40, 14, 14, 12, 12, 12, 12, 16, 17, 12, 12)
    columns = [_Column(t(f"export-unitsheet-col-{name}"), width, wrap=width >= 40)
               for name, width in zip(ids, widths, strict=True)]
    rows_by_part = {row.part_id: row for row in summary.rows}
    expected: dict[int, list[int]] = {}
    for part_id, unit_ids in summary.expected.items():
        for unit_id in unit_ids:
            expected.setdefault(unit_id, []).append(part_id)
    order = {row.part_id: index for index, row in enumerate(summary.rows)}
    for unit in summary.units:
        sheet = _Sheet(workbook, sheet_title(unit.code, taken), columns, header_row=3)
        sheet.append([sheet.cell(unit.name, font=TITLE_FONT)])
        counts = unit.reports
        sheet.append([sheet.cell(t("export-unit-line", officer=unit.officer or t("summary-chase-no-officer"),
                                   received=counts.received, expected=counts.expected, on_time=counts.on_time,
                                   late=counts.late, missing=counts.missing))])
        sheet.header()
        for part_id in sorted(expected.get(unit.unit_id, []), key=order.__getitem__):
            cell = summary.cell(part_id, unit.unit_id)
            assert cell is not None
            sheet.append(_unit_part_row(sheet, rows_by_part[part_id], cell, t, summary.zone))


# --- entry points -----------------------------------------------------------------------------


def export_workbook(view: PlanView, summary: Summary, t: Translator) -> bytes:
    """The workbook (module docstring) as .xlsx bytes."""
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    _write_appendix(workbook, view, summary, t, taken)
    _write_meta(workbook, view, t, taken)
    _write_units(workbook, view, t, taken)
    _write_parts(workbook, view, t, taken)
    _write_conflicts(workbook, view, t, taken)
    _write_rates(workbook, summary, t, taken)
    _write_unit_sheets(workbook, summary, t, taken)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def export_command(app: _App, plan_code: str, period_text: str, out_path: str | Path) -> str:
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
        summary = await build_summary(session, view, period, today, app.settings.timezone, details=True)
    content = await asyncio.to_thread(export_workbook, view, summary, t)
    path = Path(out_path)
    try:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    except OSError as exc:
        raise ExportError(t("export-error-write", path=str(path), problem=exc.strerror or str(exc))) from None
    return t("export-written", path=str(path), plan=plan_code, period=period_label(period, t),
             indicators=len(summary.rows), units=len(summary.units))
