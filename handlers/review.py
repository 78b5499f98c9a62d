"""The tracking office's desk in chat (issue 17): review lists, approving, returning with a reason,
and the audit history of a unit's figure.

Who reviews an indicator: admins, and the registered officers of the indicator's tracking units
(models/review.py tracking_units: the units the indicator's `tracking` names in the plan file, else
the plan's `tracking_unit`). `may_review` is that rule's one place in the conversation.

/duyet lists the indicators the person reviews with their counts; an indicator's list shows each
unit's figure, its change from the previous period, its evidence and state, with buttons (numbered
choices on Zalo and the console): approve all, approve one unit, return one unit. A return asks
for the reason, tells the unit's officer the reason and how to correct; the correction is a new
version, which awaits review again.
"""
from __future__ import annotations

import re
from typing import Any

from handlers import buttons, closing, state
from handlers.context import Ctx
from handlers.events import Choice, Reply
from handlers.formatting import describe_figure, period_label
from handlers.refs import resolve
from handlers.report import example_line
from handlers.review_flags import flag_lines
from handlers.rights import may_review, may_see_history
from locales import Translator, translator
from models import history, people, review
from models.history import Entry
from models.periods import Period
from models.plan_view import PartView, PlanView
from models.submissions import figure_of
from models.text import fold

__all__ = ["approve", "before_intent", "history_line", "may_review", "return_figure", "return_notice", "show",
           "show_review"]

REASON_STATE = "return_reason"
_HISTORY = re.compile(r"^(?:lich su|history(?: of)?)\s+(?:(?:chi tieu|ct|indicator)\s*)?([0-9a-z.]+)\s*(.*)$")


async def _view(ctx: Ctx) -> PlanView | None:
    plan_id = await ctx.plan_id()
    return await ctx.plan_view(plan_id) if plan_id is not None else None


def _period_of(view: PlanView, pv: PartView, ctx: Ctx) -> Period:
    return view.reporting_period(pv.frequency, ctx.today)


async def show_review(ctx: Ctx, argument: str) -> None:
    """/duyet [N]: the indicators this person reviews, or one indicator's review list."""
    view = await _view(ctx)
    if view is None:
        ctx.say("review-not-tracking")
        return
    if argument.strip():
        found = resolve(view, argument.strip())
        part = found.part or (found.parts[0] if found.parts else None)
        if part is None:
            ctx.say("files-unknown-indicator", ref=argument.strip())
            return
        await show(ctx, part.part.id, _period_of(view, part, ctx))
        return
    mine = [pv for pv in view.parts.values() if may_review(ctx, view, pv) and view.reporters.get(pv.part.id)]
    if not mine:
        ctx.say("review-not-tracking")
        return
    lines, choices = [ctx.t("review-overview")], []
    for pv in mine:
        period = _period_of(view, pv, ctx)
        figures = await review.figures(ctx.session, [pv.part.id], period.id)
        counts = {s: sum(1 for f in figures if f.state is s) for s in review.ReviewState}
        lines.append(ctx.t("review-overview-line", code=pv.code, title=pv.indicator.title,
                           period=period_label(period, ctx.t), awaiting=counts[review.ReviewState.AWAITING],
                           approved=counts[review.ReviewState.APPROVED],
                           returned=counts[review.ReviewState.RETURNED],
                           expected=len(view.reporters.get(pv.part.id, []))))
        choices.append(Choice(f"{pv.code} · {_short(pv.indicator.title)}",
                              buttons.encode(buttons.ReviewList(pv.part.id, period))))
    ctx.say_text("\n".join(lines), choices=tuple(choices[:40]))
    await state.save(ctx, "choose", state.remember_choices({}, tuple(choices[:40])))


async def show(ctx: Ctx, part_id: int, period: Period, *, edit: bool = False, head: str | None = None) -> None:
    """One indicator's review list for a period."""
    view = await _view(ctx)
    pv = view.parts.get(part_id) if view is not None else None
    if view is None or pv is None:
        ctx.say("report-choice-stale")
        return
    if not may_review(ctx, view, pv):
        ctx.say("review-not-tracking")
        return
    t = ctx.t
    figures = await review.figures(ctx.session, [part_id], period.id)
    previous = {}
    if (before := period.previous()).year == period.year:
        previous = {f.submission.unit_id: f.submission for f in await review.figures(ctx.session, [part_id],
                                                                                       before.id)}
    lines = [head] if head else []
    lines.append(t("review-list-header", code=pv.code, title=pv.indicator.title, period=period_label(period, t),
                   count=len(figures), expected=len(view.reporters.get(part_id, []))))
    if getattr(pv.indicator, "evidence_required", False):
        lines.append(t("review-list-evidence-required"))
    choices: list[Choice] = []
    flagged = flag_lines(pv, [f.submission for f in figures], previous, t)  # outliers, with a short reason
    open_ones = [f for f in figures if f.state is not review.ReviewState.APPROVED]
    if open_ones:
        choices.append(Choice(t("review-approve-all", count=len(open_ones)),
                              buttons.encode(buttons.Approve(part_id, period, None))))
    for number, figure in enumerate(figures, start=1):
        row = figure.submission
        unit = view.units.get(row.unit_id)
        name = unit.name if unit is not None else "?"
        was = previous.get(row.unit_id)
        change = describe_figure(figure_of(was), pv.target, t) if was is not None else "—"
        lines.append(t("review-list-line", number=number, unit=name,
                       figure=describe_figure(figure_of(row), pv.target, t), previous=change,
                       evidence=figure.evidence, state=t(f"review-state-{figure.state.value}")))
        if row.unit_id in flagged:
            lines.append(flagged[row.unit_id])
        if figure.reason:
            lines.append(t("review-list-reason", reason=figure.reason))
        if figure.state is not review.ReviewState.APPROVED:
            choices.append(Choice(t("review-approve-unit", unit=name),
                                  buttons.encode(buttons.Approve(part_id, period, row.unit_id))))
        if figure.state is review.ReviewState.AWAITING or figure.state is review.ReviewState.APPROVED:
            choices.append(Choice(t("review-return-unit", unit=name),
                                  buttons.encode(buttons.Return(part_id, period, row.unit_id))))
    if not figures:
        lines.append(t("review-list-empty"))
    ctx.say_text("\n".join(lines), choices=tuple(choices[:60]), edit=edit)
    await state.save(ctx, "choose", state.remember_choices({}, tuple(choices[:60])))


async def approve(ctx: Ctx, part_id: int, period: Period, unit_id: int | None) -> None:
    view = await _view(ctx)
    pv = view.parts.get(part_id) if view is not None else None
    if view is None or pv is None or not may_review(ctx, view, pv):
        ctx.say("review-not-tracking")
        return
    done = await review.approve(ctx.session, view, [part_id], period.id, unit_id=unit_id,
                                person_id=ctx.person.id if ctx.person else None, channel=ctx.event.channel,
                                now=ctx.now)
    head = ctx.t("review-approved", count=len(done.approved), code=pv.code, period=period_label(period, ctx.t))
    if done.no_evidence:
        names = ", ".join(view.units[s.unit_id].name for s in done.no_evidence if s.unit_id in view.units)
        head += "\n" + ctx.t("review-no-evidence", units=names)
    await show(ctx, part_id, period, edit=bool(ctx.event.choice), head=head)


async def return_figure(ctx: Ctx, part_id: int, period: Period, unit_id: int) -> None:
    """A return pressed: ask for the reason (the next message)."""
    view = await _view(ctx)
    pv = view.parts.get(part_id) if view is not None else None
    if view is None or pv is None or not may_review(ctx, view, pv) or unit_id not in view.units:
        ctx.say("review-not-tracking")
        return
    await state.save(ctx, REASON_STATE, {"part_id": part_id, "period": period.id, "unit_id": unit_id})
    ctx.say("review-ask-reason", unit=view.units[unit_id].name, code=pv.code, period=period_label(period, ctx.t))


async def before_intent(ctx: Ctx) -> bool:
    """What the desk takes before a message is read as anything else: the reason for a return
    asked for, and "lịch sử chỉ tiêu 6 xã An Sinh". True when it answered."""
    text = (ctx.event.text or "").strip()
    if not text or text.startswith("/"):
        return False
    match = _HISTORY.match(fold(text))
    if match is not None:
        await show_history(ctx, match[1], match[2])
        return True
    current = await state.load(ctx)
    if current is not None and current.state == closing.REASON_STATE:
        await closing.take_reason(ctx, dict(current.data), text)
        return True
    if current is None or current.state != REASON_STATE:
        return False
    await _returned(ctx, current.data, text)
    return True


async def _returned(ctx: Ctx, data: dict[str, Any], reason: str) -> None:
    await state.clear(ctx)
    view = await _view(ctx)
    part_id, unit_id, period = int(data["part_id"]), int(data["unit_id"]), Period.parse(str(data["period"]))
    pv = view.parts.get(part_id) if view is not None else None
    if view is None or pv is None or not may_review(ctx, view, pv):
        ctx.say("review-not-tracking")
        return
    [figure, *_] = await review.figures(ctx.session, [part_id], period.id, unit_id) or [None]
    if figure is None:
        ctx.say("report-choice-stale")
        return
    reason = reason[:500]
    await review.decide(ctx.session, figure.submission, review.ReviewState.RETURNED, reason=reason,
                        person_id=ctx.person.id if ctx.person else None, channel=ctx.event.channel, now=ctx.now)
    told = await _tell_officer(ctx, pv, period, unit_id, reason)
    head = ctx.t("review-returned" if told else "review-returned-untold", unit=view.units[unit_id].name,
                 code=pv.code, reason=reason)
    await show(ctx, part_id, period, head=head)


async def _tell_officer(ctx: Ctx, pv: PartView, period: Period, unit_id: int, reason: str) -> bool:
    notice = await return_notice(ctx.session, ctx.deps.default_locale, pv, period, unit_id, reason)
    if notice is None:
        return False
    assert notice.to is not None
    ctx.tell(notice.to, notice.text, notice.locale)
    return True


async def return_notice(session: Any, default_locale: str, pv: PartView, period: Period, unit_id: int,
                        reason: str) -> Reply | None:
    """What the unit's officer hears of a return: the reason and how to correct, in their language,
    to where they last wrote from. None when the unit has no officer to tell. The chat's return and
    the web desk's (handlers/desk.py) send this one message."""
    role = await people.active_officer(session, unit_id)
    if role is None:
        return None
    person = await people.person_by_id(session, role.person_id)
    identities = [i for i in await people.identities_of(session, role.person_id) if i.chat_id]
    if person is None or not identities:
        return None
    preferred = person.prompt_channel or person.last_channel
    identity = next((i for i in identities if i.channel == preferred), identities[0])
    t = translator(person.locale or default_locale)  # the officer's own language
    text = t("review-returned-to-officer", code=pv.code, title=pv.indicator.title, period=period_label(period, t),
             reason=reason, example=example_line(pv))
    return Reply(text, to=(identity.channel, identity.chat_id or ""), locale=t.locale)


async def show_history(ctx: Ctx, ref: str, unit_words: str) -> None:
    """"lịch sử chỉ tiêu 6 [đơn vị]": the unit's figure history, for its officer, the indicator's
    tracking office, leaders and admins."""
    view = await _view(ctx)
    if view is None or ctx.person is None:
        ctx.say("review-not-tracking")
        return
    found = resolve(view, ref)
    parts = found.parts or found.ambiguous
    if not parts:
        ctx.say("files-unknown-indicator", ref=ref)
        return
    unit = _unit_named(view, unit_words) if unit_words.strip() else None
    own = ctx.officer.unit_id if ctx.officer is not None else None
    if unit is None and unit_words.strip():
        ctx.say("history-unknown-unit", unit=unit_words.strip())
        return
    unit_id = unit.id if unit is not None else own
    if unit_id is None:
        ctx.say("history-which-unit")
        return
    if not may_see_history(ctx, view, parts, unit_id):
        ctx.say("history-not-allowed")
        return
    entries = await history.of_unit(ctx.session, view, unit_id, [pv.part.id for pv in parts])
    head = ctx.t("history-header", code=parts[0].indicator.code, unit=view.units[unit_id].name)
    body = [history_line(entry, ctx.t, ctx.deps.timezone) for entry in entries[-40:]] or [ctx.t("history-empty")]
    ctx.say_text("\n".join([head, *body]))


def _unit_named(view: PlanView, words: str) -> Any:
    typed = fold(words)
    for unit in view.units.values():
        names = [unit.name, unit.code, *(unit.aliases or [])]
        if any(fold(name) == typed for name in names if name):
            return unit
    matches = [u for u in view.units.values() if typed and typed in fold(u.name)]
    return matches[0] if len(matches) == 1 else None


def history_line(entry: Entry, t: Translator, timezone: Any = None) -> str:
    at = entry.at.astimezone(timezone) if timezone is not None else entry.at
    when = f"{t.date(at.date())} {at:%H:%M}"
    who = entry.by or t("history-by-cli")
    params = dict(when=when, who=who, channel=entry.channel, code=entry.part, period=entry.period)
    match entry.kind:
        case "version":
            return t("history-version", version=entry.version, value=entry.value,
                     note=f" ({entry.note})" if entry.note else "", **params)
        case "evidence":
            return t("history-evidence", file=entry.file, **params)
        case "returned":
            return t("history-returned", version=entry.version, reason=entry.note or "", **params)
        case "closed" | "reopened":
            return t(f"history-{entry.kind}", **params)
        case "change_requested" | "change_granted" | "change_refused":
            return t(f"history-{entry.kind.replace('_', '-')}", value=entry.value, reason=entry.note or "",
                     **params)
        case _:
            return t("history-approved", version=entry.version, **params)


def _short(title: str, limit: int = 32) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


async def approval_line(ctx: Ctx, view: PlanView, unit_id: int | None = None) -> str | None:
    """How the figures being reported stand in review (/tinhhinh): approved, awaiting, returned;
    one unit's, or the whole plan's. None before any figure."""
    by_period: dict[Period, list[int]] = {}
    parts = view.parts_of_unit(unit_id) if unit_id is not None else list(view.parts.values())
    for pv in parts:
        by_period.setdefault(_period_of(view, pv, ctx), []).append(pv.part.id)
    counts = dict.fromkeys(review.ReviewState, 0)
    for period, part_ids in by_period.items():
        for figure in await review.figures(ctx.session, part_ids, period.id, unit_id):
            counts[figure.state] += 1
    if not sum(counts.values()):
        return None
    return ctx.t("review-status-line", approved=counts[review.ReviewState.APPROVED],
                 awaiting=counts[review.ReviewState.AWAITING], returned=counts[review.ReviewState.RETURNED])
