"""One event in, replies out: who is asking, what they mean, which job answers. One unit of work
per event: everything an event changes is committed together or not at all."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import buttons, compare, limits, misc, plan_choice, questions, report, state, summary
from handlers.context import Ctx, Deps
from handlers.events import Event, Reply
from handlers.intents import (
    AskCharts,
    AskExport,
    AskCompare,
    AskGap,
    AskIndicatorAcrossUnits,
    AskMissing,
    AskWhy,
    AskOffTrack,
    AskSchedule,
    AskStatus,
    AskSummary,
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
    Unknown,
)
from handlers.start import start
from handlers.understand import MAX_MESSAGE, language_of, understand
from locales import translator
from models import outbox, people
from models.tables import ConversationState, Person, Role
from handlers.schedule import show_schedule

log = logging.getLogger(__name__)
UNREACHABLE_COMMANDS = ("/khonglienlac", "/unreachable")
PLAN_COMMANDS = ("/kehoach", "/plan")


Recorder = Callable[[Ctx], Awaitable[None]]


async def handle_event(deps: Deps, event: Event, *, update_key: str | None = None,
                       record: Recorder | None = None) -> list[Reply]:
    """Handle one event in one transaction. With `update_key`, an update already handled is
    skipped (exactly once); `record` runs inside the transaction after the handler, so a channel
    can queue the replies in the outbox atomically with their cause."""
    async with deps.sessions() as session:
        try:
            if update_key is not None:
                try:
                    await outbox.mark_processed(session, event.channel, update_key, deps.clock())
                except IntegrityError:  # handled before (redelivered, or by another process)
                    await session.rollback()
                    return []
            replies = await handle_within(session, deps, event, record)
            await session.commit()
        except Exception:
            await session.rollback()
            # Whatever this event read is suspect now: plan views are built again from the database.
            deps.plan_views.clear()
            # The update itself is not logged: it may hold personal data.
            log.exception("failed to handle a %s event (chat kind %s)", event.channel, event.chat_kind)
            return [Reply(translator(deps.default_locale)("error-internal"))]
    return replies


# Senders a channel looked up for a whole batch of updates (people.people_by_identities).
Known = dict[str, tuple[Person, list[Role]]]


async def handle_within(session: AsyncSession, deps: Deps, event: Event, record: Recorder | None = None,
                        known: Known | None = None) -> list[Reply]:
    """Handle one event in a transaction the caller owns, commits, and rolls back when this
    raises: a channel handling a whole batch of updates in one transaction (group commit).
    `known` must come from this same session; it is shared by the batch's events. Roles an
    earlier event ended are seen through it (the objects are shared); an event that grants a role
    empties it (handlers/start.py), so the events after it look their senders up."""
    ctx = Ctx(deps, session, event, event.at or deps.clock(), senders=known)
    await _route(ctx)
    if record is not None:
        await record(ctx)
    return ctx.replies


async def _route(ctx: Ctx) -> None:
    e = ctx.event
    if ctx.senders is not None and e.sender_id in ctx.senders:
        ctx.person, roles = ctx.senders[e.sender_id]
        ctx.roles = [role for role in roles if role.ended_at is None]
    else:
        await _identify(ctx)
    if ctx.person is not None:
        await ctx.settle_plan(ctx.roles)
    if not e.private:
        await _group(ctx)
        return
    if e.choice:
        await _choice(ctx, e.choice)
        return
    if _too_long(ctx):
        return
    command, _, argument = (e.text or "").strip().partition(" ")
    command = command.lower().split("@")[0]
    if ctx.person is not None and command in UNREACHABLE_COMMANDS:
        await misc.list_unreachable(ctx)
        return
    if ctx.person is not None and command in PLAN_COMMANDS:
        await plan_choice.show_or_choose(ctx, argument.strip())
        return
    intent = understand(e.text or "", ctx.t.locale)
    if ctx.person is None:
        if isinstance(intent, Start):
            await start(ctx, intent.code)
        else:
            ctx.say("start-welcome-unregistered")
        return
    await _intent(ctx, intent)


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
        await people.grant_role(ctx.session, person=ctx.person, role="admin", plan_id=None, unit_id=None, now=ctx.now)
        ctx.roles = await people.active_roles(ctx.session, ctx.person.id)


async def _intent(ctx: Ctx, intent: Intent) -> None:
    _follow_language(ctx, intent)
    if _period_refused(ctx, intent):
        return
    # Only answers to a question asked before (a value, yes/no, a number) depend on the state.
    current = await state.load(ctx) if isinstance(intent, (BareValue, Confirm)) else None
    match intent:
        case Cancel():
            await misc.cancel(ctx)
        case BareValue() if current is not None and current.state == "await_figure" and not state.belongs(ctx, current.data):
            await state.clear(ctx)
            ctx.say("confirm-other-role")
        case BareValue() if current is not None and current.state == "await_figure":
            fixed = (int(current.data["part_id"]), str(current.data["period"]))
            await report.submit(ctx, (FigureLine("", intent.figure),), None, False, fixed=fixed)
        case BareValue(choice=int(number)) if current is not None and state.chosen(current.data, number):
            await _choice(ctx, state.chosen(current.data, number) or "")
        case BareValue(choice=int(number)):
            await questions.ask_gap(ctx, str(number))
        case BareValue():
            ctx.say("report-which-indicator")
        case Confirm(yes=yes) if current is not None and current.state == "confirm":
            await _confirm(ctx, yes, current)
        case Confirm():
            ctx.say("confirm-nothing")
        case Start(code=code):
            await start(ctx, code)
        case Help():
            await misc.send_help(ctx)
        case SetLanguage(locale=locale):
            await misc.set_language(ctx, locale)
        case ShowReport():
            await report.show_report(ctx)
        case SubmitFigures(lines=lines, period=period, correction=correction, unreadable=unreadable):
            await report.submit(ctx, lines, period, correction, unreadable=unreadable)
        case Thanks():
            misc.thanks(ctx)
        case AskCompare(ref=ref):
            await compare.ask_compare(ctx, ref)
        case AskGap(ref=ref):
            await questions.ask_gap(ctx, ref)
        case AskStatus(unit=unit):
            await questions.ask_status(ctx, unit)
        case AskIndicatorAcrossUnits(ref=ref):
            await questions.ask_across_units(ctx, ref)
        case AskOffTrack():
            await questions.ask_off_track(ctx)
        case AskMissing(period=period):
            await questions.ask_missing(ctx, period)
        case AskSummary(period=period):
            await summary.ask_summary(ctx, period)
        case AskCharts(period=period):
            await summary.ask_charts(ctx, period)
        case AskExport(period=period):
            await summary.export_for_admin(ctx, period)
        case AskSchedule():
            await show_schedule(ctx)
        case AskWhy():
            await questions.explain_standing(ctx)
        case Unknown() | _:
            await misc.not_understood(ctx)


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
        case buttons.Language(locale=locale):
            await misc.set_language(ctx, locale)
        case buttons.Late(missing=missing):
            if (current := await _open_question(ctx, "late", "report-choice-stale")) is not None:
                await report.choose_period(ctx, missing, dict(current.data))
        case buttons.PlanChoice(plan_id=plan_id):
            await plan_choice.choose(ctx, plan_id)
        case buttons.Answer(yes=yes):
            if (current := await _open_question(ctx, "confirm", "confirm-nothing")) is not None:
                await _confirm(ctx, yes, current)


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
    if not state.belongs(ctx, current.data):
        await state.clear(ctx)
        ctx.say("confirm-other-role")
        return
    await report.confirm(ctx, yes, list(current.data.get("pending", [])))


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
        case AskSummary(period=period):
            await summary.ask_summary(ctx, period)
        case AskCharts(period=period):
            await summary.ask_charts(ctx, period)
        case AskStatus(unit=None):
            await questions.ask_status(ctx, None)
        case AskMissing(period=period):
            await questions.ask_missing(ctx, period)
        case AskWhy():
            await questions.explain_standing(ctx)
        case _:
            ctx.say("help-group")
