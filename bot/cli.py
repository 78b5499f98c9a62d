"""The `python -m bot` command line (interfaces.md).

Every failure a person can cause (bad configuration, a malformed plan file, an unknown plan code,
an unreachable database) ends in one short explanation and exit status 1 or 2, never a traceback.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.app import App, build_app
from bot.backup import add_backup_parsers
from bot.channels.links import invite_link
from bot.config import ConfigError, Settings, load_settings
from bot.logging_setup import configure_logging
from bot.onboard_cli import (
    OnboardError,
    add_import_people_parser,
    add_invite_all_arguments,
    add_people_parser,
    check_invite_all,
    cmd_import_people,
    cmd_people,
    invite_all,
    practice_plan,
)
from bot.review_cli import add_review_parsers
from bot.seeds import seed_plans
from bot.tick_cli import add_tick_parser, cmd_tick, instant_argument
from bot.web_cli import WEB_COMMANDS, add_web_parsers
from handlers.formatting import describe_target
from locales import Translator, translator
from models import store
from models.kinds import Channel, RoleKind
from models.plan_document import DocumentError, summary_lines
from models.plan_document_files import DOCUMENT_SUFFIXES, MAX_DOCUMENT_BYTES, read_plan_document, units_of
from models.plan_source import megabytes
from models.plans import PlanFileError, load_plan_file
from models.tables import Indicator
from models.text import fold

PLAN_SUFFIXES = (".yaml", ".yml", ".xlsx", ".xlsm")  # a folder's plan files (a DOCX or PDF is named alone)
YES_WORDS = ("c", "co", "y", "yes", "dong y")


class CommandError(Exception):
    """A failure to explain to the person at the terminal; str() is the explanation."""


def build_parser(t: Translator) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=t("cli-description"))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("demo", help=t("cli-help-demo"))
    commands.add_parser("run", help=t("cli-help-run"))

    imp = commands.add_parser("import-plan", help=t("cli-help-import-plan"))
    imp.add_argument("paths", nargs="+", metavar="PATH", help=t("cli-help-import-plan-path"))
    imp.add_argument("--draft", metavar="OUT.yaml", help=t("docplan-cli-help-draft"))
    imp.add_argument("--yes", action="store_true", help=t("docplan-cli-help-yes"))
    imp.add_argument("--units", metavar="FILE.xlsx|.csv", help=t("docplan-cli-help-units"))
    imp.add_argument("--units-from", metavar="PLAN.yaml", help=t("docplan-cli-help-units-from"))

    plans = commands.add_parser("plans", help=t("cli-help-plans"))
    plans.add_argument("--json", action="store_true", help=t("cli-help-json"))

    units = commands.add_parser("units", help=t("cli-help-units"))
    units.add_argument("--plan", required=True, metavar="CODE")
    units.add_argument("--json", action="store_true", help=t("cli-help-json"))

    indicators = commands.add_parser("indicators", help=t("cli-help-indicators"))
    indicators.add_argument("--plan", required=True, metavar="CODE")
    indicators.add_argument("--json", action="store_true", help=t("cli-help-json"))

    invite = commands.add_parser("invite", help=t("cli-help-invite"))
    invite.add_argument("--plan", metavar="CODE", help=t("cli-help-invite-plan"))
    invite.add_argument("--role", required=True, choices=[role.value for role in RoleKind])
    invite.add_argument("--unit", metavar="UNIT", help=t("cli-help-invite-unit"))
    invite.add_argument("--days", type=int, default=14, metavar="N", help=t("cli-help-invite-days"))
    invite.add_argument("--json", action="store_true", help=t("cli-help-json"))
    add_invite_all_arguments(invite, t)
    add_people_parser(commands, t)
    add_import_people_parser(commands, t)

    console = commands.add_parser("console", help=t("cli-help-console"))
    console.add_argument("--user", required=True, metavar="NAME", help=t("cli-help-console-user"))
    console.add_argument("--now", type=instant_argument(t), metavar="ISO-8601", help=t("cli-help-console-now"))
    console.add_argument("--paragraphs", action="store_true", help=t("cli-help-console-paragraphs"))

    add_tick_parser(commands, t)
    add_backup_parsers(commands, t)
    add_review_parsers(commands, t)

    export = commands.add_parser("export", help=t("cli-help-export"))
    export.add_argument("--plan", required=True, metavar="CODE")
    export.add_argument("--period", required=True, metavar="PERIOD", help=t("cli-help-export-period"))
    export.add_argument("--out", required=True, metavar="FILE.xlsx")

    add_web_parsers(commands, t)
    figures_import = commands.add_parser("import-figures", help=t("paper-cli-help-import-figures"))
    figures_import.add_argument("path", metavar="FILE.xlsx", help=t("paper-cli-help-import-figures-path"))
    figures_import.add_argument("--yes", action="store_true", help=t("paper-cli-help-import-figures-yes"))

    report = commands.add_parser("report", help=t("paper-cli-help-report"))
    report.add_argument("--plan", required=True, metavar="CODE")
    report.add_argument("--period", required=True, metavar="PERIOD", help=t("cli-help-export-period"))
    report.add_argument("--out", required=True, metavar="FILE.docx", help=t("paper-cli-help-report-out"))

    db = commands.add_parser("db", help=t("cli-help-db"))
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help=t("cli-help-db-upgrade"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings)
    t = translator(settings.bot_locale)
    args = build_parser(t).parse_args(argv)
    handler = COMMANDS[args.command]
    try:
        return asyncio.run(_run(handler, settings, args))
    except (CommandError, OnboardError) as exc:
        print(exc, file=sys.stderr)
        return 1
    except (OperationalError, DBAPIError, OSError) as exc:
        print(t("cli-error-database", problem=_first_line(exc)), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug or a failure not foreseen: still one line, and no secret in it
        print(t("cli-error-unexpected", problem=_redacted(settings, f"{type(exc).__name__}: {_first_line(exc)}")),
              file=sys.stderr)
        return 1


def _redacted(settings: Settings, text: str) -> str:
    from bot.redact import redact

    return redact(text, (secret.get_secret_value() for secret in
                         (settings.bot_token, settings.zalo_bot_token, settings.webhook_secret,
                          settings.zalo_webhook_secret) if secret is not None))


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


async def _run(handler: Callable[[App, argparse.Namespace], Awaitable[int]], settings: Settings,
               args: argparse.Namespace) -> int:
    app = build_app(settings)
    try:
        if handler not in (cmd_demo, cmd_copy_database):  # those open databases of their own
            await app.migrate()
        return await handler(app, args)
    finally:
        await app.close()


# --- commands -----------------------------------------------------------------------------------


async def cmd_db(app: App, args: argparse.Namespace) -> int:
    # app.migrate() already ran in _run; say so.
    print(app.t("cli-db-upgraded"))
    return 0


def plan_files(paths: Sequence[str]) -> list[Path]:
    """Files named, and the plan files inside folders named, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in PLAN_SUFFIXES))
        else:
            found.append(path)
    return found


async def import_plan_file(app: App, path: Path) -> store.ImportResult:
    """Validate one plan file and import it in its own transaction; raises PlanFileError."""
    spec = load_plan_file(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    async with app.unit_of_work() as session:
        result = await store.import_plan(session, spec, digest, app.now())
    app.deps.plan_views.clear()  # this process sees the new plan at once
    return result


def import_rows_line(t: Translator, result: store.ImportResult) -> str:
    """What the import wrote, table by table: added, changed, retired, unchanged, and rows written."""
    tallies = {what: t("cli-import-tally", **dict(zip(("added", "updated", "retired", "unchanged"),
                                                      result.tally(what), strict=True)))
               for what in ("units", "indicators", "parts", "assignments")}
    return t("cli-import-rows", written=result.rows_written, **tallies)


async def cmd_import_plan(app: App, args: argparse.Namespace) -> int:
    t = app.t
    files = plan_files(args.paths)
    if not files:
        raise CommandError(t("cli-import-nothing"))
    failed = 0
    for path in files:
        if path.suffix.lower() in DOCUMENT_SUFFIXES:
            failed += await import_plan_document(app, path, args)
            continue
        try:
            result = await import_plan_file(app, path)
        except PlanFileError as exc:
            print(exc.render(t), file=sys.stderr)
            failed += 1
            continue
        await _print_imported(app, result, path)
    return 1 if failed else 0


async def _print_imported(app: App, result: store.ImportResult, path: Path) -> None:
    """What an import did, in the lines `import-plan` prints for every file."""
    t = app.t
    async with app.unit_of_work() as session:
        summary = next(p for p in await store.list_plans(session) if p.code == result.plan_code)
    if result.created:
        message = "cli-import-created"
    elif result.changed:
        message = "cli-import-updated"
    else:
        message = "cli-import-unchanged"
    print(t(message, code=summary.code, path=str(path), indicators=summary.indicators, units=summary.units))
    print(import_rows_line(t, result))
    for conflict in result.conflicts:  # one line each, every time: until the file settles it
        print(t("cli-import-conflict", plan=summary.code, part=conflict["part"], source=conflict["source"],
                other=conflict["target"], chosen_source=conflict["chosen_source"],
                chosen=conflict["chosen_target"], rule=conflict["rule"] or t("conflict-rule-default")),
              file=sys.stderr)


def _given_units(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Units to start a document's draft from: an earlier plan's, then a list's."""
    units: list[dict[str, Any]] = []
    for given in (args.units_from, args.units):
        if given:
            known = {u["code"] for u in units}
            units.extend(u for u in units_of(Path(given)) if u["code"] not in known)
    return units


async def import_plan_document(app: App, path: Path, args: argparse.Namespace) -> int:
    """A plan's own DOCX or PDF (issue 22): the draft read from it, its summary and doubts; then
    the draft written (--draft), or imported once the person agrees (--yes). 1 when it failed."""
    t = app.t
    try:
        if not path.is_file():
            raise DocumentError("docplan-error-no-file")
        if path.stat().st_size > MAX_DOCUMENT_BYTES:  # refused before a byte is read
            raise DocumentError("docplan-error-too-big", size=megabytes(path.stat().st_size),
                                limit=megabytes(MAX_DOCUMENT_BYTES))
        draft, text = read_plan_document(path.read_bytes(), path.name, t, _given_units(args))
    except DocumentError as exc:
        print(f"{path.name}: {t(exc.message, **exc.params)}", file=sys.stderr)
        return 1
    for line in summary_lines(draft, path.name, t):
        print(line)
    for doubt in draft.doubts:
        print(f"- {doubt.render(t)}")
    if args.draft:
        out = Path(args.draft)
        out.write_text(text, encoding="utf-8")
        print(t("docplan-draft-written", path=str(out)))
        return 0
    if not args.yes:
        try:
            answer = input(t("docplan-confirm-question"))
        except EOFError:
            answer = ""
        if fold(answer).strip(" .!") not in YES_WORDS:
            print(t("docplan-cancelled"))
            return 0
    with tempfile.TemporaryDirectory() as folder:
        drafted = Path(folder) / f"{path.stem}.yaml"
        drafted.write_text(text, encoding="utf-8")
        try:
            result = await import_plan_file(app, drafted)
        except PlanFileError as exc:
            print(exc.render(t), file=sys.stderr)
            return 1
    await _print_imported(app, result, path)
    return 0


async def cmd_plans(app: App, args: argparse.Namespace) -> int:
    async with app.unit_of_work() as session:
        plans = await store.list_plans(session)
    if args.json:
        _print_json([
            {"code": p.code, "title": p.title, "year": p.year, "indicators": p.indicators, "units": p.units}
            for p in plans
        ])
        return 0
    if not plans:
        print(app.t("cli-plans-none", seeds=seed_plans()))
        return 0
    for p in plans:
        print(app.t("cli-plans-line", code=p.code, year=p.year, indicators=p.indicators, units=p.units, title=p.title))
    return 0


async def _plan_or_fail(app: App, session: Any, code: str) -> Any:
    plan = await store.get_plan(session, code)
    if plan is None:
        known = ", ".join(p.code for p in await store.list_plans(session)) or "-"
        raise CommandError(app.t("cli-error-unknown-plan", code=code, known=known))
    return plan


async def cmd_units(app: App, args: argparse.Namespace) -> int:
    async with app.unit_of_work() as session:
        plan = await _plan_or_fail(app, session, args.plan)
        units = await store.plan_units(session, plan)
    by_id = {unit.id: unit for unit in units}
    rows = [
        {
            "code": unit.code, "name": unit.name, "kind": unit.kind,
            "parent": by_id[unit.parent_id].code if unit.parent_id in by_id else None,
            "active": unit.active, "named_in_plan": unit.named_in_plan,
        }
        for unit in units
    ]
    if args.json:
        _print_json(rows)
        return 0
    for row in rows:
        mark = "" if row["active"] else app.t("cli-units-inactive")
        print(f"{row['code']:<16} {row['kind']:<12} {row['name']}{mark}")
    return 0


def indicator_rows(indicators: list[Indicator], reporters: dict[int, int]) -> list[dict[str, Any]]:
    rows = []
    for indicator in indicators:
        targets = []
        for part in indicator.parts:
            if not part.active:
                continue
            target = store.target_of(part)
            targets.append({
                "part": part.code, "label": part.label, "raw": part.target_raw, "kind": target.kind,
                "measure": target.measure.value, "comparison": target.comparison.value,
                "value": _json_number(target.value), "low": _json_number(target.low),
                "high": _json_number(target.high), "unit": target.unit,
                "due": target.due.isoformat() if target.due else None,
                "numerator": part.numerator_label, "denominator": part.denominator_label,
                "applies_to": part.applies_to, "condition": part.condition,
                "reporters": reporters.get(part.id, 0),
            })
        rows.append({
            "code": indicator.code, "number": indicator.number, "table": indicator.table_code,
            "group": indicator.group_code, "title": indicator.title, "frequency": indicator.frequency,
            "accumulation": indicator.accumulation, "level": indicator.level,
            "target_raw": indicator.target_raw, "target_source": indicator.target_source, "targets": targets,
            "conflicts": indicator.conflicts, "reporters_reason": indicator.reporters_reason,
        })
    return rows


async def cmd_indicators(app: App, args: argparse.Namespace) -> int:
    async with app.unit_of_work() as session:
        plan = await _plan_or_fail(app, session, args.plan)
        indicators = await store.plan_indicators(session, plan)
        reporters = await store.assignment_counts(session, plan)
    if args.json:
        _print_json(indicator_rows(indicators, reporters))
        return 0
    print_indicators(app.t, indicators, reporters)
    return 0


def print_indicators(t: Translator, indicators: list[Indicator], reporters: dict[int, int]) -> None:
    for indicator in indicators:
        print(f"{indicator.code:>7}  {indicator.title}")
        for part in indicator.parts:
            if not part.active:
                continue
            described = describe_target(store.target_of(part), t)
            label = f" ({part.label})" if part.label else ""
            print(t("cli-indicator-part", part=part.code, target=described, raw=part.target_raw,
                    label=label, units=reporters.get(part.id, 0)))
        for conflict in indicator.conflicts:
            print(t("cli-indicator-conflict", part=conflict["part"], source=conflict["source"],
                    other=conflict["target"], chosen=conflict["chosen_target"],
                    chosen_source=conflict["chosen_source"]))


async def cmd_demo(app: App, args: argparse.Namespace) -> int:
    from bot.demo import play

    await play(app.settings)
    return 0


async def cmd_invite(app: App, args: argparse.Namespace) -> int:
    from models import people

    t, role = app.t, RoleKind(args.role)
    check_invite_all(args, t)
    if args.practice:
        await practice_plan(app, args)
    if args.all:
        return await invite_all(app, args, await telegram_username(app))
    if role is not RoleKind.ADMIN and not args.plan:
        raise CommandError(t("cli-invite-needs-plan"))
    if role is RoleKind.OFFICER and not args.unit:
        raise CommandError(t("cli-invite-needs-unit"))
    if not 1 <= args.days <= 365:
        raise CommandError(t("cli-invite-days"))
    async with app.unit_of_work() as session:
        plan = await _plan_or_fail(app, session, args.plan) if args.plan else None
        unit = None
        if args.unit:
            if plan is None:
                raise CommandError(t("cli-invite-needs-plan"))
            unit = await _unit_or_fail(app, session, plan, args.unit)
        issued = await people.create_invite(session, role=role, plan=plan, unit=unit, now=app.now(), days=args.days)
    link = invite_link(Channel.TELEGRAM, await telegram_username(app), issued.code, role)
    expires = issued.invite.expires_at.astimezone(app.settings.timezone)
    if args.json:
        _print_json({"code": issued.code, "role": role, "unit": unit.code if unit else None,
                     "telegram_link": link, "zalo_hint": zalo_hint(issued.code, role),
                     "expires_at": expires.isoformat()})
        return 0
    print(t("cli-invite-made", code=issued.code, role=t(f"role-{role}"),
            unit=unit.name if unit else (plan.title if plan else "-"), expires=t.date(expires.date())))
    if link:
        print(link)
    return 0


def zalo_hint(code: str, role: RoleKind) -> dict[str, str | None]:
    """How to register on Zalo, which has no deep links: what to send the bot (in the group, for
    a group invite), and the bot's link, which the platform does not give (getMe has none)."""
    return {"send": f"/start {code}" if role is RoleKind.GROUP else code, "link": None}


async def telegram_username(app: App) -> str | None:
    """The bot's @username from getMe, for deep links; None without a token or a connection."""
    if app.settings.bot_token is None:
        return None
    from bot.channels.telegram import make_bot

    bot = make_bot(app.settings.bot_token.get_secret_value(), app.settings.telegram_api_url)
    try:
        me = await asyncio.wait_for(bot.get_me(), timeout=15)
        return me.username
    except Exception:  # an invite is still useful without its link
        logging.getLogger(__name__).warning("getMe failed; the invite has no Telegram link")
        return None
    finally:
        await bot.session.close()


async def _unit_or_fail(app: App, session: Any, plan: Any, typed: str) -> Any:
    from models.store import load_plan_view

    units = await store.plan_units(session, plan)
    exact = [u for u in units if u.code == typed]
    if exact:
        return exact[0]
    view = await load_plan_view(session, plan.id)
    found = view.find_units(typed, limit=1)
    if found:
        return found[0]
    raise CommandError(app.t("cli-error-unknown-unit", unit=typed, plan=plan.code))


async def cmd_console(app: App, args: argparse.Namespace) -> int:
    from bot.channels.console import run_console

    now = args.now
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=app.settings.timezone)
    await run_console(app.deps, args.user, now=now, paragraphs=args.paragraphs)
    return 0


async def cmd_run(app: App, args: argparse.Namespace) -> int:
    from bot.run import NoChannel, TokenRejected, run
    from bot.singleton import AlreadyPolling

    logging.getLogger().setLevel(logging.INFO)
    try:
        await run(app)
    except NoChannel:
        raise CommandError(app.t("cli-run-no-channel")) from None
    except TokenRejected as rejected:
        message = "cli-run-zalo-token-rejected" if rejected.channel == "zalo" else "cli-run-token-rejected"
        raise CommandError(app.t(message)) from None
    except AlreadyPolling:
        raise CommandError(app.t("cli-run-already-polling")) from None
    return 0


async def cmd_export(app: App, args: argparse.Namespace) -> int:
    from handlers.export import ExportError, export_command

    try:
        print(await export_command(app, args.plan, args.period, args.out))
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    return 0


async def cmd_import_figures(app: App, args: argparse.Namespace) -> int:
    from handlers.paperwork import ImportFiguresError, import_figures_command

    try:
        for line in await import_figures_command(app, args.path, args.yes):
            print(line)
    except ImportFiguresError as exc:
        raise CommandError(str(exc)) from None
    return 0


async def cmd_report(app: App, args: argparse.Namespace) -> int:
    from handlers.official_report import ReportError, report_command

    try:
        for line in await report_command(app, args.plan, args.period, args.out):
            print(line)
    except ReportError as exc:
        raise CommandError(str(exc)) from None
    return 0


async def _backup_step(step: Awaitable[str]) -> int:
    from bot.backup import BackupError

    try:
        print(await step)
    except BackupError as exc:
        raise CommandError(str(exc)) from None
    return 0


async def cmd_backup(app: App, args: argparse.Namespace) -> int:
    from bot.backup import backup_command

    return await _backup_step(backup_command(app.settings.database_url, args, app.t, app.deps.file_store))


async def cmd_restore(app: App, args: argparse.Namespace) -> int:
    from bot.backup import restore_command

    return await _backup_step(restore_command(app.settings.database_url, args, app.t, app.deps.file_store))


async def cmd_approve(app: App, args: argparse.Namespace) -> int:
    from bot.review_cli import ReviewCommandError, cmd_approve as approve

    try:
        print(await approve(app, args))
    except ReviewCommandError as exc:
        raise CommandError(str(exc)) from None
    return 0


async def cmd_history(app: App, args: argparse.Namespace) -> int:
    from bot.review_cli import ReviewCommandError, cmd_history as history

    try:
        print(await history(app, args))
    except ReviewCommandError as exc:
        raise CommandError(str(exc)) from None
    return 0


async def cmd_copy_database(app: App, args: argparse.Namespace) -> int:
    from bot.backup import copy_command

    return await _backup_step(copy_command(args, app.t))


COMMANDS: dict[str, Callable[[App, argparse.Namespace], Awaitable[int]]] = {
    "export": cmd_export,
    "report": cmd_report,
    "import-figures": cmd_import_figures,
    "run": cmd_run,
    "tick": cmd_tick,
    "invite": cmd_invite,
    "people": cmd_people,
    "import-people": cmd_import_people,
    "console": cmd_console,
    "demo": cmd_demo,
    "import-plan": cmd_import_plan,
    "plans": cmd_plans,
    "units": cmd_units,
    "indicators": cmd_indicators,
    "db": cmd_db,
    "backup": cmd_backup,
    "approve": cmd_approve,
    "history": cmd_history,
    "restore": cmd_restore,
    "copy-database": cmd_copy_database,
    **WEB_COMMANDS,
}


def _json_number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
