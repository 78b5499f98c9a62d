"""Onboarding a plan from the command line (issue 16): `invite --all` (one invite for every unit,
written as a spreadsheet, a CSV or printable cards) and `people` (who is on board).

Failures a person can cause raise OnboardError with one short explanation; bot/cli.py prints it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.channels.links import invite_link
from handlers import invite_files, onboarding as onboarding_view
from locales import Translator
from models import onboarding, store
from models.kinds import Channel, RoleKind

if TYPE_CHECKING:
    from bot.app import App


class OnboardError(Exception):
    """A failure to explain to the person at the terminal; str() is the explanation."""


def add_invite_all_arguments(invite: argparse.ArgumentParser, t: Translator) -> None:
    invite.add_argument("--all", action="store_true", help=t("cli-help-invite-all"))
    invite.add_argument("--kind", metavar="K,...", help=t("cli-help-invite-kind"))
    invite.add_argument("--replace", action="store_true", help=t("cli-help-invite-replace"))
    invite.add_argument("--out", metavar="FILE", help=t("cli-help-invite-out"))


def add_people_parser(commands: Any, t: Translator) -> None:
    people = commands.add_parser("people", help=t("cli-help-people"))
    people.add_argument("--plan", required=True, metavar="CODE")
    people.add_argument("--json", action="store_true", help=t("cli-help-json"))


def check_invite_all(args: argparse.Namespace, t: Translator) -> None:
    """The combinations `invite` refuses, before anything is opened. Sets the bulk options' defaults
    on a Namespace made without them (callers that build one by hand)."""
    for name, default in (("all", False), ("kind", None), ("replace", False), ("out", None)):
        if not hasattr(args, name):
            setattr(args, name, default)
    if not args.all:
        if args.kind or args.replace:
            raise OnboardError(t("cli-invite-kind-needs-all"))
        if args.out:
            raise OnboardError(t("cli-invite-all-needs-out"))
        return
    if RoleKind(args.role) is not RoleKind.OFFICER:
        raise OnboardError(t("cli-invite-all-officer-only"))
    if args.unit:
        raise OnboardError(t("cli-invite-all-not-unit"))
    if not args.plan:
        raise OnboardError(t("cli-invite-needs-plan"))
    if not args.out and not args.json:
        raise OnboardError(t("cli-invite-all-needs-out"))
    if args.out and Path(args.out).suffix.lower() not in invite_files.FORMATS:
        raise OnboardError(t("cli-invite-out-format", path=args.out))
    if not 1 <= args.days <= 365:
        raise OnboardError(t("cli-invite-days"))


async def _plan(app: App, session: Any, code: str) -> Any:
    plan = await store.get_plan(session, code)
    if plan is None:
        known = ", ".join(p.code for p in await store.list_plans(session)) or "-"
        raise OnboardError(app.t("cli-error-unknown-plan", code=code, known=known))
    return plan


async def invite_all(app: App, args: argparse.Namespace, username: str | None) -> int:
    """`invite --plan CODE --role officer --all ...`: every code made and the file written in one
    transaction — a file that cannot be written leaves no invite behind."""
    t = app.t
    kinds = [kind.strip() for kind in (args.kind or "").split(",") if kind.strip()]
    out = Path(args.out) if args.out else None
    async with app.unit_of_work() as session:
        plan = await _plan(app, session, args.plan)
        try:
            units = await onboarding.units_to_invite(session, plan, kinds=kinds, replace=args.replace)
        except onboarding.UnknownKind as exc:
            raise OnboardError(t("cli-invite-unknown-kind", kind=exc.args[0],
                                 known=", ".join(exc.args[1]) or "-")) from None
        lines = await onboarding.issue_officer_invites(session, plan, units, now=app.now(), days=args.days)
        cards = invite_files.cards_of(
            lines, link=(lambda code: invite_link(Channel.TELEGRAM, username, code, RoleKind.OFFICER)) if username
            else None, zalo=app.settings.zalo_bot_token is not None, timezone=app.settings.timezone)
        if out is not None:
            data = await asyncio.to_thread(invite_files.file_bytes, out.suffix.lower(), cards, t, plan.title)
            await asyncio.to_thread(_write, out, data)
    if args.json:
        json.dump(invite_files.json_rows(cards), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    if not cards:
        print(t("cli-invite-all-none"))
        return 0
    print(t("cli-invite-all-made", count=t.number(len(cards)), path=out,
            expires=invite_files.when(t, cards[0].expires_at)))
    if username is None:
        print(t("cli-invite-all-no-link"))
    return 0


def _write(path: Path, data: bytes) -> None:
    """Written beside the target and renamed: a half-written file never stands under the name."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


async def cmd_people(app: App, args: argparse.Namespace) -> int:
    async with app.unit_of_work() as session:
        plan = await _plan(app, session, args.plan)
        board = await onboarding.onboarding(session, plan, app.now())
    if args.json:
        json.dump(onboarding_view.board_json(board, app.settings.timezone), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    print(onboarding_view.board_text(board, app.t, app.settings.timezone, plan.title))
    return 0
