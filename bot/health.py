"""`/healthz` and `/metrics`, served by the bot's HTTP server (the webhook's, on WEBHOOK_LISTEN; in
polling mode when METRICS=1).

/healthz answers 200 when everything is fresh and 503 when anything is stale: the database cannot
be reached (a new connection, so a server that went away is noticed even while pooled
connections linger), a polling channel has had no successful getUpdates for POLL_STALE, the
oldest message due in the outbox has waited OUTBOX_STALE, or the scheduler has not ticked for
TICK_STALE. A webhook channel's last call is shown but not judged: quiet hours send none.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.pool import NullPool

from bot.db import make_engine
from bot.metrics import Metrics
from models.outbox import Backlog, outbox_backlog

if TYPE_CHECKING:
    from bot.app import App
    from scheduler.tick import TickReport

POLL_STALE = timedelta(minutes=2)  # long polls last 25 s; retries back off to 30 s
TICK_STALE = timedelta(minutes=3)  # the scheduler ticks every minute
OUTBOX_STALE = timedelta(minutes=5)
PROBE_TIMEOUT = 5.0  # seconds for the database to answer


class Health:
    def __init__(self, app: App) -> None:
        self.app = app
        self.metrics = Metrics()
        self.metrics.watch_database(app.engine)
        self.probe = make_engine(app.settings.database_url, poolclass=NullPool)
        self.started = app.now()
        self.channels: dict[str, str] = {}  # channel -> "polling" | "webhook"
        self.last_call: dict[str, datetime] = {}  # channel -> last successful poll or webhook call
        self.last_tick: datetime | None = None

    # --- what the running bot reports ---------------------------------------------------------

    def channel(self, name: str, mode: str) -> None:
        self.channels[name] = mode

    def called(self, channel: str) -> None:
        self.last_call[channel] = self.app.now()

    def ticked(self, report: TickReport) -> None:
        now = self.app.now()
        self.last_tick = now
        self.metrics.ticks.labels("plan_failed" if report.failed_plans else "ok").inc()
        self.metrics.tick_duration.observe(max(0.0, (now - report.now).total_seconds()))

    # --- the checks ---------------------------------------------------------------------------

    async def _backlog(self) -> tuple[Backlog | None, str | None]:
        """The outbox backlog through a fresh connection; (None, the error) when unreachable."""
        async def query() -> Backlog:
            async with self.probe.connect() as connection:
                return await outbox_backlog(connection, self.app.now())
        try:
            return await asyncio.wait_for(query(), PROBE_TIMEOUT), None
        except Exception as exc:  # any failure to reach it is the answer
            return None, type(exc).__name__

    async def report(self) -> tuple[bool, dict[str, Any]]:
        now = self.app.now()
        backlog, error = await self._backlog()
        body: dict[str, Any] = {"database": {"ok": backlog is not None, "error": error}}
        healthy = backlog is not None

        channels = {}
        for name, mode in sorted(self.channels.items()):
            last = self.last_call.get(name)
            age = _age(now, last or self.started)
            ok = mode == "webhook" or age <= POLL_STALE.total_seconds()
            channels[name] = {"mode": mode, "last_ok": _iso(last), "age_seconds": age, "ok": ok}
            healthy &= ok
        body["channels"] = channels

        if backlog is not None:
            oldest_age = _age(now, backlog.oldest_due) if backlog.oldest_due else 0.0
            ok = oldest_age <= OUTBOX_STALE.total_seconds()
            body["outbox"] = {"backlog": backlog.total, "by_channel": backlog.by_channel,
                              "oldest_due_age_seconds": oldest_age, "ok": ok}
            healthy &= ok
            for channel in {*self.channels, *backlog.by_channel}:
                self.metrics.backlog.labels(channel).set(backlog.by_channel.get(channel, 0))
            self.metrics.oldest_due.set(oldest_age)
        else:
            body["outbox"] = {"ok": False, "error": "database unreachable"}

        tick_age = _age(now, self.last_tick or self.started)
        tick_ok = tick_age <= TICK_STALE.total_seconds()
        body["scheduler"] = {"last_tick": _iso(self.last_tick), "age_seconds": tick_age, "ok": tick_ok}
        healthy &= tick_ok
        body["status"] = "ok" if healthy else "stale"
        return healthy, body

    # --- HTTP ----------------------------------------------------------------------------------

    def add_routes(self, web_app: web.Application) -> None:
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/metrics", self._metrics)

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, body = await self.report()
        return web.json_response(body, status=200 if healthy else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        await self.report()  # the backlog gauges are read from the database now
        return web.Response(body=generate_latest(self.metrics.registry),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    def webhook_calls(self, path: str, channel: str) -> Any:
        """A middleware marking the channel alive when a webhook call to `path` succeeds."""
        @web.middleware
        async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
            response = await handler(request)
            if request.path == path and response.status == 200:
                self.called(channel)
            return response
        return middleware

    async def close(self) -> None:
        await self.probe.dispose()


def _age(now: datetime, then: datetime) -> float:
    return round(max(0.0, (now - then).total_seconds()), 3)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
