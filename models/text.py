"""Text folding for matching Vietnamese typed with or without diacritics."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, strip diacritics (đ -> d), collapse whitespace: "Phòng VH&TT" -> "phong vh&tt"."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped).strip()


def slug(text: str) -> str:
    """An ascii code from a name: "Xã An Sinh" -> "xa-an-sinh"."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
