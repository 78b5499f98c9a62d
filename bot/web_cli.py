"""`python -m bot web`, `api-key` and `figures` (issue 23): the web desk alone, keys for its
read-only API, and the stored figures for analysis elsewhere."""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bot.app import App
from bot.config import split_listen
from locales import Translator

__all__ = ["WEB_COMMANDS", "add_web_parsers"]


def add_web_parsers(commands: Any, t: Translator) -> None:
    web = commands.add_parser("web", help=t("cli-help-web"))
    web.add_argument("--listen", metavar="HOST:PORT")

    key = commands.add_parser("api-key", help=t("cli-help-api-key"))
    key.add_argument("--plan", required=True, metavar="CODE")
    key.add_argument("--revoke", metavar="KEY")
    key.add_argument("--json", action="store_true", help=t("cli-help-json"))

    figures = commands.add_parser("figures", help=t("cli-help-figures"))
    figures.add_argument("--plan", required=True, metavar="CODE")
    figures.add_argument("--period", metavar="PERIOD")
    figures.add_argument("--unit", metavar="UNIT")
    figures.add_argument("--versions", action="store_true")
    figures.add_argument("--json", action="store_true", help=t("cli-help-json"))
    figures.add_argument("--csv", action="store_true")


class _Refused(Exception):
    """What to tell the person at the terminal (one line, exit status 1)."""


def _error(text: str) -> Exception:
    return _Refused(text)


def _explained(command: Callable[[App, argparse.Namespace], Awaitable[int]]) -> Callable[
        [App, argparse.Namespace], Awaitable[int]]:
    async def run(app: App, args: argparse.Namespace) -> int:
        try:
            return await command(app, args)
        except _Refused as refused:
            print(refused, file=sys.stderr)
            return 1
    return run


async def cmd_web(app: App, args: argparse.Namespace) -> int:
    from bot.web.server import serve_desk

    listen = args.listen or app.settings.web_listen
    if not listen:
        raise _error(app.t("cli-web-no-listen"))
    try:
        host, port = split_listen(listen)
    except ValueError:
        raise _error(app.t("cli-web-no-listen")) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    base = app.settings.public_base_url or f"http://{listen}"
    print(app.t("cli-web-serving", url=base), flush=True)
    await serve_desk(app, host, port, stop, base)
    return 0


async def _plan_id(app: App, code: str) -> int:
    from models import store

    async with app.sessions() as session:
        plan = await store.get_plan(session, code)
        if plan is None:
            known = ", ".join(p.code for p in await store.list_plans(session)) or "-"
            raise _error(app.t("cli-error-unknown-plan", code=code, known=known))
        return int(plan.id)


async def cmd_api_key(app: App, args: argparse.Namespace) -> int:
    from models import web_access

    plan_id = await _plan_id(app, args.plan)
    async with app.unit_of_work() as session:
        if args.revoke:
            if not await web_access.revoke_api_key(session, plan_id, args.revoke, app.now()):
                raise _error(app.t("cli-api-key-unknown", plan=args.plan))
            print(json.dumps({"revoked": True}) if args.json else app.t("cli-api-key-revoked", plan=args.plan))
            return 0
        key = await web_access.new_api_key(session, plan_id, app.now())
    print(json.dumps({"key": key}) if args.json else app.t("cli-api-key-made", plan=args.plan, key=key))
    return 0


async def cmd_figures(app: App, args: argparse.Namespace) -> int:
    from handlers.desk import DeskError, as_csv_rows, figures_document

    if args.json == args.csv:
        raise _error(app.t("cli-figures-format"))
    plan_id = await _plan_id(app, args.plan)
    async with app.sessions() as session:
        try:
            documents = await figures_document(
                session, None, plan_id, args.plan, args.period, args.unit, versions=args.versions,
                cache=app.deps.plan_views, today=app.now().astimezone(app.deps.timezone).date())
        except DeskError as error:
            raise _error(app.t(error.message_id, **error.params)) from None
    if args.csv:
        csv.writer(sys.stdout).writerows(as_csv_rows(documents))
    else:
        print(json.dumps(documents, ensure_ascii=False, indent=1))
    return 0


WEB_COMMANDS: dict[str, Callable[[App, argparse.Namespace], Awaitable[int]]] = {
    "web": _explained(cmd_web), "api-key": _explained(cmd_api_key), "figures": _explained(cmd_figures),
}
