"""`python -m bot tick [--now ISO-8601]`: perform the scheduled work due at that instant through the
configured channels, print what was sent, exit. Running it twice for the same instant sends nothing
the second time (the outbox keys are taken). With no channel configured it prints the messages it
queued; they stay queued for `python -m bot run` to deliver.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from locales import Translator
from scheduler.tick import Message, TickReport, tick

if TYPE_CHECKING:
    from bot.app import App
    from bot.channels.sender import OutboxSender

MARKS = {"sent": "✓", "failed": "✗", "pending": "…"}


def parse_instant(text: str) -> datetime:
    """ISO 8601 ("2025-03-14T08:00", "2025-03-14 08:00:00+07:00", "2025-03-14"); naive stays naive."""
    return datetime.fromisoformat(text.strip())


def instant_argument(t: Translator) -> Callable[[str], datetime]:
    """An argparse type for `--now ISO-8601` (tick, console)."""

    def instant(text: str) -> datetime:
        try:
            return parse_instant(text)
        except ValueError:
            raise argparse.ArgumentTypeError(t("cli-tick-bad-now", value=text)) from None

    return instant


def add_tick_parser(commands: Any, t: Translator) -> argparse.ArgumentParser:
    """Add the `tick` command to the `python -m bot` subcommands."""
    parser = commands.add_parser("tick", help=t("cli-help-tick"))
    parser.add_argument("--now", type=instant_argument(t), metavar="ISO-8601", help=t("cli-help-tick-now"))
    return parser


async def cmd_tick(app: App, args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    now = args.now or app.now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=app.settings.timezone)
    senders: dict[str, OutboxSender] = {}
    closers = []
    if app.settings.bot_token is not None:
        from bot.channels.telegram import TelegramChannel, make_bot  # aiogram only when there is a token to use

        bot = make_bot(app.settings.bot_token.get_secret_value(), app.settings.telegram_api_url)
        closers.append(bot.session.close)
        senders["telegram"] = TelegramChannel(app, bot).sender
    if app.settings.zalo_bot_token is not None:
        from bot.run import make_zalo_channel

        zalo = make_zalo_channel(app)
        closers.append(zalo.api.close)
        senders["zalo"] = zalo.sender
        await zalo_groups(app, zalo)
    try:
        report = await tick(app.deps, now, senders=senders or None)
    finally:
        for close in closers:
            await close()
    print_report(app.t, report, app.settings.timezone, out)
    return 1 if report.failed_plans else 0


async def zalo_groups(app: App, zalo: Any) -> None:
    """Whether the Zalo bot can be in groups (getMe); if not, or not known, the steering group's
    summary goes to each leader on Zalo privately (a copy too many beats none)."""
    from bot.channels.zalo_api import ZaloError, ZaloNetworkError

    try:
        await zalo.start()
    except (ZaloError, ZaloNetworkError):
        app.deps.groupless.add("zalo")
        return
    if not zalo.me.can_join_groups:
        app.deps.groupless.add("zalo")


def print_report(t: Translator, report: TickReport, zone: Any, out: TextIO) -> None:
    when = report.now.astimezone(zone)
    print(t("cli-tick-header", when=f"{t.date(when.date())} {when:%H:%M}", due=len(report.due),
            queued=len(report.queued)), file=out)
    if not report.drained and report.queued:
        print(t("cli-tick-no-channel"), file=out)
        for message in report.queued:
            print("", file=out)
            print(_line(t, message, report), file=out)
            print(message.text, file=out)
        _print_failures(t, report, out)
        return
    if not report.queued:
        print(t("cli-tick-nothing"), file=out)
    for message in report.queued:
        print(_line(t, message, report), file=out)
    states = [report.state(m) for m in report.queued]
    if report.queued:
        print(t("cli-tick-totals", sent=states.count("sent"), failed=states.count("failed"),
                pending=states.count("pending")), file=out)
    earlier = report.delivered - states.count("sent")
    if earlier > 0:
        print(t("cli-tick-earlier", count=earlier), file=out)
    _print_failures(t, report, out)


def _print_failures(t: Translator, report: TickReport, out: TextIO) -> None:
    if report.failed_plans:
        print(t("cli-tick-plan-failed", plans=", ".join(report.failed_plans)), file=out)


def _line(t: Translator, message: Message, report: TickReport) -> str:
    periods = [p.display(t.locale) for p in message.item.periods]
    period = periods[0] if len(periods) == 1 else t("schedule-and", first=", ".join(periods[:-1]), last=periods[-1])
    return t("cli-tick-line", mark=MARKS[report.state(message)], kind=t(f"schedule-kind-{message.kind.value}"),
             period=period, recipient=message.recipient, unit=f" ({message.unit})" if message.unit else "",
             channel=f"{message.channel}:{message.chat_id}")
