"""Questions: my gap on one indicator, my unit's standing, and for leaders the whole plan, one
unit, one indicator across units, indicators off track and who has not reported."""
from __future__ import annotations

from decimal import Decimal

from handlers import review
from handlers.context import Ctx
from handlers.formatting import describe_amount, describe_figure, describe_target, period_label, points
from handlers.intents import PeriodHint
from handlers.refs import resolve
from handlers.report import example_line
from handlers.summary import (
    IndicatorRow,
    Summary,
    collecting_period,
    coverage_text,
    summary_of,
    verdict_note,
)
from models import submissions
from models.gaps import Accumulation, Status, change, evaluate, needed_per_period
from models.kinds import ChatKind
from models.periods import Period
from models.plan_view import PartView, PlanView
from models.rollups import DEFAULT_COVERAGE_THRESHOLD
from models.submissions import figure_of
from models.tables import Submission, Unit
from models.targets import Figure, Measure

MARKS = {Status.MET: "✅", Status.NOT_MET: "⚠️", Status.NO_DATA: "⏳"}
NOT_APPLICABLE_MARK = "➖"  # "không phát sinh": reported, nothing to hold against the target


async def _view(ctx: Ctx) -> PlanView | None:
    plan_id = await ctx.plan_id()
    if plan_id is None:
        ctx.say("question-no-plan")
        return None
    return await ctx.plan_view(plan_id)


# --- one unit, one part ---------------------------------------------------------------------------


def _series(rows: list[Submission], part_id: int) -> list[tuple[Period, Figure]]:
    series = [(Period.parse(r.period), figure_of(r)) for r in rows if r.part_id == part_id]
    return sorted(series, key=lambda item: item[0])


def _gap_lines(ctx: Ctx, view: PlanView, pv: PartView, series: list[tuple[Period, Figure]]) -> list[str]:
    """The full answer about one part for one unit."""
    t = ctx.t
    target = pv.target
    lines = [t("gap-title", code=pv.code, title=pv.indicator.title, target=describe_target(target, t))]
    if pv.part.label:
        lines[0] += f" — {pv.part.label}"
    if not series:
        lines.append(t("gap-no-data", example=example_line(pv)))
        return lines
    period, figure = series[-1]
    gap = evaluate(target, figure)
    lines.append(t("gap-latest", figure=describe_figure(figure, target, t), period=period_label(period, t)))
    if len(series) > 1:
        delta = change(series[-2][1], figure)
        if delta is not None and target.measure is not Measure.MILESTONE:
            key = "gap-change-up" if delta > 0 else "gap-change-down" if delta < 0 else "gap-change-none"
            lines.append(t(key, amount=points(abs(delta), target, t), period=period_label(series[-2][0], t)))
    if target.measure is Measure.MILESTONE:
        lines.append(t("gap-milestone-done" if gap.status is Status.MET else "gap-milestone-not-done"))
        return lines
    if gap.status is Status.MET:
        assert gap.margin is not None
        lines.append(t("gap-met", margin=points(gap.margin, target, t)))
        return lines
    if gap.on_the_line:
        lines.append(t("gap-on-the-line", value=describe_amount(target.value or Decimal(0), target, t)))
    elif gap.gap is not None:
        lines.append(t("gap-short", gap=points(gap.gap, target, t)))
    if gap.numerator_needed is not None and figure.denominator is not None:
        lines.append(t("gap-numerator-needed", count=t.number(gap.numerator_needed),
                       numerator=pv.part.numerator_label or "", denominator=t.number(figure.denominator)))
    remaining = period.remaining_in_year()
    needed = needed_per_period(target, Accumulation(pv.indicator.accumulation), [f for _, f in series], remaining)
    if needed is not None and remaining > 0:
        lines.append(t("gap-needed-per-period", amount=points(needed, target, t), remaining=remaining,
                       frequency=t(f"frequency-{pv.frequency.value}")))
    elif remaining == 0:
        lines.append(t("gap-last-period"))
    return lines


async def ask_gap(ctx: Ctx, ref: str | None) -> None:
    view = await _view(ctx)
    if view is None:
        return
    if ref is None:
        ctx.say("gap-which")
        return
    role = ctx.officer
    unit_id = role.unit_id if role else None
    resolved = resolve(view, ref, unit_id if not ctx.is_leader or unit_id else None)
    if resolved.not_reported:
        ctx.say("report-error-not-assigned", code=ref, unit=view.units[unit_id].name if unit_id else "—")
        return
    if resolved.ambiguous and unit_id is not None:
        ctx.say("report-error-ambiguous", code=ref, options=", ".join(p.code for p in resolved.ambiguous))
        return
    parts = resolved.parts or resolved.ambiguous
    if not parts:
        ctx.say("report-error-unknown", code=ref, suggestions=", ".join(resolved.suggestions) or "—")
        return
    if unit_id is None:
        await _across_units(ctx, view, parts)
        return
    rows = await submissions.current_for_unit(ctx.session, unit_id, [p.part.id for p in parts])
    out = []
    for pv in parts:
        out.extend(_gap_lines(ctx, view, pv, _series(rows, pv.part.id)))
    ctx.say_text("\n".join(out))


async def unit_status(ctx: Ctx, view: PlanView, unit: Unit) -> None:
    t = ctx.t
    parts = view.parts_of_unit(unit.id)
    rows = await submissions.current_for_unit(ctx.session, unit.id, [p.part.id for p in parts])
    lines = [t("status-unit-header", unit=unit.name)]
    counts = {Status.MET: 0, Status.NOT_MET: 0, Status.NO_DATA: 0}
    nothing = 0
    for pv in parts:
        series = _series(rows, pv.part.id)
        figure = series[-1][1] if series else None
        if figure is not None and figure.not_applicable:
            # Reported, with nothing to hold against the target: neither met nor without data.
            nothing += 1
            shown = f"{describe_figure(figure, pv.target, t)} ({period_label(series[-1][0], t)})"
            lines.append(f"{NOT_APPLICABLE_MARK} {pv.code} · {pv.indicator.title}: {shown}")
            continue
        gap = evaluate(pv.target, figure)
        counts[gap.status] += 1
        detail = _gap_brief(ctx, pv, gap, figure, series[-1][0] if series else None)
        lines.append(f"{MARKS[gap.status]} {pv.code} · {pv.indicator.title}: {detail}")
    lines.append(t("status-counts", met=counts[Status.MET], not_met=counts[Status.NOT_MET],
                   no_data=counts[Status.NO_DATA]))
    if nothing:
        lines[-1] += " " + t("rollup-coverage-not-applicable", count=nothing)
    if (reviewed := await review.approval_line(ctx, view, unit.id)) is not None:
        lines.append(reviewed)
    ctx.say_text("\n".join(lines))


def _gap_brief(ctx: Ctx, pv: PartView, gap, figure: Figure | None, period: Period | None) -> str:  # type: ignore[no-untyped-def]
    t = ctx.t
    if figure is None or period is None:
        return t("status-no-data", target=describe_target(pv.target, t))
    shown = f"{describe_figure(figure, pv.target, t)} ({period_label(period, t)})"
    if gap.status is Status.MET or pv.target.measure is Measure.MILESTONE:
        return t("status-brief-met" if gap.status is Status.MET else "status-brief-not-done", figure=shown)
    amount = points(gap.gap, pv.target, t) if gap.gap is not None else "—"
    return t("status-brief-short", figure=shown, target=describe_target(pv.target, t), gap=amount)


async def ask_status(ctx: Ctx, unit_name: str | None) -> None:
    view = await _view(ctx)
    if view is None:
        return
    role = ctx.officer
    if unit_name:
        found = view.find_units(unit_name)
        if not found:
            ctx.say("status-unit-unknown", name=unit_name)
            return
        unit = found[0]
        if not ctx.is_leader and (role is None or role.unit_id != unit.id):
            ctx.say("status-not-yours")
            return
        await unit_status(ctx, view, unit)
        return
    if ctx.is_leader or ctx.event.chat_kind == ChatKind.GROUP:
        await plan_status(ctx, view, off_track_only=False)
        return
    if role is None or role.unit_id is None:
        ctx.say("question-no-plan")
        return
    await unit_status(ctx, view, view.units[role.unit_id])


# --- plan-wide (leaders, the group) -----------------------------------------------------------------
# Every plan-wide answer is read off the summary of the same period (handlers.summary, through
# models.rollups.plan_figure), so /tinhhinh, /chuanop and the questions never disagree with /tonghop.


async def _summary(ctx: Ctx, view: PlanView, period_hint: PeriodHint | None = None, *,
                   cells: bool = False) -> Summary | None:
    """The summary of the named period, else of the period being collected now; with `cells`,
    each unit's figure too (one indicator across units)."""
    return await summary_of(ctx, view, period_hint, default=collecting_period(view, ctx.today), cells=cells)


async def plan_status(ctx: Ctx, view: PlanView, off_track_only: bool) -> None:
    t = ctx.t
    summary = await _summary(ctx, view)
    if summary is None:
        return
    lines = [t("status-plan-header" if not off_track_only else "status-off-track-header", plan=view.plan.title)]
    shown = 0
    for row in summary.rows:
        # "Chưa đạt": every part not met, each with its mark (🟡 🔴, or ⚪ on too few units).
        if off_track_only and row.status is not Status.NOT_MET:
            continue
        shown += 1
        extra = ""
        if row.on_the_line:
            extra = " · " + t("status-on-the-line")
        elif row.status is Status.NOT_MET and row.gap is not None and not row.is_milestone:
            extra = " · " + t("status-gap", gap=points(row.gap, row.target, t))
        note = verdict_note(row, t)
        if note:
            extra += " · " + note
        lines.append(t("status-plan-line", mark=row.mark, code=row.code, title=row.title,
                       amount=_rollup_amount(ctx, row), target=describe_target(row.target, t),
                       coverage=coverage_text(row.rollup, t), period=period_label(row.period, t)) + extra)
    if off_track_only and not shown:
        lines.append(t("status-off-track-none"))
    elif not off_track_only and (reviewed := await review.approval_line(ctx, view)) is not None:
        lines.append(reviewed)
    ctx.say_text("\n".join(lines))


def _rollup_amount(ctx: Ctx, row: IndicatorRow) -> str:
    if row.amount is None:
        return "—"
    if row.is_milestone:
        return ctx.t("status-units-done", done=row.rollup.units_done or 0, expected=row.rollup.units_counted)
    return describe_amount(row.amount, row.target, ctx.t)


async def ask_off_track(ctx: Ctx) -> None:
    if not ctx.is_leader:
        ctx.say("question-leaders-only")
        return
    view = await _view(ctx)
    if view is not None:
        await plan_status(ctx, view, off_track_only=True)


async def ask_across_units(ctx: Ctx, ref: str) -> None:
    if not ctx.is_leader:
        ctx.say("question-leaders-only")
        return
    view = await _view(ctx)
    if view is None:
        return
    resolved = resolve(view, ref)
    parts = resolved.parts or resolved.ambiguous
    if not parts:
        ctx.say("report-error-unknown", code=ref, suggestions=", ".join(resolved.suggestions) or "—")
        return
    await _across_units(ctx, view, parts)


async def _across_units(ctx: Ctx, view: PlanView, parts: list[PartView]) -> None:
    t = ctx.t
    summary = await _summary(ctx, view, cells=True)
    if summary is None:
        return
    rows = {row.part_id: row for row in summary.rows}
    lines: list[str] = []
    for pv in parts:
        row = rows.get(pv.part.id)
        if row is None:
            # Not collected in this cycle (a half-yearly part in March): say so, with its period.
            lines.append(t("across-not-in-cycle", code=pv.code, title=pv.indicator.title,
                           period=period_label(summary.period, t)))
            continue
        given = summary.figures.get(row.part_id, {})
        units = [view.units[u] for u in summary.expected.get(row.part_id, [])]
        header = t("across-header", mark=row.mark, code=pv.code, title=pv.indicator.title,
                   period=period_label(row.period, t), amount=_rollup_amount(ctx, row),
                   target=describe_target(pv.target, t), coverage=coverage_text(row.rollup, t))
        note = verdict_note(row, t)
        lines.append(header + (f" · {note}" if note else ""))
        for unit in sorted(units, key=lambda u: (given.get(u.id) is None, u.name)):
            figure = given.get(unit.id)
            if figure is not None and figure.not_applicable:
                lines.append(f"{NOT_APPLICABLE_MARK} {unit.name}: {describe_figure(figure, pv.target, t)}")
                continue
            gap = evaluate(pv.target, figure)
            shown = describe_figure(figure, pv.target, t) if figure else t("across-missing")
            lines.append(f"{MARKS[gap.status]} {unit.name}: {shown}")
    ctx.say_text("\n".join(lines))


async def ask_missing(ctx: Ctx, period_hint: PeriodHint | None = None) -> None:
    """Who has not reported, for the period being collected now or the one named: the units the
    summary of that period would chase, grouped by period with each deadline."""
    if not (ctx.is_leader or ctx.event.chat_kind == ChatKind.GROUP):
        ctx.say("question-leaders-only")
        return
    view = await _view(ctx)
    if view is None:
        return
    summary = await _summary(ctx, view, period_hint)
    if summary is None:
        return
    t = ctx.t
    if not summary.to_chase:
        ctx.say("missing-none")
        return
    officers = {unit.unit_id: unit.officer for unit in summary.units}
    deadline = dict(summary.periods)[summary.period]
    lines = [t("missing-header", count=len(summary.to_chase), period=period_label(summary.period, t),
               deadline=t.date(deadline))]
    for period, due in summary.periods:
        owed = _owed(summary, period)
        if not owed:
            continue
        if len(summary.periods) > 1:
            lines.append(t("missing-period", period=period_label(period, t), deadline=t.date(due),
                           count=len(owed)))
        for unit_id, codes in sorted(owed.items(), key=lambda item: view.units[item[0]].name):
            who = officers.get(unit_id) or t("missing-no-officer")
            lines.append(t("missing-line", unit=view.units[unit_id].name, officer=who, count=len(codes),
                           codes=", ".join(codes[:8]) + (" …" if len(codes) > 8 else "")))
    ctx.say_text("\n".join(lines))


def _owed(summary: Summary, period: Period) -> dict[int, list[str]]:
    """Unit id -> the codes of the parts it has given no figure for in this period (in plan order)."""
    codes = {row.code for row in summary.rows if row.period == period}
    owed: dict[int, list[str]] = {}
    for unit in summary.units:
        mine = [code for code in unit.missing_parts if code in codes]
        if mine:
            owed[unit.unit_id] = mine
    return owed


async def explain_standing(ctx: Ctx) -> None:
    """"vì sao?": how the plan-wide marks are decided (models.rollups.plan_figure), with this
    plan's coverage threshold."""
    plan_id = await ctx.plan_id()
    view = await ctx.plan_view(plan_id) if plan_id is not None else None
    threshold = view.coverage_threshold if view is not None else DEFAULT_COVERAGE_THRESHOLD
    ctx.say("rollup-why", threshold=ctx.t.percent(threshold))
