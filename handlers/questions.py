"""Questions: my gap on one indicator, my unit's standing, and for leaders the whole plan, one
unit, one indicator across units, indicators off track and who has not reported."""
from __future__ import annotations

from decimal import Decimal

from handlers.context import Ctx, PartView, PlanView, load_plan_view
from handlers.formatting import describe_amount, describe_figure, describe_target, period_label, points
from handlers.refs import resolve
from handlers.report import example_line
from models import submissions
from models.gaps import Accumulation, Status, change, evaluate, needed_per_period
from models.periods import Period
from models.rollups import roll_up
from models.people import officer_names
from models.submissions import figure_of
from models.tables import Submission, Unit
from models.targets import Figure, Measure

MARKS = {Status.MET: "✅", Status.NOT_MET: "⚠️", Status.NO_DATA: "⏳"}


async def _view(ctx: Ctx) -> PlanView | None:
    plan_id = await ctx.plan_id()
    if plan_id is None:
        ctx.say("question-no-plan")
        return None
    return await load_plan_view(ctx.session, plan_id, ctx.deps.plan_views)


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
    for pv in parts:
        series = _series(rows, pv.part.id)
        figure = series[-1][1] if series else None
        gap = evaluate(pv.target, figure)
        counts[gap.status] += 1
        detail = _gap_brief(ctx, pv, gap, figure, series[-1][0] if series else None)
        lines.append(f"{MARKS[gap.status]} {pv.code} · {pv.indicator.title}: {detail}")
    lines.append(t("status-counts", met=counts[Status.MET], not_met=counts[Status.NOT_MET], no_data=counts[Status.NO_DATA]))
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
    if ctx.is_leader or ctx.event.chat_kind == "group":
        await plan_status(ctx, view, off_track_only=False)
        return
    if role is None or role.unit_id is None:
        ctx.say("question-no-plan")
        return
    await unit_status(ctx, view, view.units[role.unit_id])


# --- plan-wide (leaders, the group) -----------------------------------------------------------------


async def _plan_rows(ctx: Ctx, view: PlanView) -> tuple[dict[tuple[int, str], dict[int, Figure]], dict[int, Period]]:
    chosen = {pv.part.id: view.reporting_period(pv.frequency, ctx.today) for pv in view.parts.values()}
    rows = await submissions.current_for_plan(ctx.session, view.plan.id, sorted({p.id for p in chosen.values()}))
    figures: dict[tuple[int, str], dict[int, Figure]] = {}
    for row in rows:
        figures.setdefault((row.part_id, row.period), {})[row.unit_id] = figure_of(row)
    return figures, chosen


async def plan_status(ctx: Ctx, view: PlanView, off_track_only: bool) -> None:
    t = ctx.t
    figures, chosen = await _plan_rows(ctx, view)
    lines = [t("status-plan-header" if not off_track_only else "status-off-track-header", plan=view.plan.title)]
    shown = 0
    for pv in view.parts.values():
        period = chosen[pv.part.id]
        units = [u for u in view.reporters.get(pv.part.id, []) if view.active_unit(view.units[u], period)]
        given = figures.get((pv.part.id, period.id), {})
        result = roll_up(pv.target, [given.get(u) for u in units])
        figure = Figure(value=result.amount) if result.amount is not None else None
        gap = evaluate(pv.target, figure) if pv.target.measure is not Measure.MILESTONE else None
        status = _rollup_status(pv, result, gap)
        if off_track_only and status is not Status.NOT_MET:
            continue
        shown += 1
        amount = _rollup_amount(ctx, pv, result)
        extra = ""
        if gap is not None and gap.on_the_line:
            extra = " · " + t("status-on-the-line")
        elif gap is not None and gap.status is Status.NOT_MET and gap.gap is not None:
            extra = " · " + t("status-gap", gap=points(gap.gap, pv.target, t))
        lines.append(t("status-plan-line", mark=MARKS[status], code=pv.code, title=pv.indicator.title,
                       amount=amount, target=describe_target(pv.target, t), reported=result.units_reporting,
                       expected=len(units), period=period_label(period, t)) + extra)
    if off_track_only and not shown:
        lines.append(t("status-off-track-none"))
    ctx.say_text("\n".join(lines))


def _rollup_amount(ctx: Ctx, pv: PartView, result) -> str:  # type: ignore[no-untyped-def]
    if result.amount is None:
        return "—"
    if pv.target.measure is Measure.MILESTONE:
        return ctx.t("status-units-done", done=result.units_done or 0, expected=result.units_expected)
    return describe_amount(result.amount, pv.target, ctx.t)


def _rollup_status(pv: PartView, result, gap) -> Status:  # type: ignore[no-untyped-def]
    if result.amount is None:
        return Status.NO_DATA
    if pv.target.measure is Measure.MILESTONE:
        return Status.MET if result.units_done == result.units_expected and result.units_expected else Status.NOT_MET
    return gap.status


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
    figures, chosen = await _plan_rows(ctx, view)
    lines: list[str] = []
    for pv in parts:
        period = chosen[pv.part.id]
        given = figures.get((pv.part.id, period.id), {})
        units = [view.units[u] for u in view.reporters.get(pv.part.id, []) if view.active_unit(view.units[u], period)]
        result = roll_up(pv.target, [given.get(u.id) for u in units])
        amount = _rollup_amount(ctx, pv, result)
        lines.append(t("across-header", code=pv.code, title=pv.indicator.title, period=period_label(period, t),
                       amount=amount, target=describe_target(pv.target, t),
                       reported=result.units_reporting, expected=len(units)))
        for unit in sorted(units, key=lambda u: (given.get(u.id) is None, u.name)):
            figure = given.get(unit.id)
            gap = evaluate(pv.target, figure)
            shown = describe_figure(figure, pv.target, t) if figure else t("across-missing")
            lines.append(f"{MARKS[gap.status]} {unit.name}: {shown}")
    ctx.say_text("\n".join(lines))


async def ask_missing(ctx: Ctx) -> None:
    if not (ctx.is_leader or ctx.event.chat_kind == "group"):
        ctx.say("question-leaders-only")
        return
    view = await _view(ctx)
    if view is None:
        return
    t = ctx.t
    figures, chosen = await _plan_rows(ctx, view)
    missing: dict[int, list[str]] = {}
    for pv in view.parts.values():
        period = chosen[pv.part.id]
        done = figures.get((pv.part.id, period.id), {})
        for unit_id in view.reporters.get(pv.part.id, []):
            if unit_id not in done and view.active_unit(view.units[unit_id], period):
                missing.setdefault(unit_id, []).append(pv.code)
    deadlines = sorted((view.deadline(period), period) for period in chosen.values())
    if not missing:
        ctx.say("missing-none")
        return
    upcoming = [item for item in deadlines if item[0] >= ctx.today]
    deadline, period = upcoming[0] if upcoming else deadlines[-1]
    officers = await officer_names(ctx.session, view.plan.id)
    lines = [t("missing-header", count=len(missing), period=period_label(period, t), deadline=t.date(deadline))]
    for unit_id, codes in sorted(missing.items(), key=lambda item: view.units[item[0]].name):
        who = officers.get(unit_id) or t("missing-no-officer")
        lines.append(t("missing-line", unit=view.units[unit_id].name, officer=who, count=len(codes),
                       codes=", ".join(codes[:8]) + (" …" if len(codes) > 8 else "")))
    ctx.say_text("\n".join(lines))
