"""The schedule as people see it: "lịch nhắc" / /lich.

Admins and leaders get the plan's next scheduled messages (what, for which period, on which local
day and hour, and the deadline, with a note when it falls on a day off); a focal officer gets the
next deadlines of their own unit. The scheduler (scheduler/tick.py) words its deadlines with the
same `describe_deadline` and lists a plan's items with the same `plan_schedule`.
"""
from __future__ import annotations

from datetime import date, datetime

from handlers.context import Ctx, Deps
from handlers.formatting import period_label
from locales import Translator
from models.due import Item, Timing, plan_items, upcoming_items
from models.periods import Frequency, Period, WorkCalendar, periods_of_year
from models.plan_view import PlanView
from models.schedule_queries import plan_timings
from models.session import Session
from models.store import load_plan_view

SHOWN = 12
OFFICER_SHOWN = 4


async def plan_schedule(session: Session, deps: Deps,
                        plan_id: int) -> tuple[PlanView, dict[Frequency, Timing], list[Item]]:
    """The plan's view, its timings and every item of its year (for the frequencies it uses)."""
    view = await load_plan_view(session, plan_id, deps.plan_views)
    timings = await plan_timings(session, plan_id)
    frequencies = {pv.frequency for pv in view.parts.values()}
    items = plan_items(view.plan.code, view.plan.year, timings, deps.calendar, deps.timezone, frequencies,
                       view.collect_from)
    return view, timings, items


async def upcoming(session: Session, deps: Deps, plan_id: int, now: datetime, limit: int = SHOWN) -> list[Item]:
    """The plan's next `limit` scheduled items after `now`, in order."""
    _, _, items = await plan_schedule(session, deps, plan_id)
    return upcoming_items(items, now, limit)


def describe_item(t: Translator, deps: Deps, item: Item) -> str:
    local = item.fire_at.astimezone(deps.timezone)
    when = t("schedule-view-when", weekday=weekday(t, local.date()), date=t.date(local.date()),
             time=local.strftime("%H:%M"))
    periods = [period_label(p, t) for p in item.periods]
    period = periods[0] if len(periods) == 1 else t("schedule-and", first=", ".join(periods[:-1]), last=periods[-1])
    return t("schedule-view-line", when=when, kind=t(f"schedule-kind-{item.kind.value}"), period=period,
             deadline=describe_deadline(t, deps.calendar, item.deadline))


async def show_schedule(ctx: Ctx) -> None:
    """Answer "lịch nhắc" / /lich / "schedule"."""
    if not ctx.is_leader:  # leaders and admins
        if ctx.officer is not None and ctx.officer.unit_id is not None:
            await _officer_deadlines(ctx)
        else:
            ctx.say("question-admins-only")
        return
    plan_id = await ctx.plan_id()
    if plan_id is None:
        ctx.say("question-no-plan")
        return
    view, timings, items = await plan_schedule(ctx.session, ctx.deps, plan_id)
    shown = upcoming_items(items, ctx.now, SHOWN)
    t = ctx.t
    if not shown:
        ctx.say("schedule-view-none", plan=view.plan.title)
        return
    lines = [t("schedule-view-header", plan=view.plan.title)]
    lines += [describe_item(t, ctx.deps, item) for item in shown]
    timing: Timing = next(iter(timings.values()))
    lines += ["", t("schedule-view-footer", zone=str(ctx.deps.timezone),
                    quiet_start=timing.quiet_start.strftime("%H:%M"), quiet_end=timing.quiet_end.strftime("%H:%M"))]
    if "zalo" in ctx.deps.groupless:
        lines.append(t("schedule-view-zalo-groupless"))
    ctx.say_text("\n".join(lines))


async def _officer_deadlines(ctx: Ctx) -> None:
    role = ctx.officer
    assert role is not None and role.unit_id is not None
    view = await load_plan_view(ctx.session, role.plan_id or 0, ctx.deps.plan_views)
    unit = view.units[role.unit_id]
    t = ctx.t
    counts: dict[Period, int] = {}
    for pv in view.parts_of_unit(unit.id):
        for period in periods_of_year(view.plan.year, pv.frequency):
            if view.active_unit(unit, period):
                counts[period] = counts.get(period, 0) + 1
    today: date = ctx.today
    coming = sorted((view.deadline(p), p.frequency.months, p) for p in counts if view.deadline(p) >= today)
    if not coming:
        ctx.say("schedule-officer-none", unit=unit.name)
        return
    lines = [t("schedule-officer-header", unit=unit.name)]
    for deadline, _, period in coming[:OFFICER_SHOWN]:
        lines.append(t("schedule-officer-line", period=period_label(period, t),
                       deadline=describe_deadline(t, ctx.deps.calendar, deadline), count=counts[period]))
    ctx.say_text("\n".join(lines))


def weekday(t: Translator, day: date) -> str:
    return t(f"schedule-weekday-{day.weekday()}")


def describe_deadline(t: Translator, calendar: WorkCalendar, day: date) -> str:
    """"thứ Năm 20/03/2025"; a day off says so and names the working day before it."""
    if calendar.is_working_day(day):
        return t("schedule-deadline", weekday=weekday(t, day), date=t.date(day))
    workday = calendar.previous_working_day(day)
    reason = calendar.holiday_name(day, t.locale) or t("schedule-weekend")
    return t("schedule-deadline-day-off", weekday=weekday(t, day), date=t.date(day), reason=reason,
             workday=f"{weekday(t, workday)} {t.date(workday)}")
