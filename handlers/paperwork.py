"""The officer's template (biểu mẫu), both ways.

/bieumau ("gửi biểu mẫu", "cho xin file mẫu"): a spreadsheet for the officer's unit with the rows
it reports in the period being collected (the plan's indicators, their targets, the previous
period's figure) and cells to fill: labels locked, input cells validated (percent 0–100, counts
≥ 0, numerator ≤ denominator, a list for milestones), an instructions sheet, A4 landscape. A
hidden sheet records the plan, the unit and which row is which part in which period, so the file
can be read back wherever the officer typed what.

receive_workbook(ctx, data, filename): a spreadsheet sent back. Not one of ours: None (the caller
treats it as an evidence file). Ours: every filled cell is read the way a chat message is
("72,5%", "72.5", 0,725 as a share, "120/150", "xong", "không phát sinh"; handlers.understand.
read_value) and checked by the chat's rules (handlers.report.to_figure), then a preview: "12 số
liệu: 10 mới, 2 thay đổi (6: 70% → 72,5%), 1 lỗi ở ô F14: …". A file with an error stores nothing
(it is fixed and sent again: nothing half-stored); otherwise the figures are stored on "Có" as
one message's figures are, every version with channel "xlsx".

The export's overview sheet ("Tổng hợp", a row per unit) filled in by a tracking office is read
the same way, in the chat (receive_workbook, for the tracking office and admins) and by
`python -m bot import-figures FILE.xlsx [--yes]`.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import xlsxwriter
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from handlers import buttons, report, rights, state
from handlers.context import Ctx
from handlers.events import Attachment, Choice, Reply
from handlers.formatting import describe_figure, describe_target, period_label
from handlers.intents import FigureInput
from handlers.understand import read_value
from locales import Translator
from models import submissions
from models.periods import Period, PeriodError
from models.plan_view import PartView, PlanView
from models.submissions import figure_of
from models.tables import Unit
from models.targets import Figure, Measure

__all__ = [
    "MARK_SHEET",
    "ImportFiguresError",
    "TemplateRead",
    "confirm_many",
    "import_figures_command",
    "mark_rows",
    "read_consolidated",
    "read_template",
    "receive_workbook",
    "send_template",
    "template_workbook",
]

MARK_SHEET = "_dtbot"  # the hidden sheet that makes a workbook one of ours
MARK = "dtbot-bieu-mau-1"
CHANNEL = "xlsx"
MAX_BYTES = 5 * 2**20  # a unit's template is a few kilobytes; anything far larger is not one
MAX_ROWS = 500
MAX_CONSOLIDATED_BYTES = 50 * 2**20  # a province's overview is about 1 MB
MAX_PACKAGE_ENTRIES = 1000
FORM_HEADER_ROW = 4  # 0-based: the header's row; figures start under it
# Columns of the form (0-based): what the reader finds where it wrote them.
COL_NUMBER, COL_CODE, COL_TEXT, COL_PERIOD, COL_TARGET, COL_PREVIOUS, COL_FIGURE, COL_NUMERATOR, COL_DENOMINATOR, \
    COL_NOTE = range(10)
_COLUMN_LETTERS = "ABCDEFGHIJ"


@dataclass
class FormRow:
    pv: PartView
    period: Period
    previous: Figure | None


@dataclass
class TemplateCell:
    """One row read back: where it is, which part and period, what was typed."""

    row: int  # 1-based, as Excel names it
    part_code: str
    period: str
    figure: Any = None
    numerator: Any = None
    denominator: Any = None
    figure_format: str | None = None


@dataclass
class TemplateRead:
    plan: str
    unit: str
    rows: list[TemplateCell] = field(default_factory=list)


# --- writing ----------------------------------------------------------------------------------


def _kind(pv: PartView) -> str:
    target = pv.target
    if target.measure is Measure.MILESTONE:
        return "milestone"
    if target.measure is Measure.RATIO:
        return "ratio"
    return "percent" if target.is_percentage else "count"


def template_workbook(view: PlanView, unit: Unit, rows: list[FormRow], t: Translator) -> bytes:
    """The unit's form (module docstring) as .xlsx bytes."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top",
                              "border": 1, "locked": True})
    label = book.add_format({"text_wrap": True, "valign": "top", "border": 1, "locked": True})
    shown = book.add_format({"valign": "top", "border": 1, "locked": True, "bg_color": "#F2F2F2"})
    number_input = book.add_format({"valign": "top", "border": 1, "locked": False, "bg_color": "#FFF2CC",
                                    "num_format": "#,##0.##"})
    text_input = book.add_format({"valign": "top", "border": 1, "locked": False, "bg_color": "#FFF2CC",
                                  "text_wrap": True})

    form = book.add_worksheet(t("paper-form-sheet"))
    widths = (5, 8, 50, 13, 14, 14, 14, 12, 12, 24)
    for index, width in enumerate(widths):
        form.set_column(index, index, width)
    form.write_string(0, 0, view.plan.title, title)
    form.write_string(1, 0, t("paper-form-unit", unit=unit.name), bold)
    form.write_string(2, 0, t("paper-form-hint"))
    headers = ("TT", t("paper-form-col-code"), t("paper-form-col-text"), t("paper-form-col-period"),
               t("paper-form-col-target"), t("paper-form-col-previous"), t("paper-form-col-figure"),
               t("paper-form-col-numerator"), t("paper-form-col-denominator"), t("paper-form-col-note"))
    form.write_row(FORM_HEADER_ROW, 0, headers, header)
    form.set_row(FORM_HEADER_ROW, 32)
    done_words = [t("figure-done"), t("figure-not-done"), t("figure-not-applicable")]
    for index, item in enumerate(rows):
        row = FORM_HEADER_ROW + 1 + index
        pv = item.pv
        text = pv.indicator.text or pv.indicator.title
        if pv.part.label:
            text = f"{text} — {pv.part.label}"
        form.write_number(row, COL_NUMBER, index + 1, label)
        form.write_string(row, COL_CODE, pv.code, label)
        form.write_string(row, COL_TEXT, text, label)
        form.write_string(row, COL_PERIOD, period_label(item.period, t), label)
        form.write_string(row, COL_TARGET, describe_target(pv.target, t), label)
        previous = describe_figure(item.previous, pv.target, t) if item.previous else "—"
        form.write_string(row, COL_PREVIOUS, previous, shown)
        kind = _kind(pv)
        figure_cell = f"{_COLUMN_LETTERS[COL_FIGURE]}{row + 1}"
        numerator_cell = f"{_COLUMN_LETTERS[COL_NUMERATOR]}{row + 1}"
        denominator_cell = f"{_COLUMN_LETTERS[COL_DENOMINATOR]}{row + 1}"
        for column in (COL_FIGURE, COL_NUMERATOR, COL_DENOMINATOR):
            usable = column == COL_FIGURE or kind == "ratio"
            form.write_blank(row, column, None, number_input if usable else shown)
        form.write_blank(row, COL_NOTE, None, text_input)
        # Warnings, not stops: "72,5%" typed as text, or "không phát sinh", must still go in;
        # the bot checks every value when the file comes back.
        common = {"error_type": "warning", "error_title": t("paper-form-check-title")}
        if kind == "milestone":
            form.data_validation(figure_cell, {"validate": "list", "source": done_words, **common,
                                               "error_message": t("paper-form-check-milestone")})
        elif kind == "count":
            form.data_validation(figure_cell, {"validate": "decimal", "criteria": ">=", "value": 0, **common,
                                               "error_message": t("paper-form-check-count")})
        else:
            form.data_validation(figure_cell, {"validate": "decimal", "criteria": "between", "minimum": 0,
                                               "maximum": 100, **common,
                                               "error_message": t("paper-form-check-percent")})
        if kind == "ratio":
            form.data_validation(numerator_cell, {"validate": "custom", "value": f"=AND({numerator_cell}>=0,"
                                                  f"OR({denominator_cell}=\"\",{numerator_cell}<={denominator_cell}))",
                                                  **common, "error_message": t("paper-form-check-ratio")})
            form.data_validation(denominator_cell, {"validate": "decimal", "criteria": ">", "value": 0, **common,
                                                    "error_message": t("paper-form-check-denominator")})
    last = FORM_HEADER_ROW + len(rows)
    form.freeze_panes(FORM_HEADER_ROW + 1, 3)
    form.protect("", {"format_columns": True, "format_rows": True})  # labels locked, no password
    form.set_paper(9)
    form.set_landscape()
    form.fit_to_pages(1, 0)
    form.repeat_rows(FORM_HEADER_ROW)
    form.print_area(0, 0, max(last, FORM_HEADER_ROW), len(headers) - 1)
    form.activate()

    guide = book.add_worksheet(t("paper-guide-sheet"))
    guide.set_column(0, 0, 110)
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    guide.write_string(0, 0, t("paper-guide-title"), title)
    for index, line in enumerate(t("paper-guide-text").split("\n"), start=2):
        guide.write_string(index, 0, line, wrap)
    guide.set_paper(9)
    guide.fit_to_pages(1, 0)

    mark = book.add_worksheet(MARK_SHEET)
    mark.write_row(0, 0, [MARK, view.plan.code, unit.code])
    for index, item in enumerate(rows):
        mark.write_row(index + 1, 0, [FORM_HEADER_ROW + 2 + index, item.pv.code, item.period.id])
    mark.hide()
    book.close()
    return buffer.getvalue()


def form_rows(view: PlanView, unit: Unit, history: list[Any], today: Any) -> list[FormRow]:
    """The unit's parts with the period each reports now and the figure of the period before."""
    rows = []
    for pv in view.parts_of_unit(unit.id):
        period = view.collecting(pv.frequency, today)  # the period being collected: its cut-off has passed
        if period is None or not view.collects(period):
            continue
        earlier = [r for r in history if r.part_id == pv.part.id and Period.parse(r.period) < period]
        previous = figure_of(max(earlier, key=lambda r: Period.parse(r.period))) if earlier else None
        rows.append(FormRow(pv, period, previous))
    return rows


async def send_template(ctx: Ctx) -> None:
    """/bieumau: the officer's form for the period being collected, as a document."""
    found = await report.officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    t = ctx.t
    part_ids = [pv.part.id for pv in view.parts_of_unit(unit.id)]
    history = await submissions.current_for_unit(ctx.session, unit.id, part_ids)
    if not part_ids:
        ctx.say("report-nothing-assigned", unit=unit.name)
        return
    rows = form_rows(view, unit, history, ctx.today)
    if not rows:
        ctx.say("paper-form-nothing", unit=unit.name)
        return
    periods = sorted({row.period for row in rows})
    label = ", ".join(period_label(period, t) for period in periods)
    content = template_workbook(view, unit, rows, t)
    filename = f"bieu-mau-{view.plan.code}-{unit.code}-{periods[-1].id}.xlsx"
    document = Attachment("document", filename, content, t("paper-form-caption", unit=unit.name, period=label))
    ctx.replies.append(Reply(t("paper-form-ready", unit=unit.name, period=label, count=len(rows)),
                             attachments=(document,), locale=t.locale))


# --- reading ----------------------------------------------------------------------------------


def _workbook(data: bytes, limit: int) -> Any:
    """The workbook, read-only and values only, or None: not a zip, or a package whose parts would
    unpack beyond the limits (a zip bomb is refused before anything is expanded)."""
    if len(data) > limit:
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
        if len(entries) > MAX_PACKAGE_ENTRIES or sum(entry.file_size for entry in entries) > 20 * limit:
            return None
        return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        return None


def read_template(data: bytes) -> TemplateRead | None:
    """The rows of one of our forms, or None for any other file (not a workbook, or without our
    hidden sheet). Reads values only (never formulas' code); bounded in size and rows."""
    book = _workbook(data, MAX_BYTES)
    if book is None:
        return None
    try:
        if MARK_SHEET not in book.sheetnames:
            return None
        marks = list(book[MARK_SHEET].iter_rows(max_row=MAX_ROWS + 1, max_col=3, values_only=True))
        if not marks or not marks[0] or marks[0][0] != MARK:
            return None
        read = TemplateRead(plan=str(marks[0][1]), unit=str(marks[0][2]))
        wanted = {int(row[0]): (str(row[1]), str(row[2])) for row in marks[1:] if row and row[0] and row[1]}
        form = book.worksheets[0]
        for number, cells in enumerate(form.iter_rows(min_row=1, max_row=max(wanted, default=0), max_col=COL_NOTE + 1),
                                       start=1):
            if number not in wanted:
                continue
            part_code, period = wanted[number]
            figure = cells[COL_FIGURE] if len(cells) > COL_FIGURE else None
            read.rows.append(TemplateCell(
                number, part_code, period,
                figure=getattr(figure, "value", None), figure_format=getattr(figure, "number_format", None),
                numerator=getattr(cells[COL_NUMERATOR], "value", None) if len(cells) > COL_NUMERATOR else None,
                denominator=getattr(cells[COL_DENOMINATOR], "value", None) if len(cells) > COL_DENOMINATOR else None))
        return read
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    finally:
        book.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return None


def cell_input(pv: PartView, cell: TemplateCell, locale: str) -> FigureInput | None:
    """What the officer put on the row, as the chat reads a typed value; None when it is empty
    (or not a figure at all: the caller names the cell)."""
    if not _blank(cell.numerator) or not _blank(cell.denominator):
        numerator, denominator = cell.numerator, cell.denominator
        parts = [(_number(v), v) for v in (numerator, denominator)]
        if all(n is not None for n, _ in parts):
            return FigureInput(numerator=parts[0][0], denominator=parts[1][0], raw=f"{numerator}/{denominator}")
        text = f"{'' if _blank(numerator) else numerator}/{'' if _blank(denominator) else denominator}"
        return read_value(text, locale) or FigureInput(raw=text)
    value = cell.figure
    if _blank(value):
        return None
    amount = _number(value)
    if amount is not None:
        percent_format = "%" in (cell.figure_format or "")
        if pv.target.is_percentage and (percent_format or (0 < amount < 1)):
            # 0.725 stands for 72.5%: a cell formatted as a percentage, or a share typed as one.
            return FigureInput(value=amount * 100, percent_sign=True, raw=str(value))
        return FigureInput(value=amount, negative=amount < 0, raw=str(value))
    return read_value(str(value), locale) or FigureInput(raw=str(value))


@dataclass
class _Checked:
    accepted: list[report.Accepted] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cells: dict[int, str] = field(default_factory=dict)  # part id -> cell name, for the preview


def _check(view: PlanView, unit: Unit, read: TemplateRead, today: Any, t: Translator) -> _Checked:
    checked = _Checked()
    by_code = {pv.code: pv for pv in view.parts_of_unit(unit.id)}
    for cell in read.rows:
        name = f"{_COLUMN_LETTERS[COL_FIGURE]}{cell.row}"
        pv = by_code.get(cell.part_code)
        try:
            period = Period.parse(cell.period)
        except PeriodError:
            period = None
        if pv is None or period is None or not view.period_open(pv, period, today):
            checked.errors.append(t("paper-read-error-row", cell=name, code=cell.part_code))
            continue
        given = cell_input(pv, cell, t.locale)
        if given is None:
            continue
        if given.value is None and given.numerator is None and given.done is None and not given.not_applicable:
            checked.errors.append(t("paper-read-error-cell", cell=name, value=given.raw,
                                    example=report.example_line(pv)))
            continue
        figure = report.to_figure(pv, given, t)
        if isinstance(figure, report.Problem):
            checked.errors.append(t("paper-read-error-at", cell=name, problem=t(figure.message, **figure.params)))
            continue
        checked.accepted.append(report.Accepted(pv, period, figure))
        checked.cells[pv.part.id] = name
    return checked


async def receive_workbook(ctx: Ctx, data: bytes, filename: str) -> bool | None:
    """A spreadsheet an officer sent. None when it is not one of our forms (the caller treats it
    as an evidence file); otherwise the preview is said (and, when everything reads, the figures
    wait for "Có" in the conversation's confirm state) and True is returned."""
    read = read_template(data)
    if read is None:
        consolidated = read_consolidated(data)
        if consolidated is None:
            return None
        await _receive_consolidated(ctx, consolidated, filename)
        return True
    found = await report.officer_unit(ctx)
    if found is None:
        return True
    view, unit = found
    t = ctx.t
    if read.plan != view.plan.code or read.unit != unit.code:
        named = next((u.name for u in view.units.values() if u.code == read.unit), read.unit)
        ctx.say("paper-read-other-unit", unit=named, own=unit.name, plan=read.plan)
        return True
    checked = _check(view, unit, read, ctx.today, t)
    history = await submissions.current_for_unit(ctx.session, unit.id, {a.part.part.id for a in checked.accepted})
    new = changed = same = 0
    lines: list[str] = []
    for item in checked.accepted:
        current = next((r for r in history if r.part_id == item.part.part.id and r.period == item.period.id), None)
        figure_text = describe_figure(item.figure, item.part.target, t)
        if current is None:
            new += 1
        elif submissions.same_figure(current, item.figure):
            same += 1
            continue
        else:
            changed += 1
            lines.append(t("paper-read-change", code=item.part.code,
                           old=describe_figure(figure_of(current), item.part.target, t), new=figure_text))
            continue
        lines.append(t("paper-read-new", code=item.part.code, figure=figure_text))
    head = t("paper-read-preview", filename=filename, count=len(checked.accepted) + len(checked.errors), new=new,
             changed=changed, same=same, errors=len(checked.errors))
    out = [head, *lines, *checked.errors]
    if checked.errors:
        out.append(t("paper-read-fix"))  # nothing half-stored: the file comes back whole
        ctx.say_text("\n".join(out))
        return True
    if not new and not changed:
        out.append(t("paper-read-nothing"))
        ctx.say_text("\n".join(out))
        return True
    out.append(t("paper-read-confirm"))
    choices = (Choice(t("choice-yes"), buttons.encode(buttons.Answer(True))),
               Choice(t("choice-no"), buttons.encode(buttons.Answer(False))))
    to_store = [item for item in checked.accepted
                if not any(r.part_id == item.part.part.id and r.period == item.period.id
                           and submissions.same_figure(r, item.figure) for r in history)]
    pending = {"pending": [report.pending_of(item) for item in to_store], "channel": CHANNEL,
               "message_ref": f"xlsx:{filename}"[:128], **state.owner(ctx)}
    await state.save(ctx, "confirm", state.remember_choices(pending, choices))
    ctx.say_text("\n".join(out), choices=choices)
    return True


# --- many units at once: the export's overview sheet --------------------------------------------


CONSOLIDATED_MARK = "dtbot-tong-hop-1"
MATRIX_FIRST_ROW = 5  # 1-based: the overview's first unit row (title, legend, header, rates above)
MATRIX_FIRST_PART = 5  # 1-based column of the first part (code, unit, two rates before it)
SAME = Decimal("0.01")  # a percentage shown from a ratio reads back within this of the stored one


class ImportFiguresError(Exception):
    """A file import-figures cannot read; str() is the localized reason."""


@dataclass
class ConsolidatedCell:
    unit_code: str
    part_code: str
    cell: str
    value: Any
    number_format: str | None


@dataclass
class ConsolidatedRead:
    plan: str
    period: str
    cells: list[ConsolidatedCell] = field(default_factory=list)


def mark_rows(plan_code: str, period_id: str) -> list[list[str]]:
    """The export's hidden sheet: what makes its overview readable back (handlers/export.py)."""
    return [[CONSOLIDATED_MARK, plan_code, period_id]]


def read_consolidated(data: bytes) -> ConsolidatedRead | None:
    """The figures of an exported overview sheet ("Tổng hợp": a row per unit, a column per part)
    as filled by a tracking office, or None when the file is not one."""
    book = _workbook(data, MAX_CONSOLIDATED_BYTES)
    if book is None:
        return None
    try:
        if MARK_SHEET not in book.sheetnames:
            return None
        mark = next(book[MARK_SHEET].iter_rows(max_row=1, max_col=3, values_only=True), None)
        if not mark or mark[0] != CONSOLIDATED_MARK:
            return None
        read = ConsolidatedRead(plan=str(mark[1]), period=str(mark[2]))
        sheet = book.worksheets[0]
        header = next(sheet.iter_rows(min_row=MATRIX_FIRST_ROW - 2, max_row=MATRIX_FIRST_ROW - 2, values_only=True), ())
        parts = {index: str(text).split("\n")[0] for index, text in enumerate(header)
                 if index >= MATRIX_FIRST_PART - 1 and text}
        for row in sheet.iter_rows(min_row=MATRIX_FIRST_ROW, max_row=MATRIX_FIRST_ROW + 100_000):
            if not row or row[0].value is None:
                continue
            unit_code = str(row[0].value)
            for index, part_code in parts.items():
                if index < len(row) and not _blank(row[index].value):
                    read.cells.append(ConsolidatedCell(unit_code, part_code, row[index].coordinate, row[index].value,
                                                       getattr(row[index], "number_format", None)))
        return read
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None
    finally:
        book.close()


def _unchanged(current: Any, figure: Figure) -> bool:
    """The stored figure, as the overview shows it: equal, or (a ratio shown as its percentage)
    the same percentage."""
    if submissions.same_figure(current, figure):
        return True
    old, new = figure_of(current).amount, figure.amount
    return (old is not None and new is not None and figure.value is not None
            and figure.numerator is None and abs(old - new) < SAME)


def _read_file(path: Any, t: Translator) -> tuple[ConsolidatedRead | None, TemplateRead | None, str]:
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        problem = exc.strerror or str(exc)
        raise ImportFiguresError(t("paper-import-unreadable", path=str(file), problem=problem)) from None
    consolidated = read_consolidated(data)
    single = read_template(data) if consolidated is None else None
    if consolidated is not None:
        return consolidated, None, consolidated.plan
    if single is not None:
        return None, single, single.plan
    raise ImportFiguresError(t("paper-import-not-ours", path=str(file)))


_Entry = tuple[Unit, str, TemplateCell]


def _entries(view: PlanView, consolidated: ConsolidatedRead | None, single: TemplateRead | None,
             errors: list[str], t: Translator) -> list[_Entry]:
    """Each filled cell with its unit and the cell's name."""
    units = {u.code: u for u in view.units.values()}
    entries: list[_Entry] = []
    if consolidated is not None:
        for cell in consolidated.cells:
            unit = units.get(cell.unit_code)
            if unit is None:
                errors.append(t("paper-import-error-unit", cell=cell.cell, unit=cell.unit_code))
                continue
            entries.append((unit, cell.cell, TemplateCell(0, cell.part_code, consolidated.period,
                                                          figure=cell.value, figure_format=cell.number_format)))
    elif single is not None and single.unit in units:
        unit = units[single.unit]
        entries += [(unit, f"{_COLUMN_LETTERS[COL_FIGURE]}{row.row}", row) for row in single.rows]
    return entries


def _checked_entry(view: PlanView, entry: _Entry, today: Any, t: Translator) -> report.Accepted | str | None:
    """The cell's figure, checked as the chat checks one; an error line; or None for a blank."""
    unit, name, cell = entry
    pv = {p.code: p for p in view.parts_of_unit(unit.id)}.get(cell.part_code)
    try:
        period = Period.parse(cell.period)
    except PeriodError:
        period = None
    if pv is None or period is None or not view.period_open(pv, period, today):
        return t("paper-import-error-owed", cell=name, unit=unit.name, code=cell.part_code)
    given = cell_input(pv, cell, t.locale)
    if given is None:
        return None
    if given.value is None and given.numerator is None and given.done is None and not given.not_applicable:
        return t("paper-read-error-cell", cell=name, value=given.raw, example=report.example_line(pv))
    figure = report.to_figure(pv, given, t)
    if isinstance(figure, report.Problem):
        return t("paper-read-error-at", cell=name, problem=t(figure.message, **figure.params))
    return report.Accepted(pv, period, figure)


@dataclass
class _Tally:
    new: int = 0
    changed: int = 0
    same: int = 0
    changes: list[str] = field(default_factory=list)
    staged: list[submissions.Stored] = field(default_factory=list)


async def _stage_all(session: Any, now: Any, person_id: int | None, view: PlanView,
                     accepted: list[tuple[Unit, report.Accepted]], source: str, t: Translator) -> _Tally:
    tally = _Tally()
    histories: dict[int, list[Any]] = {}
    for unit, item in accepted:
        if unit.id not in histories:
            histories[unit.id] = await submissions.current_for_unit(
                session, unit.id, [p.part.id for p in view.parts_of_unit(unit.id)])
        pv, period, figure = item.part, item.period, item.figure
        current = next((r for r in histories[unit.id] if r.part_id == pv.part.id and r.period == period.id), None)
        if current is not None and _unchanged(current, figure):
            tally.same += 1
            continue
        if current is None:
            tally.new += 1
        else:
            tally.changed += 1
            if len(tally.changes) < 20:
                tally.changes.append(t("paper-import-change", unit=unit.name, code=pv.code,
                                       old=describe_figure(figure_of(current), pv.target, t),
                                       new=describe_figure(figure, pv.target, t)))
        tally.staged.append(submissions.next_version(
            plan_id=view.plan.id, part_id=pv.part.id, unit_id=unit.id, period=period.id, figure=figure,
            person_id=person_id, channel=CHANNEL, now=now, previous=current, message_ref=source[:128]))
    return tally


async def _preview(session: Any, view: PlanView, consolidated: ConsolidatedRead | None,
                   single: TemplateRead | None, today: Any, now: Any, person_id: int | None, source: str,
                   shown: str, t: Translator) -> tuple[_Tally, list[str], list[str]]:
    """Every filled cell checked and staged against what is stored: the tally, the errors, and
    the preview's lines."""
    errors: list[str] = []
    entries = _entries(view, consolidated, single, errors, t)
    accepted: list[tuple[Unit, report.Accepted]] = []
    for entry in entries:
        checked = _checked_entry(view, entry, today, t)
        if isinstance(checked, str):
            errors.append(checked)
        elif checked is not None:
            accepted.append((entry[0], checked))
    tally = await _stage_all(session, now, person_id, view, accepted, source, t)
    lines = [t("paper-import-preview", path=shown, count=len(accepted) + len(errors), new=tally.new,
               changed=tally.changed, same=tally.same, errors=len(errors),
               units=len({unit.id for unit, _, _ in entries}))]
    return tally, errors, lines + tally.changes + errors


async def import_figures_command(app: Any, path: Any, store_them: bool) -> list[str]:
    """`python -m bot import-figures FILE.xlsx [--yes]`: a consolidated sheet (the export's overview,
    filled) or one unit's form; prints the preview, stores with --yes. Every cell is checked as the
    chat checks a figure; with any error nothing is stored."""
    from models import store as model_store

    t = app.t
    consolidated, single, plan_code = _read_file(path, t)
    today = app.now().astimezone(app.settings.timezone).date()
    async with app.unit_of_work() as session:
        plan = await model_store.get_plan(session, plan_code)
        if plan is None:
            raise ImportFiguresError(t("export-error-plan", plan=plan_code, known="-"))
        view = await model_store.load_plan_view(session, plan.id)
        tally, errors, lines = await _preview(session, view, consolidated, single, today, app.now(), None,
                                              f"xlsx:{Path(path).name}", str(path), t)
        if errors:
            lines.append(t("paper-read-fix"))  # nothing half-stored
        elif not tally.staged:
            lines.append(t("paper-read-nothing"))
        elif not store_them:
            lines.append(t("paper-import-ask-yes"))
        else:
            await submissions.insert_versions(session, tally.staged)  # committed with the unit of work
            lines.append(t("paper-import-stored", count=len(tally.staged)))
        return lines


# --- a consolidated sheet in the chat -------------------------------------------------------------


def _may_enter_for_units(ctx: Ctx, view: PlanView) -> bool:
    """Admins and the plan's tracking office enter figures for other units."""
    return ctx.is_admin or rights.in_tracking_office(ctx, view)


async def _receive_consolidated(ctx: Ctx, read: ConsolidatedRead, filename: str) -> None:
    t = ctx.t
    plan_id = await ctx.plan_id()
    view = await ctx.plan_view(plan_id) if plan_id is not None else None
    if view is None or view.plan.code != read.plan:
        ctx.say("paper-read-other-plan", plan=read.plan)
        return
    if not _may_enter_for_units(ctx, view):
        ctx.say("paper-read-many-not-allowed")
        return
    tally, errors, lines = await _preview(ctx.session, view, read, None, ctx.today, ctx.now,
                                          ctx.person.id if ctx.person else None, f"xlsx:{filename}", filename, t)
    if errors:
        ctx.say_text("\n".join([*lines, t("paper-read-fix")]))
        return
    if not tally.staged:
        ctx.say_text("\n".join([*lines, t("paper-read-nothing")]))
        return
    many = [{"unit_id": stored.row.unit_id, "part_id": stored.row.part_id, "period": stored.row.period,
             "value": _plain(stored.row.value), "numerator": _plain(stored.row.numerator),
             "denominator": _plain(stored.row.denominator), "done": stored.row.done,
             "not_applicable": bool(stored.row.not_applicable)} for stored in tally.staged]
    choices = (Choice(t("choice-yes"), buttons.encode(buttons.Answer(True))),
               Choice(t("choice-no"), buttons.encode(buttons.Answer(False))))
    data = {"many": many, "plan_id": view.plan.id, "message_ref": f"xlsx:{filename}"[:128],
            "person_id": ctx.person.id if ctx.person else None}
    await state.save(ctx, "confirm", state.remember_choices(data, choices))
    ctx.say_text("\n".join([*lines, t("paper-read-confirm")]), choices=choices)


def _plain(value: Any) -> str | None:
    return None if value is None else str(value)


async def confirm_many(ctx: Ctx, yes: bool, data: dict[str, Any]) -> None:
    """"Có" to a consolidated sheet's figures: each stored as the next version of its unit's
    figure (what was stored meanwhile is compared again), all in this one transaction."""
    await state.clear(ctx)
    view = await ctx.plan_view(int(data["plan_id"]))
    if ctx.person is None or ctx.person.id != data.get("person_id") or not _may_enter_for_units(ctx, view):
        ctx.say("confirm-other-role")  # the rights it was asked with are gone
        return
    if not yes:
        ctx.say("report-confirm-dropped")
        return
    staged: list[submissions.Stored] = []
    by_unit: dict[int, list[Any]] = {}
    for item in data["many"]:
        unit_id, part_id = int(item["unit_id"]), int(item["part_id"])
        if part_id not in view.parts or unit_id not in view.units:
            continue
        if unit_id not in by_unit:
            by_unit[unit_id] = await submissions.current_for_unit(
                ctx.session, unit_id, [p.part.id for p in view.parts_of_unit(unit_id)])
        current = next((r for r in by_unit[unit_id] if r.part_id == part_id and r.period == item["period"]), None)
        figure = Figure(value=_decimal(item["value"]), numerator=_decimal(item["numerator"]),
                        denominator=_decimal(item["denominator"]), done=item["done"],
                        not_applicable=bool(item["not_applicable"]))
        stored = submissions.next_version(
            plan_id=view.plan.id, part_id=part_id, unit_id=unit_id, period=item["period"], figure=figure,
            person_id=ctx.person.id if ctx.person else None, channel=CHANNEL, now=ctx.now,
            previous=current, message_ref=data.get("message_ref"))
        staged.append(stored)
    await submissions.insert_versions(ctx.session, staged)
    ctx.say("paper-import-stored", count=len(staged))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
