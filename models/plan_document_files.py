"""Thin readers for a plan's own document (issue 22): a DOCX through python-docx, a PDF through
pdfplumber, both into the blocks models/plan_document.py reads (paragraphs and tables in reading
order); and the draft checked by the plan validator, so that it imports as it is written.

No network, no service. A file too big, broken, locked by a password or scanned (a PDF with no
text layer) gets one DocumentError: one clear line for the person, nothing imported.
"""
from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.plan_document import Block, DocumentError, Draft, draft_yaml, read_document
from models.plan_source import PlanFileError, megabytes
from models.plans import load_plan_file

__all__ = ["DOCUMENT_SUFFIXES", "MAX_DOCUMENT_BYTES", "document_blocks", "read_plan_document", "units_of"]

DOCUMENT_SUFFIXES = (".docx", ".pdf")
MAX_DOCUMENT_BYTES = 20 * 2**20  # a plan with its appendices is a few hundred KB; a scan a few MB
MAX_UNPACKED_BYTES = 100 * 2**20
MAX_PAGES = 200
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Word file locked by a password, or an old .doc


def document_blocks(content: bytes, name: str) -> list[Block]:
    """The document's paragraphs and tables in reading order; raises DocumentError."""
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentError("docplan-error-too-big", size=megabytes(len(content)), limit=megabytes(MAX_DOCUMENT_BYTES))
    if content.startswith(b"%PDF"):
        return _pdf_blocks(content)
    if content.startswith(_OLE):
        raise DocumentError("docplan-error-locked")
    if content.startswith(b"PK"):
        return _docx_blocks(content)
    suffix = Path(name).suffix.lower()
    if suffix in DOCUMENT_SUFFIXES:
        raise DocumentError("docplan-error-broken", kind=suffix.lstrip(".").upper())
    raise DocumentError("docplan-error-kind")


# --- DOCX -------------------------------------------------------------------------------------------


def _docx_blocks(content: bytes) -> list[Block]:
    import io

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            entries = package.infolist()
            if sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES or len(entries) > 2000:
                raise DocumentError("docplan-error-too-big", size=megabytes(sum(e.file_size for e in entries)),
                                    limit=megabytes(MAX_UNPACKED_BYTES))
            if "word/document.xml" not in package.namelist():
                raise DocumentError("docplan-error-broken", kind="DOCX")
        document = Document(io.BytesIO(content))
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, OSError):
        raise DocumentError("docplan-error-broken", kind="DOCX") from None
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    blocks: list[Block] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = Paragraph(child, document).text.strip()
            if text:
                blocks.append(text)
        elif tag == "tbl":
            blocks.append(_docx_table(Table(child, document)))
    return blocks


def _docx_table(table: Any) -> list[list[str]]:
    """Rows of cell text; a cell merged across columns is read once (its other columns blank),
    a cell merged down the rows gives its text to each row it spans."""
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous:
                cells.append("")
                continue
            previous = cell._tc
            cells.append("\n".join(p.text for p in cell.paragraphs).strip())
        rows.append(cells)
    return rows


# --- PDF ------------------------------------------------------------------------------------------------


def _pdf_blocks(content: bytes) -> list[Block]:
    import io
    import logging

    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    blocks: list[Block] = []
    chars = 0
    try:
        with pdfplumber.open(io.BytesIO(content)) as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise DocumentError("docplan-error-pages", pages=len(pdf.pages), limit=MAX_PAGES)
            for page in pdf.pages:
                chars += len(page.chars)
                blocks.extend(_pdf_page(page))
    except DocumentError:
        raise
    except Exception as exc:  # pdfminer and pdfplumber raise many kinds for a broken or locked file
        if _locked(exc, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise DocumentError("docplan-error-locked") from None
        raise DocumentError("docplan-error-broken", kind="PDF") from None
    if chars == 0:
        raise DocumentError("docplan-error-scan")
    return blocks


def _locked(exc: BaseException | None, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether a password stopped the reading, wherever in the chain of exceptions it shows."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, kinds) or any(isinstance(arg, kinds) for arg in exc.args) \
                or "password" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _pdf_page(page: Any) -> list[Block]:
    """A page's text lines outside its tables and its tables, ordered top to bottom."""
    tables = page.find_tables()
    boxes = [table.bbox for table in tables]

    def outside(obj: dict[str, Any]) -> bool:
        if obj.get("object_type") != "char":
            return True
        x = (obj["x0"] + obj["x1"]) / 2
        y = (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= x <= x1 and top <= y <= bottom for x0, top, x1, bottom in boxes)

    placed: list[tuple[float, Block]] = []
    for line in page.filter(outside).extract_text_lines(return_chars=False):
        text = line["text"].strip()
        if text and not re.fullmatch(r"\d{1,3}", text):  # page numbers
            placed.append((line["top"], text))
    for table in tables:
        # A line break inside a PDF cell is where the text wrapped, not one the author typed.
        rows = [[(cell or "").replace("\n", " ") for cell in row] for row in table.extract()]
        placed.append((table.bbox[1], rows))
    placed.sort(key=lambda item: item[0])
    return [block for _, block in placed]


# --- the draft, checked --------------------------------------------------------------------------------------


def units_of(path: Path) -> list[dict[str, Any]]:
    """Units to start a draft from: an earlier plan's (YAML or XLSX plan file), or a list (CSV or
    XLSX with the columns Mã, Tên, Loại; or just one name a line). Raises DocumentError."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DocumentError("docplan-error-units-file", path=str(path))
    if suffix in (".yaml", ".yml"):
        try:
            spec = load_plan_file(path)
        except PlanFileError as exc:
            raise DocumentError("docplan-error-units-plan", path=str(path), count=len(exc.issues)) from None
        return [{"code": u.code, "name": u.name, "kind": u.kind, **({"aliases": list(u.aliases)} if u.aliases else {})}
                for u in spec.units]
    rows = _list_rows(path, suffix)
    return _units_from_rows(rows)


def _list_rows(path: Path, suffix: str) -> list[list[str]]:
    if suffix == ".csv":
        import csv

        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise DocumentError("docplan-error-units-file", path=str(path)) from None
        return [[c.strip() for c in row] for row in csv.reader(text.splitlines())]
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # openpyxl's many kinds of broken file
            raise DocumentError("docplan-error-units-file", path=str(path)) from None
        try:
            sheet = book.worksheets[0]
            return [[str(c).strip() if c is not None else "" for c in row]
                    for row in sheet.iter_rows(max_row=20_000, max_col=10, values_only=True)]
        finally:
            book.close()
    raise DocumentError("docplan-error-units-file", path=str(path))


def _units_from_rows(rows: list[list[str]]) -> list[dict[str, Any]]:
    from models.plan_document import _kind_of  # the same guess as the document's own names
    from models.plan_words import KIND_WORDS, key_of
    from models.text import fold, slug

    rows = [r for r in rows if any(r)]
    if not rows:
        return []
    header = [fold(c) for c in rows[0]]
    columns = {"code": None, "name": None, "kind": None}
    for index, word in enumerate(header):
        if word in ("ma", "code") and columns["code"] is None:
            columns["code"] = index
        elif word in ("ten", "name", "ten don vi") and columns["name"] is None:
            columns["name"] = index
        elif word in ("loai", "kind") and columns["kind"] is None:
            columns["kind"] = index
    body = rows[1:] if columns["name"] is not None else rows
    name_at = columns["name"] if columns["name"] is not None else 0
    units: list[dict[str, Any]] = []
    codes: set[str] = set()
    for row in body:
        name = row[name_at].strip() if name_at < len(row) else ""
        if not name:
            continue
        code_at, kind_at = columns["code"], columns["kind"]
        code = (row[code_at] if code_at is not None and code_at < len(row) else "") or slug(name)[:60]
        code = re.sub(r"[^A-Za-z0-9._-]+", "-", code).strip("-") or f"don-vi-{len(units) + 1}"
        if code in codes:
            continue
        kind_raw = row[kind_at] if kind_at is not None and kind_at < len(row) else ""
        kind = (key_of(kind_raw, KIND_WORDS) if kind_raw else None) or _kind_of(name)
        codes.add(code)
        units.append({"code": code, "name": name, "kind": kind, "aliases": _short_names(name)})
    return units


def _short_names(name: str) -> list[str]:
    """"Xã Tân An" is also named "UBND xã Tân An" and "Tân An" in the plans."""
    match = re.match(r"^(Xã|Phường|Thị trấn)\s+(.+)$", name, re.IGNORECASE)
    if not match:
        return []
    aliases = [f"UBND {match.group(1).lower()} {match.group(2)}"]
    if len(match.group(2).split()) >= 2 and not any(ch.isdigit() for ch in match.group(2)):
        aliases.append(match.group(2))  # "An Sinh"; not "Đông" alone, which other names hold
    return aliases


def read_plan_document(content: bytes, name: str, t: Any,
                       units: Sequence[dict[str, Any]] = ()) -> tuple[Draft, str]:
    """The draft a document gives and its YAML, checked by the plan validator: an indicator no
    unit would report (its columns name only a collective phrase no list fills in) is given to
    its tracking or lead office, with a doubt saying so. Raises DocumentError."""
    draft = read_document(document_blocks(content, name), name, units)
    if units:
        _fill_collective(draft)
    text = draft_yaml(draft, t)
    for _ in range(2):
        issues = _validate(text)
        if not issues:
            return draft, text
        if not _repair(draft, issues):
            break
        text = draft_yaml(draft, t)
    issues = _validate(text)
    if issues:
        raise DocumentError("docplan-error-draft", problems="; ".join(issues[:3]))
    return draft, text


# Collective phrases whose members have no unit kind of their own ("các thôn"): a list's units whose
# names start with the same word are those members.
_MEMBER_WORDS = ("thon", "to dan pho", "xom", "khu pho", "ap", "truong")


def _fill_collective(draft: Draft) -> None:
    """With a list of units given, an indicator naming "các thôn" (or "các trường", …) is reported
    by the listed units of that word, beside the units its columns name."""
    from types import SimpleNamespace

    from models.plan_document import names_in
    from models.plans import derive_reporters
    from models.text import fold

    units = [SimpleNamespace(code=u["code"], name=u["name"], kind=u["kind"], aliases=tuple(u.get("aliases") or ()))
             for u in draft.plan["units"]]
    for node in draft.indicators:
        named_in = " ; ".join(filter(None, [node.get("lead"), node.get("coordinating")]))
        members: list[str] = []
        for phrase in names_in(named_in)[1]:
            words = [w for w in _MEMBER_WORDS if re.search(rf"\bcac {w}\b", fold(phrase))]
            members.extend(u.code for u in units for w in words if fold(u.name).startswith(f"{w} "))
        if members:
            derived = derive_reporters(named_in, units)
            node["reporters"] = {"units": list(dict.fromkeys([*derived, *members]))}


def _validate(text: str) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "draft.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_plan_file(path)
        except PlanFileError as exc:
            return [f"{issue.field}: {issue.message}" for issue in exc.issues]
    return []


def _repair(draft: Draft, issues: list[str]) -> bool:
    from models.plan_document import Doubt
    from models.text import fold

    by_code = {node["code"]: (index, node) for index, node in enumerate(draft.indicators)}
    units = draft.plan["units"]
    by_name = {fold(n): u["code"] for u in units for n in (u["name"], *(u.get("aliases") or ()))}
    repaired = False
    for issue in issues:
        match = re.match(r"indicators\.(.+?)\.(?:parts\[\d+\]\.)?reporters: plan-error-no-reporters$", issue)
        if not match or match.group(1) not in by_code:
            continue
        index, node = by_code[match.group(1)]
        if node.get("reporters"):
            continue
        chosen = None
        for key in ("tracking", "lead", "coordinating"):
            for piece in re.split(r"[;,\n]", node.get(key) or ""):
                chosen = by_name.get(fold(piece.strip(" .")))
                if chosen:
                    break
            if chosen:
                break
        chosen = chosen or draft.plan["plan"].get("tracking_unit") or units[0]["code"]
        node["reporters"] = {"units": [chosen]}
        for part in node.get("parts") or []:
            part.pop("reporters", None)
        draft.doubts.append(Doubt("docplan-doubt-reporters", (("code", node["code"]), ("unit", chosen)),
                                  node["_table"], node["_row"], ("indicators", index, "reporters")))
        repaired = True
    draft.doubts.sort(key=lambda d: (d.table or 0, d.row or 0))
    return repaired
