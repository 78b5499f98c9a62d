"""Help, language, cancel, and the answer to what was not understood."""
from __future__ import annotations

from handlers import buttons, state
from handlers.context import Ctx
from handlers.events import Choice
from models import people


async def send_help(ctx: Ctx) -> None:
    if ctx.event.chat_kind == "group":
        ctx.say("help-group")
        return
    if ctx.person is None:
        ctx.say("start-welcome-unregistered")
        return
    sections = ["help-header"]
    if ctx.officer:
        sections.append("help-officer")
    if ctx.is_leader:
        sections.append("help-leader")
    if ctx.is_admin:
        sections.append("help-admin")
    if len(await ctx.plan_choices()) > 1:
        sections.append("help-plans")
    sections.append("help-common")
    ctx.say_text("\n\n".join(ctx.t(s) for s in sections))


async def set_language(ctx: Ctx, locale: str | None) -> None:
    if ctx.person is None:
        ctx.say("start-welcome-unregistered")
        return
    if locale is None:
        choices = (Choice("Tiếng Việt", buttons.encode(buttons.Language("vi"))),
                   Choice("English", buttons.encode(buttons.Language("en"))))
        ctx.say("language-choose", choices=choices)
        await state.save(ctx, "choose", state.remember_choices({}, choices))
        return
    ctx.person.locale = locale
    ctx.relocalize()
    await state.clear(ctx)
    ctx.say("language-set", edit=bool(ctx.event.choice))


async def cancel(ctx: Ctx) -> None:
    await state.clear(ctx)
    ctx.say("cancel-done")


async def not_understood(ctx: Ctx) -> None:
    if ctx.person is None:
        ctx.say("start-welcome-unregistered")
    elif ctx.officer:
        ctx.say("unknown-officer")
    else:
        ctx.say("unknown-leader")


async def list_unreachable(ctx: Ctx) -> None:
    """Admins: people whose messages fail for good (blocked the bot, chat gone)."""
    if not ctx.is_admin:
        ctx.say("question-admins-only")
        return
    rows = await people.unreachable(ctx.session)
    if not rows:
        ctx.say("unreachable-none")
        return
    t = ctx.t
    lines = [t("unreachable-header", count=len(rows))]
    for name, since, unit in rows:
        local = since.astimezone(ctx.deps.timezone).date()
        lines.append(t("unreachable-line", name=name, units=unit or "—", since=t.date(local)))
    ctx.say_text("\n".join(lines))


def thanks(ctx: Ctx) -> None:
    salutation = ctx.t("salutation-default")
    ctx.say("thanks-reply", salutation=salutation)
