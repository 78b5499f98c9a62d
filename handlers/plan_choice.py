"""/kehoach (/plan): which plan a person with roles in several plans, or an admin of every plan,
works on. The choice is kept with the person; their rights are those of that plan only."""
from __future__ import annotations

from handlers import buttons, state
from handlers.context import Ctx
from handlers.events import Choice
from models import people, store


async def show_or_choose(ctx: Ctx, typed: str) -> None:
    """Without an argument: the current plan and, when there are others, buttons to switch.
    With a plan code: switch to it."""
    choices = await ctx.plan_choices()
    if not choices:
        ctx.say("plan-none")
        return
    plans = await people.plans_by_id(ctx.session, choices)
    if typed:
        wanted = next((plan_id for plan_id in choices if plans[plan_id].code.lower() == typed.lower()), None)
        if wanted is None:
            ctx.say("plan-unknown", code=typed, codes=", ".join(plans[plan_id].code for plan_id in choices))
            return
        await choose(ctx, wanted)
        return
    current = plans[ctx.current_plan_id] if ctx.current_plan_id in plans else plans[choices[0]]
    if len(choices) == 1:
        ctx.say("plan-current-only", plan=current.title, code=current.code)
        return
    options = tuple(Choice(f"{plans[plan_id].code} · {plans[plan_id].title}"[:60],
                           buttons.encode(buttons.PlanChoice(plan_id))) for plan_id in choices)
    ctx.say("plan-current", plan=current.title, code=current.code, choices=options)
    await state.save(ctx, "choose", state.remember_choices({}, options))


async def choose(ctx: Ctx, plan_id: int) -> None:
    if ctx.person is None or plan_id not in await ctx.plan_choices():
        ctx.say("report-choice-stale")
        return
    plan = await store.plan_by_id(ctx.session, plan_id)
    assert plan is not None
    ctx.person.current_plan_id = plan_id
    await ctx.settle_plan(ctx.all_roles)
    await state.clear(ctx)  # a question asked in the other plan no longer applies
    ctx.say("plan-chosen", edit=bool(ctx.event.choice), plan=plan.title, code=plan.code)
