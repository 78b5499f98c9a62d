"""What the channel reports about the bot itself: a person blocked it, a group removed it or moved."""
from __future__ import annotations

from handlers.context import Ctx
from handlers.events import Happening
from locales import translator
from models import membership


async def happened(ctx: Ctx) -> None:
    e = ctx.event
    match e.happening:
        case Happening.LEFT if e.private:
            # Blocked: prompts and reminders stop going there, and admins see them as unreachable.
            await membership.mark_unreachable(ctx.session, e.channel, e.chat_id, ctx.now)
        case Happening.LEFT:
            await _removed_from_group(ctx)
        case Happening.MOVED if e.moved_to:
            await membership.move_group(ctx.session, e.channel, e.chat_id, e.moved_to)


async def _removed_from_group(ctx: Ctx) -> None:
    """The steering group no longer receives summaries: every admin is told, to bind another."""
    e = ctx.event
    if await membership.end_group_binding(ctx.session, e.channel, e.chat_id, ctx.now) is None:
        return
    for admin in await membership.admin_contacts(ctx.session, e.channel):
        t = translator(admin.locale or ctx.deps.default_locale)
        ctx.tell((admin.channel, admin.chat_id), t("group-removed", title=e.chat_title or e.chat_id), t.locale)
