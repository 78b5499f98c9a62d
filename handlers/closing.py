"""Closing a period (khóa sổ) and the change requests to a closed one (issue 17).

The tracking office closes the period being reported for its indicators (/khoaso [N]) once they are
reviewed, and may reopen it (/mokhoa N). A figure an officer then sends for a closed period is not
stored: the bot asks for the reason, sends the request to the tracking office with a grant and a
refuse button (numbered choices elsewhere), and tells the officer the decision. A granted change is
stored as a new version, which awaits review like any other.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from handlers import buttons, state
from handlers.context import Ctx
from handlers.events import Choice, Reply
from handlers.formatting import describe_figure, period_label
from handlers.refs import resolve
from handlers.rights import Action, may_review
from locales import translator
from models import locks, people, review, submissions
from models.periods import Period
from models.plan_view import PartView, PlanView
from models.targets import Figure

__all__ = ["close_command", "decide", "hold_locked", "reopen_command", "take_reason"]

REASON_STATE = "change_reason"


async def _parts(ctx: Ctx, argument: str) -> tuple[PlanView, list[PartView]] | None:
    plan_id = await ctx.plan_id()
    if plan_id is None:
        ctx.say("review-not-tracking")
        return None
    view = await ctx.plan_view(plan_id)
    if argument.strip():
        found = resolve(view, argument.strip())
        parts = found.parts or found.ambiguous
        if not parts:
            ctx.say("files-unknown-indicator", ref=argument.strip())
            return None
    else:
        parts = list(view.parts.values())
    mine = [pv for pv in parts if may_review(ctx, view, pv, Action.CLOSE)]
    if not mine:
        ctx.say("review-not-tracking")
        return None
    return view, mine


async def close_command(ctx: Ctx, argument: str, *, closing: bool = True) -> None:
    found = await _parts(ctx, argument)
    if found is None:
        return
    view, parts = found
    by_period: dict[Period, list[PartView]] = {}
    for pv in parts:
        by_period.setdefault(view.reporting_period(pv.frequency, ctx.today), []).append(pv)
    lines = []
    for period, group in sorted(by_period.items()):
        await locks.close(ctx.session, plan_id=view.plan.id, part_ids=[pv.part.id for pv in group], period=period.id,
                          closing=closing, person_id=ctx.person.id if ctx.person else None,
                          channel=ctx.event.channel, now=ctx.now)
        lines.append(ctx.t("closing-closed" if closing else "closing-reopened", period=period_label(period, ctx.t),
                           codes=", ".join(pv.code for pv in group)))
    ctx.say_text("\n".join(lines))


async def reopen_command(ctx: Ctx, argument: str) -> None:
    if not argument.strip():
        ctx.say("closing-reopen-which")
        return
    await close_command(ctx, argument, closing=False)


async def hold_locked(ctx: Ctx, items: list[Any]) -> list[Any]:
    """The figures of `items` (report.Accepted) whose period is open; those of a closed period are
    held, and the officer is asked the reason for a change request."""
    shut = await locks.closed(ctx.session, [(item.part.part.id, item.period.id) for item in items])
    if not shut:
        return items
    held = [item for item in items if (item.part.part.id, item.period.id) in shut]
    await state.save(ctx, REASON_STATE, {"pending": [_pending(item) for item in held], **state.owner(ctx)})
    ctx.say("closing-ask-reason", codes=", ".join(item.part.code for item in held),
            period=period_label(held[0].period, ctx.t))
    return [item for item in items if (item.part.part.id, item.period.id) not in shut]


async def take_reason(ctx: Ctx, data: dict[str, Any], reason: str) -> None:
    """The reason for the held figures: a request per figure, sent to the tracking office."""
    await state.clear(ctx)
    role = ctx.officer
    if not state.belongs(ctx, data) or role is None or role.unit_id is None:
        ctx.say("confirm-other-role")
        return
    view = await ctx.plan_view(role.plan_id or 0)
    unit = view.units[role.unit_id]
    sent = []
    for item in data.get("pending", []):
        pv = view.parts.get(int(item["part_id"]))
        if pv is None:
            continue
        period = Period.parse(str(item["period"]))
        row = await locks.request(ctx.session, plan_id=view.plan.id, unit_id=unit.id, part_id=pv.part.id,
                                  period=period.id, figure=item, reason=reason[:500],
                                  person_id=ctx.person.id if ctx.person else None, channel=ctx.event.channel,
                                  now=ctx.now)
        for person in await review.reviewers(ctx.session, view.plan.id, review.tracking_units(view, pv.indicator)):
            for channel, chat_id in person.addresses[:1]:
                t = translator(person.locale or ctx.deps.default_locale)
                text = t("closing-request", unit=unit.name, code=pv.code, period=period_label(period, t),
                         figure=describe_figure(_figure(item), pv.target, t), reason=reason[:500])
                choices = (Choice(t("closing-grant"), buttons.encode(buttons.Decide(row.id, True))),
                           Choice(t("closing-refuse"), buttons.encode(buttons.Decide(row.id, False))))
                ctx.replies.append(Reply(text, choices=choices, to=(channel, chat_id), locale=t.locale))
        sent.append(pv.code)
    ctx.say("closing-request-sent", codes=", ".join(sent))


async def decide(ctx: Ctx, request_id: int, grant: bool) -> None:
    row = await locks.open_request(ctx.session, request_id)
    plan_id = await ctx.plan_id()
    view = await ctx.plan_view(plan_id) if plan_id is not None else None
    pv = view.parts.get(row.part_id) if row is not None and view is not None else None
    if row is None or view is None or pv is None or row.plan_id != view.plan.id:
        ctx.say("report-choice-stale")
        return
    if not may_review(ctx, view, pv, Action.DECIDE):
        ctx.say("review-not-tracking")
        return
    submission_id = None
    if grant:
        previous = await submissions.current(ctx.session, row.unit_id, row.part_id, row.period)
        stored = submissions.next_version(
            plan_id=row.plan_id, part_id=row.part_id, unit_id=row.unit_id, period=row.period,
            figure=_figure(row.figure), person_id=row.person_id, channel=row.channel, now=ctx.now,
            previous=previous, note=row.reason)
        await submissions.insert_versions(ctx.session, [stored])
        submission_id = stored.row.id
    locks.decide(row, granted=grant, person_id=ctx.person.id if ctx.person else None, channel=ctx.event.channel,
                 now=ctx.now, submission_id=submission_id)
    unit = view.units[row.unit_id]
    period = Period.parse(row.period)
    ctx.say("closing-granted" if grant else "closing-refused", edit=bool(ctx.event.choice), unit=unit.name,
            code=pv.code, period=period_label(period, ctx.t))
    await _tell_requester(ctx, row.person_id, "closing-told-granted" if grant else "closing-told-refused",
                          code=pv.code, period=period, figure=_figure(row.figure), pv=pv)


async def _tell_requester(ctx: Ctx, person_id: int | None, message: str, *, code: str, period: Period,
                          figure: Figure, pv: PartView) -> None:
    if person_id is None:
        return
    person = await people.person_by_id(ctx.session, person_id)
    identities = [i for i in await people.identities_of(ctx.session, person_id) if i.chat_id]
    if person is None or not identities:
        return
    preferred = person.prompt_channel or person.last_channel
    identity = next((i for i in identities if i.channel == preferred), identities[0])
    t = translator(person.locale or ctx.deps.default_locale)
    ctx.tell((identity.channel, identity.chat_id or ""), t(message, code=code, period=period_label(period, t),
                                                           figure=describe_figure(figure, pv.target, t)), t.locale)


def _pending(item: Any) -> dict[str, Any]:
    f = item.figure
    text = lambda v: None if v is None else str(v)  # noqa: E731
    return {"part_id": item.part.part.id, "period": item.period.id, "value": text(f.value),
            "numerator": text(f.numerator), "denominator": text(f.denominator), "done": f.done,
            "not_applicable": f.not_applicable}


def _figure(item: dict[str, Any]) -> Figure:
    number = lambda v: None if v is None else Decimal(str(v))  # noqa: E731
    return Figure(value=number(item.get("value")), numerator=number(item.get("numerator")),
                  denominator=number(item.get("denominator")), done=item.get("done"),
                  not_applicable=bool(item.get("not_applicable")))
