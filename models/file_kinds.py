"""What a file sent as evidence really is, from its bytes (issue 17): an allow-list, never the name.

A photo of a signed report, a scanned PDF, a spreadsheet or a Word file is kept; anything else is
refused with a reason the sender can act on. The name and the messenger's MIME type are only
hints (a phone may call a PDF "application/octet-stream"); the content decides, so an executable
renamed "baocao.pdf" is refused as what it is. Office files are zip archives: they count only with
the parts their format requires, and macro-enabled ones (a vbaProject part) are refused.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["MAX_BYTES", "Refusal", "Sniffed", "check", "sniff"]

MAX_BYTES = 20 * 1024 * 1024  # 20 MB: also what Telegram's getFile serves to bots


class Refusal(StrEnum):
    EMPTY = "empty"
    TOO_BIG = "too-big"
    EXECUTABLE = "executable"  # a program or a script, whatever its name says
    MACRO = "macro"  # an Office file carrying macros
    UNKNOWN = "unknown"  # not one of the kinds kept


@dataclass(frozen=True, slots=True)
class Sniffed:
    content_type: str
    extension: str  # the usual one, for a name without one


# Programs and scripts, by their first bytes.
_EXECUTABLE = (
    b"MZ",  # Windows .exe / .dll / .scr
    b"\x7fELF",  # Linux
    b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce",  # macOS Mach-O
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
    b"#!",  # a script
    b"dex\n",  # Android
)
_IMAGES = (
    (b"\xff\xd8\xff", Sniffed("image/jpeg", "jpg")),
    (b"\x89PNG\r\n\x1a\n", Sniffed("image/png", "png")),
    (b"GIF87a", Sniffed("image/gif", "gif")),
    (b"GIF89a", Sniffed("image/gif", "gif")),
)
_PDF = Sniffed("application/pdf", "pdf")
_XLSX = Sniffed("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
_DOCX = Sniffed("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
_PPTX = Sniffed("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old .xls / .doc container
_OLE_KINDS = {"xls": Sniffed("application/vnd.ms-excel", "xls"), "doc": Sniffed("application/msword", "doc")}
_ZIP = b"PK\x03\x04"
_OFFICE_MAIN = (("xl/workbook.xml", _XLSX), ("word/document.xml", _DOCX), ("ppt/presentation.xml", _PPTX))


def check(size: int | None) -> Refusal | None:
    """A refusal from the announced size alone, before anything is downloaded."""
    if size is not None and size > MAX_BYTES:
        return Refusal.TOO_BIG
    return None


def sniff(content: bytes, name: str = "") -> Sniffed | Refusal:
    """The kind of file these bytes are, or why they are not kept."""
    if not content:
        return Refusal.EMPTY
    if len(content) > MAX_BYTES:
        return Refusal.TOO_BIG
    if content.startswith(_EXECUTABLE):
        return Refusal.EXECUTABLE
    for magic, kind in _IMAGES:
        if content.startswith(magic):
            return kind
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return Sniffed("image/webp", "webp")
    # A PDF's header may follow a little junk (some scanners); the spec allows 1024 bytes.
    if b"%PDF-" in content[:1024]:
        return _PDF
    if content.startswith(_OLE):
        # No macro check is possible without parsing the container: the old formats pass only
        # under their own names, as offices still send them.
        suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        return _OLE_KINDS.get(suffix, Refusal.UNKNOWN)
    if content.startswith(_ZIP):
        return _office(content)
    return Refusal.UNKNOWN


def _office(content: bytes) -> Sniffed | Refusal:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return Refusal.UNKNOWN
    if "[Content_Types].xml" not in names:
        return Refusal.UNKNOWN  # a plain zip (or a .jar, an .apk): not an Office file
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        return Refusal.MACRO
    if any(n.lower().endswith((".exe", ".dll", ".scr", ".bat", ".cmd", ".js", ".vbs", ".ps1")) for n in names):
        return Refusal.EXECUTABLE
    for main, kind in _OFFICE_MAIN:
        if main in names:
            return kind
    return Refusal.UNKNOWN
