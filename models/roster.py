"""A roster of who each unit's officer should be (issue 16, `import-people FILE.xlsx|csv`): unit,
full name, position, phone, role. Headers are matched as people write them ("Họ và tên", "Họ tên",
"Full name", "SĐT", …), in any order, after any title rows; every problem is named by its row and
column, and a file with any problem imports nothing.

Reading only: no database. Matching units to a plan is the caller's (models/onboarding.py).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from models.text import fold

FIELDS = ("unit", "name", "position", "phone", "role")
REQUIRED = ("unit", "name")
_HEADER_SCAN_ROWS = 15  # title rows above the header ("DANH SÁCH CÁN BỘ ĐẦU MỐI …")
MAX_ROWS = 20_000

# A folded header -> its field; the first rule that matches wins.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^(stt|tt|so tt|no\.?|#)$"), ""),
    (re.compile(r"(ho (va )?ten|full ?name|^ten can bo|^can bo$|^nguoi|^name$)"), "name"),
    (re.compile(r"(don vi|co quan|unit|dia phuong|ma dv)"), "unit"),
    (re.compile(r"(chuc vu|chuc danh|position|title|job)"), "position"),
    (re.compile(r"(dien thoai|sdt|so dt|phone|mobile|di dong)"), "phone"),
    (re.compile(r"(vai tro|role|nhiem vu)"), "role"),
)
_ROLES = {"officer": ("officer", "can bo dau moi", "dau moi", "can bo", "focal officer", ""),
          "leader": ("leader", "lanh dao", "ban chi dao", "bcd", "chu tich", "pho chu tich")}


@dataclass(frozen=True)
class RosterRow:
    row: int  # the file's own row number
    unit: str
    name: str
    position: str | None
    phone: str | None
    role: str  # "officer" | "leader"


class RosterError(ValueError):
    """Problems, each (row or None, column or None, message id, params); nothing was imported."""

    def __init__(self, problems: list[tuple[int | None, str | None, str, dict[str, object]]]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def field_of(header: str) -> str | None:
    folded = fold(header).strip(" :*")
    if not folded:
        return None
    for pattern, field in _RULES:
        if pattern.search(folded):
            return field or None
    return None


def _cells(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig") if not raw.startswith(b"\xff\xfe") else raw.decode("utf-16")
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), dialect)]
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        return [["" if v is None else _text(v) for v in row]
                for row in sheet.iter_rows(max_row=MAX_ROWS + _HEADER_SCAN_ROWS, values_only=True)]
    finally:
        book.close()


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed as a number: 912345678.0
    return str(value).strip()


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    """The header row's index and each field's column; RosterError without one."""
    for index, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for col, cell in enumerate(row):
            field = field_of(cell)
            if field and field not in found:
                found[field] = col
        if all(field in found for field in REQUIRED):
            return index, found
    raise RosterError([(None, None, "roster-error-no-header", {})])


def _check(index: int, values: dict[str, str], named: dict[str, str]) -> list[tuple[int | None, str | None, str,
                                                                                        dict[str, object]]]:
    problems: list[tuple[int | None, str | None, str, dict[str, object]]] = []
    for field in REQUIRED:
        if not values.get(field):
            problems.append((index, named[field], "roster-error-empty", {}))
    if _role(values.get("role", "")) is None:
        problems.append((index, named["role"], "roster-error-role", {"value": values["role"]}))
    phone = values.get("phone")
    if phone and not re.fullmatch(r"\+?[0-9 .()-]{6,20}", phone):
        problems.append((index, named["phone"], "roster-error-phone", {"value": phone}))
    return problems


def read_roster(path: Path) -> list[RosterRow]:
    """The file's rows; RosterError naming every problem."""
    rows = _cells(path)
    header_at, columns = _header(rows)
    named = {field: rows[header_at][col] for field, col in columns.items()}
    problems: list[tuple[int | None, str | None, str, dict[str, object]]] = []
    result = []
    for index, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        values = {field: (row[col].strip() if col < len(row) else "") for field, col in columns.items()}
        if not any(values.values()):
            continue  # blank lines between groups
        found = _check(index, values, named)
        problems += found
        if not found:
            result.append(RosterRow(index, values["unit"], values["name"], values.get("position") or None,
                                    values.get("phone") or None, _role(values.get("role", "")) or "officer"))
    if problems:
        raise RosterError(problems)
    if not result:
        raise RosterError([(None, None, "roster-error-empty-file", {})])
    return result


def _role(text: str) -> str | None:
    folded = fold(text).strip()
    return next((role for role, words in _ROLES.items() if folded in words), None)
