"""The tracking office's commands (issue 17): `approve --plan CODE --period P --indicator N [--unit U]`
and `history --plan CODE --unit U --indicator N [--json]`. The operator at the command line acts
as an admin; decisions are recorded with the channel "cli"."""
from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from handlers.refs import resolve
from handlers.review import history_line
from locales import Translator
from models import history, review, store
from models.periods import Period, PeriodError
from models.plan_view import PartView, PlanView

if TYPE_CHECKING:
    from bot.app import App

__all__ = ["add_review_parsers", "cmd_approve", "cmd_history"]


class ReviewCommandError(Exception):
    """One line for the operator."""


def add_review_parsers(commands: Any, t: Translator) -> None:
    approve = commands.add_parser("approve", help=t("cli-help-approve"))
    approve.add_argument("--plan", required=True, metavar="CODE")
    approve.add_argument("--period", required=True, metavar="PERIOD")
    approve.add_argument("--indicator", required=True, metavar="N")
    approve.add_argument("--unit", metavar="UNIT")
    approve.add_argument("--json", action="store_true", help=t("cli-help-json"))
    found = commands.add_parser("history", help=t("cli-help-history"))
    found.add_argument("--plan", required=True, metavar="CODE")
    found.add_argument("--unit", required=True, metavar="UNIT")
    found.add_argument("--indicator", required=True, metavar="N")
    found.add_argument("--json", action="store_true", help=t("cli-help-json"))


async def _plan(app: App, session: Any, code: str) -> PlanView:
    plan = await store.get_plan(session, code)
    if plan is None:
        known = ", ".join(p.code for p in await store.list_plans(session)) or "-"
        raise ReviewCommandError(app.t("cli-error-unknown-plan", code=code, known=known))
    return await store.load_plan_view(session, plan.id)


def _parts(app: App, view: PlanView, ref: str) -> list[PartView]:
    found = resolve(view, ref)
    parts = found.parts or found.ambiguous
    if not parts:
        raise ReviewCommandError(app.t("cli-error-unknown-indicator", indicator=ref, plan=view.plan.code))
    return parts


def _unit(app: App, view: PlanView, code: str) -> Any:
    unit = next((u for u in view.units.values() if u.code == code), None)
    if unit is None:
        raise ReviewCommandError(app.t("cli-error-unknown-unit", unit=code, plan=view.plan.code))
    return unit


async def cmd_approve(app: App, args: argparse.Namespace) -> str:
    try:
        period = Period.parse(args.period)
    except PeriodError:
        raise ReviewCommandError(app.t("limits-period-unknown", text=args.period)) from None
    async with app.unit_of_work() as session:
        view = await _plan(app, session, args.plan)
        parts = _parts(app, view, args.indicator)
        unit = _unit(app, view, args.unit) if args.unit else None
        done = await review.approve(session, view, [pv.part.id for pv in parts], period.id,
                                    unit_id=unit.id if unit else None, person_id=None, channel="cli", now=app.now())
    units = view.units
    if args.json:
        return json.dumps({"approved": [units[s.unit_id].code for s in done.approved],
                           "no_evidence": [units[s.unit_id].code for s in done.no_evidence],
                           "already": done.already}, ensure_ascii=False)
    lines = [app.t("cli-approved", count=len(done.approved), already=done.already)]
    if done.no_evidence:
        lines.append(app.t("cli-approve-no-evidence",
                           units=", ".join(units[s.unit_id].code for s in done.no_evidence)))
    return "\n".join(lines)


async def cmd_history(app: App, args: argparse.Namespace) -> str:
    async with app.unit_of_work() as session:
        view = await _plan(app, session, args.plan)
        parts = _parts(app, view, args.indicator)
        unit = _unit(app, view, args.unit)
        entries = await history.of_unit(session, view, unit.id, [pv.part.id for pv in parts])
    if args.json:
        return json.dumps([entry.to_json() for entry in entries], ensure_ascii=False)
    if not entries:
        return app.t("history-empty")
    return "\n".join(history_line(entry, app.t, app.settings.timezone) for entry in entries)
