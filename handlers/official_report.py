"""The official report: "Báo cáo kết quả thực hiện Kế hoạch … <kỳ>" as a Word document in the layout
of Nghị định 30/2020/NĐ-CP, with the results appendix; a PDF of it where LibreOffice is installed.

The document is handlers/templates/bao-cao-ket-qua.docx (an office may edit its wording, keeping
the {{ … }} tags; handlers/templates/build.py made the first version) filled by docxtpl with the
sentences below. Every number comes from the same Summary the steering group's summary and the
spreadsheet are made of (models.summary_queries.build_summary), worded by the same helpers
(handlers.formatting, handlers.summary_text), so the report, /tonghop and /xuat never disagree.

The report is an administrative document in Vietnamese whatever the asker's language: its
sentences are read from the locale files in Vietnamese; the reply that carries it follows the
asker's language.

`python -m bot report --plan CODE --period P --out FILE.docx` (report_command) and /baocaovanban
(ask_official_report: leaders, admins and the plan's tracking office).
"""
from __future__ import annotations

import asyncio
import io
import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate

from handlers import rights, summary as summary_module
from handlers.context import Ctx
from handlers.events import Attachment, Reply
from handlers.export import AppLike
from handlers.formatting import describe_amount, describe_target, period_label, points
from handlers.intents import PeriodHint
from handlers.summary_text import coverage_text, verdict_note
from locales import Translator, translator
from models import store
from models.periods import Period, PeriodError
from models.plan_view import PlanView
from models.rollups import Standing
from models.summary_data import IndicatorRow, Summary
from models.summary_queries import build_summary
from models.text import fold

__all__ = [
    "TEMPLATE",
    "ReportError",
    "ask_official_report",
    "pdf_of",
    "render_report",
    "report_command",
    "report_context",
    "report_filename",
]

log = logging.getLogger(__name__)

TEMPLATE = Path(__file__).resolve().parent / "templates" / "bao-cao-ket-qua.docx"
LIST_MAX = 15  # names listed in a sentence before "và N đơn vị khác"
TOP_GAPS = 5
PDF_SECONDS = 120  # LibreOffice's first start in a fresh profile takes a while on a loaded machine
_FILL = "……"
_STANDING_ORDER = (Standing.MET, Standing.ON_TRACK, Standing.OFF_TRACK, Standing.THIN, Standing.NO_DATA)
# "UBND thị xã Đông Triều" -> "Đông Triều": the place on the date line is the issuer's locality.
_PLACE = re.compile(r"(?:thị xã|thành phố|huyện|tỉnh|phường|xã|thị trấn)\s+(.+)$", re.IGNORECASE)


class ReportError(Exception):
    """A report that cannot be made; str() is a localized explanation for the person asking."""


@dataclass(frozen=True)
class Rendered:
    docx: bytes
    pdf: bytes | None
    why_no_pdf: str | None  # one line saying why there is no PDF


# --- the words ---------------------------------------------------------------------------------


def report_filename(summary: Summary, suffix: str = ".docx") -> str:
    return f"bao-cao-{summary.plan_code}-{summary.period.id}{suffix}"


def _names(names: list[str], t: Translator, more: str = "paper-report-and-more") -> str:
    """The first LIST_MAX names, then "và 12 đơn vị khác" (`more`: the words for the rest)."""
    shown = ", ".join(names[:LIST_MAX])
    if len(names) > LIST_MAX:
        shown += t(more, count=t.number(len(names) - LIST_MAX))
    return shown


def _title(row: IndicatorRow) -> str:
    return row.full_title


def _figure(row: IndicatorRow, t: Translator) -> str:
    return describe_amount(row.amount, row.target, t) if row.amount is not None else "—"


def _result_line(row: IndicatorRow, t: Translator) -> str:
    """"- Chỉ tiêu 6 (…): đạt 82% (3/4 đơn vị có số); kỳ trước 75%; mục tiêu ≥ 90%: đúng tiến độ."""
    previous = (t("paper-report-previous", figure=describe_amount(row.previous, row.target, t))
                if row.previous is not None else "")
    if row.amount is None:
        return t("paper-report-result-none", code=row.code, title=_title(row), coverage=coverage_text(row.rollup, t),
                 target=describe_target(row.target, t))
    note = verdict_note(row, t)
    return t("paper-report-result", code=row.code, title=_title(row), figure=_figure(row, t),
             coverage=coverage_text(row.rollup, t), previous=previous, target=describe_target(row.target, t),
             verdict=t(f"summary-standing-{row.standing.value}").lower() + (f" ({note})" if note else ""))


def _reporting(summary: Summary, t: Translator) -> str:
    counts = summary.reports
    rate = t.percent(counts.rate) if counts.rate is not None else "—"
    on_time_rate = t.percent(counts.on_time_rate) if counts.on_time_rate is not None else "—"
    complete = sum(1 for unit in summary.units if unit.reports.expected and unit.reports.missing == 0)
    return t("paper-report-reporting", period=period_label(summary.period, t), units=t.number(len(summary.units)),
             expected=t.number(counts.expected), received=t.number(counts.received), rate=rate,
             on_time=t.number(counts.on_time), on_time_rate=on_time_rate, late=t.number(counts.late),
             missing=t.number(counts.missing), complete=t.number(complete))


def _overview(summary: Summary, t: Translator) -> str:
    counts = summary.counts()
    return t("paper-report-overview", indicators=t.number(len(summary.rows)), met=t.number(counts[Standing.MET]),
             on_track=t.number(counts[Standing.ON_TRACK]), off_track=t.number(counts[Standing.OFF_TRACK]),
             thin=t.number(counts[Standing.THIN] + counts[Standing.NO_DATA]))


def _gaps(summary: Summary) -> list[IndicatorRow]:
    """The largest gaps first: off-track indicators by how far they are from the line."""
    off = [row for row in summary.rows if row.standing is Standing.OFF_TRACK]
    return sorted(off, key=lambda row: -(row.relative_gap or 0))


def _shortcomings(summary: Summary, t: Translator) -> list[str]:
    lines = []
    for row in _gaps(summary)[:TOP_GAPS]:
        gap = points(row.gap, row.target, t) if row.gap is not None else "—"
        lines.append(t("paper-report-gap", code=row.code, title=_title(row), figure=_figure(row, t),
                       target=describe_target(row.target, t), gap=gap))
    missing = [unit.name for unit in summary.to_chase]
    if missing:
        lines.append(t("paper-report-missing-units", count=t.number(len(missing)), names=_names(missing, t)))
    late = [unit.name for unit in summary.units if unit.reports.late]
    if late:
        lines.append(t("paper-report-late-units", count=t.number(len(late)), names=_names(late, t)))
    thin = [row for row in summary.rows if row.standing in (Standing.THIN, Standing.NO_DATA)]
    if thin:
        lines.append(t("paper-report-thin", codes=_names([row.code for row in thin], t, "paper-report-and-more-codes")))
    return lines or [t("paper-report-no-shortcomings")]


def _tasks(summary: Summary, t: Translator) -> list[str]:
    lines = []
    for row in _gaps(summary)[:TOP_GAPS]:
        if row.needed_per_period is not None and row.remaining_periods > 0:
            lines.append(t("paper-report-task-needed", code=row.code, title=_title(row),
                           target=describe_target(row.target, t), remaining=t.number(row.remaining_periods),
                           needed=points(row.needed_per_period, row.target, t)))
        else:
            lines.append(t("paper-report-task-gap", code=row.code, title=_title(row),
                           target=describe_target(row.target, t)))
    if summary.to_chase:
        lines.append(t("paper-report-task-chase", count=t.number(len(summary.to_chase)),
                       period=period_label(summary.period, t)))
    thin = [row.code for row in summary.rows if row.standing in (Standing.THIN, Standing.NO_DATA)]
    if thin:
        lines.append(t("paper-report-task-thin", codes=_names(thin, t, "paper-report-and-more-codes")))
    if summary.period.remaining_in_year() > 0:
        lines.append(t("paper-report-task-next", period=period_label(summary.period.next(), t)))
    else:
        lines.append(t("paper-report-task-year", year=summary.plan_year + 1))
    return lines


def _appendix(view: PlanView, summary: Summary, t: Translator) -> list[dict[str, str]]:
    """The results table in the plan's own order, as the spreadsheet's appendix: group rows, an
    indicator's row, and a row per part of a compound indicator."""
    rows = {row.part_id: row for row in summary.rows}
    groups = {group["code"]: group["title"] for group in view.plan.groups or []}
    table: list[dict[str, str]] = []
    shown_group: str | None = None

    def line(number: str, text: str, row: IndicatorRow | None, target: str = "") -> dict[str, str]:
        if row is None:
            return {"number": number, "text": text, "target": target, "figure": "", "previous": "",
                    "coverage": "", "gap": "", "status": ""}
        return {"number": number, "text": text, "target": describe_target(row.target, t), "figure": _figure(row, t),
                "previous": describe_amount(row.previous, row.target, t) if row.previous is not None else "",
                "coverage": coverage_text(row.rollup, t),
                "gap": points(row.gap, row.target, t) if row.gap is not None else "",
                "status": t(f"summary-standing-{row.standing.value}")}

    for indicator in view.indicators:
        parts = [view.parts[p.id] for p in indicator.parts if p.id in view.parts]
        results = [rows[pv.part.id] for pv in parts if pv.part.id in rows]
        if not results:
            continue  # not in this period's cycle (a yearly indicator in March)
        if indicator.group_code and indicator.group_code != shown_group:
            shown_group = indicator.group_code
            table.append(line(indicator.group_code, (groups.get(indicator.group_code) or "").upper(), None))
        if len(parts) == 1:
            table.append(line(indicator.number or indicator.code, indicator.text, results[0]))
            continue
        table.append(line(indicator.number or indicator.code, indicator.text, None, indicator.target_raw or ""))
        for pv in parts:
            if pv.part.id in rows:
                label = f"{pv.code} · {pv.part.label}" if pv.part.label else pv.code
                table.append(line("", label, rows[pv.part.id]))
    return table


def _plan_name(title: str, t: Translator) -> str:
    """"Kế hoạch Chuyển đổi số …", once: many plans' titles already begin with the word."""
    return title if fold(title).startswith("ke hoach") else t("paper-report-plan-named", title=title)


def _place(issuer: str | None) -> str:
    match = _PLACE.search(issuer or "")
    return match.group(1).strip() if match else _FILL


def report_context(view: PlanView, summary: Summary) -> dict[str, Any]:
    """What the template's tags are filled with: every sentence in Vietnamese (module docstring)."""
    t = translator("vi")
    plan = view.plan
    tracking = next((u for u in view.units.values() if u.code == plan.tracking_unit_code), None)
    issuer = plan.issuer or t("paper-report-default-issuer")
    issuing_name = tracking.name if tracking else issuer
    label = period_label(summary.period, t)
    return {
        "parent_body": issuer.upper() if tracking else "",
        "parent_body_name": issuer,
        "issuing_body": issuing_name.upper(),
        "issuing_name": issuing_name,
        "number_line": f"{_FILL}/BC-{_FILL}",
        "place": _place(plan.issuer), "day": _FILL, "month": _FILL, "year": summary.today.year,
        "title": t("paper-report-title", plan=_plan_name(plan.title, t), period=label),
        "opening": t("paper-report-opening", document=plan.document or _plan_name(plan.title, t),
                     issuer=issuing_name,
                     period=label, today=t.date(summary.today)),
        "reporting": _reporting(summary, t),
        "results_overview": _overview(summary, t),
        "results": [_result_line(row, t) for standing in _STANDING_ORDER
                    for row in summary.rows if row.standing is standing],
        "shortcomings": _shortcomings(summary, t),
        "tasks": _tasks(summary, t),
        "closing": t("paper-report-closing", period=label, issuer=issuing_name),
        "signer_title": t("paper-report-signer-head" if tracking and tracking.kind == "department"
                          else "paper-report-signer-chief"),
        "signer_name": "",
        "appendix_title": t("paper-report-appendix-title", period=label).upper(),
        "period": label, "plan_year": plan.year,
        "appendix": _appendix(view, summary, t),
    }


# --- the files ---------------------------------------------------------------------------------


def render_report(view: PlanView, summary: Summary, template: Path = TEMPLATE) -> bytes:
    """The filled .docx. CPU-bound (the appendix of a large plan): callers use a worker thread."""
    document = DocxTemplate(str(template))
    document.render(report_context(view, summary), autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_of(docx: bytes, t: Translator) -> tuple[bytes | None, str | None]:
    """The document as PDF through LibreOffice (`soffice --headless --convert-to pdf`), or None
    and one line saying why not (not installed, or it failed)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None, t("paper-report-no-pdf")
    with tempfile.TemporaryDirectory(prefix="dtbot-report-") as folder:
        source = Path(folder) / "bao-cao.docx"
        source.write_bytes(docx)
        # A profile of its own: two conversions at once must not share (and lock) one.
        profile = Path(folder, "profile").as_uri()
        command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore",
                   "--convert-to", "pdf", "--outdir", folder, str(source)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=PDF_SECONDS)
            return (Path(folder) / "bao-cao.pdf").read_bytes(), None
        except (subprocess.SubprocessError, OSError) as exc:
            log.warning("PDF conversion failed: %s", type(exc).__name__)
            return None, t("paper-report-pdf-failed")


def _render_all(view: PlanView, summary: Summary, t: Translator, want_pdf: bool) -> Rendered:
    docx = render_report(view, summary)
    if not want_pdf:
        return Rendered(docx, None, None)
    pdf, why = pdf_of(docx, t)
    return Rendered(docx, pdf, why)


def _write(path: Path, content: bytes, t: Translator) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    except OSError as exc:
        raise ReportError(t("export-error-write", path=str(path), problem=exc.strerror or str(exc))) from None


async def report_command(app: AppLike, plan_code: str, period_text: str, out_path: str | Path) -> list[str]:
    """`python -m bot report --plan CODE --period P --out FILE.docx|.pdf`: writes the DOCX and,
    where LibreOffice is installed, the PDF beside it (FILE.pdf asks for both too); returns the
    lines to print. Raises ReportError for an unknown plan or period, or a file not written."""
    t = app.t
    try:
        period = Period.parse(period_text)
    except PeriodError:
        raise ReportError(t("export-error-period", period=period_text)) from None
    today = app.now().astimezone(app.settings.timezone).date()
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        if plan is None:
            known = ", ".join(p.code for p in await store.list_plans(session)) or "-"
            raise ReportError(t("export-error-plan", plan=plan_code, known=known))
        if period.year != plan.year:
            raise ReportError(t("export-error-year", plan=plan.code, year=plan.year, period=period.id))
        view = await store.load_plan_view(session, plan.id)
        summary = await build_summary(session, view, period, today, app.settings.timezone)
    rendered = await asyncio.to_thread(_render_all, view, summary, t, True)
    path = Path(out_path)
    docx_path = path.with_suffix(".docx")
    _write(docx_path, rendered.docx, t)
    lines = [t("paper-report-written", path=str(docx_path), plan=plan.code, period=period_label(period, t))]
    if rendered.pdf is not None:
        pdf_path = path.with_suffix(".pdf")
        _write(pdf_path, rendered.pdf, t)
        lines.append(t("paper-report-written-pdf", path=str(pdf_path)))
    elif rendered.why_no_pdf:
        lines.append(rendered.why_no_pdf)
    return lines


# --- the chat ----------------------------------------------------------------------------------


def may_ask(ctx: Ctx, view: PlanView) -> bool:
    """Leaders and admins, and the plan's tracking office (which writes it)."""
    return ctx.is_leader or rights.in_tracking_office(ctx, view)


async def ask_official_report(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """/baocaovanban [period]: the draft report as DOCX (and PDF where LibreOffice is installed)."""
    view = await summary_module.plan_view_for(ctx)
    if view is None:
        return
    if not may_ask(ctx, view):
        ctx.say("paper-report-not-allowed")
        return
    t = ctx.t

    async def build(view: PlanView, summary: Summary) -> list[Reply]:
        rendered = await asyncio.to_thread(_render_all, view, summary, t, True)
        label = period_label(summary.period, t)
        attachments = [Attachment("document", report_filename(summary), rendered.docx,
                                  t("paper-report-caption", period=label))]
        if rendered.pdf is not None:
            attachments.append(Attachment("document", report_filename(summary, ".pdf"), rendered.pdf,
                                          t("paper-report-caption-pdf", period=label)))
        text = t("paper-report-ready", plan=summary.plan_title, period=label)
        if rendered.why_no_pdf:
            text += "\n" + rendered.why_no_pdf
        return [Reply(text, attachments=tuple(attachments), locale=t.locale)]

    await summary_module.expensive_answer(ctx, "official-report", period_hint, build, serial=True)
