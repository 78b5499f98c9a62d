"""Read a plan from an XLSX sheet laid out like the plans' appendix tables.

The result is the same located raw structure a YAML file gives, so one validator (models.plans)
checks both and reports problems by sheet and row. Headers are matched tolerantly: case,
diacritics, line breaks and years do not matter (docs/plan-format.md lists them).
"""
from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from models.plan_source import Located, PlanFileError, PlanIssue, megabytes
from models.plan_words import META_WORDS, deadline_words, key_of
from models.text import fold, slug

META_SHEET = "Kế hoạch"
UNITS_SHEET = "Đơn vị"
PARTS_SHEET = "Phần"
CONFLICTS_SHEET = "Mục tiêu khác"
# The export's first sheet (units × indicators) in either language: passed over when looking for
# the appendix table, and by the figures reader.
MATRIX_SHEETS = ("Tổng hợp", "Overview")
_ROMAN = re.compile(r"^(?=[IVXL]+$)L?X{0,3}(?:IX|IV|V?I{0,3})$")
_HEADER_SCAN_ROWS = 40

# Limits checked before and while a workbook is read (an appendix table has tens of rows; a units
# sheet of a whole province a few thousand). Beyond them the file is refused: a sheet claiming a
# cell at XFD1048576, or a zip bomb, would otherwise be expanded in memory.
MAX_FILE_BYTES = 20 * 2**20
MAX_UNPACKED_BYTES = 100 * 2**20  # the parts' sizes as the package states them; zipfile reads no further
MAX_PACKAGE_ENTRIES = 1000
MAX_ROWS = 20_000
MAX_COLUMNS = 64


class _SheetTooBig(Exception):
    def __init__(self, sheet: str) -> None:
        super().__init__(sheet)
        self.sheet = sheet


def _is(*names: str) -> Callable[[str], bool]:
    return lambda header: header in names


def _has(*words: str) -> Callable[[str], bool]:
    return lambda header: any(word in header for word in words)


def _starts(prefix: str) -> Callable[[str], bool]:
    return lambda header: header.startswith(prefix)


# What a folded column header stands for: the first rule that matches wins, so the order matters
# ("chủ trì tổng hợp" is the tracking office before "chủ trì" is the lead).
_HEADER_RULES: tuple[tuple[Callable[[str], bool], str | None], ...] = (
    (_is("tt", "stt", "so tt"), "number"),
    (_is("ma", "ma chi tieu", "ma so"), "code"),
    (_starts("ly do"), "reporters_reason"),  # "Lý do giao": why these units report it
    (_starts("muc tieu khac"), None),  # export's display of conflicts; read from the sheet of that name
    (_has("so lieu", "danh gia", "khoang cach", "ty le bao cao"), None),  # result columns written by export
    (lambda h: "theo doi" in h or ("chu tri" in h and ("tong hop" in h or "bao cao" in h)), "tracking"),
    (_has("chu tri", "trien khai"), "lead"),
    (_has("phoi hop", "ho tro"), "coordinating"),
    (_has("cua tinh"), "province_target"),
    (_starts("ket qua"), "baseline"),
    (_has("muc do"), "level"),
    (_has("co so de xuat"), "basis"),
    (_has("cong thuc", "ghi chu"), "formula"),
    (_has("tan suat", "ky bao cao"), "frequency"),
    (_is("cach tinh", "cach cong don", "tich luy"), "accumulation"),
    (_has("ten ngan"), "title"),
    (_has("muc tieu", "chi tieu", "noi dung"), "text"),  # the first such column; the next is the target
)


def header_field(header: str, taken: set[str]) -> str | None:
    """The plan field a column header stands for, or None for a column we do not read."""
    h = re.sub(r"\b(19|20)\d\d\b", " ", fold(header))
    h = re.sub(r"\s+", " ", h).strip()
    for matches, field in _HEADER_RULES:
        if matches(h):
            return "target" if field == "text" and "text" in taken else field
    return None


def cell_text(value: Any, number_format: str | None = None) -> str | None:
    """A cell as the text a person sees: 0.9 formatted as a percentage reads "90%"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            return f"{value * 100:g}%"
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None


def read_xlsx_plan(path: Path) -> Located:
    shown = str(path)
    try:
        _check_package(path)
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        problem = str(exc) or type(exc).__name__
        raise PlanFileError(shown, [PlanIssue("row", None, "-", "plan-error-xlsx", (("problem", problem),))]) from None
    try:
        return _read(workbook, path)
    except _SheetTooBig as exc:
        raise PlanFileError(shown, [PlanIssue("row", None, "-", "plan-error-xlsx-shape", (
            ("sheet", exc.sheet), ("rows", str(MAX_ROWS)), ("columns", str(MAX_COLUMNS))))]) from None
    finally:
        workbook.close()


def _check_package(path: Path) -> None:
    """The file's size and what its parts unpack to, before anything is unpacked."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise PlanFileError(str(path), [PlanIssue("row", None, "-", "plan-error-too-large", (
            ("size", megabytes(size)), ("limit", megabytes(MAX_FILE_BYTES))))])
    with zipfile.ZipFile(path) as package:
        entries = package.infolist()
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES or len(entries) > MAX_PACKAGE_ENTRIES:
        raise PlanFileError(str(path), [PlanIssue("row", None, "-", "plan-error-xlsx-unpacked", (
            ("size", megabytes(unpacked)), ("limit", megabytes(MAX_UNPACKED_BYTES))))])


def _rows(sheet: Any) -> list[tuple[int, list[str | None]]]:
    """A sheet's cells as text, row by row. Read within bounds one past the limits: a row or a
    cell found there means the sheet is too big (its declared dimension is not trusted, and
    read-only openpyxl would otherwise fill every missing row up to the last one)."""
    rows = []
    for index, row in enumerate(sheet.iter_rows(max_row=MAX_ROWS + 1, max_col=MAX_COLUMNS + 1), start=1):
        cells = [cell_text(c.value, getattr(c, "number_format", None)) for c in row]
        if index > MAX_ROWS or any(cells[MAX_COLUMNS:]):
            raise _SheetTooBig(sheet.title)
        rows.append((index, cells[:MAX_COLUMNS]))
    return rows


def _located(sheet: str, row: int, **values: Any) -> Located:
    node = Located({k: v for k, v in values.items() if v is not None})
    node.where, node.number, node.sheet = "row", row, sheet
    return node


def _sheet_named(workbook: Any, name: str) -> Any:
    for sheet in workbook.worksheets:
        if fold(sheet.title) == fold(name):
            return sheet
    return None


def _find_table(workbook: Any) -> tuple[Any, list[tuple[int, list[str | None]]], int, dict[int, str]] | None:
    for sheet in workbook.worksheets:
        if fold(sheet.title) in {fold(name) for name in (META_SHEET, UNITS_SHEET, PARTS_SHEET, CONFLICTS_SHEET,
                                                         *MATRIX_SHEETS)}:
            continue
        rows = _rows(sheet)
        for position, (_, cells) in enumerate(rows[:_HEADER_SCAN_ROWS]):
            taken: set[str] = set()
            columns: dict[int, str] = {}
            for column, value in enumerate(cells):
                field = header_field(value, taken) if value else None
                if field and field not in taken:
                    columns[column] = field
                    taken.add(field)
            if "number" in taken and "text" in taken:
                return sheet, rows, position, columns
    return None


def _read(workbook: Any, path: Path) -> Located:
    found = _find_table(workbook)
    if found is None:
        raise PlanFileError(str(path), [PlanIssue("row", None, "-", "plan-error-xlsx-header")])
    sheet, rows, header_position, columns = found
    meta = _read_meta(workbook)
    schedule = _schedule_of(meta)
    plan = _plan_head(meta, path, sheet.title, rows, header_position)
    indicators, groups = _table_rows(sheet.title, rows, header_position, columns)
    _attach_parts(workbook, indicators)
    _attach_conflicts(workbook, indicators)
    units = _read_units(workbook) or _guess_units(indicators)
    raw = Located(format=1, plan=plan, units=units, groups=groups, indicators=indicators)
    if schedule is not None:
        raw["schedule"] = schedule
    raw.where, raw.number, raw.sheet = "row", 1, sheet.title
    return raw


def _plan_head(meta: dict[str, Any], path: Path, sheet: str, rows: list[tuple[int, list[str | None]]],
               header_position: int) -> Located:
    """The plan's code, title and year: from the meta sheet, else the file's name and the text
    above and in the table's header (a year must be found somewhere)."""
    header_cells = rows[header_position][1]
    title_above = " ".join(filter(None, (c for _, cells in rows[:header_position] for c in cells)))
    plan = _located(META_SHEET if meta else sheet, 1)
    plan.update(meta)
    if "code" not in plan:
        plan["code"] = re.sub(r"[^A-Za-z0-9_-]+", "-", path.stem).strip("-")[:32] or "PLAN"
    if "title" not in plan and title_above:
        plan["title"] = title_above
    if "year" not in plan:
        match = re.search(r"\b(20\d\d)\b", f"{title_above} {' '.join(filter(None, header_cells))}")
        if not match:
            raise PlanFileError(str(path), [PlanIssue("row", 1, "plan.year", "plan-error-xlsx-year", sheet=sheet)])
        plan["year"] = int(match.group(1))
    return plan


def _table_rows(sheet: str, rows: list[tuple[int, list[str | None]]], header_position: int,
                columns: dict[int, str]) -> tuple[list[Located], list[Located]]:
    """The appendix table's indicators and group rows, in order."""
    header_cells = [c for c in rows[header_position][1] if c]
    indicators: list[Located] = []
    groups: list[Located] = []
    current_group: str | None = None
    for row_number, cells in rows[header_position + 1:]:
        values = {field: cells[column] if column < len(cells) else None for column, field in columns.items()}
        if not any(values.values()) or [c for c in cells if c] == header_cells:
            continue  # empty, or a header repeated after a page break
        number = values.get("number")
        if number and _is_group_row(number, values, columns):
            current_group = number
            groups.append(_located(sheet, row_number, code=number, title=values.get("text") or number))
        elif number:
            indicators.append(_indicator_row(sheet, row_number, number, values, current_group))
        elif indicators:  # cells of the row above, split over lines
            previous = indicators[-1]
            for field, text in values.items():
                if text:
                    previous[field] = f"{previous[field]} {text}" if previous.get(field) else text
    return indicators, groups


def _is_group_row(number: str, values: dict[str, str | None], columns: dict[int, str]) -> bool:
    """A group row: numbered I, II… or A, B…, or (in a table with a Mã column, as export writes
    it) any number with neither a code nor a target ("1.1 Chính quyền số")."""
    if values.get("target"):
        return False
    return bool(_ROMAN.match(number) or re.fullmatch(r"[A-Z]", number)
                or ("code" in columns.values() and not values.get("code")))


def _indicator_row(sheet: str, row_number: int, number: str, values: dict[str, str | None],
                   group: str | None) -> Located:
    node = _located(sheet, row_number, **values)
    node.key_numbers = {key: row_number for key in node}
    node["code"] = values.get("code") or number.rstrip(".")
    node["number"] = number.rstrip(".")
    if group:
        node["group"] = group
    if "title" not in node and values.get("text"):
        node["title"] = _short_title(values["text"])
    return node


def _read_meta(workbook: Any) -> dict[str, Any]:
    sheet = _sheet_named(workbook, META_SHEET)
    if sheet is None:
        return {}
    meta: dict[str, Any] = {}
    for _, cells in _rows(sheet):
        if len(cells) >= 2 and cells[0] and cells[1] is not None:
            # "Năm" as well as "year": the Vietnamese keys export writes, or the plan format's own
            key = key_of(cells[0], META_WORDS) or fold(cells[0]).replace(" ", "_")
            meta[key] = int(cells[1]) if key == "year" and cells[1].isdigit() else cells[1]
    return meta


def _schedule_of(meta: dict[str, Any]) -> Located | None:
    """The "deadline_<frequency>" rows of the meta sheet ("5 next before": before the 5th of the
    next month), taken out of it as the schedule's deadlines."""
    deadlines = Located()
    for key in [k for k in meta if k.startswith("deadline_")]:
        day, month, before = deadline_words(str(meta.pop(key)))
        rule = _located(META_SHEET, 1, day=day, month=month, before="true" if before else None)
        deadlines[key.removeprefix("deadline_")] = rule
    if not deadlines:
        return None
    return _located(META_SHEET, 1, deadlines=deadlines)


def _table_of(sheet: Any, wanted: dict[str, str]) -> list[tuple[int, dict[str, str | None]]]:
    """Rows of a simple sheet as {field: text}, headers matched by folded name."""
    rows = _rows(sheet)
    if not rows:
        return []
    header = [fold(c) if c else "" for c in rows[0][1]]
    columns = {i: wanted[h] for i, h in enumerate(header) if h in wanted}
    return [
        (number, {field: cells[i] if i < len(cells) else None for i, field in columns.items()})
        for number, cells in rows[1:] if any(cells)
    ]


def _read_units(workbook: Any) -> list[Located]:
    sheet = _sheet_named(workbook, UNITS_SHEET)
    if sheet is None:
        return []
    wanted = {"ma": "code", "ten": "name", "loai": "kind", "truc thuoc": "parent", "ten khac": "aliases",
              "neu trong kh": "named_in_plan", "neu trong ke hoach": "named_in_plan", "hoat dong": "active",
              "ngung tu ngay": "on", "ly do ngung": "reason", "sap nhap vao": "into"}
    units = []
    for number, values in _table_of(sheet, wanted):
        stopped = {key: values.pop(key, None) for key in ("on", "reason", "into")}
        if any(stopped.values()):  # a unit closed or merged during the plan (plan-format.md, Units)
            values["deactivated"] = _located(sheet.title, number, **stopped)
            values["deactivated"].key_numbers = {key: number for key in values["deactivated"]}
        node = _located(sheet.title, number, **values)
        node.key_numbers = {key: number for key in node}
        units.append(node)
    return units


def _attach_parts(workbook: Any, indicators: list[Located]) -> None:
    sheet = _sheet_named(workbook, PARTS_SHEET)
    if sheet is None:
        return
    wanted = {
        "ma chi tieu": "indicator", "ma phan": "code", "nhan": "label", "ap dung cho": "applies_to",
        "muc tieu": "target", "so sanh": "comparison", "do luong": "measure", "tu so": "numerator",
        "mau so": "denominator", "don vi tinh": "unit", "dieu kien": "condition",
        "don vi bao cao": "reporters",  # unit codes separated by ";": the part's own reporters
        "cho phep khong phat sinh": "allow_not_applicable",
    }
    by_code = {node["code"]: node for node in indicators}
    for number, values in _table_of(sheet, wanted):
        owner = by_code.get(values.pop("indicator") or "")
        if owner is None:
            continue
        if values.get("reporters"):
            reporters = _located(sheet.title, number, units=values["reporters"])
            reporters.key_numbers = {"units": number}
            values["reporters"] = reporters
        node = _located(sheet.title, number, **values)
        node.key_numbers = {key: number for key in node}
        owner.setdefault("parts", []).append(node)


def _attach_conflicts(workbook: Any, indicators: list[Located]) -> None:
    """The "Mục tiêu khác" sheet: other statements of a part's target, with where the chosen one
    is stated and why it wins (the same on every row of an indicator; a row without a target
    carries only those)."""
    sheet = _sheet_named(workbook, CONFLICTS_SHEET)
    if sheet is None:
        return
    wanted = {"ma chi tieu": "indicator", "ma phan": "part", "muc tieu": "target", "nguon": "source",
              "muc tieu da chon theo": "target_source", "quy tac chon": "conflict_rule"}
    by_code = {node["code"]: node for node in indicators}
    for number, values in _table_of(sheet, wanted):
        owner = by_code.get(values.pop("indicator") or "")
        if owner is None:
            continue
        for key in ("target_source", "conflict_rule"):
            if values.get(key):
                owner[key] = values[key]
                owner.key_numbers[key] = number
        if values.get("target") or values.get("source"):
            node = _located(sheet.title, number, part=values.get("part"), target=values.get("target"),
                            source=values.get("source"))
            node.key_numbers = {key: number for key in node}
            owner.setdefault("conflicts", []).append(node)


_KIND_WORDS = (
    ("van phong", "department"), ("phong ", "department"), ("thanh tra", "department"),
    ("ubnd xa", "commune"), ("ubnd phuong", "ward"), ("ubnd thi tran", "township"),
    ("ubnd", "city"), ("trung tam", "agency"), ("chi nhanh", "agency"), ("ban ", "agency"),
    ("truong", "agency"), ("benh vien", "agency"), ("chi cuc", "agency"), ("doanh nghiep", "enterprise"),
    ("vnpt", "enterprise"), ("viettel", "enterprise"), ("mobifone", "enterprise"), ("cong an", "agency"),
)


def _guess_units(indicators: list[Located]) -> list[Located]:
    """Without a units sheet: every distinct name in the lead and tracking columns is a unit."""
    units: dict[str, Located] = {}
    for node in indicators:
        for field in ("lead", "tracking"):
            for name in re.split(r"[;\n]", node.get(field) or ""):
                name = name.strip(" ,.")
                folded = fold(name)
                if not name or folded.startswith("cac ") or slug(name) in units:
                    continue
                kind = next((k for word, k in _KIND_WORDS if folded.startswith(word)), "other")
                unit = _located(node.sheet or "", node.number or 0, code=slug(name)[:64], name=name, kind=kind)
                units[slug(name)] = unit
    return list(units.values())


def _short_title(text: str) -> str:
    words = text.split()
    title = ""
    for word in words:
        if len(title) + len(word) + 1 > 57:
            return title + "…"
        title = f"{title} {word}".strip()
    return title
