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
from models.roster import FIELDS, RosterError, read_roster

if TYPE_CHECKING:
    from bot.app import App


class OnboardError(Exception):
    """A failure to explain to the person at the terminal; str() is the explanation."""


def add_invite_all_arguments(invite: argparse.ArgumentParser, t: Translator) -> None:
    invite.add_argument("--all", action="store_true", help=t("cli-help-invite-all"))
    invite.add_argument("--kind", metavar="K,...", help=t("cli-help-invite-kind"))
    invite.add_argument("--replace", action="store_true", help=t("cli-help-invite-replace"))
    invite.add_argument("--out", metavar="FILE", help=t("cli-help-invite-out"))
    invite.add_argument("--practice", action="store_true", help=t("cli-help-invite-practice"))


def add_people_parser(commands: Any, t: Translator) -> None:
    people = commands.add_parser("people", help=t("cli-help-people"))
    people.add_argument("--plan", required=True, metavar="CODE")
    people.add_argument("--json", action="store_true", help=t("cli-help-json"))


def add_import_people_parser(commands: Any, t: Translator) -> None:
    roster = commands.add_parser("import-people", help=t("cli-help-import-people"))
    roster.add_argument("path", metavar="FILE", help=t("cli-help-import-people-file"))
    roster.add_argument("--plan", metavar="CODE", help=t("cli-help-import-people-plan"))


def check_invite_all(args: argparse.Namespace, t: Translator) -> None:
    """The combinations `invite` refuses, before anything is opened. Sets the bulk options' defaults
    on a Namespace made without them (callers that build one by hand)."""
    for name, default in (("all", False), ("kind", None), ("replace", False), ("out", None), ("practice", False)):
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
        lines = onboarding.new_lines(units, now=app.now(), days=args.days)
        names = await onboarding.roster_names(session, plan)
        cards = invite_files.cards_of(
            lines, link=(lambda code: invite_link(Channel.TELEGRAM, username, code, RoleKind.OFFICER)) if username
            else None, zalo=app.settings.zalo_bot_token is not None, timezone=app.settings.timezone,
            names=names)
        # Drawn before anything is written: on SQLite a running bot's writes wait while this
        # transaction holds the write lock, and a province's cards take seconds.
        data = None
        if out is not None:
            data = await asyncio.to_thread(invite_files.file_bytes, out.suffix.lower(), cards, t, plan.title)
        await onboarding.store_invites(session, plan, lines, now=app.now())
        if out is not None and data is not None:
            await asyncio.to_thread(_write, out, data)  # a failure here rolls the invites back
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


async def cmd_import_people(app: App, args: argparse.Namespace) -> int:
    """`import-people FILE [--plan CODE]`: the roster replaced in one transaction, or nothing."""
    t = app.t
    path = Path(args.path)
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv"):
        raise OnboardError(t("roster-error-format", path=path))
    if not path.is_file():
        raise OnboardError(t("roster-error-missing", path=path))
    try:
        rows = await asyncio.to_thread(read_roster, path)
        async with app.unit_of_work() as session:
            if args.plan:
                plan = await _plan(app, session, args.plan)
            else:
                plans = await store.list_plans(session)
                if len(plans) != 1:
                    raise OnboardError(t("roster-error-which-plan", known=", ".join(p.code for p in plans) or "-"))
                plan = await _plan(app, session, plans[0].code)
            count = await onboarding.import_roster(session, plan, rows, app.now())
    except RosterError as exc:
        raise OnboardError("\n".join([t("roster-error-head", path=path.name)]
                                      + [_problem(t, problem) for problem in exc.problems])) from None
    print(t("roster-imported", count=t.number(count), plan=plan.code, path=path.name))
    return 0


def _problem(t: Translator, problem: tuple[int | None, str | None, str, dict[str, object]]) -> str:
    row, column, message, params = problem
    column = t(f"roster-col-{column}") if column in FIELDS else column
    where = t("roster-where", row=row, column=column) if row and column else \
        t("roster-where-row", row=row) if row else ""
    return f"• {where}{t(message, **params)}"


async def practice_plan(app: App, args: argparse.Namespace) -> None:
    """`invite --practice`: the invite is for the plan's practice copy, made first if needed (and
    kept: what officers tried there stays)."""
    from models.practice import practice_copy

    if not args.plan:
        raise OnboardError(app.t("cli-invite-needs-plan"))
    async with app.unit_of_work() as session:
        plan = await _plan(app, session, args.plan)
        if plan.practice_of_id is None:
            plan = await practice_copy(session, plan, app.now())
        args.plan = plan.code
    print(app.t("cli-invite-practice", plan=args.plan), file=sys.stderr)
