"""`python -m bot run`: every configured channel until SIGINT/SIGTERM, then a clean stop: the
update in hand is finished and stored, queued messages get a last chance to go out."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse

from aiogram.exceptions import TelegramUnauthorizedError
from aiohttp import web

from bot import redact
from bot.app import App
from bot.config import split_listen
from bot.channels.sender import OutboxSender
from bot.channels.telegram import ALLOWED_UPDATES, CHANNEL, TelegramChannel, make_bot
from bot.channels.zalo import ZaloChannel
from bot.channels.zalo_api import ZaloApi, ZaloError
from bot.files import FileServer
from bot.health import Health
from bot.singleton import SenderTurn, sole_poller
from handlers.plan_views import keep_plan_views_warm, warm_plan_views
from scheduler.jobs import start_scheduler, stop_scheduler

log = logging.getLogger(__name__)
# A stop signal ends the process within STOP_BUDGET seconds (systemd's TimeoutStopSec is longer):
# the update in hand is finished, queued messages get DRAIN_ON_STOP, a tick in progress
# TICK_ON_STOP. Whatever is cut short is not lost: an unsent message's claim expires and the
# next start sends it; a tick is redone.
STOP_BUDGET = 9.0
DRAIN_ON_STOP = 4.0
TICK_ON_STOP = 1.0
START_BACKOFF = (1.0, 60.0)  # first and longest wait between attempts to reach an API at start

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]  # (HTTP method, path, handler)


class NoChannel(Exception):
    """Nothing to run: no channel is configured."""


class TokenRejected(Exception):
    """The API refused the token (401): retrying cannot help."""

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self.channel = channel


async def start_until_reachable(channel: TelegramChannel | ZaloChannel, stop: asyncio.Event) -> bool:
    """channel.start(), retried with backoff while the API cannot be reached or fails, one log
    line per attempt (the exception's kind only: its text may hold an error page echoing the
    token). False when stopped first, also during a call that hangs."""
    wait, attempt = START_BACKOFF[0], 0
    while not stop.is_set():
        attempt += 1
        starting = asyncio.ensure_future(channel.start())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await starting
            return False
        try:
            starting.result()
            return True
        except TelegramUnauthorizedError:
            raise TokenRejected("telegram") from None
        except ZaloError as exc:
            if exc.unauthorized:
                log.error("zalo: the platform refused ZALO_BOT_TOKEN (401); check it in Zalo Bot Creator")
                raise TokenRejected("zalo") from None
            log.warning("zalo: the Bot API answered an error at start (attempt %d: %s); retrying in %.0f s",
                        attempt, exc.error_code, wait)
        except Exception as exc:  # unreachable, timing out, answering 5xx or garbage: keep trying
            name = "zalo" if isinstance(channel, ZaloChannel) else "telegram"
            log.warning("%s: the Bot API cannot be reached (attempt %d: %s); retrying in %.0f s",
                        name, attempt, type(exc).__name__, wait)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=wait)
        wait = min(wait * 2, START_BACKOFF[1])
    return False


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def serve_webhook(channel: TelegramChannel, stop: asyncio.Event, url: str, secret: str,
                        host: str, port: int, register: bool = True, health: Health | None = None,
                        routes: list[Route] | None = None) -> None:
    """Receive updates over HTTPS (behind a proxy): every request must carry the secret token,
    and is answered after it is handled, so Telegram retries what failed (TelegramChannel.webhook_handler).
    The same server answers /healthz and /metrics, and `routes` (Zalo's webhook, the files)."""
    path = urlparse(url).path or "/"
    web_app = web.Application(middlewares=[health.webhook_calls(path, CHANNEL)] if health else [])
    web_app.router.add_post(path, channel.webhook_handler(secret))
    for method, route_path, handler in routes or ():
        web_app.router.add_route(method, route_path, handler)
    if health is not None:
        health.add_routes(web_app)
    runner = web.AppRunner(web_app, access_log=None)  # a file's path holds its token
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        if register:
            await channel.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        await stop.wait()
    finally:
        await runner.cleanup()  # waits for requests in hand


async def serve_monitoring(health: Health | None, stop: asyncio.Event, host: str, port: int,
                           routes: list[Route] | None = None) -> None:
    """/healthz and /metrics (METRICS=1), and `routes` (Zalo's webhook, the files), when Telegram
    has no webhook server to carry them."""
    web_app = web.Application()
    for method, path, handler in routes or ():
        web_app.router.add_route(method, path, handler)
    if health is not None:
        health.add_routes(web_app)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def serve_http(routes: list[Route], stop: asyncio.Event, host: str, port: int) -> None:
    """Serve `routes` alone until stopped (tests, and a Zalo-only bot without monitoring)."""
    await serve_monitoring(None, stop, host, port, routes)


async def run_telegram(app: App, stop: asyncio.Event, senders: dict[str, OutboxSender],
                       health: Health | None = None, routes: list[Route] | None = None) -> None:
    settings = app.settings
    assert settings.bot_token is not None
    bot = make_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url)
    channel = TelegramChannel(app, bot)
    senders["telegram"] = channel.sender
    turn_over = asyncio.Event()  # set once this process has sent its last message
    turn: asyncio.Task[None] | None = None
    if SenderTurn.applies(settings.database_url):
        # Several processes on one database: one of them sends, so that together they keep
        # Telegram's limits; the others queue and nudge it.
        bot_id = settings.bot_token.get_secret_value().split(":", 1)[0]
        channel.sender.turn = SenderTurn(settings.database_url, CHANNEL, bot_id, on_wake=channel.sender.wake.set)
        turn = asyncio.create_task(channel.sender.turn.run(turn_over))
    if health is not None:
        health.channel(CHANNEL, "webhook" if settings.webhook_url else "polling")
        health.metrics.watch_bot(bot, CHANNEL, on_poll=lambda: health.called(CHANNEL))
        app.deps.watch = health.metrics.watch_events()
        health.metrics.watch_sender(channel.sender)
    try:
        if not await start_until_reachable(channel, stop):
            return
        log.info("telegram: @%s, %s", channel.username, "webhook" if settings.webhook_url else "long polling")
        sender = asyncio.create_task(channel.sender.run(stop))
        if settings.webhook_url:
            host, port = settings.webhook_host_port
            assert settings.webhook_secret is not None
            await serve_webhook(channel, stop, settings.webhook_url, settings.webhook_secret.get_secret_value(),
                                host, port, health=health, routes=routes)
        else:
            await channel.poll(stop)
        await sender
        try:
            if channel.sender.sends:
                await asyncio.wait_for(channel.sender.drain(), timeout=DRAIN_ON_STOP)
        except asyncio.TimeoutError:
            pass
        except Exception:  # the database, most likely; what is left goes out after the next start
            log.exception("the last outbox drain before stopping failed")
    finally:
        turn_over.set()  # the turn goes to another process at once
        if turn is not None:
            await turn
        await bot.session.close()


def make_zalo_channel(app: App) -> ZaloChannel:
    settings = app.settings
    assert settings.zalo_bot_token is not None
    api = ZaloApi(settings.zalo_bot_token.get_secret_value(), settings.zalo_api_url)
    files = FileServer(app.sessions, settings.public_base_url, app.now) if settings.public_base_url else None
    return ZaloChannel(app, api, files=files)


def zalo_routes(app: App, channel: ZaloChannel) -> list[Route]:
    """What the shared HTTP server serves for Zalo: its webhook, when one is configured, and the
    files under PUBLIC_BASE_URL."""
    settings = app.settings
    routes: list[Route] = []
    if isinstance(channel.files, FileServer):
        routes.extend(channel.files.routes())  # type: ignore[arg-type]
    if settings.zalo_webhook_url and settings.zalo_webhook_secret is not None:
        path = urlparse(settings.zalo_webhook_url).path or "/"
        routes.append(("POST", path, channel.webhook_handler(settings.zalo_webhook_secret.get_secret_value())))
    return routes


async def run_zalo(app: App, channel: ZaloChannel, stop: asyncio.Event, senders: dict[str, OutboxSender],
                   health: Health | None = None) -> None:
    """The Zalo channel beside the others: long polling (the webhook removed first), or the
    webhook registered on the shared HTTP server (zalo_routes), and its sender."""
    settings = app.settings
    senders["zalo"] = channel.sender
    turn_over = asyncio.Event()
    turn: asyncio.Task[None] | None = None
    if SenderTurn.applies(settings.database_url):
        channel.sender.turn = SenderTurn(settings.database_url, "zalo", channel.api.bot_id,
                                         on_wake=channel.sender.wake.set)
        turn = asyncio.create_task(channel.sender.turn.run(turn_over))
    webhook = settings.zalo_webhook_url
    if health is not None:
        health.channel("zalo", "webhook" if webhook else "polling")
        health.metrics.watch_sender(channel.sender)
        channel.on_poll = lambda: health.called("zalo")
    try:
        if not await start_until_reachable(channel, stop):
            return
        assert channel.me is not None
        if not channel.me.can_join_groups:  # the steering group's summary goes to leaders privately
            app.deps.groupless.add("zalo")
        log.info("zalo: %s (id %s, groups %s), %s", channel.me.account_name, channel.me.id,
                 "allowed" if channel.me.can_join_groups else "not allowed", "webhook" if webhook else "long polling")
        sender = asyncio.create_task(channel.sender.run(stop))
        if webhook and settings.zalo_webhook_secret is not None:
            try:
                await channel.set_webhook(webhook, settings.zalo_webhook_secret.get_secret_value())
            except ZaloError as exc:  # a URL the platform will not take: retrying cannot help
                log.error("zalo: setWebhook was refused (%s: %s); check ZALO_WEBHOOK_URL", exc.error_code,
                          exc.description)
                stop.set()
            await stop.wait()
        else:
            try:
                await channel.poll(stop)
            except ZaloError as exc:
                if exc.unauthorized:  # the token was revoked while running
                    raise TokenRejected("zalo") from None
                raise
        await sender
        await _last_drain(channel.sender)
    finally:
        turn_over.set()
        if turn is not None:
            await turn
        await channel.api.close()


async def _last_drain(sender: OutboxSender) -> None:
    try:
        if sender.sends:
            await asyncio.wait_for(sender.drain(), timeout=DRAIN_ON_STOP)
    except asyncio.TimeoutError:
        pass
    except Exception:  # the database, most likely; what is left goes out after the next start
        log.exception("the last outbox drain before stopping failed")


def settle_long_lived_objects() -> None:
    """Take what the process has built by now (imported modules, aiogram's types, SQLAlchemy's
    mappings) out of the cyclic garbage collector's way, and let it run less often.

    Those objects live as long as the process, yet every full collection walks all of them again;
    under load that was about a tenth of the time per update. Young garbage is then collected
    after 10,000 allocations instead of 700: a few hundred kilobytes more at most."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


async def run(app: App, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    settings = app.settings
    redact.install(secret.get_secret_value() for secret in
                   (settings.bot_token, settings.zalo_bot_token, settings.webhook_secret, settings.zalo_webhook_secret)
                   if secret is not None)
    await app.migrate()
    if settings.bot_token is None and settings.zalo_bot_token is None:
        raise NoChannel()
    await warm_plan_views(app.deps)  # before the first update: no question waits for a plan's view
    settle_long_lived_objects()
    async with contextlib.AsyncExitStack() as guards:
        telegram_server = settings.bot_token is not None and settings.webhook_url is not None
        if settings.bot_token is not None and not settings.webhook_url:
            bot_id = settings.bot_token.get_secret_value().split(":", 1)[0]
            await guards.enter_async_context(sole_poller(settings.database_url, CHANNEL, bot_id))
        zalo = make_zalo_channel(app) if settings.zalo_bot_token is not None else None
        if zalo is not None and not settings.zalo_webhook_url:
            await guards.enter_async_context(sole_poller(settings.database_url, "zalo", zalo.api.bot_id))
        routes = zalo_routes(app, zalo) if zalo is not None else []
        # One HTTP server on WEBHOOK_LISTEN: Telegram's webhook server when there is one, which
        # carries Zalo's routes and /healthz and /metrics too; otherwise one for those alone.
        health = Health(app) if telegram_server or settings.metrics or routes else None
        senders: dict[str, OutboxSender] = {}
        tasks = [asyncio.create_task(keep_plan_views_warm(app.deps, stop))]
        if settings.bot_token is not None:
            tasks.append(asyncio.create_task(run_telegram(app, stop, senders, health, routes)))
        if zalo is not None:
            tasks.append(asyncio.create_task(run_zalo(app, zalo, stop, senders, health)))
        if health is not None and not telegram_server:
            tasks.append(asyncio.create_task(serve_monitoring(health, stop, *settings.webhook_host_port, routes)))
        if settings.web_listen:
            from bot.web.server import serve_desk  # Jinja2 and the templates only when the desk is on

            tasks.append(asyncio.create_task(serve_desk(app, *split_listen(settings.web_listen), stop,
                                                                 senders=senders)))
        # The scheduler keeps the dict itself, so it wakes each channel's sender after a tick.
        scheduler = start_scheduler(app.deps, senders, on_report=health.ticked if health else None)
        try:
            await supervise(tasks, stop)
        finally:
            await stop_scheduler(scheduler, timeout=TICK_ON_STOP)
            if health is not None:
                await health.close()


async def supervise(tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Run the tasks until a stop signal or until one of them ends (a failure): then all stop,
    within STOP_BUDGET; the first failure is raised."""
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    stopped.cancel()
    _, late = await asyncio.wait(tasks, timeout=STOP_BUDGET - TICK_ON_STOP)
    if late:
        log.warning("stopping took too long; %d task(s) cancelled (their work is redone at the next start)", len(late))
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
