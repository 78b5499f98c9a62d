"""Help, language, cancel, and the answer to what was not understood."""
from __future__ import annotations

import re
from collections.abc import Sequence

from handlers import buttons, state
from handlers.commands import Audience, for_audience
from handlers.context import Ctx
from handlers.events import Choice
from handlers.linking import CHANNEL_NAMES
from locales import Translator
from models import people
from models.kinds import ChatKind

# Each audience's help paragraph (locales), written by hand with examples in words; help adds a
# line for every command of the table (handlers/commands.py) the paragraphs do not name.
_PARAGRAPHS: dict[Audience, str] = {
    Audience.UNREGISTERED: "start-welcome-unregistered",
    Audience.OFFICER: "help-officer",
    Audience.LEADER: "help-leader",
    Audience.ADMIN: "help-admin",
    Audience.PLANS: "help-plans",
    Audience.EVERYONE: "help-common",
    Audience.GROUP: "help-group",
}


def _names(text: str, command: str) -> bool:
    return re.search(rf"/{re.escape(command)}(?!\w)", text) is not None


def help_text(t: Translator, audiences: Sequence[Audience], header: str | None = None) -> str:
    """The help for these people: the header, then each audience's paragraph followed by the
    commands of that audience the help has not named yet, one line each."""
    text = t(header) if header else ""
    for audience in audiences:
        lines = [t(_PARAGRAPHS[audience])]
        for command in for_audience(audience):
            name = command.name(t.locale)
            if not _names("\n".join((text, *lines)), name):
                # A menu's description starts a sentence; in a help line it follows a dash.
                description = t(command.description)
                lines.append(t("help-command", command=name, description=description[:1].lower() + description[1:]))
        text = "\n\n".join(part for part in (text, "\n".join(lines)) if part)
    return text


async def send_help(ctx: Ctx) -> None:
    if ctx.event.chat_kind == ChatKind.GROUP:
        ctx.say_text(help_text(ctx.t, (Audience.GROUP,)))
        return
    if ctx.person is None:
        ctx.say_text(help_text(ctx.t, (Audience.UNREGISTERED,)))
        return
    shown = ((Audience.OFFICER, ctx.officer is not None), (Audience.LEADER, ctx.is_leader),
             (Audience.ADMIN, ctx.is_admin), (Audience.PLANS, len(await ctx.plan_choices()) > 1))
    audiences = [audience for audience, shown_to_them in shown if shown_to_them]
    ctx.say_text(help_text(ctx.t, [*audiences, Audience.EVERYONE], header="help-header"))


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
    for name, since, unit, channel in rows:
        local = since.astimezone(ctx.deps.timezone).date()
        if channel is None:
            lines.append(t("unreachable-line", name=name, units=unit or "—", since=t.date(local)))
        else:
            lines.append(t("unreachable-line-channel", name=name, units=unit or "—", since=t.date(local),
                           channel=CHANNEL_NAMES.get(channel, channel)))
    ctx.say_text("\n".join(lines))


def thanks(ctx: Ctx) -> None:
    salutation = ctx.t("salutation-default")
    ctx.say("thanks-reply", salutation=salutation)
