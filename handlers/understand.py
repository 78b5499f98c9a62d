"""Text -> Intent: what an officer's message means, before anything is looked up.

Pure and fast (no I/O, regexes compiled at import): every inbound message passes through here.

How a message is read, in order (the first that fits wins):
1. a command ("/baocao@MyBot", "/chitieu 6", "/tonghop 2025-Q1");
2. a whole-message phrase from a table ("báo cáo", "hủy", "ok", "tiếng Anh", "?");
3. figures: lines (or ";"-separated parts) of "reference + value" ("6: 72,5%", "ct 7 đạt 100%",
   "6: 120/150", "7: xong"), with an optional period ("tháng 10:") and correction ("sửa") in front;
4. a bare value ("72,5", "120/150", "xong", "chưa");
5. a question, classified by keyword tables (gap, status, across units, off track, missing, summary,
   schedule, help, report);
6. if nothing fitted: the same again after correcting typos in keyword phrases ("tinh hnh",
   "bao coa") with a cheap edit-distance match, then Unknown.

Matching runs on a folded copy (lower case, no diacritics, "đ" -> "d") of the same length as the
typed text, so a span found in the folded text cuts the same characters out of the typed one: raw
figure values and unit names keep what the officer typed.

Decisions the dispatcher relies on:
- "6: abc" (a reference, an explicit ":" or "=", a short value that is not one) is a figure whose
  value, done and numerator are all None and whose raw is "abc": the bot can answer "'abc' is not a
  number". Without ":" or "=" ("6 abc") the words are not read as a figure.
- "a/b", "a trên b", "a of b" give numerator and denominator, value None. "-5" gives value 5 and
  negative=True. A number too long for Decimal's 28 digits is "not a number" too.
- "Đã hoàn thành 100%" is the value 100% (done stays None): a milestone may take 100% as done.
- "có", "không", "ok", "yes", "no" alone are Confirm; inside a figure line ("7: có") they are done.
  "xong", "chưa", "đạt", "rồi" alone are BareValue(done=...); a guided step for a milestone may
  also read a Confirm as done / not done.
- BareValue.choice is set for plain digits only ("3", not "3%", "1.000" or "3,5").
- AskStatus.unit is the unit's name as typed, lower-cased with diacritics kept ("xã an sinh");
  fold() it before matching. Vietnamese kind words ("xã", "phường", "phòng") are kept; a trailing
  English one ("An Sinh commune") and question words are dropped.
- A command's unknown argument passes through: "/chitieu abc" is AskGap("abc"), so the reply can
  say that indicator does not exist.
- Several figures on one line need ":" / "=" ("6: 72,5 7: 80") or a prefix after a value or comma
  ("ct 6 72,5%, ct 7 100%"); "6 72,5 7 80" is not split.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import OSA

from handlers.commands import INVOCATION, Route, find
from handlers.intents import (
    AskCharts,
    AskCompare,
    AskExport,
    AskGap,
    AskIndicatorAcrossUnits,
    AskMissing,
    AskOfficialReport,
    AskOffTrack,
    AskSchedule,
    AskStatus,
    AskSummary,
    AskTemplate,
    AskWhy,
    BareValue,
    Cancel,
    Confirm,
    FigureInput,
    FigureLine,
    Help,
    Intent,
    PeriodHint,
    SetLanguage,
    ShowReport,
    Start,
    SubmitFigures,
    Thanks,
    Unknown,
)
from models.numbers import NUMBER_PATTERN, NumberError, parse_number
from models.periods import MAX_YEAR, MIN_YEAR, Frequency

__all__ = ["understand"]

# The longest message the bot reads (as long as a Telegram message; a longer one is refused whole,
# never read in part). Questions are short, so the keyword rules (some with lazy ".+?" groups) only
# look at the first few hundred characters.
MAX_MESSAGE = 4096
MAX_QUESTION = 300
MAX_CHOICE_DIGITS = 6  # "3" is the third listed choice; "1000000" is a value, not a choice


# ---------------------------------------------------------------------------------------- folding

def _build_fold_table() -> dict[int, str | None]:
    # One character to one character (combining marks excepted), so folded and typed text align.
    # str.translate with a table is several times faster than NFD + filtering per message.
    table: dict[int, str | None] = {}
    for cp in itertools.chain(range(0xC0, 0x250), range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
        if base != ch and len(base) == 1:
            table[cp] = base
    for cp in range(0x300, 0x370):
        table[cp] = None  # a diacritic typed as a separate combining mark
    table.update({
        ord("đ"): "d", ord("ð"): "d",  # Đ typed as the Icelandic eth, common on some keyboards
        # Full-width punctuation from CJK input methods, dashes, the minus sign, curly quotes.
        0xFF1A: ":", 0xFF05: "%", 0xFF0F: "/", 0xFF1F: "?", 0xFF1B: ";",
        0x2013: "-", 0x2014: "-", 0x2212: "-", 0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"',
        0x200B: None, 0xFEFF: None,  # zero-width space, byte-order mark
    })
    return table


_FOLD = _build_fold_table()


def _prepare(text: str) -> tuple[str, str]:
    """(as typed, folded), whitespace collapsed; equal lengths, so spans carry over."""
    typed = " ".join(text.split())
    if typed.isascii():
        return typed, typed.lower()
    folded = " ".join(typed.lower().translate(_FOLD).split())
    return (typed, folded) if len(folded) == len(typed) else (folded, folded)


def _any(*phrases: str) -> re.Pattern[str]:
    """Any of the folded phrases (regex allowed) as whole words."""
    body = "|".join(sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


# ------------------------------------------------------------------------------------- periods

_Y = r"(?:19|20|21)\d\d"
_M = r"(?:1[0-2]|0?[1-9])"
_EN_MONTHS = {
    name: i for i, names in enumerate((
        ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
        ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
        ("october", "oct"), ("november", "nov"), ("december", "dec")), start=1)
    for name in names
}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_PERIOD = re.compile(rf"""(?<![\w./-])(?:
    (?P<iy>{_Y})\s*[-/]\s*(?:q(?P<iq>[1-4])|h(?P<ih>[12])|(?P<im>{_M}))
  | (?:thang|month)\s*(?P<m>{_M})(?:\s*(?:[/.-]|,|nam|of)\s*(?P<my>{_Y}))?
  | t(?P<tm>{_M})(?:\s*[/.-]\s*(?P<tmy>{_Y}))?
  | (?:quy|quarter)\s*(?P<q>iv|i{{1,3}}|[1-4])(?:\s*(?:[/.-]|,|nam|of)\s*(?P<qy>{_Y}))?
  | q(?P<qq>[1-4])(?:\s*[/.-]?\s*(?P<qqy>{_Y}))?
  | (?:6|sau)\s*thang\s*(?P<half>dau|cuoi)(?:\s*nam)?(?:\s*[/,]?\s*(?P<halfy>{_Y}))?
  | nua\s*(?P<half2>dau|cuoi)\s*nam(?:\s*[/,]?\s*(?P<half2y>{_Y}))?
  | h(?P<h>[12])(?:\s*[/.-]?\s*(?P<hy>{_Y}))?
  | (?P<hen>first|second|1st|2nd)\s*half(?:\s*(?:of\s*)?(?:the\s*year\s*)?(?P<heny>{_Y}))?
  | (?:nam|year|ca\s*nam)\s*(?P<y>{_Y})
  | (?P<ythis>ca\s*nam|nam\s*nay|full\s*year|this\s*year|whole\s*year)
  | (?P<mn>{"|".join(sorted(_EN_MONTHS, key=len, reverse=True))})\.?(?:\s*,?\s*(?P<mny>{_Y}))?
  | (?P<mm>{_M})\s*/\s*(?P<mmy>{_Y})
)(?!\w)""", re.X)
_YEAR_ONLY = re.compile(rf"(?P<y>{_Y})")


def _hint(frequency: Frequency, index: int, year: str | None) -> PeriodHint:
    y = int(year) if year else None
    return PeriodHint(frequency, index, y if y is not None and MIN_YEAR <= y <= MAX_YEAR else None)


# Alternatives of _PERIOD that are a number and a year: (number's group, year's group, frequency).
_NUMBERED = (("m", "my", Frequency.MONTHLY), ("tm", "tmy", Frequency.MONTHLY), ("mm", "mmy", Frequency.MONTHLY),
             ("qq", "qqy", Frequency.QUARTERLY), ("h", "hy", Frequency.HALF_YEARLY))
_HALVES = (("half", "halfy"), ("half2", "half2y"))


def _period_of(m: re.Match[str]) -> PeriodHint | None:
    # The alternatives of _PERIOD exclude each other: one of them set the groups checked here.
    g = m.group
    if g("iy"):
        if g("iq"):
            return _hint(Frequency.QUARTERLY, int(g("iq")), g("iy"))
        if g("ih"):
            return _hint(Frequency.HALF_YEARLY, int(g("ih")), g("iy"))
        return _hint(Frequency.MONTHLY, int(g("im")), g("iy"))
    for number, year, frequency in _NUMBERED:
        if g(number):
            return _hint(frequency, int(g(number)), g(year))
    if g("q"):
        quarter = g("q")
        return _hint(Frequency.QUARTERLY, _ROMAN.get(quarter) or int(quarter), g("qy"))
    for half, year in _HALVES:
        if g(half):
            return _hint(Frequency.HALF_YEARLY, 1 if g(half) == "dau" else 2, g(year))
    return _worded_period(m)


def _worded_period(m: re.Match[str]) -> PeriodHint | None:
    g = m.group
    if g("hen"):
        return _hint(Frequency.HALF_YEARLY, 1 if g("hen") in ("first", "1st") else 2, g("heny"))
    if g("y"):
        return _hint(Frequency.YEARLY, 1, g("y"))
    if g("ythis"):
        return PeriodHint(Frequency.YEARLY, 1)
    if g("mn"):
        if g("mn") == "may" and not g("mny"):
            return None  # "may" alone is an English modal (or "máy", a machine), not May
        return _hint(Frequency.MONTHLY, _EN_MONTHS[g("mn")], g("mny"))
    return None  # pragma: no cover - every alternative is handled above


def _find_period(t: str) -> PeriodHint | None:
    for m in _PERIOD.finditer(t):
        hint = _period_of(m)
        if hint is not None:
            return hint
    return None


# ------------------------------------------------------------------------ indicator references

# "chỉ tiêu 6", "ct6", "số 6", "mục tiêu số 6", "indicator no. 6", "#6".
_PREFIX = (r"(?:(?:chi\s*tieu|chitieu|ct|muc\s*tieu|muc|indicator|ind|item)(?:\s+(?:so|no\.?|number|#))?"
           r"|so|stt|no\.|number|#)")
# "6", "12b", "1.3a", "pl2.3", "pl 2.3", "ii.6", "b.3"; at most 3 digits so a year is never a ref.
_REF = (r"(?:pl\s*\d{1,2}(?:\.\d{1,3}[a-z]?)?|(?:iv|i{1,3}|vi{0,3}|ix|x|[a-h])\.\d{1,3}[a-z]?"
        r"|\d{1,3}(?:\.\d{1,3}){0,2}[a-z]?)")
_REF_HEAD = re.compile(
    rf"(?:(?P<prefix>{_PREFIX})\s*\.?\s*)?(?P<ref>{_REF})(?P<sep>\s*[:=)]\s*|\s+-\s+|\.\s+|\s+|-(?=\d))")
# Several references sharing one figure: "11a,11b", "11a-11d", "CT 12a, 12b và 12c", "11a, b".
_REF_ITEM = rf"(?:(?:{_PREFIX})\s*\.?\s*)?(?:{_REF}|[a-h](?=\s*[:=]|\s*,|\s+(?:va|and)\s))"
_REF_LIST_HEAD = re.compile(
    rf"(?:(?P<prefix>{_PREFIX})\s*\.?\s*)?(?P<ref>{_REF}(?:(?<=[a-z])|(?![.,]\d))(?:\s*(?:,|&|\+|-|va|and|den|toi)\s*"
    rf"{_REF_ITEM}(?![\w%/])(?:(?<=[a-z])|(?![.,]\d)))+)(?P<sep>\s*[:=]\s*|\s+)")
_LIST_SPLIT = re.compile(r"\s*(?P<sep>,|&|\+|-|va|and|den|toi)\s*")
_MAX_RANGE = 10  # "1-5: 100%" names five indicators; "6-72" is no range of indicators
# Where a figure starts inside a line: "6: 120/150 7: xong", "6: 72,5, 7: 80".
_FIGURE_START = re.compile(
    rf"(?:^|(?<=[\s,]))(?:{_PREFIX}\s*\.?\s*)?{_REF}\s*[:=]"
    rf"|(?:(?<=,)|(?<=, )|(?<= va )|(?<= and )|(?<=% )|(?<=\d ))(?:{_PREFIX})\s*\.?\s*{_REF}(?=\s)")
_PREFIXED_REF = re.compile(rf"(?<![\w.])(?:{_PREFIX})\s*\.?\s*(?P<ref>{_REF})(?![\w%/]|[.,]\d)")
_BARE_REF = re.compile(rf"(?<![\w./%,-])(?P<ref>{_REF})(?![\w%/]|[.,]\d)")
# A number after these is a unit's or a period's, not an indicator's: "phường 3", "tháng 10".
_NOT_BEFORE_REF = re.compile(
    r"(?<!\w)(?:xa|phuong|thi tran|to|khu|thon|ap|quan|huyen|lop|truong|thang|quy|nam|tuan|ngay"
    r"|ward|commune|month|quarter|year|week|day|q|t|h)\s*$")


_LEADING_ZEROS = re.compile(r"^0+(?=\d)")


def _ref(text: str) -> str:
    """"PL 2.3" -> "pl2.3", "06" -> "6" (plans number without zeros; officers pad "CT06")."""
    return _LEADING_ZEROS.sub("", text.replace(" ", ""))


def _prefixed_ref(t: str) -> str | None:
    m = _PREFIXED_REF.search(t)
    return _ref(m["ref"]) if m else None


def _bare_ref(t: str) -> str | None:
    # Blank out periods first so "tháng 10" or "2025-Q1" never read as indicator 10 or 1.
    blanked = _PERIOD.sub(lambda m: " " * len(m[0]), t)
    for m in _BARE_REF.finditer(blanked):
        if not _NOT_BEFORE_REF.search(blanked, 0, m.start()):
            return _ref(m["ref"])
    return None


# ------------------------------------------------------------------------- keyword tables

_QUESTION = _any(
    r"bao nhieu", r"the nao", r"ra sao", r"sao roi", r"nhu nao", r"nao", r"chua nhi", r"khong nhi",
    r"(?:dat|xong|hoan thanh|nop|gui|bao cao) chua", r"con thieu", r"thieu", r"khoang cach",
    r"gap", r"how", r"what", r"what's", r"which", r"who", r"why", r"when", r"where", r"is it",
    r"tai sao", r"vi sao", r"khi nao", r"bao gio", r"o dau", r"co khong", r"duoc khong")
_GAP = _any(
    r"con thieu", r"thieu", r"khoang cach", r"bao nhieu", r"the nao", r"ra sao", r"sao roi",
    r"nhu nao", r"(?:dat|xong|hoan thanh) chua", r"con lai", r"can them", r"chenh lech", r"cach",
    r"gap", r"how far", r"how much", r"how close", r"how many", r"remaining", r"left",
    r"shortfall", r"how is", r"how's", r"what about", r"tinh hinh", r"tien do", r"status",
    r"progress", r"ket qua", r"muc tieu", r"target", r"dat duoc")
_GAP_WITHOUT_REF = _any(
    r"con thieu", r"thieu bao nhieu", r"khoang cach", r"con bao nhieu", r"bao nhieu nua",
    r"con lai bao nhieu", r"can them bao nhieu", r"chenh lech", r"gap", r"how far",
    r"shortfall", r"how much more", r"how many more", r"con cach")
_ACROSS = _any(
    r"(?:cac|tat ca(?: cac)?|tung|moi|nhung) (?:don vi|xa|phuong|co quan|dia phuong)",
    r"cac xa,? phuong", r"toan (?:thanh pho|thi xa|huyen|tinh|ke hoach|bo)", r"ca thanh pho",
    r"theo (?:tung )?don vi", r"don vi nao", r"xa nao", r"phuong nao", r"o dau",
    r"across(?: all)? units", r"across(?: all)? communes", r"(?:all|each|every|per|by) units?",
    r"by communes?", r"which units", r"plan-wide", r"citywide", r"everyone", r"compare",
    r"so sanh", r"xep hang", r"ranking", r"(?:thap|cao) nhat", r"lowest", r"highest")
_OFF_TRACK = _any(
    r"chi tieu nao (?:con |dang |bi )?(?:chua|khong|cham|thap|tut)",
    r"(?:nhung|cac) chi tieu (?:con |dang |bi )?(?:cham|chua|khong|thap|tut|kem)",
    r"chi tieu (?:bi |dang )?(?:cham|kem)", r"chi tieu (?:chua|khong) dat", r"cham tien do",
    r"(?:chua|khong) dat chi tieu", r"off[ -]?track", r"behind", r"lagging", r"at risk",
    r"not on track", r"below target", r"which indicators", r"missing targets?")
_WHO = (r"(?:ai|nhung ai|con ai|don vi nao|nhung don vi|cac don vi|con don vi|noi nao|co quan nao"
        r"|xa nao|phuong nao|phong nao|bao nhieu don vi|may don vi|who|which units?|what units?"
        r"|which communes?|anyone)")
_MISSING = re.compile(
    rf"(?<!\w){_WHO}(?!\w).*?(?:(?<!\w)(?:chua|khong|chang|not|yet to|still)(?!\w)|n't|nt(?!\w))"
    r".*?(?<!\w)(?:bao cao|nop|gui|cap nhat|report|reported|submit|submitted|sent|send|file|filed)"
    r"|(?<!\w)(?:(?:cac|nhung|danh sach|ds|liet ke) )?(?:don vi|xa|phuong) (?:con )?chua (?:bao cao|nop|gui)"
    r"|(?<!\w)(?:danh sach|ds|liet ke) chua (?:bao cao|nop|gui)"
    r"|(?<!\w)(?:thieu|chua co|chua nhan duoc) bao cao (?:cua )?(?:ai|don vi nao|nhung don vi nao|xa nao)"
    r"|(?<!\w)who(?:'s| is| are)(?: still)? (?:late|missing|overdue)(?!\w)"
    r"|(?<!\w)(?:missing(?: reports?| units?)?|overdue|late (?:reports|units)"
    r"|not (?:yet )?(?:reported|submitted)|chua nop bao cao)(?!\w)")
# "Which indicators do I still owe?" is the report menu, not the plan's laggards.
_OWED = _any(
    r"(?:chi tieu nao|nhung chi tieu|cac chi tieu)(?: (?:con|minh|toi|em))? (?:chua|phai|can|thieu)"
    r" (?:bao cao|nop|gui)", r"(?:con )?thieu (?:bao cao )?(?:nhung |cac )?chi tieu nao",
    r"(?:phai|can|chua) (?:bao cao|nop|gui) (?:nhung |cac )?chi tieu nao",
    r"what do i (?:still )?owe", r"what (?:is|'s) (?:due|outstanding)",
    r"which indicators (?:do|must|should) (?:i|we) (?:still )?(?:report|submit)")
_SUMMARY = _any(r"tong hop", r"tong ket", r"tong quan", r"bao cao tong", r"summary", r"summaries",
                r"summari[sz]e", r"overview", r"sum up")
_CHARTS = re.compile(r"\b(?:bieu do|do thi|charts?|graphs?)\b")
# Issue 17: "tổng hợp số đã duyệt", "/tonghop duyet", "summary approved": approved figures only.
_APPROVED = re.compile(r"\b(?:(?:chi |chi tinh )?(?:cac )?(?:so |so lieu )?(?:da )?duyet"
                       r"|(?:only )?approved(?: figures)?(?: only)?)\b")
_EXPORT = re.compile(r"\b(?:xuat (?:excel|file|bang tinh|bao cao)|export|spreadsheet|file excel)\b")
_SCHEDULE = _any(
    r"lich", r"lich nhac", r"han nop", r"han bao cao", r"thoi han", r"han chot", r"deadlines?",
    r"schedule", r"nhac nho", r"reminders?", r"(?:khi nao|bao gio|ngay nao|hom nao)(?: thi)?"
    r" (?:phai |can )?(?:nop|bao cao|gui)", r"when .*due", r"due dates?", r"when (?:do|should|must) we",
    r"(?:phai|can) (?:nop|bao cao|gui) (?:truoc |vao |trong )?ngay", r"ngay \d{1,2} (?:phai |can )?nop",
    r"het han")
_CANCEL_START = re.compile(
    r"^(?:huy|huy bo|thoi(?! (?:gian|han|diem|ky))|cancel|dung lai|stop|abort|quit|exit)(?!\w)")
_STATUS = _any(r"tinh hinh", r"tien do", r"status", r"progress", r"how are we doing",
               r"how are things", r"how is it going", r"ket qua thuc hien", r"dang the nao",
               r"(?:mình|minh|toi|em|chung ta|don vi) (?:the nao|ra sao)")
_HELP = _any(r"giup", r"giup do", r"huong dan", r"help", r"tro giup", r"lam sao", r"lam the nao",
             r"how do i", r"how to", r"what can you do", r"xin chao", r"chao", r"hello", r"hi",
             r"hey", r"menu", r"cac lenh", r"commands?", r"cach dung", r"cach su dung", r"alo",
             r"lam (?:duoc )?(?:nhung )?gi", r"co the lam gi", r"chuc nang", r"what can you")
_REPORT = _any(r"bao cao", r"nop so lieu", r"gui so lieu", r"nhap so lieu", r"nop bao cao", r"report",
               r"submit", r"so lieu", r"nop", r"cap nhat so lieu", r"enter figures", r"figures")
_COMPARE = _any(
    r"so voi (?:thang|ky|quy|lan) (?:truoc|vua roi|vua qua)", r"so (?:thang|ky|quy) truoc",
    r"(?:tang|giam) (?:hay|hoac) (?:giam|tang)(?: (?:so voi|hon) (?:thang|ky|quy) truoc)?",
    r"compared? (?:to|with) (?:the )?(?:last|previous) (?:month|quarter|period)",
    r"(?:than|vs\.?|versus) (?:the )?(?:last|previous) (?:month|quarter|period)",
    r"since (?:the )?(?:last|previous) (?:month|quarter|period)")
_TO_ENGLISH = _any(r"tieng anh", r"english", r"in english", r"eng")
_TO_VIETNAMESE = _any(r"tieng viet", r"vietnamese")
_LANGUAGE = _any(r"ngon ngu", r"language", r"doi ngon ngu", r"change language")
# Words that make a trailing "unit" after a number really a request: "6 các đơn vị".
_CUES = re.compile("|".join(p.pattern for p in (_QUESTION, _ACROSS, _STATUS, _SUMMARY)))

# Status of a named unit: the unit is what is left between the cue and the question words.
_ASK = r"(?:the nao|ra sao|sao roi|nhu the nao|the nao roi|dang the nao|ra sao roi|sao|how|nhu nao)"
_KIND = (r"(?:xa|phuong|thi tran|phong|trung tam|ubnd|uy ban|van phong|chi cuc|ban quan ly|thanh tra"
         r"|cong an|huyen|thi xa|truong|benh vien|chi nhanh|bql|commune|ward|town"
         r"|department|office|cent(?:er|re)|unit)")
_STATUS_UNIT: tuple[re.Pattern[str], ...] = tuple(re.compile(p) for p in (
    rf"^(?:(?:cho|xin|kiem tra|xem)(?: (?:toi|em|minh|anh|chi))?(?: (?:xem|biet|hoi))? )?"
    rf"(?:tinh hinh|tien do|ket qua)(?: (?:bao cao|thuc hien|chuyen doi so|nop bao cao|nop so lieu"
    rf"|cua|o|tai|ben))* (?P<unit>.+?)(?: (?:{_ASK}|hien nay|hien tai|bay gio|a|nhe|nha|vay|di))*"
    r"\s*[?.!]*$",
    r"^(?:status|progress)(?: (?:report|update))?(?: (?:of|for|on|at))? (?P<unit>.+?)\s*[?.!]*$",
    r"^how(?:'s| is| are)(?: things (?:in|at))? (?P<unit>.+?)(?: (?:doing|going|progressing))?"
    r"\s*[?.!]*$",
    rf"^(?P<unit>{_KIND} .+?) (?:(?:tinh hinh|tien do|bao cao|nop bao cao) )?"
    rf"(?:{_ASK}|(?:da )?(?:bao cao|nop|gui)(?: bao cao)? chua)\s*[?.!]*$",
    rf"^(?P<unit>.+?) (?:tinh hinh|tien do)(?: (?:{_ASK}))?\s*[?.!]*$",
    r"^(?P<unit>.+?) (?:status|progress)\s*[?.!]*$",
))
_UNIT_ALONE = re.compile(rf"^{_KIND} \w.*$")
_MAX_UNIT_WORDS = 7
_NOT_A_UNIT = re.compile(
    r"^(?:(?:the nao|ra sao|sao roi|nhu the nao|chung|hien nay|hien tai|bay gio|cua toi|cua minh"
    r"|cua em|don vi toi|don vi minh|don vi em|don vi cua toi|toi|minh|em|chung ta|chung toi|bao cao"
    r"|nop bao cao|chuyen doi so|thang nay|nam nay|ky nay|cac don vi|tat ca(?: cac)? don vi|toan bo"
    r"|toan thanh pho|toan huyen|our|my|we|us|our unit|my unit|everyone|all|all units|overall"
    r"|so far|now|today|things|it|a|nhe|di|vay|the|of|sao|doing|going|cho|xin|xem|biet|hoi|kiem tra"
    r"|ke hoach|thuc hien|plan|the plan|show|show me|give me|me|what's|whats|what is|current"
    r"|hien|xem giup)\s?)+$")
# Trailing words that are not part of the name: particles, "now", and an English kind word, which
# only hurts matching against Vietnamese names ("Hong Phong ward" -> "hong phong").
_UNIT_TAIL = re.compile(
    r"(?: (?:a|nhe|nha|vay|di|now|today|so far|hien nay|hien tai|commune|ward|town|district))+$")
_UNIT_EDGE = " ?.!,:"


# -------------------------------------------------------------------------------------- values

_DONE_WORDS: dict[str, bool] = {
    **dict.fromkeys((
        "xong", "da xong", "xong roi", "da xong roi", "hoan thanh", "da hoan thanh", "hoan thanh roi",
        "da hoan thanh roi", "roi", "dat", "da dat", "dat roi", "co", "ok", "done", "yes", "y",
        "completed", "complete", "finished", "achieved", "met", "da trien khai", "da thuc hien",
        "da co"), True),
    **dict.fromkeys((
        "chua", "chua xong", "chua hoan thanh", "chua dat", "khong dat", "chua co", "khong",
        "chua thuc hien", "chua trien khai", "dang thuc hien", "dang lam", "dang trien khai", "no", "not yet",
        "not done", "incomplete", "in progress", "not completed", "not met", "n"), False),
}
# "Không phát sinh": nothing to report for the period (a real answer, not a zero).
_NOT_APPLICABLE = frozenset((
    "khong phat sinh", "ko phat sinh", "k phat sinh", "kps", "khong co", "ko co", "k co",
    "khong co phat sinh", "chua phat sinh", "khong co so lieu", "khong co ho so", "khong ap dung",
    "khong phat sinh ho so", "0/0", "n/a", "na", "n.a", "n.a.", "not applicable", "none",
    "nothing to report", "no data", "nil"))
_RATIO = re.compile(
    rf"(?P<neg>-\s*)?(?P<a>{NUMBER_PATTERN})\s*(?:/|tren\s+tong\s+so|tren\s+tong|tren"
    rf"|trong\s+tong\s+so|trong\s+so|out\s+of|of)\s*(?P<b>{NUMBER_PATTERN})(?P<unit>\s+[^\d\s][^\d]{{0,40}})?")
_AMOUNT = re.compile(
    rf"(?:(?:khoang|gan|xap xi|about|approx\.?|~)\s*)?(?P<neg>-\s*)?(?P<n>{NUMBER_PATTERN})"
    rf"\s*(?P<pct>%|phan\s*tram|percent|pct)?(?P<unit>\s+[^\d\s][^\d]{{0,40}})?")
# Polite particles and sign-offs at the end of a value or a message: "72,5% ạ", "xong rồi nhé".
_PARTICLES = frozenset(("a", "nhe", "nha", "nhen", "oi", "ah", "vay", "ha", "please", "pls",
                        "thanks", "va", "and"))
# Who the message is addressed to, at its end: "ok em", "xong rồi anh" (only for whole-message
# phrases; "tiếng Anh" must keep its "anh").
_VOCATIVES = frozenset(("em", "anh", "chi", "bot", "ban", "a", "nhe", "nha", "oi", "nhe em", "a"))
_TRAILING_PUNCT = " .,!;:~-"


def _trim(o: str, t: str) -> tuple[str, str]:
    """Drop trailing punctuation, "(notes)" and polite particles from a value or message."""
    for _ in range(4):
        before = len(t)
        t = t.rstrip(_TRAILING_PUNCT)
        if t.endswith(")") and "(" in t:
            t = t[: t.rindex("(")].rstrip(_TRAILING_PUNCT)
        head, _, last = t.rpartition(" ")
        if head and last in _PARTICLES:
            t = head.rstrip(_TRAILING_PUNCT)
        if len(t) == before:
            break
    return o[: len(t)].strip(), t.strip()


def _number(text: str, locale: str) -> Decimal | None:
    try:
        return parse_number(text, locale)
    except (NumberError, ArithmeticError):  # ArithmeticError: > 28 digits overflow the context
        return None


def _parse_value(o: str, t: str, locale: str, *, words_after: bool) -> FigureInput | None:
    """A figure's value: a number (with %), a ratio, or done / not done; None if it is none.

    words_after lets a unit follow the number ("1000 điểm", "120/150 hồ sơ").
    """
    o, t = _trim(o, t)
    if not t:
        return None
    if t in _NOT_APPLICABLE or t.replace(" ", "") == "0/0":
        return FigureInput(not_applicable=True, raw=o)
    done = _DONE_WORDS.get(t)
    if done is not None:
        return FigureInput(done=done, raw=o)
    if "o" in t and _LETTER_O.search(t):
        t = _LETTER_O.sub("0", t)  # "9O%": a letter O for a zero, one character for one
    if m := _RATIO.fullmatch(t):
        if m["unit"] and not words_after:
            return None
        a, b = _number(m["a"], locale), _number(m["b"], locale)
        if a is None or b is None:
            return None
        return FigureInput(numerator=a, denominator=b, negative=bool(m["neg"]), raw=o)
    if m := _AMOUNT.fullmatch(t):
        if m["unit"] and (not words_after or _CUES.search(m["unit"])):
            return None
        value = _number(m["n"], locale)
        if value is None:
            return None
        return FigureInput(value=value, percent_sign=bool(m["pct"]), negative=bool(m["neg"]), raw=o)
    return None


def read_value(text: str, locale: str = "vi") -> FigureInput | None:
    """One value as a spreadsheet's cell holds it typed ("72,5%", "72.5", "120/150", "xong",
    "không phát sinh"), read as the chat reads a value; None when it is none. Never raises."""
    try:
        o, t = _prepare(str(text))
        return _parse_value(o, t, locale, words_after=True) if t else None
    except Exception:  # a reading bug costs one cell named back, never the file
        return None


# ------------------------------------------------------------------------- whole-message table

def _table() -> dict[str, Intent]:
    yes, no = Confirm(True), Confirm(False)
    entries: dict[Intent, tuple[str, ...]] = {
        Help(): ("?", "??", "???", "help", "/?", "giup", "giup do", "giup toi", "giup voi", "giup em",
                 "huong dan", "tro giup", "menu", "xin chao", "chao", "chao bot", "chao ban",
                 "hello", "hi", "hey", "alo", "lenh", "cac lenh", "commands", "start", "bat dau"),
        Cancel(): ("huy", "huy bo", "huy di", "thoi", "thoi khoi", "thoi bo qua", "cancel", "stop",
                   "dung lai", "bo", "abort", "quit", "exit", "khong bao cao nua", "thoi khong",
                   "thoi khong can", "khong can nua", "thoi bo qua", "never mind", "nevermind",
                   "forget it"),
        ShowReport(): ("bao cao", "nop so lieu", "gui so lieu", "nhap so lieu", "nop bao cao",
                       "gui bao cao", "bao cao so lieu", "report", "submit", "nop", "so lieu",
                       "bao cao ket qua", "cap nhat so lieu", "report figures", "submit figures",
                       "toi muon bao cao", "em muon bao cao", "bao cao chi tieu", "nhap lieu"),
        SetLanguage("en"): ("tieng anh", "english", "en", "eng", "in english"),
        SetLanguage("vi"): ("tieng viet", "vietnamese", "vi", "viet", "in vietnamese"),
        SetLanguage(None): ("ngon ngu", "language", "doi ngon ngu", "change language", "lang"),
        yes: ("co", "da co", "co a", "dung", "dung roi", "dung vay", "chinh xac", "ok", "okay", "oke",
              "okie", "ok roi", "duoc", "dong y", "xac nhan", "vang", "da vang", "da", "u", "uh",
              "yes", "y", "yep", "yeah", "sure", "correct", "confirm", "right", "chuan", "chuan roi",
              "dung a", "ok a", "uk", "oki", "okela", "duoc roi", "dung the"),
        no: ("khong", "da khong", "khong phai", "khong dung", "sai", "sai roi", "ko", "k", "hong",
             "khg", "kg", "no", "n", "nope", "wrong", "khong dong y", "nham", "nham roi", "nhap nham",
             "khong chinh xac", "chua dung"),
        Thanks(): ("cam on", "cam on nhieu", "xin cam on", "em cam on", "toi cam on", "ok cam on",
                   "cam on nhe", "da cam on", "thanks", "thank you", "thank", "thanks a lot", "tks",
                   "thx", "ok thanks", "many thanks", "thank you very much", "cam on ban nhieu"),
        AskMissing(): ("chua nop", "chua bao cao", "ai chua nop", "missing"),
        AskOffTrack(): ("off track", "off-track", "cham tien do", "chi tieu cham", "behind"),
        AskSchedule(): ("lich", "lich nhac", "lich bao cao", "schedule", "deadline", "deadlines"),
        AskSummary(): ("tong hop", "summary", "tong ket"),
        AskCharts(): ("bieu do", "do thi", "chart", "charts", "graph", "xem bieu do"),
        AskTemplate(): ("bieu mau", "gui bieu mau", "gui lai bieu mau", "cho xin bieu mau", "xin bieu mau",
                        "cho xin file mau", "xin file mau", "gui file mau", "file mau", "mau bao cao",
                        "gui mau bao cao", "cho xin mau", "template", "send the template", "form"),
        AskOfficialReport(): ("bao cao van ban", "van ban bao cao", "xuat bao cao van ban", "bao cao word",
                              "bao cao nghi dinh 30", "official report"),
        AskExport(): ("xuat", "xuat excel", "xuat file", "file excel", "bang tinh", "export", "excel",
                      "spreadsheet", "xuat bao cao"),
        AskStatus(): ("tinh hinh", "tien do", "status", "progress", "the nao", "ra sao",
                      "sao roi", "the nao roi"),
    }
    return {phrase: intent for intent, phrases in entries.items() for phrase in phrases}


_PHRASES = _table()
# Where folding merges two words, the typed diacritics decide: "đúng" (right) / "dừng" (stop).
_TYPED_PHRASES: dict[str, Intent] = {"dừng": Cancel(), "dừng lại": Cancel(), "đúng": Confirm(True),
                                     "dạ": Confirm(True)}


# ------------------------------------------------------------------------------------ commands

def _command_gap(o: str, t: str, locale: str) -> Intent:
    if not t:
        return AskGap(None)
    ref = _prefixed_ref(t) or _bare_ref(t)
    if ref is None and len(t) <= 16 and " " not in t:
        ref = t  # "/chitieu abc": let the lookup say the indicator is unknown
    if ref is not None and _ACROSS.search(t):
        return AskIndicatorAcrossUnits(ref)
    return AskGap(ref)


def _command_status(o: str, t: str, locale: str) -> Intent:
    return AskStatus(_unit_text(o, t) if t else None)


def _command_period(o: str, t: str) -> dict[str, Any]:
    """The period argument of /tonghop, /bieudo, /xuat, /chuanop: a period, a bare year, nothing;
    anything else is kept as typed, to be refused (never the default period instead)."""
    if not t:
        return {}
    hint = _find_period(t)
    if hint is None and (m := _YEAR_ONLY.fullmatch(t)):
        hint = _hint(Frequency.YEARLY, 1, m["y"])
    return {"period": hint} if hint is not None else {"unknown_period": o}


def _command_summary(o: str, t: str) -> Intent:
    """/tonghop [duyet] [period]: the words for approved figures only taken out, the period read
    from what is left."""
    if (m := _APPROVED.search(t)) is None:
        return AskSummary(**_command_period(o, t))
    rest = (t[:m.start()] + " " + t[m.end():]).strip()
    return AskSummary(**_command_period(rest, rest), approved=True)


def _command_language(o: str, t: str, locale: str) -> Intent:
    if _TO_ENGLISH.search(t) or t in ("en", "anh"):
        return SetLanguage("en")
    if _TO_VIETNAMESE.search(t) or t in ("vi", "viet", "vn"):
        return SetLanguage("vi")
    return SetLanguage(None)


def _command_report(o: str, t: str, locale: str) -> Intent:
    # "/baocao 6: 72,5%" reports at once.
    return (_figures([(o, t)], locale) if t else None) or ShowReport()


# How each intent reads a command's argument; an intent not listed takes none ("/huy now" is /huy).
_ARGUMENTS: dict[type[Intent], Callable[[str, str, str], Intent]] = {
    Start: lambda o, t, locale: Start(o.split(" ")[0] if o else None),
    SetLanguage: _command_language,
    ShowReport: _command_report,
    AskGap: _command_gap,
    AskStatus: _command_status,
    AskMissing: lambda o, t, locale: AskMissing(**_command_period(o, t)),
    AskSummary: lambda o, t, locale: _command_summary(o, t),
    AskCharts: lambda o, t, locale: AskCharts(**_command_period(o, t)),
    AskExport: lambda o, t, locale: AskExport(**_command_period(o, t)),
    AskOfficialReport: lambda o, t, locale: AskOfficialReport(**_command_period(o, t)),
}


def _command(o: str, t: str, text: str, locale: str) -> Intent:
    """A command of the table (handlers/commands.py) read into its intent. Commands the dispatcher
    routes itself (/kehoach, /khonglienlac) and names of no command are Unknown."""
    m = INVOCATION.match(t)
    command = find(m["name"]) if m is not None else None
    if m is None or command is None or isinstance(command.means, Route):
        return Unknown(text)
    start = m.start("args") if m["args"] is not None else len(t)
    read = _ARGUMENTS.get(command.means)
    return read(o[start:].strip(), t[start:].strip(), locale) if read is not None else command.means()


# ------------------------------------------------------------------------------------- figures

_CORRECTION = re.compile(
    r"^(?:(?:xin|cho|em|toi|minh|xin phep)\s+)*(?:sua(?:\s+lai)?|chinh\s+sua|dieu\s+chinh|nhap\s+lai"
    r"|correct(?:ion)?|fix|amend|change)(?:\s+(?:lai|so\s+lieu|ket\s+qua))*(?:\s*[:,-]\s*|\s+|$)")
_CORRECTION_NOTE = re.compile(r"\((?:da\s+)?(?:sua|dieu chinh|correct)")
_POLITE = re.compile(
    r"^(?:da|vang|da vang|thua anh|thua chi|anh oi|chi oi|em chao anh|em chao chi)(?:\s*,\s*|\s+)")
_LEAD_WORDS = re.compile(
    r"^(?:(?:xin|kinh|em|toi|minh|dv|don vi|chung toi)\s+)*(?:gui|nop|bao\s+cao|cap\s+nhat|nhap|set"
    r"|update|report|submit|ket\s+qua|so\s+lieu|figures?)(?:\s+(?:so\s+lieu|ket\s+qua|bao\s+cao"
    r"|chi\s+tieu|nhu\s+sau|lai|ve|of|for))*(?:\s*[:,-]\s*|\s+|$)")
_VERB = re.compile(
    r"(?:(?:(?:hien|moi|da|chi|van|tang|giam|len|xuong|ty le|ti le|tyle|dat duoc|dat|la|bang"
    r"|duoc|thanh|thang nay|ky nay|hien tai|hien nay|so lieu|ket qua|is|at|reached|achieved|now"
    r"|currently|this month|so far|khoang|gan|xap xi|about|around|approx|to|hoan thanh)(?!\w)|=)"
    r"\s*:?\s*)+")
_SEPARATORS = re.compile("[\n\r;\uff1b]+")
_MAX_INVALID_WORDS = 4  # "6: bảy mươi" is a wrong value; a longer text after "6:" is not a figure
# A list bullet: "- CT7 đạt 100%", "• 6: 80%", "+ 7: xong", "2. Chỉ tiêu 2: 95%"; "1) 6: 80%" is
# not one (without a "chỉ tiêu" after it, the number is the indicator's).
_BULLET = re.compile(
    rf"^(?:[-*+•·>]+\s+|[-*•·]+(?=[a-z])|(?:\d{{1,2}}|[a-h])[.)]\s*(?=(?:{_PREFIX})\s*\.?\s*\d))")
# Words around a figure that say who, why or how politely, anywhere in a line: "xin lỗi chỉ tiêu
# 2 em nhập nhầm, đúng là 78,5%", "anh ơi em gửi bổ sung chỉ tiêu 1 là 95% nhé". The correction
# words among them mark the message as a correction.
_FIX_WORDS = (r"xin sua|sua lai thanh|sua lai la|sua lai|sua thanh|sua|chinh lai|nhap nham|nhap sai"
              r"|go nham|bi nham|nham|sai|dung ra la|dung la|phai la|gui lai|nop lai|bao lai|xin loi")
_FILLER = re.compile(
    rf"(?<![\w/.])(?:(?P<fix>{_FIX_WORDS})|xin phep|gui bo sung|bo sung|anh oi|chi oi|em oi|bot oi|anh"
    r"|chi(?!\s*tieu)|em|a|nhe|nha|vang|gui|nop|cap nhat|so lieu|ket qua|kinh gui|chung toi"
    r"|minh|nhu sau|please|sorry|typo|should be|resend|resent|update)(?![\w/.])[\s,:.!-]*")
# Periods counted from today: "tháng trước", "quý vừa qua", "kỳ trước", "last month".
_RELATIVE = re.compile(
    r"(?<!\w)(?:(?P<f>thang|quy|ky|month|quarter|period)\s+(?:truoc|vua qua|vua roi|roi)"
    r"|(?:last|previous)\s+(?P<fen>month|quarter|period))(?!\w)")
_RELATIVE_FREQUENCY = {"thang": Frequency.MONTHLY, "month": Frequency.MONTHLY,
                       "quy": Frequency.QUARTERLY, "quarter": Frequency.QUARTERLY}
# "Phường Mạo Khê 6: 81%": a unit named before the figures.
_UNIT_LEAD = re.compile(
    rf"^(?P<unit>(?:ubnd\s+)?(?:xa|phuong|thi tran|phong|trung tam|chi nhanh)\s+[^\d:;,()]+?)"
    rf"\s*[:,-]?\s*(?=(?:{_PREFIX})\s*\.?\s*\d|\d)")
_DIGIT = re.compile(r"\d")
# "tháng 1, 2: 6: 80%", "T1-T2": several months for one figure. Only when a figure follows: in
# "tháng 3, 6: 80%" the 6 is the indicator.
_MONTH_LIST = re.compile(
    rf"(?:thang|t)\s*{_M}(?:\s*(?:,|va|and|&|-)\s*(?:thang|t)?\s*{_M}(?![\d/.]))+(?!\d)"
    rf"(?=\s*[:,-]?\s*(?:(?:{_PREFIX})\s*\.?\s*{_REF}|{_REF}\s*[:=]))")
# Letter O typed for a zero inside a number: "9O%", "1OO".
_LETTER_O = re.compile(r"(?<=\d)o|o(?=\d)")


def _blank(o: str, t: str, spans: list[tuple[int, int]]) -> tuple[str, str]:
    """Cut spans out of both texts alike and collapse the spaces left (they stay aligned)."""
    if not spans:
        return o, t
    out_o, out_t, last = [], [], 0
    for a, b in spans:
        out_o.append(o[last:a])
        out_t.append(t[last:a])
        last = b
    out_o.append(o[last:])
    out_t.append(t[last:])
    t = " ".join(out_t)
    o = " ".join(out_o)
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", t)]
    return " ".join(o[a:b] for a, b in words), " ".join(t[a:b] for a, b in words)


def _lift(o: str, t: str) -> tuple[str, str, list[PeriodHint], bool]:
    """Take periods and filler words out of a line, wherever they stand: "6: 65% (tháng 2)",
    "ct 7 thang 2: 60%", "tháng trước chỉ tiêu 8 đạt 85%". Returns the periods found (in order)
    and whether a correction word was among the fillers."""
    periods: list[PeriodHint] = []
    spans: list[tuple[int, int]] = []
    for m in _PERIOD.finditer(t):
        # Numeric forms ("3/2025", "2025-03") only count at the front (_strip_front): inside a
        # line "12/2025" may be a numerator and a denominator.
        if (m[0][0].isalpha() or "thang" in m[0]) and (hint := _period_of(m)) is not None:
            periods.append(hint)
            spans.append(m.span())
    for m in _RELATIVE.finditer(t):
        word = m["f"] or m["fen"]
        periods.append(PeriodHint(_RELATIVE_FREQUENCY.get(word), 0, back=1))
        spans.append(m.span())
    fix = False
    for m in _FILLER.finditer(t):
        fix = fix or bool(m["fix"])
        spans.append(m.span())
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    o, t = _blank(o, t, merged)
    empty = [m.span() for m in re.finditer(r"\(\s*[,.:]?\s*\)", t)]
    o, t = _blank(o, t, empty)
    cut = len(t) - len(t.lstrip(" ,:"))
    return o[cut:].rstrip(" ,:"), t[cut:].rstrip(" ,:"), periods, fix


def _strip_front(o: str, t: str) -> tuple[str, str, PeriodHint | None, bool, bool]:
    """Remove "sửa", "báo cáo", "tháng 10:" and the like from the front of a line. The last flag
    says the front named several months ("tháng 1, 2: …"): one figure cannot be both."""
    period: PeriodHint | None = None
    correction = several = False
    for _ in range(4):
        if m := _MONTH_LIST.match(t):
            several = True
        elif m := _CORRECTION.match(t):
            correction = True
        elif (m := _LEAD_WORDS.match(t)) or (m := _POLITE.match(t)):
            pass
        elif (m := _PERIOD.match(t)) and (hint := _period_of(m)):
            period = period or hint
        elif m := _RELATIVE.match(t):
            period = period or PeriodHint(_RELATIVE_FREQUENCY.get(m["f"] or m["fen"]), 0, back=1)
        else:
            break
        cut = m.end()
        # "tháng 2: -1: 150/150": a "-" before a digit is a sign, not punctuation to skip.
        while cut < len(t) and t[cut] in " :,-." and not (t[cut] == "-" and t[cut + 1: cut + 2].isdigit()):
            cut += 1
        o, t = o[cut:], t[cut:]
        if not t:
            break
    return o, t, period, correction, several


def _expand(refs: str) -> list[str] | None:
    """"11a,11b" -> [11a, 11b]; "11a-11d" -> [11a..11d]; "12a, b và c" -> [12a, 12b, 12c];
    "1-3" -> [1, 2, 3]. None when a range is not one ("6-72")."""
    items: list[str] = []
    pieces = _LIST_SPLIT.split(refs)
    range_next = False
    for i in range(0, len(pieces), 2):
        item = _PREFIXED_REF.sub(lambda m: m["ref"], pieces[i]).strip()
        item = _ref(item)
        if len(item) == 1 and item.isalpha() and items:
            item = items[-1].rstrip("abcdefgh") + item  # "11a, b": the letter of 11
        if range_next:
            first = items[-1]
            if first[-1:].isalpha() and item[-1:].isalpha() and first[:-1] == item[:-1]:
                letters = range(ord(first[-1]) + 1, ord(item[-1]))
                items.extend(first[:-1] + chr(c) for c in letters)
            elif first.isdigit() and item.isdigit() and 0 < int(item) - int(first) <= _MAX_RANGE:
                items.extend(str(n) for n in range(int(first) + 1, int(item)))
            else:
                return None
        items.append(item)
        range_next = i + 1 < len(pieces) and pieces[i + 1] in ("-", "den", "toi")
    return items


def _figure_line(o: str, t: str, locale: str) -> tuple[list[FigureLine], PeriodHint | None] | None:
    refs: list[str] | None = None
    m = _REF_LIST_HEAD.match(t)
    if m is not None:
        refs = _expand(m["ref"])
        explicit = ":" in m["sep"] or "=" in m["sep"]
        # "6, 7 80%" could be two figures; a list needs ":" unless its parts are lettered.
        if refs is None or not (explicit or all(r[-1:].isalpha() for r in refs)):
            refs, m = None, None
    if m is None:
        m = _REF_HEAD.match(t)
        if m is None or (m["sep"] == "-" and not m["prefix"]):
            return None  # "ct10-85%" is a figure; "6-72" could be a range or a date
        refs = [_ref(m["ref"])]
    assert refs is not None
    explicit = ":" in m["sep"] or "=" in m["sep"]
    pos = m.end()
    period = None
    # "chỉ tiêu 6 tháng 10 đạt 72,5%": a period between the reference and the value.
    if (p := _PERIOD.match(t, pos)) and (hint := _period_of(p)):
        period, pos = hint, p.end()
        while pos < len(t) and t[pos] in " :,-":
            pos += 1
    # "đạt 72,5%", "hiện là 80": words before the value; "đã triển khai" is a value of its own.
    figure = _parse_value(o[pos:], t[pos:], locale, words_after=True)
    if figure is None and (v := _VERB.match(t, pos)) and pos < v.end() < len(t):
        pos = v.end()
        figure = _parse_value(o[pos:], t[pos:], locale, words_after=True)
    if figure is None:
        value_o, value_t = _trim(o[pos:], t[pos:])
        if (not explicit or value_t.count(" ") >= _MAX_INVALID_WORDS
                or (value_t and _CUES.search(value_t))):
            return None
        # "6: ~~", "6: \" OR 1=1 --": not a number, said so; never a figure for anything else.
        figure = FigureInput(raw=value_o or o[pos:].strip())
    return [FigureLine(ref, figure) for ref in refs], period


def _figures(segments: list[tuple[str, str]], locale: str) -> SubmitFigures | None:
    """Figures in a message, each with the period its words name.

    A period at the front of a line ("Tháng 3:", "bổ sung tháng 3: 11a 100%") holds for that line
    and the lines after it until another is named; a period elsewhere in a line ("6: 65% (tháng
    2)", "ct 7 thang 2: 60%") holds for that line only. A line naming two different periods is
    marked, to be asked about. A line with a digit that holds no readable figure is returned in
    `unreadable` (when the message holds figures), so the reply can quote it back; a question
    without a digit, in `questions`, so the reply can ask for it on its own."""
    found: list[FigureLine] = []
    unreadable: list[str] = []
    questions: list[str] = []
    sticky: PeriodHint | None = None
    correction = False
    for o, t in segments:
        typed = o
        if m := _BULLET.match(t):
            o, t = o[m.end():], t[m.end():]
        o, t, front, fix, several = _strip_front(o, t)
        correction = correction or fix or bool(_CORRECTION_NOTE.search(t))
        sticky = front or sticky
        if not t or "?" in t or _QUESTION.search(t):
            # Question words make it a question ("khi nao het han thang 4?"); a "?" alone after
            # digits, a figure the officer was unsure of ("6: 72%?"), is quoted as unreadable.
            if _DIGIT.search(t) and not _QUESTION.search(t):
                unreadable.append(typed)
            elif t:
                questions.append(typed.strip())
            continue
        unit = None
        if t[0].isalpha() and (m := _UNIT_LEAD.match(t)):
            unit = o[: m.end("unit")].strip()
            o, t = o[m.end():], t[m.end():]
        o, t, inline, fix = _lift(o, t)
        correction = correction or fix
        named = [*([front] if front else []), *inline]
        if not t:
            if inline and not front:
                sticky = inline[0]  # "Số liệu tháng 10 như sau" (a heading)
            continue
        lines, periods = _line_figures(o, t, locale, unreadable)
        named += periods
        line_period = named[0] if named else sticky
        disagree = several or len(set(named)) > 1
        found.extend(FigureLine(line.ref, line.figure, line_period, unit, disagree) for line in lines)
        if not lines and inline and not front and not _DIGIT.search(t):
            sticky = inline[0]
    if not found:
        return None
    periods = {line.period for line in found}
    if len(periods) == 1 and not any(line.periods_disagree for line in found):
        # One period for the whole message: said once, on the message.
        shared = found[0].period
        return SubmitFigures(tuple(FigureLine(x.ref, x.figure, None, x.unit) for x in found), shared,
                             correction, tuple(unreadable), tuple(questions))
    return SubmitFigures(tuple(found), None, correction, tuple(unreadable), tuple(questions))


def _line_figures(o: str, t: str, locale: str, unreadable: list[str]) -> tuple[list[FigureLine], list[PeriodHint]]:
    """The figures of one line (its front and fillers taken out) and the periods they name; a
    piece holding a digit but no figure is added to `unreadable`."""
    starts = [0, *(m.start() for m in _FIGURE_START.finditer(t) if m.start() > 0)]
    chunks = list(zip(starts, [*starts[1:], len(t)], strict=True))
    lines: list[FigureLine] = []
    periods: list[PeriodHint] = []
    i = 0
    while i < len(chunks):
        begin, end = chunks[i]
        parsed = _figure_line(o[begin:end].strip(" ,"), t[begin:end].strip(" ,"), locale)
        if parsed is None or _unread(parsed[0]):
            # A list still going on ("ct 11a, 11b: 100%"), or a value that is not one ("6: \"
            # OR 1=1 --"): read the rest of the line with it, never as figures of their own.
            whole = _figure_line(o[begin:].strip(" ,"), t[begin:].strip(" ,"), locale)
            if whole is not None:
                parsed, i = whole, len(chunks)
        if parsed is not None:
            lines.extend(parsed[0])
            if parsed[1] is not None:
                periods.append(parsed[1])
        elif _DIGIT.search(t, begin, end):
            unreadable.append(o[begin:end].strip())
        i += 1
    if not lines and (named_line := _named_then_value(o, t, locale)) is not None:
        # "Tỷ lệ hồ sơ trực tuyến (chỉ tiêu 8): 45%": the reference inside the words.
        lines = [named_line]
        if unreadable and unreadable[-1] == o.strip():
            unreadable.pop()
    return lines, periods


_TAIL_VALUE = re.compile(
    rf"(?<![\d.,])(?P<v>{NUMBER_PATTERN}\s*(?:%|phan tram)|{NUMBER_PATTERN}\s*/\s*{NUMBER_PATTERN})\s*[.!]*$")


_MAX_TAIL = 40


def _named_then_value(o: str, t: str, locale: str) -> FigureLine | None:
    """One prefixed reference anywhere, and a percentage or a ratio ending the line."""
    refs = list(_PREFIXED_REF.finditer(t))
    if len(refs) != 1:
        return None
    # Only the line's end is searched: from every position of "1.1.1…" the search is quadratic.
    value = _TAIL_VALUE.search(t, max(refs[0].end(), len(t) - _MAX_TAIL))
    if value is None:
        return None
    figure = _parse_value(o[value.start("v"):], t[value.start("v"):], locale, words_after=False)
    return FigureLine(_ref(refs[0]["ref"]), figure) if figure is not None else None


def _unread(lines: list[FigureLine]) -> bool:
    f = lines[0].figure
    return f.value is None and f.numerator is None and f.done is None and not f.not_applicable


def _bare_value(o: str, t: str, locale: str) -> BareValue | None:
    if (v := _VERB.match(t)) and v.end() < len(t) and t not in _DONE_WORDS:
        o, t = o[v.end():], t[v.end():]  # "đạt 100%", "khoảng 70%"
    if t[0].isalpha() and t not in _DONE_WORDS and t not in _NOT_APPLICABLE:
        return None  # values start with a digit or "-", unless they are a done or "không phát sinh" word
    figure = _parse_value(o, t, locale, words_after=True)
    if figure is None:
        return None
    choice = None
    raw = figure.raw
    if raw.isdigit() and len(raw) <= MAX_CHOICE_DIGITS:
        choice = int(raw)
    return BareValue(figure, choice)


# ----------------------------------------------------------------------------------- questions

def _unit_text(o: str, t: str, start: int = 0, end: int | None = None) -> str | None:
    """The unit's name as typed (lower case, diacritics kept), or None when it names no unit."""
    end = len(t) if end is None else end
    # "tình hình xã An Sinh tháng 10 ạ": neither the period nor the particle is part of the name.
    if (m := _PERIOD.search(t, start, end)) and m.end() == end:
        end = m.start()
    if m := _UNIT_TAIL.search(t, start, end):
        end = m.start()
    while start < end and t[start] in _UNIT_EDGE:
        start += 1
    while end > start and t[end - 1] in _UNIT_EDGE:
        end -= 1
    if start == end or _NOT_A_UNIT.match(t[start:end]):
        return None
    return o[start:end].lower()


def _status(o: str, t: str) -> AskStatus | None:
    for pattern in _STATUS_UNIT:
        if m := pattern.match(t):
            return AskStatus(_unit_text(o, t, m.start("unit"), m.end("unit")))
    if (m := _UNIT_ALONE.match(t)) and m[0].count(" ") < _MAX_UNIT_WORDS:
        return AskStatus(_unit_text(o, t))  # "xã An Sinh", "phòng Nội vụ": how is that unit doing
    return AskStatus(None) if _STATUS.search(t) else None


_WHY = re.compile(r"(?:vi sao|tai sao|sao vay|why)(?: (?:vay|the|a|so))?\s*\??")  # on folded text


def _question(o: str, t: str) -> Intent | None:
    o, t = o[:MAX_QUESTION], t[:MAX_QUESTION]
    if _WHY.fullmatch(t):
        return AskWhy()
    if (language := _about_language(t)) is not None:
        return language
    if _MISSING.search(t):
        return AskMissing(_find_period(t))
    ref = _prefixed_ref(t)
    if _COMPARE.search(t):
        return AskCompare(ref)
    if ref is None and _OWED.search(t):
        return ShowReport()
    if ref is None and _OFF_TRACK.search(t):
        return AskOffTrack()
    across = _ACROSS.search(t) is not None
    asks_gap = "?" in t or _GAP.search(t) is not None
    if ref is None and (asks_gap or across):
        ref = _bare_ref(t)
    if ref is not None:
        return AskIndicatorAcrossUnits(ref) if across else AskGap(ref)
    return _about_the_plan(o, t)


def _about_language(t: str) -> SetLanguage | None:
    if _TO_ENGLISH.search(t):
        return SetLanguage("en")
    if _TO_VIETNAMESE.search(t):
        return SetLanguage("vi")
    if _LANGUAGE.search(t):
        return SetLanguage(None)
    return None


def _about_the_plan(o: str, t: str) -> Intent | None:
    """A question naming no indicator: charts, the summary, the schedule, a unit's status, help."""
    if _CHARTS.search(t):
        return AskCharts(_find_period(t))
    if _EXPORT.search(t):
        return AskExport(_find_period(t))
    if _SUMMARY.search(t):
        return AskSummary(_find_period(t), approved=_APPROVED.search(t) is not None)
    if _SCHEDULE.search(t):
        return AskSchedule()
    if _CANCEL_START.match(t):
        return Cancel()
    if status := _status(o, t):
        return status
    if _GAP_WITHOUT_REF.search(t):
        return AskGap(None)
    if _HELP.search(t):
        return Help()
    if _REPORT.search(t):
        return ShowReport()
    return None


# ------------------------------------------------------------------------------ typo tolerance

# Keyword phrases worth correcting: long enough that one edit is a typo, not another word.
_FUZZY_PHRASES = (
    "tinh hinh", "tien do", "bao cao", "chi tieu", "khoang cach", "con thieu", "bao nhieu",
    "tong hop", "huong dan", "giup do", "lich nhac", "don vi", "chua bao cao", "chua nop",
    "ngon ngu", "tieng anh", "tieng viet", "hoan thanh", "so lieu", "xac nhan", "dong y", "the nao",
    "status", "report", "summary", "schedule", "missing", "cancel", "english", "vietnamese",
    "indicator", "progress", "help", "language", "reminder", "deadline", "chitieu", "tinhhinh",
    "tonghop", "baocao", "huongdan",
)
_FUZZY_BY_WORDS: dict[int, tuple[str, ...]] = {
    n: tuple(p for p in _FUZZY_PHRASES if p.count(" ") == n - 1) for n in (1, 2, 3)}
_KNOWN_WORDS = frozenset(itertools.chain(_FUZZY_PHRASES, *(p.split() for p in _FUZZY_PHRASES)))
_MIN_FUZZY = 4  # shorter windows are other Vietnamese words far too often


def _correct_typos(o: str, t: str) -> tuple[str, str]:
    """Replace word windows one edit (two for long phrases) away from a keyword phrase."""
    words = t.split(" ")
    typed = o.split(" ")
    if len(typed) != len(words):
        typed = words
    out_t: list[str] = []
    out_o: list[str] = []
    i = 0
    while i < len(words):
        for n in (3, 2, 1):
            window = " ".join(words[i: i + n])
            if (i + n > len(words) or len(window) < _MIN_FUZZY or window in _KNOWN_WORDS
                    or any(ch.isdigit() for ch in window)):
                continue
            hit = process.extractOne(window, _FUZZY_BY_WORDS[n], scorer=OSA.distance,
                                     score_cutoff=1 if len(window) < 10 else 2)
            if hit is not None:
                out_t.append(hit[0])
                out_o.append(hit[0])
                i += n
                break
        else:
            out_t.append(words[i])
            out_o.append(typed[i])
            i += 1
    return " ".join(out_o), " ".join(out_t)


# ----------------------------------------------------------------------------------- the reader

_MENTION = re.compile(r"^@\w+[\s,:]*|[\s,]*@\w+$")


def _read(segments: list[tuple[str, str]], text: str, locale: str) -> Intent | None:
    o = " ".join(s[0] for s in segments)
    t = " ".join(s[1] for s in segments)
    o_short, t_short = _trim(o, t)
    key = t_short if t_short else t
    if (intent := _TYPED_PHRASES.get(o_short.lower())) is not None:
        return intent
    head, _, last = key.rpartition(" ")
    vocative = head if last in _VOCATIVES else ""  # "ok em", "xong rồi anh"
    for candidate in (key, key.rstrip("?"), vocative):
        if (intent := _PHRASES.get(candidate)) is not None:
            return intent
    if figures := _figures(segments, locale):
        return figures
    if "?" not in t and not _QUESTION.search(t):
        bare = _bare_value(o_short, key, locale)
        if bare is None and vocative:
            bare = _bare_value(o_short[: len(vocative)], vocative, locale)
        if bare is not None:
            return bare
    return _question(o, t)


def _understand(text: str, locale: str = "vi") -> Intent:
    """understand() without its safety net, so tests see any bug as an exception."""
    if not isinstance(text, str):
        return Unknown("")
    message = text[:MAX_MESSAGE]
    if not message.isascii():
        message = unicodedata.normalize("NFC", message)
    message = _MENTION.sub("", message.strip())
    segments = [s for s in (_prepare(part) for part in _SEPARATORS.split(message)) if s[1]]
    if not segments:
        return Unknown(text)
    if segments[0][1].startswith("/"):
        o, t = _prepare(message)
        return _command(o, t, text, locale)
    intent = _read(segments, text, locale)
    if intent is None:
        corrected = [_correct_typos(o, t) for o, t in segments]
        if corrected != segments:
            intent = _read(corrected, text, locale)
    return intent if intent is not None else Unknown(text)


def understand(text: str, locale: str = "vi") -> Intent:
    """What a message means: a command, figures, a bare value, a question, or Unknown(text).

    `locale` ("vi" / "en") only decides how "1.000" and "1,000" read. Never raises.
    """
    try:
        return _understand(text, locale)
    except Exception:  # a reading bug must cost one "didn't understand", never the conversation
        return Unknown(text if isinstance(text, str) else "")


# ------------------------------------------------------------------------------- language of

_EN_WORDS = frozenset((
    "the", "is", "are", "what", "how", "which", "who", "my", "our", "please", "show", "me", "missing",
    "status", "thanks", "thank", "you", "doing", "still", "much", "many", "left", "we", "i", "for",
    "of", "to", "this", "last", "month", "quarter", "units", "has", "have", "not", "yet", "in", "can",
    "do", "does", "did", "should", "and", "with", "compared", "far", "when", "due", "progress",
    "track", "indicator", "indicators", "reported", "hasn't", "haven't", "what's", "how's", "there"))
_VI_WORDS = frozenset((
    "chi", "tieu", "bao", "nhieu", "thang", "cua", "con", "thieu", "khong", "duoc", "nhu", "nao", "da",
    "la", "em", "anh", "toi", "minh", "xa", "phuong", "don", "vi", "cam", "sao", "roi", "chua",
    "nop", "gui", "lieu", "ket", "qua", "tinh", "hinh", "tong", "hop", "nhe", "oi", "voi",
    "truoc", "quy", "nam", "dat", "xong", "co", "ai", "gi", "ra", "vay", "nhi"))
_WORD = re.compile(r"[^\W\d_]+(?:'[a-z]+)?")


def language_of(text: str) -> str | None:
    """"en" or "vi" when a message is plainly written in that language (two words or more of
    it and none of the other), else None: figures, "ok", names of places decide nothing."""
    english = vietnamese = 0
    for word in _WORD.findall(text[:MAX_QUESTION].lower()):
        if not word.isascii():
            vietnamese += 1
        elif word in _EN_WORDS:
            english += 1
        elif word in _VI_WORDS:
            vietnamese += 1
    if english >= 2 and not vietnamese:
        return "en"
    if vietnamese >= 2 and not english:
        return "vi"
    return None
