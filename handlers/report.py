"""Reporting figures: what the unit owes, figures in any natural form, corrections, confirmations."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from handlers import buttons, state
from handlers.context import Ctx, PartView, PlanView, load_plan_view
from handlers.events import Choice
from handlers.formatting import describe_figure, describe_target, period_label
from handlers.intents import FigureInput, FigureLine, PeriodHint
from handlers.refs import resolve
from models import submissions
from models.gaps import Accumulation
from models.periods import Period
from models.submissions import figure_of
from models.tables import Submission, Unit
from models.targets import Figure, Measure

# A rate moving more than this many points from the unit's previous figure is asked about first.
FAR_POINTS = Decimal(30)
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Problem:
    message: str
    params: dict[str, Any]


@dataclass
class Accepted:
    part: PartView
    period: Period
    figure: Figure


async def officer_unit(ctx: Ctx) -> tuple[PlanView, Unit] | None:
    """The officer's plan and unit, or None after saying why this person cannot report."""
    role = ctx.officer
    if role is None or role.unit_id is None:
        ctx.say("report-not-officer-leader" if ctx.is_leader else "report-not-officer")
        return None
    view = await load_plan_view(ctx.session, role.plan_id or 0, ctx.deps.plan_views)
    return view, view.units[role.unit_id]


# --- /baocao -------------------------------------------------------------------------------------


async def show_report(ctx: Ctx) -> None:
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    t = ctx.t
    parts = view.parts_of_unit(unit.id)
    if not parts:
        ctx.say("report-nothing-assigned", unit=unit.name)
        return
    lines, missing_choices, done_choices = [], [], []
    history = await submissions.current_for_unit(ctx.session, unit.id, [pv.part.id for pv in parts])
    for pv in parts:
        period = view.reporting_period(pv.frequency, ctx.today)
        now_row = next((r for r in history if r.part_id == pv.part.id and r.period == period.id), None)
        last = _previous_figure(history, pv, period)
        mark = "✅" if now_row else ("⏰" if view.deadline(period) < ctx.today else "⬜")
        figure = describe_figure(figure_of(now_row), pv.target, t) if now_row else "—"
        last_text = describe_figure(last, pv.target, t) if last else "—"
        lines.append(t("report-line", mark=mark, code=pv.code, title=pv.indicator.title,
                       target=describe_target(pv.target, t), period=period_label(period, t),
                       figure=figure, last=last_text))
        choice = Choice(f"{mark} {pv.code} · {_short(pv.indicator.title)}", buttons.encode(buttons.Pick(pv.part.id, period)))
        (done_choices if now_row else missing_choices).append(choice)
    deadlines = sorted(view.deadline(view.reporting_period(p.frequency, ctx.today)) for p in parts)
    upcoming = [d for d in deadlines if d >= ctx.today]
    header = t("report-header", unit=unit.name, deadline=t.date(upcoming[0])) if upcoming else t("report-header-late", unit=unit.name)
    text = "\n".join([header, *lines, "", t("report-how")])
    choices = tuple(missing_choices + done_choices)
    ctx.say_text(text, choices=choices)
    await state.save(ctx, "choose", state.remember_choices({}, choices))


async def pick(ctx: Ctx, part_id: int, period: Period) -> None:
    """An indicator chosen from the list: ask for its figure (the guided way). The button's part
    and period are checked as a typed report's would be: anyone can send any button data."""
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    pv = view.parts.get(part_id)
    if pv is None or part_id not in view.duties.get(unit.id, []) or not view.period_open(pv, period, ctx.today):
        ctx.say("report-choice-stale")
        return
    await state.save(ctx, "await_figure", {"part_id": part_id, "period": period.id, **state.owner(ctx)})
    t = ctx.t
    ctx.say("report-ask-figure", edit=bool(ctx.event.choice), code=pv.code, title=pv.indicator.title,
            period=period_label(period, t), target=describe_target(pv.target, t), example=_example(pv, t))


# --- figures ---------------------------------------------------------------------------------------


async def submit(ctx: Ctx, lines: tuple[FigureLine, ...], hint: PeriodHint | None, correction: bool,
                 fixed: tuple[int, str] | None = None) -> None:
    """Figures sent as text ("6: 72,5%; 7: xong") or, with `fixed`, one value for a chosen part."""
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    t = ctx.t
    out: list[str] = []
    accepted: list[Accepted] = []
    for line in lines:
        result = _accept(ctx, view, unit, line, hint, fixed)
        if isinstance(result, Problem):
            params = {k: t.number(v) if isinstance(v, Decimal) else v for k, v in result.params.items()}
            out.append(t(result.message, **params))
        else:
            accepted.append(result)
    history = await submissions.current_for_unit(ctx.session, unit.id, {a.part.part.id for a in accepted})
    to_confirm: list[Accepted] = []
    for item in accepted:
        if _far_from_previous(history, item):
            to_confirm.append(item)
        else:
            out.append(await _store(ctx, view, unit, item, history))
    if to_confirm:
        for item in to_confirm:
            previous = _previous_figure(history, item.part, item.period, include_same=True)
            out.append(t("report-confirm-far", code=item.part.code, period=period_label(item.period, t),
                         old=describe_figure(previous, item.part.target, t) if previous else "—",
                         new=describe_figure(item.figure, item.part.target, t)))
        choices = (Choice(t("choice-yes"), buttons.encode(buttons.Answer(True))),
                   Choice(t("choice-no"), buttons.encode(buttons.Answer(False))))
        pending = {"pending": [_pending(a) for a in to_confirm], **state.owner(ctx)}
        await state.save(ctx, "confirm", state.remember_choices(pending, choices))
        ctx.say_text("\n".join(out), choices=choices)
        return
    if fixed is not None and accepted:
        await state.clear(ctx)
    if accepted:
        out.append(await missing_line(ctx, view, unit))
    ctx.say_text("\n".join(out))


async def confirm(ctx: Ctx, yes: bool, pending: list[dict[str, Any]]) -> None:
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    await state.clear(ctx)
    if not yes:
        ctx.say("report-confirm-dropped")
        return
    out = []
    history = await submissions.current_for_unit(ctx.session, unit.id, {item["part_id"] for item in pending})
    for item in pending:
        pv = view.parts.get(item["part_id"])
        if pv is None:
            continue
        figure = Figure(
            value=_dec(item["value"]), numerator=_dec(item["numerator"]),
            denominator=_dec(item["denominator"]), done=item["done"],
        )
        out.append(await _store(ctx, view, unit, Accepted(pv, Period.parse(item["period"]), figure), history))
    out.append(await missing_line(ctx, view, unit))
    ctx.say_text("\n".join(out))


def _accept(ctx: Ctx, view: PlanView, unit: Unit, line: FigureLine, hint: PeriodHint | None,
            fixed: tuple[int, str] | None) -> Accepted | Problem:
    if fixed is not None:
        pv = view.parts[fixed[0]]
        period = Period.parse(fixed[1])
    else:
        resolved = resolve(view, line.ref, unit.id)
        if resolved.not_reported:
            return Problem("report-error-not-assigned", {"code": line.ref, "unit": unit.name})
        if resolved.ambiguous:
            options = ", ".join(_ambiguous_label(p) for p in resolved.ambiguous)
            return Problem("report-error-ambiguous", {"code": line.ref, "options": options})
        if resolved.part is None:
            suggestions = ", ".join(resolved.suggestions) or "—"
            return Problem("report-error-unknown", {"code": line.ref, "suggestions": suggestions})
        pv = resolved.part
        opened = view.reporting_period(pv.frequency, ctx.today)
        period_or_problem = _period(hint, pv, opened, view.plan.year, ctx)
        if isinstance(period_or_problem, Problem):
            return period_or_problem
        period = period_or_problem
    figure = to_figure(pv, line.figure)
    if isinstance(figure, Problem):
        return figure
    return Accepted(pv, period, figure)


def _period(hint: PeriodHint | None, pv: PartView, opened: Period, plan_year: int, ctx: Ctx) -> Period | Problem:
    if hint is None:
        return opened
    t = ctx.t
    if hint.frequency is not pv.frequency:
        return Problem("report-error-period-frequency", {"code": pv.code, "frequency": t(f"frequency-{pv.frequency.value}")})
    year = hint.year or (opened.year if hint.index <= opened.index else opened.year - 1)
    try:
        period = Period(year, hint.frequency, hint.index)
    except ValueError:
        return Problem("report-error-period-unknown", {})
    if period > opened:
        return Problem("report-error-period-future", {"period": period_label(period, t), "open": period_label(opened, t)})
    if period.year != plan_year:
        return Problem("report-error-period-outside", {"period": period_label(period, t), "year": plan_year})
    return period


def to_figure(pv: PartView, given: FigureInput) -> Figure | Problem:
    """Check a sent figure against what the part measures (domain.md's validation rules)."""
    code, target = pv.code, pv.target
    unit = target.unit or ""
    if given.negative:
        return Problem("report-error-negative", {"code": code})
    if target.measure is Measure.MILESTONE:
        if given.done is None:
            return Problem("report-error-milestone-number", {"code": code})
        return Figure(done=given.done)
    if given.done is not None:
        return Problem("report-error-done-for-number", {"code": code, "example": example_line(pv)})
    if given.numerator is not None and given.denominator is not None:
        if target.measure is Measure.COUNT:
            return Problem("report-error-count-ratio", {"code": code, "unit": unit})
        if given.denominator == 0:
            return Problem("report-error-zero-denominator", {"code": code})
        if given.numerator > given.denominator:
            return Problem("report-error-numerator-above", {"code": code, "numerator": given.numerator,
                                                            "denominator": given.denominator})
        return Figure(numerator=given.numerator, denominator=given.denominator)
    if given.value is None:
        return Problem("report-error-not-a-number", {"code": code, "example": example_line(pv)})
    if target.measure is Measure.COUNT:
        if given.percent_sign:
            return Problem("report-error-count-percent", {"code": code, "unit": unit})
        return Figure(value=given.value)
    if given.value > HUNDRED:
        return Problem("report-error-percent-range", {"code": code, "value": given.value})
    return Figure(value=given.value)


def _far_from_previous(history: list[Submission], item: Accepted) -> bool:
    previous = _previous_figure(history, item.part, item.period, include_same=True)
    if previous is None:
        return False
    old, new = previous.amount, item.figure.amount
    if old is None or new is None:
        return False
    if item.part.target.is_percentage:
        return abs(new - old) > FAR_POINTS
    if item.part.target.measure is Measure.COUNT:
        # A running total going down is most likely a typo; a per-period amount may well fall.
        return Accumulation(item.part.indicator.accumulation) is Accumulation.CUMULATIVE and new < old
    return False


def _previous_figure(history: list[Submission], pv: PartView, period: Period, include_same: bool = False) -> Figure | None:
    """The unit's figure before this one: the current version of this period (when asked), else
    the latest earlier period's. `history` holds the unit's current figures."""
    rows = [r for r in history if r.part_id == pv.part.id]
    same = [r for r in rows if r.period == period.id]
    if include_same and same:
        return figure_of(same[0])
    earlier = [r for r in rows if Period.parse(r.period) < period]
    return figure_of(max(earlier, key=lambda r: Period.parse(r.period))) if earlier else None


async def _store(ctx: Ctx, view: PlanView, unit: Unit, item: Accepted, history: list[Submission]) -> str:
    t = ctx.t
    e = ctx.event
    current = next((r for r in history if r.part_id == item.part.part.id and r.period == item.period.id), None)
    stored = await submissions.store_figure(
        ctx.session, plan_id=view.plan.id, part_id=item.part.part.id, unit_id=unit.id,
        period=item.period.id, figure=item.figure, person_id=ctx.person.id if ctx.person else None,
        channel=e.channel, now=ctx.now, message_ref=f"{e.chat_id}:{e.message_id}" if e.message_id else None,
        previous=current,
    )
    if stored.outcome != "duplicate":  # later lines of the same message see this version
        history[:] = [r for r in history if r is not current] + [stored.row]
    params = dict(code=item.part.code, title=item.part.indicator.title, period=period_label(item.period, t),
                  figure=describe_figure(item.figure, item.part.target, t))
    if stored.outcome == "duplicate":
        return t("report-duplicate", **params)
    if stored.outcome == "corrected":
        assert stored.previous is not None
        return t("report-corrected", old=describe_figure(figure_of(stored.previous), item.part.target, t), **params)
    return t("report-stored", **params)


async def missing_line(ctx: Ctx, view: PlanView, unit: Unit) -> str:
    """What the unit still owes in each part's open period."""
    due = [(pv, view.reporting_period(pv.frequency, ctx.today)) for pv in view.parts_of_unit(unit.id)]
    done = await submissions.reported(ctx.session, unit.id, [(pv.part.id, period.id) for pv, period in due])
    missing = [pv.code for pv, period in due if (pv.part.id, period.id) not in done]
    if not missing:
        salutation = view.plan.salutation or ctx.t("salutation-default")
        return ctx.t("report-all-done", salutation=salutation)
    return ctx.t("report-still-missing", codes=", ".join(missing), count=len(missing))


def _pending(item: Accepted) -> dict[str, Any]:
    f = item.figure
    return {"part_id": item.part.part.id, "period": item.period.id, "value": _text(f.value),
            "numerator": _text(f.numerator), "denominator": _text(f.denominator), "done": f.done}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _short(title: str, limit: int = 32) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def _ambiguous_label(pv: PartView) -> str:
    table = f" ({pv.indicator.table_code})" if pv.indicator.table_code else ""
    return f"{pv.code}{table}"


def example_line(pv: PartView) -> str:
    """A line an officer could send for this part: "6: 72,5%", "6: 120/150", "10: xong"."""
    target = pv.target
    if target.measure is Measure.MILESTONE:
        return f"{pv.code}: xong"
    if target.measure is Measure.RATIO:
        return f"{pv.code}: 120/150"
    if target.measure is Measure.COUNT:
        return f"{pv.code}: 12"
    return f"{pv.code}: 72,5%"


def _example(pv: PartView, t: Any) -> str:
    target = pv.target
    if target.measure is Measure.MILESTONE:
        return t("report-example-milestone")
    if target.measure is Measure.RATIO:
        return t("report-example-ratio", numerator=pv.part.numerator_label or "—",
                 denominator=pv.part.denominator_label or "—")
    if target.measure is Measure.COUNT:
        return t("report-example-count", unit=target.unit or "")
    return t("report-example-percent")


