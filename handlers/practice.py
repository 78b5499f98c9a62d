"""/thuchanh (issue 16): an admin opens the plan's practice copy (models/practice.py); anyone
practising leaves it with "/thuchanh xong"."""
from __future__ import annotations

from handlers.context import Ctx
from models import practice, store
from models.text import fold

_DONE = {"xong", "thoat", "roi", "ket thuc", "done", "leave", "exit", "stop"}


async def practice_command(ctx: Ctx, argument: str) -> None:
    assert ctx.person is not None
    if fold(argument).strip(" .!") in _DONE:
        count = await practice.leave(ctx.session, ctx.person.id, ctx.now)
        if not count:
            ctx.say("practice-not-in")
            return
        ctx.person.current_plan_id = None  # the default plan of the roles left: a live one
        ctx.say("practice-left", count=count)
        return
    plan_id = await ctx.plan_id()
    plan = await store.plan_by_id(ctx.session, plan_id) if plan_id is not None else None
    if plan is None or not ctx.is_admin:
        ctx.say("practice-admins-only")
        return
    live = await store.plan_by_id(ctx.session, plan.practice_of_id) if plan.practice_of_id else plan
    assert live is not None
    copy = plan if plan.practice_of_id else await practice.practice_copy(ctx.session, plan, ctx.now)
    ctx.say("practice-ready", plan=copy.title, code=copy.code, live=live.code)
