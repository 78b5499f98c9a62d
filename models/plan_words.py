"""The words of the plan file format as offices write them, both ways.

Spreadsheets (export, the XLSX plan import, the officer's template) show the Vietnamese words an
office writes ("Tháng", "Lũy kế từ đầu năm", "≥", "Phòng, ban"); plan files may use them or the
English keys the YAML format documents (docs/plan-format.md). These are file-format keywords, the
same in every reader's language, like the sheets' headers. Pure: no I/O.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from models.text import fold

__all__ = [
    "ACCUMULATION_WORDS",
    "COMPARISON_WORDS",
    "FREQUENCY_WORDS",
    "KIND_WORDS",
    "MEASURE_WORDS",
    "META_WORDS",
    "allowed_text",
    "deadline_text",
    "deadline_words",
    "key_of",
    "kinds_of",
    "kinds_text",
    "word_of",
    "yes_no",
]

# key -> the word written on export (first) and other words accepted on import.
FREQUENCY_WORDS: dict[str, tuple[str, ...]] = {
    "monthly": ("Tháng", "hàng tháng", "hằng tháng", "theo tháng", "mỗi tháng"),
    "quarterly": ("Quý", "hàng quý", "hằng quý", "theo quý", "mỗi quý"),
    "half_yearly": ("6 tháng", "sáu tháng", "nửa năm", "bán niên", "6 tháng một lần"),
    "yearly": ("Năm", "hàng năm", "hằng năm", "theo năm", "mỗi năm", "cả năm"),
}
ACCUMULATION_WORDS: dict[str, tuple[str, ...]] = {
    "year_to_date": ("Lũy kế từ đầu năm", "lũy kế", "tính từ đầu năm", "từ đầu năm"),
    "cumulative": ("Cộng dồn", "tổng cộng dồn", "cộng dồn đến nay"),
    "per_period": ("Theo kỳ", "từng kỳ", "trong kỳ", "phát sinh trong kỳ"),
}
COMPARISON_WORDS: dict[str, tuple[str, ...]] = {
    "at_least": ("≥", ">=", "tối thiểu", "ít nhất", "không thấp hơn", "đạt"),
    "above": (">", "trên", "cao hơn"),
    "at_most": ("≤", "<=", "tối đa", "không quá", "không vượt quá"),
    "below": ("<", "dưới", "thấp hơn"),
    "between": ("Trong khoảng", "khoảng", "từ - đến"),
    "done": ("Hoàn thành", "hoàn thành", "xong"),
}
MEASURE_WORDS: dict[str, tuple[str, ...]] = {
    "percent": ("Tỷ lệ %", "%", "tỷ lệ", "tỉ lệ", "phần trăm"),
    "ratio": ("Tử số/Mẫu số", "tử số / mẫu số", "tử/mẫu", "phân số"),
    "count": ("Số lượng", "số", "đếm"),
    "milestone": ("Mốc hoàn thành", "mốc", "hoàn thành / chưa"),
}
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "province": ("Tỉnh", "UBND tỉnh", "cấp tỉnh"),
    "city": ("UBND thị xã/thành phố", "thị xã", "thành phố", "huyện", "UBND huyện", "cấp huyện"),
    "department": ("Phòng, ban", "phòng", "phòng ban", "phòng chuyên môn", "cơ quan chuyên môn"),
    "agency": ("Cơ quan, đơn vị", "cơ quan", "đơn vị sự nghiệp", "trung tâm", "ban"),
    "commune": ("Xã", "UBND xã"),
    "ward": ("Phường", "UBND phường"),
    "township": ("Thị trấn", "UBND thị trấn"),
    "enterprise": ("Doanh nghiệp", "DN", "công ty"),
    "organization": ("Tổ chức", "hội", "đoàn thể"),
    "other": ("Khác",),
}
# Several kinds in one phrase, as plans write them ("các xã, phường"): read before splitting a list.
_KIND_PHRASES: dict[str, tuple[str, ...]] = {
    "xa, phuong, thi tran": ("commune", "ward", "township"),
    "xa, phuong": ("commune", "ward"),
    "xa phuong": ("commune", "ward"),
    "cac xa, phuong": ("commune", "ward"),
    "cac xa, phuong, thi tran": ("commune", "ward", "township"),
}
# The "Kế hoạch" sheet's keys.
META_WORDS: dict[str, tuple[str, ...]] = {
    "code": ("Mã kế hoạch",), "title": ("Tên kế hoạch",), "year": ("Năm",),
    "issuer": ("Cơ quan ban hành",), "document": ("Số, ký hiệu văn bản", "số hiệu văn bản", "văn bản"),
    "issued_on": ("Ngày ban hành",), "source": ("Nguồn",), "salutation": ("Cách xưng hô",),
    "tracking_unit": ("Đơn vị theo dõi", "cơ quan theo dõi"), "notes": ("Ghi chú",),
    "coverage_threshold": ("Ngưỡng đủ số liệu",), "collect_from": ("Thu số liệu từ tháng",),
    "deadline_monthly": ("Hạn báo cáo tháng",), "deadline_quarterly": ("Hạn báo cáo quý",),
    "deadline_half_yearly": ("Hạn báo cáo 6 tháng",), "deadline_yearly": ("Hạn báo cáo năm",),
}


def _folded(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for key, names in words.items():
        for name in (key, key.replace("_", " "), *names):
            index.setdefault(_norm(name), key)
    return index


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", fold(text).replace("–", "-")).strip(" .")


_INDEXES: dict[int, dict[str, str]] = {}


def key_of(text: str | None, words: dict[str, tuple[str, ...]]) -> str | None:
    """The key a cell's word stands for (the key itself, or any Vietnamese word for it, with or
    without diacritics, any case), else None."""
    if text is None:
        return None
    index = _INDEXES.get(id(words))
    if index is None:
        index = _INDEXES[id(words)] = _folded(words)
    return index.get(_norm(str(text)))


def word_of(key: str | None, words: dict[str, tuple[str, ...]]) -> str | None:
    """The word a spreadsheet writes for a key (the key itself when it has none)."""
    if key is None:
        return None
    names = words.get(str(key))
    return names[0] if names else str(key)


def kinds_of(text: str) -> tuple[list[str], list[str]]:
    """Unit kinds named in a cell: "Xã, phường", "Phòng, ban; Xã", "commune, ward". Returns the
    kinds and the pieces that name none."""
    kinds: list[str] = []
    unknown: list[str] = []
    for piece in re.split(r"[;\n]", text):
        piece = piece.strip()
        if not piece:
            continue
        whole = _KIND_PHRASES.get(_norm(piece))
        if whole is None and (key := key_of(piece, KIND_WORDS)) is not None:
            whole = (key,)
        if whole is not None:
            kinds += [k for k in whole if k not in kinds]
            continue
        for word in re.split(r"[,/]", piece):  # "commune, ward" or "xã/phường"
            word = word.strip()
            if not word:
                continue
            key = key_of(word, KIND_WORDS)
            if key is None:
                unknown.append(word)
            elif key not in kinds:
                kinds.append(key)
    return kinds, unknown


def kinds_text(kinds: Iterable[str]) -> str | None:
    """Kinds as a spreadsheet writes them: "Xã, phường" for the pair plans name together."""
    chosen = list(kinds)
    if not chosen:
        return None
    for phrase, group in (("Xã, phường, thị trấn", ("commune", "ward", "township")),
                          ("Xã, phường", ("commune", "ward"))):
        if tuple(chosen) == group:  # in the same order: the order read back is the order written
            return phrase
    return "; ".join(word_of(kind, KIND_WORDS) or kind for kind in chosen)


def allowed_text(words: dict[str, tuple[str, ...]]) -> str:
    """The choices as an error lists them: "Tháng (monthly), Quý (quarterly), …"."""
    return ", ".join(f"{names[0]} ({key})" for key, names in words.items())


def deadline_text(day: int, month: str | int, before: bool) -> str:
    """A deadline rule as the "Kế hoạch" sheet writes it: "trước ngày 5 tháng sau", "ngày 20
    tháng cuối kỳ", "trước ngày 10 tháng 12"."""
    when = {"last": "tháng cuối kỳ", "next": "tháng sau"}.get(str(month), f"tháng {month}")
    return f"{'trước ngày' if before else 'ngày'} {day} {when}"


def deadline_words(text: str) -> tuple[str | None, str | None, bool]:
    """Day, month ("last", "next" or a number) and "before" of a deadline as written: the
    Vietnamese form above or the older "5 next before"."""
    folded = _norm(text)
    words = folded.split()
    if words and words[0].isdigit() and (len(words) < 2 or words[1] in ("last", "next") or words[1].isdigit()):
        return words[0], words[1] if len(words) > 1 else None, "before" in words[2:]
    day = re.search(r"ngay (\d{1,2})", folded) or re.search(r"(\d{1,2})", folded)
    month: str | None = None
    if "thang sau" in folded or "thang ke tiep" in folded:
        month = "next"
    elif "cuoi" in folded:
        month = "last"
    elif number := re.search(r"thang (\d{1,2})", folded):
        month = number.group(1)
    return day.group(1) if day else None, month, "truoc" in folded


def yes_no(value: bool) -> str:
    """A yes/no cell as the sheets write it (models.plans reads "Có"/"Không" and true/false)."""
    return "Có" if value else "Không"
