"""One person on Telegram and Zalo (issue 14): /lienket (/link) gives a one-time code that, sent
from the other messenger, attaches that account to the same person and roles (one history);
/kenh (/channel) chooses where scheduled messages go (else: the messenger written from last)."""
from __future__ import annotations

from handlers import buttons, state
from handlers.context import Ctx
from handlers.events import Choice
from models import linking, web_access
from models.text import fold

CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "console": "console"}


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


async def link_command(ctx: Ctx, argument: str) -> None:
    """/lienket: a code for the other messenger; /lienket CODE (sent from it): attach this account."""
    if argument:
        if not await redeem(ctx, argument):
            ctx.say("link-code-wrong")
        return
    if ctx.person is None:
        ctx.say("start-welcome-unregistered")
        return
    code = await linking.new_code(ctx.session, ctx.person.id, ctx.now)
    ctx.say("link-code", code=code, minutes=linking.LINK_MINUTES)


async def redeem(ctx: Ctx, typed: str) -> bool:
    """Attach the sender's account to the person a link code was made for; False when `typed`
    is no valid link code (it may be an invite code)."""
    e = ctx.event
    if not e.private:
        return False
    target = await linking.redeem(ctx.session, typed, ctx.now)
    if target is None:
        return False
    if ctx.person is not None:
        # Two people's histories are never merged from a chat: an admin hands roles over instead.
        ctx.say("link-same-person" if ctx.person.id == target.id else "link-registered-apart")
        return True
    await linking.attach(ctx.session, target, e.channel, e.sender_id, e.chat_id, ctx.now)
    ctx.person = target
    ctx.relocalize()
    ctx.say("link-done", name=target.display_name, channel=channel_name(e.channel))
    return True


async def channel_command(ctx: Ctx, argument: str) -> None:
    """/kenh: where scheduled messages go, with a choice; /kenh zalo|telegram|tudong: set it."""
    assert ctx.person is not None
    channels = await linking.channels_of(ctx.session, ctx.person.id)
    if argument:
        wanted = fold(argument).replace(" ", "")
        auto = wanted in ("tudong", "auto", "0")  # folded: "tự động" too
        if not auto and wanted not in channels:
            ctx.say("channel-unknown", channels=", ".join(channel_name(c) for c in channels))
            return
        await choose(ctx, None if auto else wanted)
        return
    if len(channels) < 2:
        ctx.say("channel-only-one", channel=channel_name(channels[0] if channels else ctx.event.channel))
        return
    current = ctx.person.prompt_channel
    options = (*(Choice(channel_name(c), buttons.encode(buttons.ChannelChoice(c))) for c in channels),
               Choice(ctx.t("channel-auto-choice"), buttons.encode(buttons.ChannelChoice(None))))
    ctx.say("channel-current", current=channel_name(current) if current else ctx.t("channel-auto"),
            choices=options)
    await state.save(ctx, "choose", state.remember_choices({}, options))


async def choose(ctx: Ctx, channel: str | None) -> None:
    assert ctx.person is not None
    if channel is not None and channel not in await linking.channels_of(ctx.session, ctx.person.id):
        ctx.say("report-choice-stale")
        return
    ctx.person.prompt_channel = channel
    await state.clear(ctx)
    if channel is None:
        ctx.say("channel-chosen-auto", edit=bool(ctx.event.choice))
    else:
        ctx.say("channel-chosen", edit=bool(ctx.event.choice), channel=channel_name(channel))


async def web_command(ctx: Ctx, argument: str) -> None:
    """/web: a personal sign-in link to the web desk, in a private chat only (a link in a group
    would let anyone there in as the asker)."""
    assert ctx.person is not None
    if not ctx.event.private:
        ctx.say("web-link-private-only")
        return
    if ctx.deps.web_base is None:
        ctx.say("web-link-not-set-up")
        return
    token = await web_access.new_login(ctx.session, ctx.person.id, ctx.now)
    ctx.say("web-link", url=f"{ctx.deps.web_base}/login/{token}", minutes=web_access.LOGIN_MINUTES)
