"""The steering committee's summary in chat: its text, its two charts (handlers/charts.py), its
spreadsheet (handlers/export.py) and the handlers that answer /tonghop, /bieudo and /xuat.

What the summary says is defined and computed in models.standing, read by
models.summary_queries.build_summary (which also computes it in a worker thread) and held in the
dataclasses of models.summary_data; the names are re-exported here for the modules that import
them from handlers.summary. The text is one Reply with its sections separated by blank lines: a
channel splits a long one by its own rule (Telegram's 4,096 UTF-16 units, at blank lines first).
Charts and spreadsheets are drawn in a worker thread from the Summary already read, so the event
loop answers other chats while they are drawn, and nothing is written to the database meanwhile.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from handlers import export_review, limits
from handlers.charts import bullet_chart, grid_chart
from handlers.context import Ctx
from handlers.events import Attachment, Reply
from handlers.export import export_filename, export_streamed, export_workbook, summary_cells, summary_details
from handlers.formatting import describe_amount, describe_target, period_label, points
from handlers.intents import PeriodHint
from handlers.rights import may_export, may_see_summary  # the role matrix's one place
from handlers.summary_text import coverage_text, verdict_note
from locales import Translator
from models.gaps import Status
from models.periods import Period, PeriodError
from models.plan_view import PlanView
from models.rollups import Standing
from models.standing import choose_period, collecting_period, compute_summary, covered_periods
from models.store import load_plan_view
from models.summary_data import MARKS, Cell, IndicatorRow, ReportCounts, Summary, UnitRow
from models.summary_queries import build_summary
from models.targets import Target

__all__ = [
    "MARKS",
    "Cell",
    "IndicatorRow",
    "ReportCounts",
    "Standing",
    "Summary",
    "UnitRow",
    "ask_charts",
    "ask_summary",
    "build_summary",
    "chart_attachments",
    "choose_period",
    "collecting_period",
    "compute_summary",
    "coverage_text",
    "covered_periods",
    "cut_short",
    "export_for_admin",
    "indicator_lines",
    "render_summary",
    "resolve_hint",
    "spreadsheet_if_cut",
    "summary_of",
    "summary_replies",
    "summary_text",
    "verdict_note",
]

MAX_CHASE_SHOWN = 30  # units listed in the chat; the spreadsheet lists them all
MAX_CODES_SHOWN = 6


def resolve_hint(hint: PeriodHint, plan_year: int) -> Period:
    """The period a person named; the plan's year when they named none. Raises PeriodError."""
    return Period(hint.year if hint.year is not None else plan_year, hint.frequency, hint.index)


# --- rendering --------------------------------------------------------------------------------


def signed_points(value: Decimal, target: Target, t: Translator) -> str:
    """A change: "+2,5 điểm %", "−3 điểm"."""
    shown = points(abs(value), target, t)
    if value > 0:
        return f"+{shown}"
    if value < 0:
        return f"−{shown}"
    return shown


def amount_text(row: IndicatorRow, t: Translator) -> str:
    """The plan-wide figure as the summary shows it (units done for a milestone)."""
    if row.amount is None:
        return t("summary-no-figures")
    if row.is_milestone:
        return t("summary-units-done", done=t.number(row.rollup.units_done or 0),
                 expected=t.number(row.rollup.units_counted))
    return describe_amount(row.amount, row.target, t)


def _gap_text(row: IndicatorRow, t: Translator) -> str | None:
    if row.status is not Status.NOT_MET:
        return None
    if row.is_milestone:
        return t("summary-gap-units", count=t.number(row.gap or 0))
    if row.on_the_line:
        return t("summary-gap-on-the-line")
    if row.gap is None:
        return None
    return t("summary-gap", gap=points(row.gap, row.target, t))


def review_text(counts: tuple[int, int, int], t: Translator) -> str:
    """Issue 17: "Duyệt: ✅ 3 đã duyệt · ⏳ 2 chờ duyệt · ↩️ 1 trả lại"."""
    approved, awaiting, returned = counts
    return t("summary-review", approved=t.number(approved), awaiting=t.number(awaiting),
             returned=t.number(returned))


def indicator_lines(row: IndicatorRow, t: Translator, review: tuple[int, int, int] | None = None) -> list[str]:
    """Two or three short lines about one indicator part, and how its figures stand in review
    (`review`: approved, awaiting, returned) when any was received."""
    lines = [f"{row.mark} {row.code} · {row.full_title}"]
    second = t("summary-figure", amount=amount_text(row, t), target=describe_target(row.target, t))
    gap = _gap_text(row, t)
    if gap:
        second += f" · {gap}"
    lines.append(f"   {second}")
    third = []
    if row.change is not None:
        third.append(t("summary-change", change=signed_points(row.change, row.target, t)))
    third.append(coverage_text(row.rollup, t))
    note = verdict_note(row, t)
    if note:
        third.append(note)
    lines.append("   " + " · ".join(third))
    if review is not None and sum(review):
        lines.append("   " + review_text(review, t))
    return lines


def _rate(value: Decimal | None, t: Translator) -> str:
    return t.percent(value.quantize(Decimal("0.1"))) if value is not None else "—"


def _head_section(summary: Summary, t: Translator) -> list[str]:
    title = "summary-title-approved" if summary.approved_only else "summary-title"
    head = [t(title, period=period_label(summary.period, t)), summary.plan_title]
    for period, deadline in summary.periods:
        head.append(t("summary-period-line", period=period_label(period, t), deadline=t.date(deadline)))
    if summary.open:
        head.append(t("summary-open"))
    if summary.approved_only:
        head.append(t("summary-approved-only-note"))
    return head


def _rates_section(summary: Summary, t: Translator) -> list[str]:
    reports = summary.reports
    rates = [t("summary-reports-header")]
    if not reports.expected:
        return [*rates, t("summary-reports-none")]
    complete = sum(1 for unit in summary.units if not unit.reports.missing)
    lines = [
        *rates,
        t("summary-reports-received", received=t.number(reports.received), expected=t.number(reports.expected),
          rate=_rate(reports.rate, t)),
        t("summary-reports-breakdown", on_time=t.number(reports.on_time), late=t.number(reports.late),
          missing=t.number(reports.missing)),
        t("summary-reports-units", complete=t.number(complete), units=t.number(len(summary.units))),
    ]
    review = summary.review_totals() if not summary.approved_only else None
    if review is not None and sum(review):
        lines.append(review_text(review, t))  # issue 17: approved apart from pending, in total
    return lines


def _indicators_section(summary: Summary, t: Translator) -> list[str]:
    counts = summary.counts()
    lines = [t("summary-indicators-header", met=counts[Standing.MET], on_track=counts[Standing.ON_TRACK],
               off_track=counts[Standing.OFF_TRACK], thin=counts[Standing.THIN],
               no_data=counts[Standing.NO_DATA])]
    for row in summary.rows:
        lines.extend(indicator_lines(row, t, None if summary.approved_only else summary.review_counts(row)))
    return lines


def _gaps_section(summary: Summary, t: Translator) -> list[str]:
    if not summary.top_gaps:
        return [t("summary-top-gaps-none")]
    lines = [t("summary-top-gaps-header", count=len(summary.top_gaps))]
    for number, row in enumerate(summary.top_gaps, start=1):
        lines.append(f"{number}. {row.code} · {row.full_title}")
        detail = _gap_text(row, t) or ""
        if row.needed_per_period is not None and row.remaining_periods > 0 and row.needed_per_period > 0:
            detail += " · " + t("summary-needed", amount=points(row.needed_per_period, row.target, t),
                                frequency=t(f"frequency-{row.frequency.value}"))
        lines.append(f"   {detail}")
    return lines


def _chase_line(unit: UnitRow, t: Translator) -> str:
    codes = ", ".join(unit.missing_parts[:MAX_CODES_SHOWN])
    if len(unit.missing_parts) > MAX_CODES_SHOWN:
        codes += ", …"
    return t("summary-chase-line", unit=unit.name, missing=unit.reports.missing, expected=unit.reports.expected,
             codes=codes, officer=unit.officer or t("summary-chase-no-officer"))


def _chase_section(summary: Summary, t: Translator, max_units: int | None) -> list[str]:
    if not summary.to_chase:
        return [t("summary-chase-none")] if summary.reports.expected else []
    shown = summary.to_chase if max_units is None else summary.to_chase[:max_units]
    lines = [t("summary-chase-header", count=t.number(len(summary.to_chase)))]
    lines.extend(_chase_line(unit, t) for unit in shown)
    if len(shown) < len(summary.to_chase):
        lines.append(t("summary-chase-more", count=t.number(len(summary.to_chase) - len(shown))))
    return lines


def summary_text(summary: Summary, t: Translator, *, max_units: int | None = MAX_CHASE_SHOWN) -> str:
    """The summary as one text in the translator's language: short lines with emoji marks, its
    sections (heading, reporting rates, indicators, largest gaps, units to chase) separated by
    blank lines, where a channel that must split it cuts first. `max_units` caps the units listed
    to chase (None: every one); the spreadsheet always lists all."""
    sections = [
        _head_section(summary, t),
        _rates_section(summary, t),
        _indicators_section(summary, t),
        _gaps_section(summary, t),
        # Figures awaiting review are not missing: the approved figures' summary chases nobody.
        [] if summary.approved_only else _chase_section(summary, t, max_units),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section)


def render_summary(summary: Summary, t: Translator, *, max_units: int | None = MAX_CHASE_SHOWN) -> list[str]:
    """The summary's messages: its text as one message (summary_text), in a list for the callers
    that send one message per item (scheduler/tick.py); the channel splits it as it must."""
    return [summary_text(summary, t, max_units=max_units)]


# --- handlers ---------------------------------------------------------------------------------


async def _plan_view(ctx: Ctx) -> PlanView | None:
    plan_id = await ctx.plan_id()
    if plan_id is None:
        ctx.say("question-no-plan")
        return None
    return await load_plan_view(ctx.session, plan_id, ctx.deps.plan_views)


def _may_see_summary(ctx: Ctx) -> bool:
    return may_see_summary(ctx)


def _asked_period(ctx: Ctx, view: PlanView, period_hint: PeriodHint | None, default: Period | None) -> Period | None:
    """The period named, else `default`, else the cycle just closed; None after telling the
    person why not (a period outside the plan's year)."""
    if period_hint is None:
        return default if default is not None else choose_period(view, ctx.today)
    try:
        period: Period | None = resolve_hint(period_hint, view.plan.year)
    except PeriodError:
        period = None
    if period is None or period.year != view.plan.year:
        ctx.say("summary-period-outside-plan", plan=view.plan.code, year=view.plan.year,
                example=f"{view.plan.year}-Q1")
        return None
    return period


async def summary_of(
    ctx: Ctx, view: PlanView, period_hint: PeriodHint | None, *, default: Period | None = None,
    details: bool = False, cells: bool = True,
) -> Summary | None:
    """The summary of the period named, else of `default` (None: the cycle just closed); None
    after telling the person why not (a period outside the plan's year). Without `cells`, no
    unit-by-unit figures (Summary.figures): everything else, added up by the database."""
    period = _asked_period(ctx, view, period_hint, default)
    if period is None:
        return None
    return await build_summary(ctx.session, view, period, ctx.today, ctx.deps.timezone, details=details,
                               cells=cells)


async def _expensive(ctx: Ctx, kind: str, period_hint: PeriodHint | None,
                     build: Callable[[PlanView, Summary], Awaitable[list[Reply]]], *,
                     details: bool | Callable[[PlanView], bool] = False, serial: bool = False,
                     approved_only: bool = False, cells: bool | Callable[[PlanView], bool] = True) -> None:
    """A summary-based answer built within the limits (handlers/limits.py): one build for
    identical requests in flight, none past the asker's or the group's rate; `details`: whether
    (or, of the plan view, a function saying whether) the summary needs each figure's first time;
    `serial`: one at a time per plan (the summary is read once its turn comes, so it is as fresh
    as it can be); `approved_only`: of the figures the tracking office approved only (issue 17); `cells`
    (or a function of the plan view): whether it needs each unit's figures (Summary.figures), which
    the charts do and the spreadsheet's grid reads itself."""
    view = await _plan_view(ctx)
    if view is None:
        return
    period = _asked_period(ctx, view, period_hint, None)
    if period is None:
        return

    async def answer() -> list[Reply]:
        wanted = details(view) if callable(details) else details
        with_cells = cells(view) if callable(cells) else cells
        summary = await build_summary(ctx.session, view, period, ctx.today, ctx.deps.timezone, details=wanted,
                                      approved_only=approved_only, cells=with_cells)
        return await build(view, summary)

    replies = await limits.expensive(ctx, f"{kind}-approved" if approved_only else kind, view.plan.id, period.id,
                                     answer, serial=serial)
    ctx.replies.extend(replies or ())


# For the other documents made of the summary (handlers/official_report.py): the same plan choice,
# period choice and limits.
plan_view_for = _plan_view
expensive_answer = _expensive


def _charts(summary: Summary, t: Translator) -> tuple[bytes, bytes]:
    return bullet_chart(summary, t), grid_chart(summary, t)


async def chart_attachments(summary: Summary, t: Translator) -> tuple[Attachment, Attachment]:
    """The bullet chart and the grid as photos, drawn in a worker thread (off the event loop)."""
    bullet, grid = await asyncio.to_thread(_charts, summary, t)
    stem = f"{summary.plan_code}-{summary.period.id}"
    label = period_label(summary.period, t)
    return (
        Attachment("photo", f"{stem}-chi-tieu.png", bullet, t("summary-caption-bullet", period=label)),
        Attachment("photo", f"{stem}-don-vi.png", grid, t("summary-caption-grid", period=label)),
    )


async def summary_replies(summary: Summary, t: Translator, *, charts: bool = True,
                          view: PlanView | None = None) -> list[Reply]:
    """The summary as one Reply in t's language carrying the two charts (when there is anything
    to chart), and the spreadsheet when the text lists only some of the units to chase (with the
    plan's `view`): what /tonghop answers. A channel splits the text by its own limit."""
    attachments = await chart_attachments(summary, t) if charts and summary.rows else ()
    if view is not None:
        attachments = (*attachments, *await spreadsheet_if_cut(view, summary, t))
    return [Reply(summary_text(summary, t), attachments=attachments, locale=t.locale)]


def cut_short(summary: Summary, max_units: int | None = MAX_CHASE_SHOWN) -> bool:
    """Whether the summary's text lists only some of the units to chase (and says the spreadsheet
    lists them all)."""
    return max_units is not None and len(summary.to_chase) > max_units


async def spreadsheet_if_cut(view: PlanView, summary: Summary, t: Translator) -> tuple[Attachment, ...]:
    """The spreadsheet the summary's "… and N more units (the spreadsheet lists them all)" speaks
    of, attached where it says so (issue 16); nothing when the text lists every unit. Written in
    a worker thread."""
    if not cut_short(summary):
        return ()
    content = await asyncio.to_thread(export_workbook, view, summary, t)
    label = period_label(summary.period, t)
    return (Attachment("document", export_filename(summary), content,
                       t("export-caption", plan=summary.plan_code, period=label)),)


async def ask_summary(ctx: Ctx, period_hint: PeriodHint | None = None, approved: bool = False) -> None:
    """/tonghop [period]: leaders, admins and the bound steering group get the summary with its
    two charts; officers are told it is for leaders. `approved` ("/tonghop duyet", "tổng hợp số
    đã duyệt"): computed from approved figures only, and titled so (issue 17)."""
    if not _may_see_summary(ctx):
        ctx.say("question-leaders-only")
        return
    t = ctx.t
    await _expensive(ctx, "summary", period_hint, lambda view, summary: summary_replies(summary, t, view=view),
                     details=summary_details, approved_only=approved)


async def ask_charts(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """"biểu đồ", /bieudo [period]: the summary's two charts only (same permissions)."""
    if not _may_see_summary(ctx):
        ctx.say("question-leaders-only")
        return
    t = ctx.t

    async def charts(view: PlanView, summary: Summary) -> list[Reply]:
        label = period_label(summary.period, t)
        if not summary.rows:
            return [Reply(t("summary-charts-nothing", period=label), locale=t.locale)]
        attachments = await chart_attachments(summary, t)
        return [Reply(t("summary-charts-intro", period=label), attachments=attachments, locale=t.locale)]

    await _expensive(ctx, "charts", period_hint, charts)


async def _may_export(ctx: Ctx) -> bool:
    plan_id = await ctx.plan_id()
    view = await ctx.plan_view(plan_id) if plan_id is not None else None
    return view is not None and may_export(ctx, view)


async def export_for_admin(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """/xuat [period]: admins, leaders and the tracking office get the summary period's
    spreadsheet as a document: one export at a time per plan, an identical request meanwhile
    getting the same file."""
    if not await _may_export(ctx):
        ctx.say("export-not-allowed")
        return
    t = ctx.t

    async def spreadsheet(view: PlanView, summary: Summary) -> list[Reply]:
        reviewed = await export_review.review_rows(ctx.session, view, summary.period)  # issue 17's sheets
        history = await export_review.history_rows(ctx.session, view, summary.period, ctx.deps.timezone)
        # Written in a worker thread, the grid's figures read a chunk of units at a time meanwhile:
        # the event loop keeps serving others, and memory does not grow with the units.
        content = await export_streamed(ctx.session, view, summary, t, reviewed, history)
        label = period_label(summary.period, t)
        document = Attachment("document", export_filename(summary), content,
                              t("export-caption", plan=summary.plan_code, period=label))
        return [Reply(t("export-ready", plan=summary.plan_title, period=label), attachments=(document,),
                      locale=t.locale)]

    await _expensive(ctx, "export", period_hint, spreadsheet, details=summary_details, serial=True,
                     cells=summary_cells)
