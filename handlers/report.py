"""Reporting figures: what the unit owes, figures in any natural form, corrections, confirmations."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from handlers import buttons, closing, state
from handlers.context import Ctx
from handlers.events import Choice
from handlers.formatting import describe_figure, describe_target, period_label
from handlers.intents import FigureInput, FigureLine, PeriodHint
from handlers.refs import resolve
from locales import Translator
from models import submissions
from models.gaps import Accumulation
from models.kinds import StoreOutcome
from models.numbers import FIGURE_PLACES, fits_figure
from models.periods import Period
from models.plan_view import PartView, PlanView
from models.submissions import figure_of
from models.tables import Submission, Unit
from models.targets import Figure, Measure

# A rate moving more than this many points from the unit's previous figure is asked about first.
FAR_POINTS = Decimal(30)
HUNDRED = Decimal(100)
# Counts: above this multiple of the target the figure is asked about first; above the ceiling
# (or a numerator / denominator above it) it is refused: no unit of a plan counts that high, and
# every view must be able to print and sum what is stored.
OUTLIER_TIMES = Decimal(10)
CEILING = Decimal(10) ** 9


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
    view = await ctx.plan_view(role.plan_id or 0)
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
        mark = "☑️" if now_row else ("⏰" if view.deadline(period) < ctx.today else "⬜")
        figure = describe_figure(figure_of(now_row), pv.target, t) if now_row else "—"
        last_text = describe_figure(last, pv.target, t) if last else "—"
        lines.append(t("report-line", mark=mark, code=pv.code, title=pv.indicator.title,
                       target=describe_target(pv.target, t), period=period_label(period, t),
                       figure=figure, last=last_text))
        choice = Choice(f"{mark} {pv.code} · {_short(pv.indicator.title)}",
                        buttons.encode(buttons.Pick(pv.part.id, period)))
        (done_choices if now_row else missing_choices).append(choice)
    deadlines = sorted(view.deadline(view.reporting_period(p.frequency, ctx.today)) for p in parts)
    upcoming = [d for d in deadlines if d >= ctx.today]
    header = (t("report-header", unit=unit.name, deadline=t.date(upcoming[0])) if upcoming
              else t("report-header-late", unit=unit.name))
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


async def has_figure(ctx: Ctx, unit_id: int, part_id: int, period: str) -> bool:
    return await submissions.current(ctx.session, unit_id, part_id, period) is not None


# --- figures ---------------------------------------------------------------------------------------


async def submit(ctx: Ctx, lines: tuple[FigureLine, ...], hint: PeriodHint | None, correction: bool,
                 fixed: tuple[int, str] | None = None, unreadable: tuple[str, ...] = (),
                 questions: tuple[str, ...] = ()) -> None:
    """Figures sent as text ("6: 72,5%; 7: xong") or, with `fixed`, one value for a chosen part.

    Every figure ends in exactly one of: stored, unchanged, refused with its reason, or asked
    about (far from the previous one; no period named while an earlier one is missing); every
    line that could not be read is quoted back, and so is a question among the figures (asked
    to come on its own, where it is answered)."""
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    t = ctx.t
    out: list[str] = []
    accepted: list[Accepted] = []
    unnamed: list[Accepted] = []  # no period in the words: may belong to a missing earlier one
    for line in lines:
        result = _accept(ctx, view, unit, line, line.period or hint, fixed)
        if isinstance(result, Problem):
            out.append(t(result.message, **result.params))
        elif fixed is None and line.period is None and hint is None:
            unnamed.append(result)
        else:
            accepted.append(result)
    out.extend(t("report-unreadable-line", line=text) for text in unreadable)
    out.extend(t("report-question-line", line=text) for text in questions)
    history = await submissions.current_for_unit(
        ctx.session, unit.id, {a.part.part.id for a in accepted + unnamed})
    late = _period_questions(ctx, view, history, unnamed, correction)
    if late:
        accepted.extend(item for item in unnamed if item.part.part.id not in late)
    else:
        accepted.extend(unnamed)
    accepted = await closing.hold_locked(ctx, accepted)  # a closed period's figure: a change request
    to_confirm: list[Accepted] = []
    staged: list[submissions.Stored] = []
    for item in accepted:
        if _far_from_previous(history, item):
            to_confirm.append(item)
        else:
            out.append(_stage(ctx, view, unit, item, history, staged))
    await submissions.insert_versions(ctx.session, staged)
    if late:
        asked = [item for item in unnamed if item.part.part.id in late]
        await _ask_period(ctx, unit, asked, late, out, to_confirm, correction)
        return
    if to_confirm:
        await _ask_confirm(ctx, history, to_confirm, out)
        return
    if fixed is not None and accepted:
        await state.clear(ctx)
    if accepted:
        out.append(await missing_line(ctx, view, unit))
    ctx.say_text("\n".join(out))


async def _ask_confirm(ctx: Ctx, history: list[Submission], to_confirm: list[Accepted], out: list[str]) -> None:
    t = ctx.t
    for item in to_confirm:
        previous = _previous_figure(history, item.part, item.period, include_same=True)
        if previous is None or previous.amount is None:
            out.append(t("report-confirm-large", code=item.part.code, period=period_label(item.period, t),
                         new=describe_figure(item.figure, item.part.target, t),
                         target=describe_target(item.part.target, t)))
            continue
        out.append(t("report-confirm-far", code=item.part.code, period=period_label(item.period, t),
                     old=describe_figure(previous, item.part.target, t),
                     new=describe_figure(item.figure, item.part.target, t)))
    choices = (Choice(t("choice-yes"), buttons.encode(buttons.Answer(True))),
               Choice(t("choice-no"), buttons.encode(buttons.Answer(False))))
    pending = {"pending": [_pending(a) for a in to_confirm], **state.owner(ctx)}
    await state.save(ctx, "confirm", state.remember_choices(pending, choices))
    ctx.say_text("\n".join(out), choices=choices)


def _late_choices(ctx: Ctx, view: PlanView, history: list[Submission], items: list[Accepted]) -> dict[int, Period]:
    """Parts whose figure names no period while an earlier period of theirs is still missing for
    the unit, its deadline passed: part id -> the latest such period. Only periods whose deadline
    came after the unit's officer was registered count, so nobody is asked about months from
    before they used the bot."""
    role = ctx.officer
    since = role.started_at.astimezone(ctx.deps.timezone).date() if role is not None else None
    reported = {(r.part_id, r.period) for r in history}
    late: dict[int, Period] = {}
    for item in items:
        period = item.period.previous()
        while period.year == item.period.year and view.collects(period):
            deadline = view.deadline(period)
            if since is not None and deadline < since:
                break
            if deadline < ctx.today and (item.part.part.id, period.id) not in reported:
                late[item.part.part.id] = period
                break
            period = period.previous()
    return late


def _period_questions(ctx: Ctx, view: PlanView, history: list[Submission], unnamed: list[Accepted],
                      correction: bool) -> dict[int, Period]:
    """The figures without a period whose period must be asked: part id -> the other period offered."""
    late = _late_choices(ctx, view, history, unnamed)
    if correction:
        late |= _corrected_elsewhere(history, [item for item in unnamed if item.part.part.id not in late])
    return late


def _corrected_elsewhere(history: list[Submission], items: list[Accepted]) -> dict[int, Period]:
    """Corrections that name no period ("em nhập nhầm, đúng là 82%") of parts whose latest figure
    from the unit is of another period than the one being reported (March's, sent late): part id
    -> that period. Which one is corrected is asked, never guessed."""
    latest: dict[int, Submission] = {}
    for row in history:
        if row.part_id not in latest or (row.submitted_at, row.id) > (latest[row.part_id].submitted_at,
                                                                      latest[row.part_id].id):
            latest[row.part_id] = row
    earlier: dict[int, Period] = {}
    for item in items:
        row = latest.get(item.part.part.id)
        if row is not None and row.period != item.period.id:
            earlier[item.part.part.id] = Period.parse(row.period)
    return earlier


async def _ask_period(ctx: Ctx, unit: Unit, asked: list[Accepted], late: dict[int, Period], out: list[str],
                      to_confirm: list[Accepted], correction: bool = False) -> None:
    """Which period a figure without one is for: the missing one (or, for a correction, the one
    last given) offered first. Figures of the same message waiting for a "far from the previous
    one" confirmation are held with them and confirmed after the answer (one question at a time)."""
    t = ctx.t
    question = "report-ask-correction-period" if correction else "report-ask-period"
    for item in asked:
        out.append(t(question, code=item.part.code, figure=describe_figure(item.figure, item.part.target, t),
                     missing=period_label(late[item.part.part.id], t), current=period_label(item.period, t)))
    for item in to_confirm:
        out.append(t("report-held", code=item.part.code, period=period_label(item.period, t),
                     figure=describe_figure(item.figure, item.part.target, t)))
    missing_labels = sorted({period_label(p, t) for p in late.values()})
    current_labels = sorted({period_label(item.period, t) for item in asked})
    choices = (
        Choice(t("choice-period-earlier" if correction else "choice-period-missing", periods=", ".join(missing_labels)),
               buttons.encode(buttons.Late(True))),
        Choice(t("choice-period-current", periods=", ".join(current_labels)), buttons.encode(buttons.Late(False))),
    )
    pending = []
    for item in [*asked, *to_confirm]:
        entry = _pending(item)
        # Either answer keeps a held figure's own period: only the late ones move.
        entry["missing"] = late[item.part.part.id].id if item in asked else item.period.id
        pending.append(entry)
    # The unit it was asked for: an answer after the person moved to another unit files nothing.
    asked_of = {"pending": pending, **state.owner(ctx), "unit_id": unit.id}
    await state.save(ctx, "late", state.remember_choices(asked_of, choices))
    ctx.say_text("\n".join(out), choices=choices)


async def choose_period(ctx: Ctx, missing: bool, data: dict[str, Any]) -> None:
    """The answer to _ask_period: file each held figure to its missing period or the current one."""
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    await state.clear(ctx)
    if data.get("unit_id") != unit.id:
        ctx.say("report-choice-stale")
        return
    items = []
    for item in data.get("pending", []):
        pv = view.parts.get(item["part_id"])
        if pv is None or pv.part.id not in view.duties.get(unit.id, []):
            continue
        period = Period.parse(item["missing"] if missing else item["period"])
        items.append(Accepted(pv, period, _figure_of_pending(item)))
    history = await submissions.current_for_unit(ctx.session, unit.id, {a.part.part.id for a in items})
    out: list[str] = []
    to_confirm = []
    staged: list[submissions.Stored] = []
    for item in items:
        if _far_from_previous(history, item):
            to_confirm.append(item)
        else:
            out.append(_stage(ctx, view, unit, item, history, staged))
    await submissions.insert_versions(ctx.session, staged)
    if to_confirm:
        await _ask_confirm(ctx, history, to_confirm, out)
        return
    out.append(await missing_line(ctx, view, unit))
    ctx.say_text("\n".join(out))


def _figure_of_pending(item: dict[str, Any]) -> Figure:
    return Figure(value=_dec(item["value"]), numerator=_dec(item["numerator"]),
                  denominator=_dec(item["denominator"]), done=item["done"],
                  not_applicable=bool(item.get("not_applicable")))


async def confirm(ctx: Ctx, yes: bool, pending: list[dict[str, Any]], channel: str | None = None,
                  message_ref: str | None = None) -> None:
    """Stores the figures asked about on "Có"; `channel` and `message_ref`: where they came from
    when that was not the confirming message (a spreadsheet: "xlsx" and its file name)."""
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
    staged: list[submissions.Stored] = []
    items = [Accepted(view.parts[item["part_id"]], Period.parse(item["period"]), _figure_of_pending(item))
             for item in pending if item["part_id"] in view.parts]
    for confirmed in await closing.hold_locked(ctx, items):  # closed while the question waited
        out.append(_stage(ctx, view, unit, confirmed, history, staged, channel=channel, message_ref=message_ref))
    await submissions.insert_versions(ctx.session, staged)
    out.append(await missing_line(ctx, view, unit))
    ctx.say_text("\n".join(out))


def _accept(ctx: Ctx, view: PlanView, unit: Unit, line: FigureLine, hint: PeriodHint | None,
            fixed: tuple[int, str] | None) -> Accepted | Problem:
    if fixed is not None:
        pv = view.parts[fixed[0]]
        period = Period.parse(fixed[1])
    else:
        if line.unit is not None and unit not in view.find_units(line.unit, limit=1):
            return Problem("report-error-other-unit", {"named": line.unit, "unit": unit.name})
        if line.periods_disagree:
            return Problem("report-error-two-periods", {"code": line.ref})
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
    figure = to_figure(pv, line.figure, ctx.t)
    if isinstance(figure, Problem):
        return figure
    return Accepted(pv, period, figure)


def _period(hint: PeriodHint | None, pv: PartView, opened: Period, plan_year: int, ctx: Ctx) -> Period | Problem:
    if hint is None:
        return opened
    t = ctx.t
    if hint.back is not None:
        if hint.frequency is not None and hint.frequency is not pv.frequency:
            return Problem("report-error-period-frequency",
                           {"code": pv.code, "frequency": t(f"frequency-{pv.frequency.value}")})
        period = Period.of_month(ctx.today.year, ctx.today.month, pv.frequency)
        for _ in range(hint.back):
            period = period.previous()
        hint = PeriodHint(pv.frequency, period.index, period.year)
    if hint.frequency is not pv.frequency:
        return Problem("report-error-period-frequency",
                       {"code": pv.code, "frequency": t(f"frequency-{pv.frequency.value}")})
    year = hint.year or (opened.year if hint.index <= opened.index else opened.year - 1)
    try:
        period = Period(year, hint.frequency, hint.index)
    except ValueError:
        return Problem("report-error-period-unknown", {})
    if period > opened:
        return Problem("report-error-period-future",
                       {"period": period_label(period, t), "open": period_label(opened, t)})
    if period.year != plan_year:
        return Problem("report-error-period-outside", {"period": period_label(period, t), "year": plan_year})
    return period


def to_figure(pv: PartView, given: FigureInput, t: Translator) -> Figure | Problem:
    """Check a sent figure against what the part measures (domain.md's validation rules)."""
    code, target = pv.code, pv.target
    if given.not_applicable:
        if not pv.part.allow_not_applicable:
            return Problem("report-error-not-applicable-forbidden", {"code": code, "example": example_line(pv)})
        return Figure(not_applicable=True)
    if given.negative:
        return Problem("report-error-negative", {"code": code})
    if any(n is not None and n > CEILING for n in (given.value, given.numerator, given.denominator)):
        # Said with the figure as typed: a 28-digit number must not reach the number formatter.
        return Problem("report-error-too-large", {"code": code, "raw": given.raw})
    if any(n is not None and not fits_figure(n) for n in (given.value, given.numerator, given.denominator)):
        # Stored exactly or not at all (models.tables.FigureNumber): never silently rounded.
        return Problem("report-error-too-precise", {"code": code, "raw": given.raw, "places": FIGURE_PLACES})
    if target.measure is Measure.MILESTONE:
        if given.done is None:
            return Problem("report-error-milestone-number", {"code": code})
        return Figure(done=given.done)
    if given.done is not None:
        return Problem("report-error-done-for-number", {"code": code, "example": example_line(pv)})
    if given.numerator is not None and given.denominator is not None:
        return _ratio_figure(pv, given.numerator, given.denominator, t)
    return _amount_figure(pv, given, t)


def _ratio_figure(pv: PartView, numerator: Decimal, denominator: Decimal, t: Translator) -> Figure | Problem:
    """A figure sent as numerator/denominator."""
    if pv.target.measure is Measure.COUNT:
        return Problem("report-error-count-ratio", {"code": pv.code, "unit": pv.target.unit or ""})
    if denominator == 0:
        return Problem("report-error-zero-denominator", {"code": pv.code})
    if numerator > denominator:
        return Problem("report-error-numerator-above", {"code": pv.code, "numerator": t.number(numerator),
                                                        "denominator": t.number(denominator)})
    return Figure(numerator=numerator, denominator=denominator)


def _amount_figure(pv: PartView, given: FigureInput, t: Translator) -> Figure | Problem:
    """A figure sent as one number: a count, or a percentage."""
    if given.value is None:
        return Problem("report-error-not-a-number", {"code": pv.code, "example": example_line(pv)})
    if pv.target.measure is Measure.COUNT:
        if given.percent_sign:
            return Problem("report-error-count-percent", {"code": pv.code, "unit": pv.target.unit or ""})
        return Figure(value=given.value)
    if given.value > HUNDRED:
        return Problem("report-error-percent-range", {"code": pv.code, "value": t.number(given.value)})
    return Figure(value=given.value)


def _far_from_previous(history: list[Submission], item: Accepted) -> bool:
    target = item.part.target
    if (target.measure is Measure.COUNT and item.figure.value is not None and target.value
            and item.figure.value > target.value * OUTLIER_TIMES):
        return True
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


def _previous_figure(history: list[Submission], pv: PartView, period: Period,
                     include_same: bool = False) -> Figure | None:
    """The unit's figure before this one: the current version of this period (when asked), else
    the latest earlier period's. `history` holds the unit's current figures."""
    rows = [r for r in history if r.part_id == pv.part.id]
    same = [r for r in rows if r.period == period.id]
    if include_same and same:
        return figure_of(same[0])
    earlier = [r for r in rows if Period.parse(r.period) < period]
    return figure_of(max(earlier, key=lambda r: Period.parse(r.period))) if earlier else None


def _stage(ctx: Ctx, view: PlanView, unit: Unit, item: Accepted, history: list[Submission],
           staged: list[submissions.Stored], *, channel: str | None = None, message_ref: str | None = None) -> str:
    """Decide what storing `item` does and say it; the new version joins `staged`, written with
    the message's other figures by submissions.insert_versions. Later lines of the same message
    see this version (a figure corrected within one message is two versions)."""
    t = ctx.t
    e = ctx.event
    current = next((r for r in history if r.part_id == item.part.part.id and r.period == item.period.id), None)
    stored = submissions.next_version(
        plan_id=view.plan.id, part_id=item.part.part.id, unit_id=unit.id,
        period=item.period.id, figure=item.figure, person_id=ctx.person.id if ctx.person else None,
        channel=channel or e.channel, now=ctx.now,
        message_ref=message_ref or (f"{e.chat_id}:{e.message_id}" if e.message_id else None),
        previous=current,
    )
    staged.append(stored)
    if stored.outcome != StoreOutcome.DUPLICATE:
        history[:] = [r for r in history if r is not current] + [stored.row]
    params = dict(code=item.part.code, title=item.part.indicator.title, period=period_label(item.period, t),
                  figure=describe_figure(item.figure, item.part.target, t))
    if stored.outcome == StoreOutcome.DUPLICATE:
        return t("report-duplicate", **params)
    line = (t("report-corrected", old=describe_figure(figure_of(stored.previous), item.part.target, t), **params)
            if stored.outcome == StoreOutcome.CORRECTED and stored.previous is not None
            else t("report-stored", **params))
    if getattr(item.part.indicator, "evidence_required", False):  # the plan's `evidence: required`
        line += "\n" + t("review-evidence-needed", code=item.part.code)
    return line


async def missing_line(ctx: Ctx, view: PlanView, unit: Unit) -> str:
    """What the unit still owes in the periods being collected now (those the prompts listed),
    grouped by period with each deadline."""
    due = [(pv, period) for pv in view.parts_of_unit(unit.id)
           if (period := view.collecting(pv.frequency, ctx.today)) is not None]
    done = await submissions.reported(ctx.session, unit.id, [(pv.part.id, period.id) for pv, period in due])
    owed: dict[Period, list[str]] = {}
    for pv, period in due:
        if (pv.part.id, period.id) not in done:
            owed.setdefault(period, []).append(pv.code)
    if not owed:
        salutation = view.plan.salutation or ctx.t("salutation-default")
        return ctx.t("report-all-done", salutation=salutation)
    t = ctx.t
    groups = [t("report-owed-period", period=period_label(period, t), deadline=t.date(view.deadline(period)),
                codes=", ".join(codes)) for period, codes in sorted(owed.items(), key=lambda i: view.deadline(i[0]))]
    return t("report-still-missing", codes="; ".join(groups), count=sum(len(codes) for codes in owed.values()))


def pending_of(item: Accepted) -> dict[str, Any]:
    """A figure waiting for "Có", as the conversation state keeps it."""
    return _pending(item)


def _pending(item: Accepted) -> dict[str, Any]:
    f = item.figure
    return {"part_id": item.part.part.id, "period": item.period.id, "value": _text(f.value),
            "numerator": _text(f.numerator), "denominator": _text(f.denominator), "done": f.done,
            "not_applicable": f.not_applicable}


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


