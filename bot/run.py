"""`python -m bot run`: every configured channel until SIGINT/SIGTERM, then a clean stop: the
update in hand is finished and stored, queued messages get a last chance to go out."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from urllib.parse import urlparse

from bot.channels import lean_aiogram  # noqa: F401,I001  (first: before aiogram is imported)
from aiohttp import web

from bot.app import App
from bot.channels.sender import OutboxSender
from bot.channels.telegram import ALLOWED_UPDATES, TelegramChannel, make_bot
from scheduler.jobs import start_scheduler, stop_scheduler

log = logging.getLogger(__name__)
DRAIN_ON_STOP = 10.0  # seconds queued messages get after a stop signal


class NoChannel(Exception):
    """Nothing to run: no channel is configured."""


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def serve_webhook(channel: TelegramChannel, stop: asyncio.Event, url: str, secret: str,
                        host: str, port: int, register: bool = True) -> None:
    """Receive updates over HTTPS (behind a proxy): every request must carry the secret token,
    and is answered after it is handled, so Telegram retries what failed (TelegramChannel.webhook_handler)."""
    web_app = web.Application()
    web_app.router.add_post(urlparse(url).path or "/", channel.webhook_handler(secret))
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    try:
        if register:
            await channel.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        await stop.wait()
    finally:
        await runner.cleanup()  # waits for requests in hand


async def run_telegram(app: App, stop: asyncio.Event, senders: dict[str, OutboxSender]) -> None:
    settings = app.settings
    assert settings.bot_token is not None
    bot = make_bot(settings.bot_token.get_secret_value(), settings.telegram_api_url)
    channel = TelegramChannel(app, bot)
    senders["telegram"] = channel.sender
    try:
        await channel.start()
        log.info("telegram: @%s, %s", channel.username, "webhook" if settings.webhook_url else "long polling")
        sender = asyncio.create_task(channel.sender.run(stop))
        if settings.webhook_url:
            host, port = settings.webhook_host_port
            assert settings.webhook_secret is not None
            await serve_webhook(channel, stop, settings.webhook_url, settings.webhook_secret.get_secret_value(), host, port)
        else:
            await channel.poll(stop)
        await sender
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(channel.sender.drain(), timeout=DRAIN_ON_STOP)
    finally:
        await bot.session.close()


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
    await app.migrate()
    settle_long_lived_objects()
    senders: dict[str, OutboxSender] = {}
    tasks = []
    if app.settings.bot_token is not None:
        tasks.append(asyncio.create_task(run_telegram(app, stop, senders)))
    if not tasks:
        raise NoChannel()
    # The scheduler keeps the dict itself, so it wakes each channel's sender after a tick.
    scheduler = start_scheduler(app, senders)
    try:
        await asyncio.gather(*tasks)
    finally:
        await stop_scheduler(scheduler)
