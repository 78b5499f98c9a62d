""""So với tháng trước thế nào?": the officer's unit, each figure of the open period beside the
period before it."""
from __future__ import annotations

from handlers.context import Ctx
from handlers.formatting import describe_figure, period_label, points
from handlers.refs import resolve
from handlers.report import officer_unit
from models import submissions
from models.submissions import figure_of


async def ask_compare(ctx: Ctx, ref: str | None) -> None:
    if ctx.officer is None:
        ctx.say("compare-officers-only")
        return
    found = await officer_unit(ctx)
    if found is None:
        return
    view, unit = found
    t = ctx.t
    parts = view.parts_of_unit(unit.id)
    if ref is not None:
        resolved = resolve(view, ref, unit.id)
        if resolved.part is None:
            ctx.say("compare-unknown", code=ref)
            return
        parts = [resolved.part]
    history = await submissions.current_for_unit(ctx.session, unit.id, [pv.part.id for pv in parts])
    by_key = {(row.part_id, row.period): row for row in history}
    lines = []
    for pv in parts:
        now = view.reporting_period(pv.frequency, ctx.today)
        before = now.previous()
        new, old = by_key.get((pv.part.id, now.id)), by_key.get((pv.part.id, before.id))
        if new is None and old is None:
            continue
        new_f = figure_of(new) if new else None
        old_f = figure_of(old) if old else None
        change = ""
        if new_f is not None and old_f is not None and new_f.amount is not None and old_f.amount is not None:
            delta = new_f.amount - old_f.amount
            key = "compare-up" if delta > 0 else "compare-down" if delta < 0 else "compare-same"
            change = t(key, change=points(abs(delta), pv.target, t))
        lines.append(t("compare-line", code=pv.code,
                       old=describe_figure(old_f, pv.target, t) if old_f else "—", before=period_label(before, t),
                       new=describe_figure(new_f, pv.target, t) if new_f else "—", now=period_label(now, t),
                       change=change))
    if not lines:
        ctx.say("compare-nothing", unit=unit.name)
        return
    ctx.say_text("\n".join([t("compare-header", unit=unit.name), *lines]))
