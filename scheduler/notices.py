"""The admins' daily onboarding notice (issue 16): invites that expired unused and officers the
bot can no longer reach, at most once a day per plan and admin.

Each notice is an outbox row keyed by the plan, the day and the admin, written with the same
insert-if-new as every scheduled message: a tick run again, or after a restart, finds the key
taken and sends nothing twice. The window is the day before the notice's hour, so what happened
is told once, in the next morning's notice.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta

from handlers.context import Deps
from handlers.events import Reply
from locales import translator
from models import onboarding, store
from models.kinds import Urgency
from models.schedule_queries import insert_new

NOTICE_AT = time(8, 0)  # local: after the quiet hours, before the working day fills up


def window(now: datetime, deps: Deps) -> tuple[datetime, datetime, str] | None:
    """Today's notice window [start, end) and its day, once the notice's hour has come."""
    local = now.astimezone(deps.timezone)
    end = datetime.combine(local.date(), NOTICE_AT, tzinfo=deps.timezone)
    if local < end:
        return None
    return end - timedelta(days=1), end, local.date().isoformat()


async def onboarding_notices(deps: Deps, plan_id: int, now: datetime) -> list[str]:
    """Queue today's notice for the plan's admins if anything happened; the keys queued."""
    span = window(now, deps)
    if span is None:
        return []
    start, end, day = span
    async with deps.sessions() as session:
        plan = await store.plan_by_id(session, plan_id)
        if plan is None:
            return []
        found = await onboarding.news(session, plan, start, end)
        if not found:
            return []
        admins = await onboarding.plan_admins(session, plan.id)
    stamp = deps.clock()
    rows = []
    for person_id, locale, channel, chat_id in admins:
        t = translator(locale or deps.default_locale)
        lines = [t("notice-onboarding-head", plan=plan.title)]
        lines += [t("notice-invite-expired", unit=unit) for unit in found.expired]
        lines += [t("notice-unreachable", name=name, unit=unit,
                    since=f"{since.astimezone(deps.timezone):%H:%M} {t.date(since.astimezone(deps.timezone).date())}")
                  for name, unit, since in found.unreachable]
        if found.expired:
            lines.append(t("notice-invite-hint"))
        rows.append(dict(key=f"onboarding:{plan.code}:{day}:p{person_id}@{channel}", channel=channel, chat_id=chat_id,
                         person_id=person_id, payload=Reply("\n".join(lines), locale=t.locale).to_payload(),
                         created_at=stamp, not_before=stamp, attempts=0, priority=int(Urgency.ROUTINE)))
    if not rows:
        return []
    rows.sort(key=lambda row: row["key"])
    async with deps.sessions() as session, session.begin():
        return sorted(await insert_new(session, rows, stamp))
