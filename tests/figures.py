"""Figures stored straight into a plan by unit and part codes, for tests that need data to read."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from bot.app import App
from models import store
from models.store import load_plan_view
from models.submissions import store_figure
from models.targets import Figure


async def store_figures(app: App, plan_code: str, rows: Iterable[tuple[str, str, str, Figure, datetime]]) -> None:
    """Each (unit code, part code, period, figure, when) as the next version, in one unit of work."""
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        units = {u.code: u.id for u in view.units.values()}
        parts = {pv.code: pv.part.id for pv in view.parts.values()}
        for unit, part, period, figure, at in rows:
            await store_figure(session, plan_id=plan.id, part_id=parts[part], unit_id=units[unit], period=period,
                               figure=figure, person_id=None, channel="console", now=at)
