"""A plan read from its own document (a Kế hoạch's DOCX or PDF, issue 22): the header block, the
body's reporting days and the appendix tables, into a draft plan in the repository's own format
(docs/plan-format.md) and the doubts a person should settle before importing it.

Pure: the readers (models/plan_document_files.py) hand over the document as blocks in reading
order, each a paragraph (str) or a table (rows of cell text, merged cells already blanked); this
module does the rest. Every doubt and every value remembers where it came from (table, row).
"""
from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models.plan_words import FREQUENCY_WORDS, key_of
from models.targets import Measure, TargetParseError, parse_target_detail, split_target, stated_comparisons
from models.text import fold, slug

__all__ = ["Block", "DocumentError", "Doubt", "Draft", "draft_yaml", "read_document"]

Block = str | list[list[str]]  # a paragraph, or a table's rows of cell text
Translate = Callable[..., str]

_ROMAN = re.compile(r"^(?=[IVXL]+$)L?X{0,3}(?:IX|IV|V?I{0,3})$")
_GROUP_LEAD = re.compile(r"^\s*((?=[IVXL]+\b)L?X{0,3}(?:IX|IV|V?I{0,3})|[A-Z])\s*[.:)/-]\s*(\S.*)$")
_NUMBER = re.compile(r"^\d{1,3}(?:\.\d{1,3}){0,2}[a-z]?\.?$")
_TITLE_MAX = 57
# Whole words that start a collective phrase or continue one after a comma ("Các cơ quan, đơn vị").
_COLLECTIVE_START = re.compile(r"(?:^|\s)cac\s|^toan the|^tat ca")
_COLLECTIVE_TAIL = {"don vi", "phuong", "xa", "thi tran", "dia phuong", "ban", "nganh", "doan the", "co quan",
                    "thon", "to dan pho", "ban nganh", "phong", "phong ban", "doanh nghiep", "truong hoc"}
_KIND_WORDS = (
    ("van phong", "department"), ("phong ", "department"), ("thanh tra", "department"),
    ("ubnd xa", "commune"), ("xa ", "commune"), ("ubnd phuong", "ward"), ("phuong ", "ward"),
    ("ubnd thi tran", "township"), ("ubnd", "city"), ("trung tam", "agency"), ("chi nhanh", "agency"),
    ("ban ", "agency"), ("truong", "agency"), ("benh vien", "agency"), ("chi cuc", "agency"),
    ("cong an", "agency"), ("tram", "agency"), ("kho bac", "agency"), ("buu dien", "enterprise"),
    ("vnpt", "enterprise"), ("viettel", "enterprise"), ("mobifone", "enterprise"), ("cong ty", "enterprise"),
    ("doanh nghiep", "enterprise"), ("hoi ", "organization"), ("doan ", "organization"),
    ("thi doan", "organization"), ("huyen doan", "organization"), ("mat tran", "organization"),
    ("cong chuc", "department"), ("thon ", "other"), ("to dan pho", "other"), ("xom ", "other"),
    ("khu pho", "other"), ("to ", "organization"),
)
_LEVELS = {  # words in a target column's header naming whose target it is
    "tinh": ("cua tinh", "tinh giao", "cap tinh"),
    "huyen": ("cua huyen", "cap huyen"),
    "thi xa": ("cua thi xa",),
    "thanh pho": ("cua thanh pho", "cua tp"),
    "xa": ("cua xa", "cap xa"),
    "phuong": ("cua phuong",),
    "thi tran": ("cua thi tran",),
}


class DocumentError(Exception):
    """A document that gives no plan: `message` is a locale id (one line for the person)."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True, slots=True)
class Doubt:
    """Something a person should look at: a locale message id and its fields, the place in the
    document (table and row, from 1; none for the body) and the draft's value it sits beside."""

    message: str
    params: tuple[tuple[str, str], ...] = ()
    table: int | None = None
    row: int | None = None
    path: tuple[Any, ...] = ()

    def render(self, t: Translate) -> str:
        text = t(self.message, **dict(self.params))
        if self.table is None:
            return text
        return t("docplan-doubt-at", place=t("docplan-source", table=self.table, row=self.row or 0), doubt=text)


@dataclass(slots=True)
class Draft:
    """The plan read from a document, in the plan file format's shape, with its doubts."""

    plan: dict[str, Any]
    doubts: list[Doubt] = field(default_factory=list)
    sources: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    tables: int = 0
    collective: list[str] = field(default_factory=list)

    @property
    def indicators(self) -> list[dict[str, Any]]:
        return self.plan["indicators"]

    @property
    def groups(self) -> list[dict[str, Any]]:
        return self.plan.get("groups", [])

    @property
    def targets(self) -> int:
        """Targets read: one per part (an indicator without parts has one)."""
        return sum(len(i.get("parts") or [i]) for i in self.indicators)


# --- headers ------------------------------------------------------------------------------------


def _header_key(text: str) -> str:
    h = fold(text)
    h = re.sub(r"\(\s*\d+\s*\)", " ", h)  # "(1)" column numbers printed in the header
    h = re.sub(r"[^a-z0-9%&/ ]", " ", h)
    return re.sub(r"\s+", " ", h).strip()


def _has_year(text: str) -> bool:
    return bool(re.search(r"\b(19|20)\d\d\b", text)) or " nam n" in f" {fold(text)} "


def _level_of(h: str) -> str | None:
    for level, words in _LEVELS.items():
        if any(word in h for word in words):
            return level
    return None


_COLUMN_RULES: tuple[tuple[Callable[[str, str], bool], str], ...] = (
    (lambda h, n: n in {"tt", "stt", "so tt", "so thu tu", "ma", "ma so"}, "number"),
    (lambda h, n: n in {"dvt", "don vi tinh", "don vi do"} or n.startswith("don vi tinh"), "unit"),
    (lambda h, n: any(w in h for w in ("ket qua", "thuc hien nam", "uoc thuc hien", "hien trang")), "baseline"),
    (lambda h, n: "theo doi" in h or ("chu tri" in h and ("tong hop" in h or "bao cao" in h)), "tracking"),
    (lambda h, n: any(w in h for w in ("chu tri", "don vi thuc hien", "co quan thuc hien", "trien khai")), "lead"),
    (lambda h, n: "phoi hop" in h or "ho tro" in h, "coordinating"),
    (lambda h, n: "muc do" in h, "level"),
    (lambda h, n: "cong thuc" in h or "cach tinh" in h, "formula"),
    (lambda h, n: "ky bao cao" in h or "tan suat" in h, "frequency"),
    (lambda h, n: any(w in h for w in ("thoi gian", "thoi han", "tien do")), "due"),
    (lambda h, n: "ghi chu" in h, "note"),
)


def column_field(text: str, taken: set[str]) -> str | None:
    """The field a column header stands for in the plans' own words: number, text, unit, baseline,
    target (several: "target:<level>"), lead, coordinating, tracking, level, formula, frequency,
    due, note; None for a column not read."""
    h = _header_key(text)
    if not h:
        return None
    bare = re.sub(r"\s+", " ", re.sub(r"\b(19|20)\d\d\b", " ", h)).strip()
    for matches, name in _COLUMN_RULES:
        if matches(h, bare):
            return name
    if any(word in h for word in ("muc tieu", "chi tieu", "ke hoach", "gia tri")):
        level = _level_of(h)
        if level or _has_year(text) or "dat" in h.split() or ("text" in taken and not h.startswith(("ten", "noi"))):
            return f"target:{level or ''}"
    if any(word in h for word in ("muc tieu", "chi tieu", "noi dung", "nhiem vu", "ten chi tieu")):
        return "text" if "text" not in taken else "target:"
    return None


def _map_header(cells: Sequence[str]) -> dict[int, str] | None:
    columns: dict[int, str] = {}
    taken: set[str] = set()
    for index, cell in enumerate(cells):
        name = column_field(cell, taken) if cell else None
        if name and (name.startswith("target:") or name not in taken):
            columns[index] = name
            taken.add(name)
    fields = set(columns.values())
    if "number" in fields and "text" in fields:
        return columns
    return None


def _sub_header(parent: dict[int, str], parent_cells: Sequence[str], cells: Sequence[str]) -> dict[int, str] | None:
    """A second header row under merged cells ("Mục tiêu năm 2025" over "của tỉnh" | "của
    thành phố"): the columns it names, read with the parent's words."""
    if not any(cells) or (cells and cells[0] and _NUMBER.match(cells[0].strip())):
        return None
    named: dict[int, str] = {}
    taken = set(parent.values())
    last_parent = ""
    for index, cell in enumerate(cells):
        above = parent_cells[index] if index < len(parent_cells) else ""
        last_parent = above or last_parent
        if not cell:
            continue
        if len(cell) > 40 or parent.get(index) in ("text", "number", "lead", "coordinating", "tracking"):
            return None
        name = column_field(f"{last_parent} {cell}", taken - {"text"} if parent.get(index) == "text" else taken)
        if name is None and parent.get(index, "").startswith("target"):
            name = f"target:{_level_of(_header_key(cell)) or ''}"
        if name is None:
            return None
        named[index] = name
    return named or None


def _is_column_numbers(cells: Sequence[str]) -> bool:
    filled = [c.strip() for c in cells if c and c.strip()]
    return len(filled) >= 3 and all(re.fullmatch(r"\(?\d{1,2}\)?", c) for c in filled)


# --- the body -----------------------------------------------------------------------------------

_DOC_NUMBER = re.compile(r"\bSố\s*:?\s*([0-9]*\s*/\s*[A-ZĐa-zđ0-9-]+(?:\s*-\s*[A-ZĐ]+)?(?:/[A-ZĐa-zđ0-9-]+)?)",
                         re.IGNORECASE)
_DATE_WORDS = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_DATE_SLASH = re.compile(r"ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.IGNORECASE)
_ISSUER_START = re.compile(r"^(ỦY BAN NHÂN DÂN|UỶ BAN NHÂN DÂN|UBND|BAN CHỈ ĐẠO|SỞ|PHÒNG)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.;]*?(?:\.(?!\d)|;|$)")


@dataclass(slots=True)
class _Head:
    number: str | None = None
    issued_on: date | None = None
    issuer: str | None = None
    title: str | None = None
    year: int | None = None


def _head_lines(blocks: Sequence[Block]) -> list[str]:
    """The header block's lines (its table's cells, then the paragraphs) before the first
    appendix: what number, date, issuer and title are read from."""
    lines: list[str] = []
    for block in blocks[:60]:
        if isinstance(block, str):
            lines.extend(part.strip() for part in block.split("\n") if part.strip())
        elif _find_header(block) is None:
            for row in block[:6]:
                for cell in dict.fromkeys(row):  # a merged cell's text once
                    lines.extend(part.strip() for part in (cell or "").split("\n") if part.strip())
        else:
            break
    return lines


def _read_head(blocks: Sequence[Block]) -> _Head:
    head = _Head()
    lines = _head_lines(blocks)
    for line in lines:
        if head.number is None and (found := _DOC_NUMBER.search(line)):
            head.number = re.sub(r"\s+", "", found.group(1))  # "/KH-UBND" when the number is left blank
        if head.issued_on is None and (found := _DATE_WORDS.search(line) or _DATE_SLASH.search(line)):
            with contextlib.suppress(ValueError):
                head.issued_on = date(int(found.group(3)), int(found.group(2)), int(found.group(1)))
    head.issuer = _find_issuer(lines)
    head.title = _find_title(lines)
    for text in (head.title or "", " ".join(lines[:40])):
        found = re.search(r"năm\s+(20\d\d)\b", text, re.IGNORECASE)
        if found:
            head.year = int(found.group(1))
            break
    if head.year is None and head.issued_on is not None:
        head.year = head.issued_on.year
    return head


def _left_column(line: str) -> str:
    """A header line as the PDF gives it, both cells on one line: the issuer's (left) part."""
    for motto in ("CỘNG HÒA", "CỘNG HOÀ", "Độc lập", "ĐỘC LẬP"):
        if motto in line and not line.startswith(motto):
            return line[: line.index(motto)].strip()
    return line


def _find_issuer(lines: list[str]) -> str | None:
    lines = [_left_column(line) for line in lines]
    for index, line in enumerate(lines):
        if _ISSUER_START.match(line) and "CỘNG HÒA" not in line.upper():
            issuer = [line]
            nxt = lines[index + 1] if index + 1 < len(lines) else ""
            if nxt and nxt.isupper() and "CỘNG HÒA" not in nxt and "ĐỘC LẬP" not in nxt.upper() \
                    and not nxt.startswith("Số"):
                issuer.append(nxt)
            return _issuer_name(" ".join(issuer))
    return None


def _find_title(lines: list[str]) -> str | None:
    """The line(s) under "KẾ HOẠCH", or the rest of a line "KẾ HOẠCH …"."""
    for index, line in enumerate(lines):
        folded = fold(line).strip(" .:")
        if folded == "ke hoach" and index + 1 < len(lines):
            title = [lines[index + 1]]
            if index + 2 < len(lines) and not _looks_like_body(lines[index + 2]) and len(lines[index + 2]) < 90 \
                    and not fold(lines[index + 2]).startswith("phu luc") and not lines[index + 2].isupper():
                title.append(lines[index + 2])
            return " ".join(title).strip()
        if folded.startswith("ke hoach ") and len(line) < 160 and line[:8].isupper() and " so " not in f" {folded} ":
            return line[len("KẾ HOẠCH"):].strip(" :")
    return None


def _looks_like_body(line: str) -> bool:
    folded = fold(line)
    return folded.startswith(("thuc hien", "can cu", "i.", "phan ", "- ", "1.")) or len(line) > 120 or "ngay" in folded


def _issuer_name(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    folded = fold(text)
    for long, short in (("uy ban nhan dan ", "UBND "),):
        if folded.startswith(long):
            text = short + text[len(long):]
    words = text.split(" ")
    # "UBND THÀNH PHỐ ĐÔNG TRIỀU" -> "UBND thành phố Đông Triều"
    out = [words[0] if words[0] == "UBND" else words[0].capitalize()]
    for word in words[1:]:
        lower = word.lower()
        out.append(lower if fold(lower) in {"xa", "phuong", "thi", "tran", "thanh", "pho", "huyen", "tinh", "so",
                                             "ban", "chi", "dao", "chuyen", "doi"} else word.capitalize())
    return " ".join(out)


_PERIOD_CUES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("monthly", ("hang thang", "moi thang", "bao cao thang", "dinh ky thang", "thang sau", "thang tiep theo")),
    ("quarterly", ("hang quy", "bao cao quy", "moi quy", "cuoi quy", "dinh ky quy")),
    ("half_yearly", ("6 thang", "sau thang", "nua nam", "so ket")),
    ("yearly", ("hang nam", "bao cao nam", "tong ket", "ca nam", "/12")),
)
_DAY = re.compile(r"\b(?:truoc|vao|den|cham nhat)\s*(?:ngay\s*)?(\d{1,2})(?!\d)"
                  r"(?:\s*/\s*(\d{1,2})|\s+thang\s+(\d{1,2})\b)?(?:\s*/\s*\d{4})?")


def _read_schedule(blocks: Sequence[Block]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Reporting days the body states: {frequency: rule} and the sentences they came from."""
    deadlines: dict[str, dict[str, Any]] = {}
    quoted: list[str] = []
    for block in blocks:
        if not isinstance(block, str):
            continue
        for sentence in re.split(r"(?<=\.)\s+(?=[A-ZĐÀ-Ỹ-])|\n", block):
            folded = fold(sentence)
            if "bao cao" not in folded and "gui" not in folded:
                continue
            new: dict[str, dict[str, Any]] = {}
            for clause in re.split(r";", folded):
                for frequency, rule in _deadlines_in(clause).items():
                    if frequency not in deadlines and frequency not in new:
                        new[frequency] = rule
            if new:
                deadlines.update(new)
                quoted.append(re.sub(r"\s+", " ", sentence).strip())
    return deadlines, quoted


def _deadlines_in(clause: str) -> dict[str, dict[str, Any]]:
    """Rules in one clause: each frequency named takes the day stated nearest to it."""
    found: dict[str, dict[str, Any]] = {}
    days = list(_DAY.finditer(clause))
    if not days:
        return found
    for frequency, words in _PERIOD_CUES:
        positions = [m.start() for word in words for m in re.finditer(re.escape(word), clause)]
        if not positions:
            continue
        position = positions[0]
        match = min(days, key=lambda d: abs(d.start() - position))
        day = int(match.group(1))
        if not 1 <= day <= 31 or frequency in found:
            continue
        rule: dict[str, Any] = {"day": day}
        if match.group(0).startswith(("truoc", "cham nhat")) or "cham nhat" in clause:
            rule["before"] = True
        month = match.group(2) or match.group(3)
        if frequency == "yearly" and month:
            rule["month"] = int(month)
        elif "thang sau" in clause or "thang tiep theo" in clause or "dau thang" in clause:
            rule["month"] = "next"
        elif frequency == "yearly":
            continue  # a yearly rule needs its month
        found[frequency] = rule
    return found


# --- tables ---------------------------------------------------------------------------------------


def _find_header(rows: list[list[str]]) -> tuple[int, dict[int, str]] | None:
    for position, cells in enumerate(rows[:6]):
        columns = _map_header(cells)
        if columns is not None:
            return position, columns
    return None


@dataclass(slots=True)
class _Table:
    index: int  # 1-based among appendix tables as found in the document
    title: str
    columns: dict[int, str]
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number within the document table, cells)
    titles: dict[int, str] = field(default_factory=dict)  # each column's header as printed


def _appendix_tables(blocks: Sequence[Block]) -> list[_Table]:
    """The appendix tables: those with a TT and a Mục tiêu/Chỉ tiêu column; a table that goes on
    over a page (the same header again, or no header and as many columns, with no new appendix
    title between) joins the one before."""
    tables: list[_Table] = []
    titles: list[str] = []
    seen_tables = 0
    for block in blocks:
        if isinstance(block, str):
            if block.strip():
                titles.append(block.strip())
            continue
        seen_tables += 1
        found = _find_header(block)
        new_title = _appendix_title(titles)
        if found is None:
            width = max((len(r) for r in block), default=0)
            if tables and not new_title and width == len(tables[-1].header):
                tables[-1].rows.extend((tables[-1].rows[-1][0] + n + 1 if tables[-1].rows else n + 1, r)
                                       for n, r in enumerate(block))
            titles = []
            continue
        position, columns = found
        header = list(block[position])
        titles = {column: _clean(header[column]) for column in columns if column < len(header)}
        start = position + 1
        if start < len(block):
            extra = _sub_header(columns, header, block[start])
            if extra:
                columns = {**columns, **extra}
                above = ""
                for column in range(len(header)):
                    above = header[column] or above
                    if column in extra:
                        titles[column] = _clean(f"{above} {block[start][column]}")
                start += 1
        if start < len(block) and _is_column_numbers(block[start]):
            start += 1
        body = [(n + 1, row) for n, row in enumerate(block) if n >= start]
        if tables and not new_title and columns == tables[-1].columns:  # its header repeated on a new page
            last = tables[-1].rows[-1][0] if tables[-1].rows else 0
            tables[-1].rows.extend((last + n, row) for n, row in body)
        else:
            tables.append(_Table(len(tables) + 1, new_title or "", columns, header, body, titles))
        titles = []
    return tables


def _appendix_title(paragraphs: list[str]) -> str | None:
    """The nearest "Phụ lục …" title (with the lines under it) among the paragraphs before a
    table; or the last short paragraph in capitals."""
    for index in range(len(paragraphs) - 1, -1, -1):
        if fold(paragraphs[index]).startswith("phu luc"):
            words = [paragraphs[index]]
            for line in paragraphs[index + 1: index + 3]:
                if not line.startswith("(") and len(line) < 200:
                    words.append(line)
            return re.sub(r"\s+", " ", " ".join(words)).strip()
    for text in reversed(paragraphs[-3:]):
        if text.isupper() and len(text) < 200:
            return text
    return None


# --- reading rows ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Reader:
    head: _Head
    doubts: list[Doubt] = field(default_factory=list)
    sources: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    indicators: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)

    def doubt(self, message: str, table: int | None, row: int | None, path: tuple[Any, ...] = (),
              **params: Any) -> None:
        self.doubts.append(Doubt(message, tuple((k, str(v)) for k, v in params.items()), table, row, path))

    def read(self, tables: list[_Table]) -> None:
        for table in tables:
            code = f"PL{table.index}" if len(tables) > 1 else "PL"
            self.tables.append({"code": code, "title": table.title or f"Phụ lục {table.index}"})
            self.sources[("tables", len(self.tables) - 1)] = (table.index, 0)
            self._rows(table, code)
        self._codes(len(tables))

    def _rows(self, table: _Table, table_code: str) -> None:
        group: str | None = None
        own_level = self._own_level(table)
        for row_number, raw in table.rows:
            cells = [c.strip() if c else "" for c in raw]
            if not any(cells) or _is_column_numbers(cells) or _map_header(cells) is not None:
                continue  # empty, column numbers, or the header repeated on a new page
            values: dict[str, str] = {}
            targets: list[tuple[str, str]] = []
            for column, name in table.columns.items():
                text = cells[column] if column < len(cells) else ""
                if name.startswith("target:"):
                    if text:
                        targets.append((name.removeprefix("target:"), text))
                elif text:
                    values[name] = text
            filled = [c for c in dict.fromkeys(cells) if c]
            number = values.get("number", "").strip().rstrip(".")
            lone = _GROUP_LEAD.match(filled[0]) if len(filled) == 1 else None
            if lone or (number and (_ROMAN.match(number) or re.fullmatch(r"[A-Z]", number)) and not targets):
                g_code = lone.group(1) if lone else number
                title = lone.group(2) if lone else (values.get("text") or g_code)
                group = self._group(table, table_code, g_code, title, row_number)
                continue
            if number and _NUMBER.match(number):
                self._indicator(table, table_code, group, row_number, number, values, targets, own_level)
            elif self.indicators and self.indicators[-1]["_table"] == table.index:
                self._continue(self.indicators[-1], values, targets, number)

    def _own_level(self, table: _Table) -> str | None:
        """Whose target column is the unit's own: the one naming the issuer's level, else the
        last that is not the province's."""
        levels = [name.removeprefix("target:") for name in table.columns.values() if name.startswith("target:")]
        issuer = fold(self.head.issuer or "")
        for level in levels:
            if level and level != "tinh" and f" {level} " in f" {issuer} ":
                return level
        others = [level for level in levels if level != "tinh"]
        return others[-1] if others else (levels[-1] if levels else None)

    def _group(self, table: _Table, table_code: str, code: str, title: str, row: int) -> str:
        title = re.sub(r"\s*\([^)]*(chi tieu|chỉ tiêu)[^)]*\)\s*$", "", title, flags=re.IGNORECASE).strip()
        title = re.sub(r"\s+", " ", title) or code
        key = code if not any(g["code"] == code for g in self.groups) else f"{table_code}.{code}"
        self.groups.append({"code": key, "table": table_code, "title": title})
        self.sources[("groups", len(self.groups) - 1)] = (table.index, row)
        return key

    def _indicator(self, table: _Table, table_code: str, group: str | None, row: int, number: str,
                   values: dict[str, str], targets: list[tuple[str, str]], own_level: str | None) -> None:
        node: dict[str, Any] = {"_table": table.index, "_row": row, "_number": number, "_group": group,
                                "table": table_code}
        for key in ("text", "lead", "coordinating", "tracking", "baseline", "level", "formula", "frequency",
                    "unit", "due", "note"):
            if key in values:
                node[key] = _clean(_list_breaks(key, values[key]))
        node["_targets"] = [(level, _clean(text)) for level, text in targets]
        node["_own"] = own_level
        node["_titles"] = {name: table.titles.get(column, name) for column, name in table.columns.items()}
        self.indicators.append(node)

    def _continue(self, node: dict[str, Any], values: dict[str, str], targets: list[tuple[str, str]],
                  number: str) -> None:
        """A row without a number (or with a bullet, "a)", "-"): the rest of the row above, split
        over a page or over lines, or a line of its text."""
        if number:
            values = {**values, "text": f"{number} {values.get('text', '')}".strip()}
        for key, text in values.items():
            if key == "number":
                continue
            text = _clean(_list_breaks(key, text))
            node[key] = f"{node[key]} {text}" if node.get(key) else text
        joined = dict(node["_targets"])
        for level, text in targets:
            joined[level] = f"{joined[level]} {_clean(text)}" if level in joined else _clean(text)
        node["_targets"] = list(joined.items())

    def _codes(self, table_count: int) -> None:
        """Codes: the printed number where it is unique; with numbering that restarts per group,
        the group's too ("II.3"); in a later table that repeats numbers, the table's ("PL2.3")."""
        by_table: dict[int, list[dict[str, Any]]] = {}
        for node in self.indicators:
            by_table.setdefault(node["_table"], []).append(node)
        used: set[str] = set()
        for index in sorted(by_table):
            nodes = by_table[index]
            numbers = [n["_number"] for n in nodes]
            restart = len(set(numbers)) < len(numbers)
            for node in nodes:
                code = node["_number"]
                if restart and node["_group"]:
                    code = f"{node['_group']}.{code}"
                if code in used or (index > 1 and any(n["_number"] == node["_number"] for n in by_table[min(by_table)])
                                    and table_count > 1 and index != min(by_table)):
                    code = f"{node['table']}.{code}"
                while code in used:
                    code = f"{code}-{node['_row']}"
                used.add(code)
                node["code"] = code[:24]


def _list_breaks(key: str, text: str) -> str:
    """In a column of offices, a line the author broke separates two of them."""
    if key not in ("lead", "coordinating", "tracking"):
        return text
    return re.sub(r"\s*[;,]?\s*\n\s*", "; ", text.strip())


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"(?<=\S)-\n(?=\w)", "-", text)
    return re.sub(r"\s+", " ", text).strip()


# --- indicators into the plan format ------------------------------------------------------------------


def _finish(reader: _Reader) -> None:
    for position, node in enumerate(reader.indicators):
        _finish_indicator(reader, position, node)


def _finish_indicator(reader: _Reader, position: int, node: dict[str, Any]) -> None:
    table, row = node["_table"], node["_row"]
    path = ("indicators", position)
    for key in list(node):
        if not key.startswith("_"):
            reader.sources[(*path, key)] = (table, row)
    text = node.get("text") or ""
    if not text:
        node["text"] = node["code"]
        reader.doubt("docplan-doubt-no-text", table, row, (*path, "text"), code=node["code"])
    node["title"] = _short_title(node["text"])
    group = node.pop("_group")
    if group:
        node["group"] = group
    _choose_target(reader, node, path)
    if "frequency" in node:
        frequency = key_of(node["frequency"], FREQUENCY_WORDS) or _frequency_words(node["frequency"])
        if frequency:
            node["frequency"] = frequency
        else:
            reader.doubt("docplan-doubt-frequency", table, row, (*path, "frequency"), value=node["frequency"])
            node["_frequency_text"] = node.pop("frequency")
    if not node.get("lead") and not node.get("coordinating"):
        reader.doubt("docplan-doubt-no-lead", table, row, (*path, "lead"), code=node["code"])


def _frequency_words(text: str) -> str | None:
    folded = fold(text)
    for key, cue in (("half_yearly", "6 thang"), ("quarterly", "quy"), ("monthly", "thang"), ("yearly", "nam")):
        if cue in folded:
            return key
    return None


def _choose_target(reader: _Reader, node: dict[str, Any], path: tuple[Any, ...]) -> None:
    """The unit's own target column is the target; the province's is kept as province_target and
    any other as a note beside it. Each piece goes through the target parser; a piece it cannot
    read is taken from the row's text where the text states one, else marked as a milestone, and
    a doubt says so either way."""
    table, row = node["_table"], node["_row"]
    targets: list[tuple[str, str]] = node.pop("_targets")
    own = node.pop("_own")
    chosen = next((text for level, text in targets if level == own), None)
    if chosen is None and targets:
        chosen = next((text for level, text in targets if level != "tinh"), targets[-1][1])
    chosen_at = next((i for i, (level, text) in enumerate(targets) if text == chosen and level == own), None)
    if chosen_at is None:
        chosen_at = next((i for i, (_, text) in enumerate(targets) if text == chosen), None)
    others = [pair for i, pair in enumerate(targets) if i != chosen_at]
    titles = [title for name, title in node["_titles"].items() if name.startswith("target:")]
    for index, (level, text) in enumerate(others):
        if level == "tinh" and "province_target" not in node:
            node["province_target"] = text
        else:
            column = next((t for t in titles if _level_of(_header_key(t)) == (level or None)), f"{index + 1}")
            node.setdefault("_references", []).append((column, text))
    if chosen is None and node.get("due"):
        chosen = node["due"] if _parses(node["due"]) else f"Hoàn thành {node['due']}"
    if chosen is None:
        stated = _stated_target(node.get("text") or "")
        chosen = stated or "-"
        reader.doubt("docplan-doubt-target-from-text" if stated else "docplan-doubt-no-target", table, row,
                     (*path, "target"), code=node["code"], target=chosen)
    chosen = _with_unit(chosen, node.get("unit"))
    node["target"] = chosen
    _parts(reader, node, path)


def _with_unit(target: str, unit: str | None) -> str:
    """The ĐVT column's unit added to a bare number ("80" in a "%" column, "05" in a "thôn" one)."""
    unit = (unit or "").strip()
    if not unit or ";" in target:
        return target
    if unit == "%":
        return f"{target.strip()}%" if re.fullmatch(r"[\d.,]+", target.strip()) else target
    try:
        parsed = parse_target_detail(target)[0]
    except (TargetParseError, ValueError):
        return target
    if parsed.measure is Measure.COUNT and not parsed.unit:
        return f"{target.strip()} {unit}"
    return target


def _parses(raw: str) -> bool:
    try:
        parse_target_detail(raw)
    except (TargetParseError, ValueError):
        return False
    return True


def _stated_target(text: str) -> str | None:
    """A target the row's text states: its last percentage, with the words before it."""
    found = stated_comparisons(text)
    if not found:
        return None
    value, _ = found[-1]
    match = list(re.finditer(r"((?:tối thiểu|trên|dưới|ít nhất|tối đa|không quá|từ|đạt)\s+)?[\d.,]+\s*%",
                             text, re.IGNORECASE))
    return match[-1].group(0).strip() if match else f"{value}%"


def _parts(reader: _Reader, node: dict[str, Any], path: tuple[Any, ...]) -> None:
    table, row = node["_table"], node["_row"]
    raw = node["target"]
    pieces = split_target(raw) if raw.strip() not in ("", "-") else []
    read: list[str | None] = [piece if _parses(piece) else None for piece in pieces]
    if pieces and all(read) and len(pieces) == 1:
        return
    if not pieces:
        read = [None]
    parts: list[dict[str, Any]] = []
    stated = _stated_target(node.get("text") or "")
    for index, piece in enumerate(read):
        part: dict[str, Any] = {"code": node["code"] if len(read) == 1 else f"{node['code']}{'abcdefgh'[index % 8]}"}
        if piece is None:
            original = pieces[index] if index < len(pieces) else raw
            if stated and _parses(stated):
                part["target"] = stated
                reader.doubt("docplan-doubt-target-from-text", table, row, (*path, "target"), code=part["code"],
                             target=stated, raw=original)
            else:
                part["target"] = "Hoàn thành"
                part["measure"] = "milestone"
                reader.doubt("docplan-doubt-target-unread", table, row, (*path, "target"), code=part["code"],
                             raw=original)
        parts.append(part)
    node["parts"] = parts


def _short_title(text: str) -> str:
    title = ""
    for word in text.split():
        if len(title) + len(word) + 1 > _TITLE_MAX:
            return (title or word[:_TITLE_MAX]) + "…"
        title = f"{title} {word}".strip()
    return title or "-"


# --- units -------------------------------------------------------------------------------------------


def names_in(cell: str) -> tuple[list[str], list[str]]:
    """The bodies a lead/coordinating/tracking cell names, and its collective phrases ("UBND các
    xã, phường", "các thôn"), in order."""
    names: list[str] = []
    collective: list[str] = []
    pieces = [p.strip(" .:-–") for p in _split_outside_brackets(cell) if p and p.strip(" .:-–")]
    for piece in pieces:
        inner = re.search(r"\(([^)]*)\)", piece)
        if inner and _COLLECTIVE_START.search(f" {fold(piece)}"):  # "Các doanh nghiệp (VNPT, Viettel)"
            names.extend(n.strip() for n in re.split(r"[,;]", inner.group(1)) if len(n.strip()) > 2)
        folded = fold(piece)
        if _COLLECTIVE_START.search(f" {folded}") or folded.startswith("cac "):
            collective.append(piece)
        elif folded in _COLLECTIVE_TAIL and collective:
            collective[-1] = f"{collective[-1]}, {piece}"
        elif folded in _COLLECTIVE_TAIL or len(folded) < 3:
            continue
        else:
            names.append(re.sub(r"\s+", " ", piece))
    return names, collective


def _split_outside_brackets(cell: str) -> list[str]:
    pieces, depth, current = [], 0, []
    for char in cell:
        depth += (char == "(") - (char == ")")
        if char in ";,\n" and depth <= 0:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return pieces


def _kind_of(name: str) -> str:
    folded = fold(name) + " "
    return next((kind for word, kind in _KIND_WORDS if folded.startswith(word)), "agency")


def _units(reader: _Reader, extra: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Units: those given (an earlier plan's, or a list), then every body the columns name."""
    units: list[dict[str, Any]] = [dict(u) for u in extra]
    known = {fold(n) for u in units for n in (u["name"], *(u.get("aliases") or ()))}
    codes = {u["code"] for u in units}
    collective: list[str] = []
    issuer = reader.head.issuer
    if issuer and fold(issuer) not in known:
        code = _unique("ubnd", codes)
        units.insert(0, {"code": code, "name": issuer, "kind": _issuer_kind(issuer)})
        known.add(fold(issuer))
        codes.add(code)
    for position, node in enumerate(reader.indicators):
        for key in ("lead", "coordinating", "tracking"):
            names, phrases = names_in(node.get(key) or "")
            for phrase in phrases:
                if phrase not in collective:
                    collective.append(phrase)
                    if not extra:
                        reader.doubt("docplan-doubt-collective", node["_table"], node["_row"],
                                     ("indicators", position, key), phrase=phrase)
            for name in names:
                if fold(name) in known:
                    continue
                code = _unique(slug(name)[:60] or "don-vi", codes)
                units.append({"code": code, "name": name, "kind": _kind_of(name),
                              "_src": (node["_table"], node["_row"])})
                known.add(fold(name))
                codes.add(code)
    _join_short_names(reader, units)
    for index, unit in enumerate(units):
        if "_src" in unit:
            reader.sources[("units", index)] = unit.pop("_src")
    return units, collective


_PREFIXES = ("trung tam", "chi cuc", "van phong", "chi nhanh", "phong", "ban", "so")


def _prefix_and_rest(name: str) -> tuple[str | None, str]:
    folded = fold(name)
    prefix = next((p for p in _PREFIXES if folded.startswith(p + " ")), None)
    return prefix, (name[len(prefix) + 1:].strip() if prefix else "")


def _join_short_names(reader: _Reader, units: list[dict[str, Any]]) -> None:
    """"Phòng VHTT" beside "Phòng Văn hóa và Thông tin" (and "Phòng TC-KH" beside "Phòng Tài chính
    - Kế hoạch") is one office: the short name becomes the long one's other name, with a doubt."""
    longs: dict[tuple[str, str], dict[str, Any]] = {}
    shorts: list[tuple[str, str, dict[str, Any]]] = []
    for unit in units:
        prefix, rest = _prefix_and_rest(unit["name"])
        if "_src" not in unit or prefix is None:
            continue
        if re.fullmatch(r"[A-ZĐ0-9&\-. ]{2,12}", rest):
            shorts.append((prefix, fold(re.sub(r"[&\-. ]", "", rest)).upper(), unit))
            continue
        words = [w for w in re.split(r"[\s&-]+", rest) if w and fold(w) != "va"]
        longs.setdefault((prefix, fold("".join(w[0] for w in words)).upper()), unit)
    for prefix, letters, unit in shorts:
        long = longs.get((prefix, letters))
        if long is None:
            continue
        long.setdefault("aliases", []).append(unit["name"])
        units.remove(unit)
        reader.doubt("docplan-doubt-alias", unit["_src"][0], unit["_src"][1], ("unit", long["code"]),
                     short=unit["name"], name=long["name"])


def _issuer_kind(issuer: str) -> str:
    folded = fold(issuer)
    for word, kind in (("ubnd xa", "commune"), ("ubnd phuong", "ward"), ("ubnd thi tran", "township"),
                       ("ubnd tinh", "province")):
        if folded.startswith(word):
            return kind
    return "city"


def _unique(code: str, codes: set[str]) -> str:
    code = re.sub(r"[^A-Za-z0-9._-]+", "-", code).strip("-._") or "don-vi"
    if code not in codes:
        return code
    n = 2
    while f"{code}-{n}" in codes:
        n += 1
    return f"{code}-{n}"


# --- the whole ------------------------------------------------------------------------------------------


def read_document(blocks: Sequence[Block], name: str, units: Sequence[dict[str, Any]] = ()) -> Draft:
    """The draft plan a document gives; raises DocumentError when it has no appendix table.
    `units`: a list of units to start from (`--units`, or an earlier plan's)."""
    tables = _appendix_tables(blocks)
    if not tables:
        raise DocumentError("docplan-error-no-table")
    head = _read_head(blocks)
    reader = _Reader(head)
    reader.read(tables)
    if not reader.indicators:
        raise DocumentError("docplan-error-no-rows")
    _finish(reader)
    unit_list, collective = _units(reader, units)
    deadlines, quoted = _read_schedule(blocks)
    plan_head: dict[str, Any] = {"code": _plan_code(name, head)}
    plan_head["title"] = head.title or (tables[0].title or name)
    if head.year is None:
        reader.doubt("docplan-doubt-no-year", None, None, ("plan", "year"))
    plan_head["year"] = head.year or date.today().year
    if head.issuer:
        plan_head["issuer"] = head.issuer
    if head.number and not head.number.startswith("/"):
        plan_head["document"] = head.number
    elif head.number:
        reader.doubt("docplan-doubt-no-number", None, None, ("plan", "document"), number=head.number)
    if head.issued_on:
        plan_head["issued_on"] = head.issued_on
    plan_head["source"] = name
    tracking = _tracking_unit(reader, unit_list, quoted)
    if tracking:
        plan_head["tracking_unit"] = tracking
    plan: dict[str, Any] = {"format": 1, "plan": plan_head}
    if deadlines:
        plan["schedule"] = {"source": " ".join(quoted), "deadlines": deadlines}
    else:
        reader.doubt("docplan-doubt-no-schedule", None, None, ("schedule",))
    plan["units"] = unit_list
    plan["tables"] = reader.tables
    if reader.groups:
        plan["groups"] = reader.groups
    plan["indicators"] = reader.indicators
    reader.doubts.sort(key=lambda d: (d.table or 0, d.row or 0))
    return Draft(plan=plan, doubts=reader.doubts, sources=reader.sources, tables=len(tables), collective=collective)


def _plan_code(name: str, head: _Head) -> str:
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", name.rsplit("/", 1)[-1])
    code = re.sub(r"[^A-Za-z0-9_-]+", "-", slug(stem)).strip("-")[:32]
    return code or f"KH{head.year or ''}"


def _tracking_unit(reader: _Reader, units: list[dict[str, Any]], sentences: list[str]) -> str | None:
    """The office named most often in the tracking column; without one, the office the body's
    reporting sentence sends reports to ("gửi báo cáo về Phòng Văn hóa và Thông tin"), else the one
    named most often as lead."""
    counts: dict[str, int] = {}
    by_name = {fold(n): u["code"] for u in units for n in (u["name"], *(u.get("aliases") or ()))}
    if not any(node.get("tracking") for node in reader.indicators):
        said = fold(" ".join(sentences))
        named = sorted(((said.find(name), code) for name, code in by_name.items()
                        if len(name) > 6 and name in said), key=lambda pair: pair[0])
        if named:
            return named[0][1]
    for key in ("tracking", "lead"):
        for node in reader.indicators:
            for name in names_in(node.get(key) or "")[0]:
                code = by_name.get(fold(name))
                if code:
                    counts[code] = counts.get(code, 0) + 1
        if counts:
            break
    return max(counts, key=lambda c: counts[c]) if counts else None


def summary_lines(draft: Draft, name: str, t: Translate) -> list[str]:
    """What was read, in a few lines: counts, the plan's head, the reporting days' source."""
    head = draft.plan["plan"]
    lines = [t("docplan-summary", name=name, tables=draft.tables, groups=len(draft.groups),
               indicators=len(draft.indicators), targets=draft.targets, units=len(draft.plan["units"]),
               doubts=len(draft.doubts)),
             t("docplan-summary-head", title=head["title"], year=head["year"],
               document=t("docplan-summary-document", number=head["document"]) if head.get("document") else "")]
    if "schedule" in draft.plan:
        lines.append(t("docplan-summary-schedule", sentence=draft.plan["schedule"]["source"]))
    return lines


# --- the draft as YAML, with its doubts and sources as comments -------------------------------------------

_INDICATOR_KEYS = ("code", "number", "table", "group", "title", "text", "lead", "coordinating", "tracking",
                   "province_target", "target", "baseline", "level", "frequency", "formula", "reporters", "parts")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return json.dumps(str(value), ensure_ascii=False)


def _comment(text: str) -> str:
    return "  # " + re.sub(r"\s+", " ", text).strip() if text else ""


def draft_yaml(draft: Draft, t: Translate) -> str:
    """The draft in the plan file format; each doubt a comment beside its value, each indicator
    and unit with the place it was read from. Imports as is."""
    doubts: dict[tuple[Any, ...], list[str]] = {}
    for doubt in draft.doubts:
        doubts.setdefault(doubt.path, []).append(t(doubt.message, **dict(doubt.params)))

    def note(path: tuple[Any, ...]) -> str:
        said = doubts.get(path)
        return _comment(t("docplan-draft-doubt", doubt=" / ".join(said))) if said else ""

    plan = draft.plan
    out = [f"# {t('docplan-draft-header', source=plan['plan'].get('source', ''))}",
           f"# {t('docplan-draft-doubts', count=len(draft.doubts))}", "format: 1",
           f"plan:{_comment(t('docplan-source-head'))}"]
    for key, value in plan["plan"].items():
        out.append(f"  {key}: {_scalar(value)}{note(('plan', key))}")
    if "schedule" in plan:
        out.append(f"schedule:{note(('schedule',))}")
        out.append(f"  source: {_scalar(plan['schedule']['source'])}")
        out.append("  deadlines:")
        for frequency, rule in plan["schedule"]["deadlines"].items():
            inner = ", ".join(f"{k}: {_scalar(v)}" for k, v in rule.items())
            out.append(f"    {frequency}: {{{inner}}}")
    else:
        out.append(f"# schedule:{note(('schedule',))}")
    out.append("units:")
    if draft.collective:
        out.append(f"  # {t('docplan-draft-collective', phrases='; '.join(draft.collective))}")
    for index, unit in enumerate(plan["units"]):
        where = draft.sources.get(("units", index))
        source = _comment(t("docplan-source", table=where[0], row=where[1])) if where else ""
        fields = ", ".join(f"{k}: {_yaml_value(v)}" for k, v in unit.items() if v not in (None, "", [], ()))
        out.append(f"  - {{{fields}}}{source}{note(('unit', unit['code']))}")
    out.append("tables:")
    for table in plan["tables"]:
        out.append(f"  - {{code: {_scalar(table['code'])}, title: {_scalar(table['title'])}}}")
    if plan.get("groups"):
        out.append("groups:")
        for index, group in enumerate(plan["groups"]):
            where = draft.sources.get(("groups", index))
            source = _comment(t("docplan-source", table=where[0], row=where[1])) if where else ""
            out.append(f"  - {{code: {_scalar(group['code'])}, table: {_scalar(group['table'])}, "
                       f"title: {_scalar(group['title'])}}}{source}")
    out.append("indicators:")
    for index, node in enumerate(plan["indicators"]):
        out.extend(_indicator_yaml(draft, index, node, note, t))
    return "\n".join(out) + "\n"


def _yaml_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_value(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _indicator_yaml(draft: Draft, index: int, node: dict[str, Any], note: Callable[[tuple[Any, ...]], str],
                    t: Translate) -> list[str]:
    path = ("indicators", index)
    out = [f"  # {t('docplan-source', table=node['_table'], row=node['_row'])}"]
    first = True
    for key in _INDICATOR_KEYS:
        if key == "number":
            value: Any = node["_number"]
        else:
            value = node.get(key)
        if value in (None, "", []):
            continue
        lead = "  - " if first else "    "
        first = False
        if key == "parts":
            out.append(f"{lead}parts:")
            for part in value:
                out.append(f"      - {{{', '.join(f'{k}: {_scalar(v)}' for k, v in part.items())}}}")
            continue
        if key == "reporters":
            out.append(f"{lead}reporters: {_yaml_value(value)}{note((*path, key))}")
            continue
        out.append(f"{lead}{key}: {_scalar(value)}{note((*path, key))}")
    for column, text in node.get("_references", []):
        out.append(f"    # {t('docplan-draft-reference', column=column, target=text)}")
    titles = node.get("_titles", {})
    for key in ("unit", "due", "note", "_frequency_text"):
        if node.get(key) and node[key] != node.get("target"):
            column = titles.get(key.strip("_"), key.strip("_"))
            out.append(f"    # {t('docplan-draft-column', column=column, value=node[key])}")
    return out
