"""What a message means, before anyone looks it up: the contract between understand.py (text ->
intent, pure) and dispatch.py (intent + who is asking -> the job).

Indicator references are kept as typed (normalised to lower case: "6", "12b", "pl2.3", "ii.6");
resolving them against a plan, and periods against the calendar, is the handlers' work.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from models.periods import Frequency


@dataclass(frozen=True, slots=True)
class PeriodHint:
    """A period as a person names it: "tháng 10" (no year), "quý I/2025", "2025-Q1", "6 tháng đầu năm"."""

    frequency: Frequency | None  # None only with `back`: "kỳ trước" is the part's own frequency
    index: int  # month 1-12, quarter 1-4, half 1-2, 1 for a year; 0 with `back`
    year: int | None = None
    back: int | None = None  # "tháng trước" = 1, "tháng này" = 0: counted from today's calendar period


@dataclass(frozen=True, slots=True)
class FigureInput:
    """One figure as sent: a value (with or without %), a numerator/denominator, or done/not done."""

    value: Decimal | None = None
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    done: bool | None = None
    percent_sign: bool = False  # "72,5%": the sender said it is a percentage
    negative: bool = False  # "-5": kept so the reply can say why it is refused
    not_applicable: bool = False  # "không phát sinh", "0/0", "N/A": nothing to report this period
    raw: str = ""


@dataclass(frozen=True, slots=True)
class FigureLine:
    """"6: 72,5%": an indicator reference and its figure."""

    ref: str
    figure: FigureInput
    period: PeriodHint | None = None  # named on this line ("ct 7 tháng 2: 60%"); beats the message's
    unit: str | None = None  # a unit named on the line ("Phường Mạo Khê 6: 81%"), as typed
    periods_disagree: bool = False  # two different periods on one line: asked, never guessed


class Intent:
    """Base of every intent."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Start(Intent):
    code: str | None = None  # the invite code after /start, if any


@dataclass(frozen=True, slots=True)
class Help(Intent):
    pass


@dataclass(frozen=True, slots=True)
class Cancel(Intent):
    pass


@dataclass(frozen=True, slots=True)
class SetLanguage(Intent):
    locale: str | None = None  # "vi" / "en"; None: offer the choice


@dataclass(frozen=True, slots=True)
class ShowReport(Intent):
    """/baocao, "báo cáo", "nộp số liệu": what my unit owes now."""


@dataclass(frozen=True, slots=True)
class SubmitFigures(Intent):
    lines: tuple[FigureLine, ...]
    period: PeriodHint | None = None  # "tháng 10: 6: 72,5%"
    correction: bool = False  # "sửa chỉ tiêu 6: 75%"
    unreadable: tuple[str, ...] = ()  # lines that look like figures but could not be read, as typed
    questions: tuple[str, ...] = ()  # questions among the figures ("khi nào hết hạn?"), as typed


@dataclass(frozen=True, slots=True)
class BareValue(Intent):
    """Just a value, no indicator: "72,5", "120/150", "xong". In a guided step it is the figure; an
    integer without % may also be the number of a listed choice."""

    figure: FigureInput
    choice: int | None = None


@dataclass(frozen=True, slots=True)
class AskGap(Intent):
    ref: str | None = None  # None: "còn thiếu bao nhiêu?" without a number (ask which)


@dataclass(frozen=True, slots=True)
class AskStatus(Intent):
    unit: str | None = None  # a unit's name as typed ("xã An Sinh"); None: mine, or plan-wide for leaders


@dataclass(frozen=True, slots=True)
class AskIndicatorAcrossUnits(Intent):
    ref: str


@dataclass(frozen=True, slots=True)
class AskOffTrack(Intent):
    pass


@dataclass(frozen=True, slots=True)
class AskMissing(Intent):
    period: PeriodHint | None = None  # "đơn vị nào chưa báo cáo tháng 3?"
    unknown_period: str | None = None  # "/chuanop abc": an argument that names no period


@dataclass(frozen=True, slots=True)
class AskWhy(Intent):
    """"vì sao?" after a summary or status: how ✅ 🟡 🔴 ⚪ are decided."""


@dataclass(frozen=True, slots=True)
class AskSummary(Intent):
    period: PeriodHint | None = None
    unknown_period: str | None = None  # "2025-13", "abc": answered with the forms accepted
    approved: bool = False  # "/tonghop duyet", "tổng hợp số đã duyệt": approved figures only (issue 17)


@dataclass(frozen=True, slots=True)
class AskCharts(Intent):
    """/bieudo, "biểu đồ": the summary's charts (leaders, the group)."""

    period: PeriodHint | None = None
    unknown_period: str | None = None  # "2025-13", "abc": answered with the forms accepted


@dataclass(frozen=True, slots=True)
class AskExport(Intent):
    """/xuat, "xuất excel": the period's results as a spreadsheet (admins)."""

    period: PeriodHint | None = None
    unknown_period: str | None = None  # "2025-13", "abc": answered with the forms accepted


@dataclass(frozen=True, slots=True)
class AskTemplate(Intent):
    """/bieumau, "gửi biểu mẫu", "cho xin file mẫu": the officer's form to fill (handlers/paperwork.py)."""


@dataclass(frozen=True, slots=True)
class AskOfficialReport(Intent):
    """/baocaovanban, "báo cáo văn bản": the official report as Word (and PDF) for the period
    (leaders, admins, the tracking office)."""

    period: PeriodHint | None = None
    unknown_period: str | None = None


@dataclass(frozen=True, slots=True)
class AskSchedule(Intent):
    """/lich, "lịch nhắc": the upcoming schedule (admins)."""


@dataclass(frozen=True, slots=True)
class Thanks(Intent):
    """"cảm ơn", "thanks": answered politely."""


@dataclass(frozen=True, slots=True)
class AskCompare(Intent):
    """"so với tháng trước thế nào?": the unit's figures now beside the period before."""

    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Confirm(Intent):
    yes: bool


@dataclass(frozen=True, slots=True)
class Unknown(Intent):
    text: str = ""
