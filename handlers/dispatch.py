"""One event in, replies out: who is asking, what they mean, which handler answers."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from handlers import (
    buttons,
    closing,
    commands,
    compare,
    files,
    handover,
    invites,
    limits,
    linking,
    membership,
    misc,
    official_report,
    paperwork,
    plan_choice,
    plan_document,
    practice,
    questions,
    report,
    review,
    state,
    summary,
)
from handlers.commands import Route
from handlers.context import Ctx
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
    FigureLine,
    Help,
    Intent,
    SetLanguage,
    ShowReport,
    Start,
    SubmitFigures,
    Thanks,
)
from handlers.schedule import show_schedule
from handlers.start import bare_code, start
from handlers.understand import MAX_MESSAGE, language_of, understand
from models import people
from models.kinds import RoleKind
from models.tables import ConversationState

log = logging.getLogger(__name__)
SEEN_GRAIN = timedelta(hours=1)

# The commands that are no intent (handlers/commands.py), for registered people.
_ROUTES: dict[Route, Callable[[Ctx, str], Awaitable[None]]] = {
    Route.UNREACHABLE: lambda ctx, _: misc.list_unreachable(ctx),
    Route.PLAN: lambda ctx, argument: plan_choice.show_or_choose(ctx, argument),
    Route.LINK: linking.link_command,
    Route.CHANNEL: linking.channel_command,
    Route.WEB: linking.web_command,
    Route.INVITE: invites.invite_command,
    Route.BOARD: invites.board_command,
    Route.HANDOVER: handover.handover_command,
    Route.REVIEW: review.show_review,
    Route.CLOSE: closing.close_command,
    Route.REOPEN: closing.reopen_command,
    Route.PRACTICE: practice.practice_command,
}


async def route(ctx: Ctx) -> None:
    """Who is asking, what they mean, which handler answers; the replies collect in `ctx`. The
    caller (handlers/inbox.py) owns the transaction."""
    await _route(ctx)
    e = ctx.event
    if ctx.person is not None and e.private and ctx.person.last_channel != e.channel:
        # Where scheduled messages go (/kenh). Written last, like the update's key, so that a
        # transaction that only reads (a summary being drawn) takes no write lock before its end.
        ctx.person.last_channel = e.channel
    if ctx.person is not None and e.happening is None and (
            ctx.person.last_seen_at is None or ctx.now - ctx.person.last_seen_at >= SEEN_GRAIN):
        ctx.person.last_seen_at = ctx.now  # to the hour: not one more write for every message


async def workbook(ctx: Ctx, data: bytes, filename: str) -> bool | None:
    """A spreadsheet sent in a private chat: who is asking, then handlers.paperwork.receive_workbook.
    None when it is not one of the bot's forms (or the sender is nobody the bot knows): the
    caller treats it as any other file. In a chat, handlers/files.on_file hands spreadsheets to
    receive_workbook itself; this is the way in for a file from outside a chat."""
    await _identify(ctx)
    if ctx.person is None or not ctx.event.private:
        return None
    await ctx.settle_plan(ctx.roles)
    return await paperwork.receive_workbook(ctx, data, filename)


async def _route(ctx: Ctx) -> None:
    e = ctx.event
    if e.happening is not None:
        await membership.happened(ctx)
        return
    await _identify(ctx)
    if ctx.person is not None:
        await ctx.settle_plan(ctx.roles)
    if not e.private:
        await _group(ctx)
        return
    if await _desk(ctx):
        return
    if e.choice:
        await _choice(ctx, e.choice)
        return
    if _too_long(ctx):
        return
    found = commands.split(e.text or "")
    if found is not None and (ctx.person is not None or found[0].means is Route.LINK) \
            and isinstance(found[0].means, Route):
        await _ROUTES[found[0].means](ctx, found[1])
        return
    if ctx.person is not None and await _answered_before_intent(ctx):
        return
    intent = understand(e.text or "", ctx.t.locale)
    if ctx.person is None:
        await _unregistered(ctx, intent)
        return
    await _intent(ctx, intent)


async def _answered_before_intent(ctx: Ctx) -> bool:
    """A choice typed in words ("1", "có"), or a question about who is on board (issue 16)."""
    text = ctx.event.text or ""
    if state.worded(text) and await _worded_choice(ctx):
        return True
    asked = invites.onboarding_question(text)
    return asked is not None and await invites.answer_question(ctx, asked)


async def _unregistered(ctx: Ctx, intent: Intent) -> None:
    if isinstance(intent, Start):
        await start(ctx, intent.code)
    elif (code := bare_code(ctx.event.text or "")) is not None:
        await start(ctx, code)
    else:
        ctx.say("start-welcome-unregistered")


async def _desk(ctx: Ctx) -> bool:
    """Files (every file, whatever its caption, goes this one way), a return's reason asked for,
    and "lịch sử …" (issue 17). True when answered."""
    if ctx.event.files:
        await files.on_file(ctx)
        return True
    return ctx.person is not None and not ctx.event.choice and not _too_long_quiet(ctx) \
        and await review.before_intent(ctx)


def _too_long_quiet(ctx: Ctx) -> bool:
    return len(ctx.event.text or "") > MAX_MESSAGE


async def _worded_choice(ctx: Ctx) -> bool:
    """An option of the choices just shown, named by its words instead of its number (channels
    without buttons: Zalo, the console)."""
    current = await state.load(ctx)
    data = state.chosen_by_words(current.data, ctx.event.text or "") if current is not None else None
    if data is None:
        return False
    await _choice(ctx, data)
    return True


def _too_long(ctx: Ctx) -> bool:
    """A message longer than the bot reads is answered as such, never read in part: a cut line
    would be misread, and the figures after it silently lost."""
    length = len(ctx.event.text or "")
    if length <= MAX_MESSAGE:
        return False
    ctx.say("message-too-long", length=ctx.t.number(length), limit=ctx.t.number(MAX_MESSAGE))
    return True


async def _identify(ctx: Ctx) -> None:
    e = ctx.event
    ctx.person, ctx.roles = await people.person_and_roles(ctx.session, e.channel, e.sender_id)
    if ctx.person is None and e.private and (e.channel, e.sender_id) in ctx.deps.admins:
        # BOT_ADMINS are admins from their first message, without an invite.
        ctx.person = await people.ensure_person(ctx.session, e.channel, e.sender_id, e.sender_name, e.chat_id, ctx.now)
        await people.grant_role(ctx.session, person=ctx.person, role=RoleKind.ADMIN, plan_id=None, unit_id=None,
                                now=ctx.now)
        ctx.roles = await people.active_roles(ctx.session, ctx.person.id)


async def _intent(ctx: Ctx, intent: Intent) -> None:
    _follow_language(ctx, intent)
    if _period_refused(ctx, intent):
        return
    match intent:
        case BareValue():
            await _bare_value(ctx, intent)
        case Confirm(yes=yes):
            current = await state.load(ctx)
            if current is not None and current.state == "confirm":
                await _confirm(ctx, yes, current)
            else:
                ctx.say("confirm-nothing")
        case _:
            await _ANSWERS.get(type(intent), _not_understood)(ctx, intent)


async def _bare_value(ctx: Ctx, intent: BareValue) -> None:
    """A value or a number alone: the answer to the question asked before, if one was."""
    current = await state.load(ctx)
    awaited = current is not None and current.state == "await_figure"
    chosen = state.chosen(current.data, intent.choice) if current is not None and intent.choice is not None else None
    if awaited and not state.belongs(ctx, current.data):
        await state.clear(ctx)
        ctx.say("confirm-other-role")
    elif awaited:
        fixed = (int(current.data["part_id"]), str(current.data["period"]))
        await report.submit(ctx, (FigureLine("", intent.figure),), None, False, fixed=fixed)
    elif chosen:
        await _choice(ctx, chosen)
    elif intent.choice is not None:
        await questions.ask_gap(ctx, str(intent.choice))
    else:
        ctx.say("report-which-indicator")


async def _not_understood(ctx: Ctx, _intent: Intent) -> None:
    await misc.not_understood(ctx)


async def _thanks(ctx: Ctx, _intent: Intent) -> None:
    misc.thanks(ctx)


# What answers each kind of request in a private chat. Looked up when called, so that a handler
# replaced (in a test) is the one that runs.
_ANSWERS: dict[type, Callable[[Ctx, Any], Awaitable[None]]] = {
    Cancel: lambda ctx, _: misc.cancel(ctx),
    Start: lambda ctx, i: start(ctx, i.code),
    Help: lambda ctx, _: misc.send_help(ctx),
    SetLanguage: lambda ctx, i: misc.set_language(ctx, i.locale),
    ShowReport: lambda ctx, _: report.show_report(ctx),
    SubmitFigures: lambda ctx, i: report.submit(ctx, i.lines, i.period, i.correction, unreadable=i.unreadable,
                                                questions=i.questions),
    Thanks: _thanks,
    AskCompare: lambda ctx, i: compare.ask_compare(ctx, i.ref),
    AskGap: lambda ctx, i: questions.ask_gap(ctx, i.ref),
    AskStatus: lambda ctx, i: questions.ask_status(ctx, i.unit),
    AskIndicatorAcrossUnits: lambda ctx, i: questions.ask_across_units(ctx, i.ref),
    AskOffTrack: lambda ctx, _: questions.ask_off_track(ctx),
    AskMissing: lambda ctx, i: questions.ask_missing(ctx, i.period),
    AskSummary: lambda ctx, i: summary.ask_summary(ctx, i.period, i.approved),
    AskCharts: lambda ctx, i: summary.ask_charts(ctx, i.period),
    AskExport: lambda ctx, i: summary.export_for_admin(ctx, i.period),
    AskOfficialReport: lambda ctx, i: official_report.ask_official_report(ctx, i.period),
    AskTemplate: lambda ctx, _: paperwork.send_template(ctx),
    AskSchedule: lambda ctx, _: show_schedule(ctx),
    AskWhy: lambda ctx, _: questions.explain_standing(ctx),
}


def _period_refused(ctx: Ctx, intent: Intent) -> bool:
    """A period command whose argument names no period is refused with what is accepted: an
    answer for the default period instead would look like the one asked for."""
    text = limits.unknown_period(intent)
    if text is None:
        return False
    ctx.say("limits-period-unknown", text=text)
    return True


def _follow_language(ctx: Ctx, intent: Intent) -> None:
    """Answer in the language the person writes: an English message from someone set to
    Vietnamese switches them to English (and back), remembered like /language."""
    if ctx.person is None or isinstance(intent, (SetLanguage, Start)):
        return
    written = language_of(ctx.event.text or "")
    if written is not None and written != ctx.t.locale:
        ctx.person.locale = written
        ctx.relocalize()


async def _choice(ctx: Ctx, data: str) -> None:
    """A pressed button (Telegram) or a numbered choice typed back (Zalo, console)."""
    button = buttons.decode(data)
    if ctx.person is None or button is None:
        ctx.say("report-choice-stale")
        return
    match button:
        case buttons.Pick(part_id=part_id, period=period):
            await report.pick(ctx, part_id, period)
        case buttons.EvidenceFor() | buttons.ReviewList() | buttons.Approve() | buttons.Return() | buttons.Decide():
            await _desk_choice(ctx, button)
        case buttons.Language(locale=locale):
            await misc.set_language(ctx, locale)
        case buttons.Late(missing=missing):
            if (current := await _open_question(ctx, "late", "report-choice-stale")) is not None:
                await report.choose_period(ctx, missing, dict(current.data))
        case buttons.PlanChoice(plan_id=plan_id):
            await plan_choice.choose(ctx, plan_id)
        case buttons.ChannelChoice(channel=channel):
            await linking.choose(ctx, channel)
        case buttons.Answer(yes=yes):
            if (current := await _open_question(ctx, "confirm", "confirm-nothing")) is not None:
                await _confirm(ctx, yes, current)


async def _desk_choice(ctx: Ctx, button: buttons.Button) -> None:
    """Evidence and review buttons (issue 17)."""
    match button:
        case buttons.EvidenceFor(part_id=part_id, period=period):
            await files.attach_chosen(ctx, part_id, period)
        case buttons.ReviewList(part_id=part_id, period=period):
            await review.show(ctx, part_id, period, edit=True)
        case buttons.Approve(part_id=part_id, period=period, unit_id=unit_id):
            await review.approve(ctx, part_id, period, unit_id)
        case buttons.Return(part_id=part_id, period=period, unit_id=unit_id):
            await review.return_figure(ctx, part_id, period, unit_id)
        case buttons.Decide(request_id=request_id, grant=grant):
            await closing.decide(ctx, request_id, grant)


async def _open_question(ctx: Ctx, kind: str, otherwise: str) -> ConversationState | None:
    """The question of this kind the person was asked and has not answered, or None (said so)."""
    current = await state.load(ctx)
    if current is None or current.state != kind:
        ctx.say(otherwise)
        return None
    return current


async def _confirm(ctx: Ctx, yes: bool, current: ConversationState) -> None:
    """A yes or no to a figure far from the previous one: only for the role and unit it was asked
    for (the sender may have registered for another unit since)."""
    if "many" in current.data:  # a consolidated sheet's figures: asked of a person, not a unit's officer
        await paperwork.confirm_many(ctx, yes, current.data)
        return
    if plan_document.DRAFT_KEY in current.data:  # a new plan read from its document (issue 22)
        await plan_document.confirm(ctx, yes, current.data)
        return
    if not state.belongs(ctx, current.data):
        await state.clear(ctx)
        ctx.say("confirm-other-role")
        return
    await report.confirm(ctx, yes, list(current.data.get("pending", [])), current.data.get("channel"),
                         current.data.get("message_ref"))


async def _group(ctx: Ctx) -> None:
    """In groups the bot answers only commands and mentions, and only where it was set up."""
    e = ctx.event
    text = (e.text or "").strip()
    if not (text.startswith("/") or e.mentioned) or _too_long(ctx):
        return
    intent = understand(text, ctx.deps.default_locale)
    if isinstance(intent, Start) and intent.code:
        await start(ctx, intent.code)
        return
    binding = await people.group_binding(ctx.session, e.channel, e.chat_id)
    if binding is None:
        ctx.say("group-not-set-up")
        return
    ctx.group_plan_id = binding.plan_id
    await ctx.settle_plan(ctx.all_roles, binding.plan_id)  # a member's rights here: in this plan only
    if _period_refused(ctx, intent):
        return
    match intent:
        case AskSummary(period=period, approved=approved):
            await summary.ask_summary(ctx, period, approved)
        case AskCharts(period=period):
            await summary.ask_charts(ctx, period)
        case AskStatus(unit=None):
            await questions.ask_status(ctx, None)
        case AskMissing(period=period):
            await questions.ask_missing(ctx, period)
        case AskWhy():
            await questions.explain_standing(ctx)
        case _:
            await misc.send_help(ctx)
