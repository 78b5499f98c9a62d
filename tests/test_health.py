"""/healthz and /metrics of a running bot (`run`, polling the Bot API emulator, METRICS=1): healthy,
stale while its database cannot be reached, healthy again; metric values move with the updates
it handles. And LOG_FORMAT=json."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_app
from bot.cli import import_plan_file
from bot.config import load_settings
from bot.log_context import update_context
from bot.logging_setup import configure_logging
from bot.run import run
from models import people, store
from tests.conftest import Clock
from tests.telegram_emulator import TelegramEmulator

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
TOKEN = "123456:HEALTH-token-abcdef"
LAN = 1001


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def until(condition: Callable[[], Awaitable[bool]], tries: int = 500) -> None:
    for _ in range(tries):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never held")


def metric(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))) == wanted:
            return float(match.group(2))
    return 0.0


class Unreachable:
    """Takes the database away from new connections and gives it back, as an outage would."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        self.url = make_url(url)
        self.folder = Path(self.url.database or "").parent
        self.away = tmp_path / "away"

    async def _postgres(self, allow: bool) -> None:
        admin = create_async_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = self.url.database
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')
            if not allow:
                await connection.exec_driver_sql(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        await admin.dispose()

    async def cut(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            self.folder.rename(self.away)  # new connections cannot open the file
        else:
            await self._postgres(allow=False)

    async def restore(self) -> None:
        if self.url.get_backend_name() == "sqlite":
            self.away.rename(self.folder)
        else:
            await self._postgres(allow=True)


@asynccontextmanager
async def running_bot(database_url: str, clock: Clock, tmp_path: Path, **env: str) -> AsyncIterator[dict[str, Any]]:
    """`run` on its own task against the emulator, its HTTP server on a free port."""
    if database_url.startswith("sqlite"):
        database_url = f"sqlite+aiosqlite:///{tmp_path}/state/bot.db"
    port = free_port()
    async with TelegramEmulator(token=TOKEN, username="dtbot_health_bot") as emu:
        settings = load_settings(DATABASE_URL=database_url, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=emu.base_url,
                                 WEBHOOK_LISTEN=f"127.0.0.1:{port}", **{k.upper(): v for k, v in env.items()})
        app = build_app(settings, clock=clock)
        await app.migrate()
        await import_plan_file(app, SMALL)
        async with app.unit_of_work() as session:
            plan = await store.get_plan(session, "T2025")
            unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
            invite = await people.create_invite(session, role="officer", plan=plan, unit=unit, now=clock(), days=14)
        stop = asyncio.Event()
        task = asyncio.create_task(run(app, stop))
        try:
            async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
                yield {"emu": emu, "http": http, "code": invite.code, "url": database_url, "port": port}
        finally:
            stop.set()
            await task
            await app.close()


@pytest.fixture
async def running(database_url: str, clock: Clock, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    async with running_bot(database_url, clock, tmp_path, metrics="1") as bot:
        yield bot


async def listening(http: aiohttp.ClientSession) -> bool:
    try:
        await get(http, "/healthz")
    except aiohttp.ClientConnectionError:
        return False
    return True


async def get(http: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with http.get(path) as response:
        if path == "/healthz":
            return response.status, await response.json()
        return response.status, await response.text()


async def test_healthz_and_metrics_of_a_running_bot(running: dict[str, Any], tmp_path: Path) -> None:
    emu, http = running["emu"], running["http"]

    async def ticked() -> bool:
        try:
            status, body = await get(http, "/healthz")
        except aiohttp.ClientConnectionError:
            return False  # not listening yet
        return status == 200 and body["scheduler"]["last_tick"] is not None

    await until(ticked)
    status, health = await get(http, "/healthz")
    assert health["status"] == "ok" and health["database"] == {"ok": True, "error": None}
    assert health["channels"]["telegram"]["mode"] == "polling" and health["channels"]["telegram"]["ok"]
    assert health["outbox"]["ok"] and health["outbox"]["oldest_due_age_seconds"] == 0

    _, before = await get(http, "/metrics")
    assert metric(before, "dtbot_updates_total", channel="telegram", outcome="ok") == 0
    assert metric(before, "dtbot_scheduler_ticks_total", outcome="ok") >= 1

    emu.user_message(LAN, f"/start {running['code']}")
    await emu.wait_for_sent(1, timeout=30)
    emu.fail_next("sendMessage", 403)  # the reply to the figure is refused once, for good
    emu.user_message(LAN, "6: 120/150")
    emu.user_message(LAN, "6: 121/150")
    await emu.wait_for_sent(2, timeout=30)

    async def counted() -> bool:
        _, text = await get(http, "/metrics")
        return metric(text, "dtbot_updates_total", channel="telegram", outcome="ok") == 3
    await until(counted)
    _, after = await get(http, "/metrics")
    assert metric(after, "dtbot_figures_stored_total", channel="telegram") == 2  # the figure and its correction
    assert metric(after, "dtbot_messages_sent_total", channel="telegram", kind="reply") == 2
    assert metric(after, "dtbot_send_failures_total", channel="telegram", code="403") == 1
    assert metric(after, "dtbot_update_handling_seconds_count", channel="telegram") == 3
    assert metric(after, "dtbot_outbox_backlog", channel="telegram") == 0
    assert metric(after, "dtbot_sender_active", channel="telegram") == 1  # alone, it holds the turn on PostgreSQL too

    outage = Unreachable(running["url"], tmp_path)
    await outage.cut()
    try:
        status, health = await get(http, "/healthz")
        assert status == 503 and health["status"] == "stale"
        assert health["database"]["ok"] is False and health["database"]["error"]
    finally:
        await outage.restore()
    status, health = await get(http, "/healthz")
    assert status == 200 and health["status"] == "ok"

    # A send whose answer is lost (sent or not, nobody knows) is counted as such.
    emu.lose_answers("sendMessage", 1)
    emu.user_message(LAN, "6: 122/150")

    async def unknown_counted() -> bool:
        _, text = await get(http, "/metrics")
        return metric(text, "dtbot_send_unknown_outcomes_total", channel="telegram") == 1
    await until(unknown_counted)


async def test_the_webhook_server_serves_health_and_metrics_too(clock: Clock, tmp_path: Path) -> None:
    secret = "webhook-secret-0123456789"
    async with running_bot(f"sqlite+aiosqlite:///{tmp_path}/bot.db", clock, tmp_path, webhook_secret=secret,
                           webhook_url="https://bot.example.gov.vn/telegram") as bot:
        emu, http = bot["emu"], bot["http"]
        await until(lambda: listening(http))
        _, health = await get(http, "/healthz")
        assert health["channels"]["telegram"] == {"mode": "webhook", "last_ok": None, "age_seconds": 0.0, "ok": True}
        update = emu.user_message(LAN, f"/start {bot['code']}")
        assert await emu.deliver_webhook(update, f"http://127.0.0.1:{bot['port']}/telegram", secret) == 200
        status, health = await get(http, "/healthz")
        assert status == 200 and health["channels"]["telegram"]["last_ok"] is not None
        _, text = await get(http, "/metrics")
        assert metric(text, "dtbot_updates_total", channel="telegram", outcome="ok") == 1


def test_json_log_lines_name_the_update_and_hide_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings(BOT_TOKEN=TOKEN, LOG_FORMAT="json")
    handler = configure_logging(settings)
    try:
        log = logging.getLogger("dtbot.test")
        with update_context("telegram", "4242", "100001"):
            log.warning("calling https://api.telegram.org/bot%s/getMe for /start abcDEF123", TOKEN)
        try:
            raise RuntimeError(f"token {TOKEN} refused")
        except RuntimeError:
            log.exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "dtbot.test"
    assert (lines[0]["channel"], lines[0]["chat"], lines[0]["update"]) == ("telegram", "4242", "100001")
    assert lines[0]["message"] == "calling https://api.telegram.org/bot***/getMe for /start ***"
    assert "chat" not in lines[1] and "RuntimeError: token *** refused" in lines[1]["exception"]
    assert TOKEN not in json.dumps(lines) and "abcDEF123" not in json.dumps(lines)


def test_a_bad_log_format_is_named() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_settings(LOG_FORMAT="xml")
