"""Registration by invite: /start CODE in a private chat, or in a group to bind it."""
from __future__ import annotations

from handlers import linking
from handlers.context import Ctx
from handlers.misc import send_help
from handlers.welcome import officer_welcome
from locales import translator
from models import people, store
from models.kinds import RoleKind
from models.tables import Identity, Invite, Person, Plan, Role, Unit


def bare_code(text: str) -> str | None:
    """An invite code sent alone, as Zalo users paste it (Zalo has no deep links that send
    /start CODE): one word of the code's length and alphabet, dashes and spaces allowed."""
    typed = text.strip()
    if not typed or len(typed) > people.CODE_LENGTH + 4 or any(not (c.isalnum() or c in " -") for c in typed):
        return None
    code = people.clean_code(typed)
    if len(code) != people.CODE_LENGTH or any(c not in people.CODE_ALPHABET for c in code):
        return None
    return code


async def start(ctx: Ctx, code: str | None) -> None:
    if not code:
        if ctx.person is None:
            ctx.say("start-welcome-unregistered")
        else:
            await send_help(ctx)
        return
    if await _throttled(ctx):
        return
    e = ctx.event
    if await linking.redeem(ctx, code):  # a /lienket code from the person's other messenger
        return
    invite = await people.find_invite(ctx.session, code, ctx.now)
    problem = _refusal(ctx, invite)
    if problem:
        if problem == "start-code-wrong":
            await people.record_failed_attempt(ctx.session, e.channel, e.sender_id, ctx.now)
        ctx.say(problem)
        return
    assert invite is not None
    plan = await store.plan_by_id(ctx.session, invite.plan_id) if invite.plan_id else None
    if invite.role == RoleKind.GROUP:
        assert plan is not None
        await people.bind_group(ctx.session, plan_id=plan.id, channel=e.channel, chat_id=e.chat_id,
                                title=e.chat_title, now=ctx.now)
        invite.used_at = ctx.now
        ctx.say("start-group-bound", plan=plan.title)
        return
    await _register(ctx, invite, plan)


async def _throttled(ctx: Ctx) -> bool:
    """Too many wrong codes lately, from this sender or from everyone: said so, with how long."""
    e = ctx.event
    until = await people.throttled_until(ctx.session, e.channel, e.sender_id, ctx.now)
    everyone_until = None if until else await people.globally_throttled_until(ctx.session, ctx.now)
    if until is None and everyone_until is None:
        return False
    minutes = max(1, int(((until or everyone_until) - ctx.now).total_seconds() // 60) + 1)
    ctx.say("start-throttled" if until else "start-throttled-everyone", minutes=minutes)
    return True


def _refusal(ctx: Ctx, invite: Invite | None) -> str | None:
    """Why this code cannot be used here and now (a message id), or None."""
    if invite is None:
        return "start-code-wrong"
    if invite.used_at is not None:
        return "start-code-used"
    if invite.expires_at <= ctx.now:
        return "start-code-expired"
    if invite.role == RoleKind.GROUP and ctx.event.private:
        return "start-code-group-in-private"
    if invite.role != RoleKind.GROUP and not ctx.event.private:
        return "start-code-person-in-group"
    return None


async def _register(ctx: Ctx, invite: Invite, plan: Plan | None) -> None:
    """A person's invite: the role it gives, in the plan it is for."""
    e = ctx.event
    person = ctx.person or await people.ensure_person(
        ctx.session, e.channel, e.sender_id, e.sender_name, e.chat_id, ctx.now)
    ctx.person = person
    unit = await store.unit_by_id(ctx.session, invite.unit_id) if invite.unit_id else None
    _, replaced = await people.grant_role(
        ctx.session, person=person, role=invite.role, plan_id=plan.id if plan else None,
        unit_id=unit.id if unit else None, now=ctx.now, invite_id=invite.id,
    )
    invite.used_at, invite.used_by = ctx.now, person.id
    if plan is not None:
        person.current_plan_id = plan.id  # the plan just joined is the one worked on from now
    await ctx.settle_plan(await people.active_roles(ctx.session, person.id))
    await _welcome(ctx, invite.role, person, plan, unit, replaced)
    if len(await ctx.plan_choices()) > 1:
        ctx.say("plan-others")


async def _welcome(ctx: Ctx, role: str, person: Person, plan: Plan | None, unit: Unit | None,
                   replaced: Role | None) -> None:
    salutation = (plan.salutation if plan else None) or ctx.t("salutation-default")
    if role == RoleKind.OFFICER:
        assert unit is not None and plan is not None
        await officer_welcome(ctx, person, plan, unit, salutation)
        if replaced is not None:
            await _tell_replaced(ctx, replaced.person_id, unit, person)
    elif role == RoleKind.LEADER:
        ctx.say("start-leader-registered", name=person.display_name, plan=plan.title if plan else "-")
    else:
        ctx.say("start-admin-registered", name=person.display_name)


async def _tell_replaced(ctx: Ctx, previous_person_id: int, unit: Unit, successor: Person) -> None:
    previous = await people.person_by_id(ctx.session, previous_person_id)
    if previous is None:
        return
    t = translator(previous.locale or ctx.deps.default_locale)
    for identity in await people.identities_of(ctx.session, previous.id):
        identity: Identity
        ctx.tell((identity.channel, identity.chat_id or identity.external_id),
                 t("start-handed-over", unit=unit.name, successor=successor.display_name), t.locale)
