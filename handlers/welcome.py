"""A gentle start for a new focal officer (issue 16): one short welcome — what the bot is, the next
deadline and what the unit owes for it, how to report, /help — with the earlier periods still
open gathered into one paragraph, instead of every prompt and overdue notice of the year so far.
The scheduler, for its part, sends a new officer nothing that was planned before they registered
(scheduler/tick.py): this welcome has said it."""
from __future__ import annotations

from datetime import date

from handlers.context import Ctx
from handlers.formatting import period_label
from handlers.schedule import describe_deadline
from models import onboarding
from models.periods import Period, periods_of_year
from models.plan_view import PlanView
from models.schedule_queries import reported
from models.tables import Person, Plan, Unit

# Earlier periods named one by one in the catch-up paragraph; beyond that, "and N more".
CATCH_UP_SHOWN = 6


def owed(view: PlanView, unit_id: int, today: date) -> dict[Period, list[int]]:
    """Each period the unit owes figures for (within the plan's year, collected, up to the one
    being reported now), with the parts it owes."""
    unit = view.units[unit_id]
    found: dict[Period, list[int]] = {}
    for pv in view.parts_of_unit(unit_id):
        for period in periods_of_year(view.plan.year, pv.frequency):
            if view.active_unit(unit, period) and period <= view.reporting_period(pv.frequency, today):
                found.setdefault(period, []).append(pv.part.id)
    return found


async def officer_welcome(ctx: Ctx, person: Person, plan: Plan, unit: Unit, salutation: str) -> None:
    """The welcome, as one message."""
    t, today = ctx.t, ctx.today
    expected = (await onboarding.roster_officers(ctx.session, plan.id)).get(unit.id)
    if expected is not None:
        # The roster's full name, not a messenger's nickname: how summaries and lists name them.
        person.display_name = expected.full_name
    view = await ctx.plan_view(plan.id)
    duties = owed(view, unit.id, today)
    done = await reported(ctx.session, plan.id, sorted({p.id for p in duties}))
    missing = {period: [part for part in parts if (unit.id, part, period.id) not in done]
               for period, parts in duties.items()}
    missing = {period: parts for period, parts in missing.items() if parts}
    lines = [t("welcome-officer", salutation=salutation, name=person.display_name, unit=unit.name, plan=plan.title)]
    upcoming = sorted((view.deadline(p), p.frequency.months, p) for p in missing if view.deadline(p) >= today)
    if upcoming:
        deadline = upcoming[0][0]
        due = [period for day, _, period in upcoming if day == deadline]
        lines.append(t("welcome-next-deadline", periods=", ".join(period_label(p, t) for p in due),
                       deadline=describe_deadline(t, ctx.deps.calendar, deadline),
                       count=t.number(sum(len(missing[p]) for p in due))))
    else:
        lines.append(t("welcome-nothing-due"))
    lines.append(t("welcome-how"))
    late = sorted((p for p in missing if view.deadline(p) < today),
                  key=lambda p: (view.deadline(p), p.frequency.months))
    if late:
        shown = [t("welcome-late-period", period=period_label(p, t), count=t.number(len(missing[p])))
                 for p in late[:CATCH_UP_SHOWN]]
        more = len(late) - len(shown)
        lines.append(t("welcome-catch-up", periods=", ".join(shown),
                       more=t("welcome-catch-up-more", count=t.number(more)) if more else ""))
    ctx.say_text("\n\n".join(lines))
