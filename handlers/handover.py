"""/bangiao (issue 16): a focal officer hands their unit over. Their role ends (kept as history:
every figure they sent stays theirs), the plan's admins are told, and the officer gets a code to
pass to their successor — the person who knows who takes over is usually the one leaving."""
from __future__ import annotations

from handlers import invite_files
from handlers.context import Ctx
from handlers.invites import invite_link_of
from locales import translator
from models import onboarding, store
from models.text import fold

# "/bangiao đồng ý": the confirmation, typed, so that it reads the same on every messenger.
_YES = {"dong y", "xac nhan", "co", "ok", "yes", "confirm"}


async def handover_command(ctx: Ctx, argument: str) -> None:
    role = ctx.officer
    if role is None or role.unit_id is None or role.plan_id is None:
        ctx.say("handover-not-officer")
        return
    unit = await store.unit_by_id(ctx.session, role.unit_id)
    plan = await store.plan_by_id(ctx.session, role.plan_id)
    assert unit is not None and plan is not None and ctx.person is not None
    if fold(argument).strip(" .!") not in _YES:
        ctx.say("handover-ask", unit=unit.name)
        return
    await onboarding.step_down(ctx.session, role, ctx.now)
    [line] = await onboarding.issue_officer_invites(ctx.session, plan, [(unit, None)], now=ctx.now,
                                                    created_by=ctx.person.id)
    t = ctx.t
    expires = invite_files.when(t, line.expires_at.astimezone(ctx.deps.timezone))
    link = invite_link_of(ctx, line.code)
    ctx.say("handover-done", unit=unit.name, code=line.code, expires=expires,
            how=t("invite-forward-link", link=link) if link else t("invite-forward-code", code=line.code))
    for person_id, locale, channel, chat_id in await onboarding.plan_admins(ctx.session, plan.id):
        if person_id == ctx.person.id:
            continue
        their = translator(locale or ctx.deps.default_locale)
        ctx.tell((channel, chat_id), their("handover-admins", name=ctx.person.display_name, unit=unit.name,
                                           plan=plan.title, expires=expires), their.locale)
