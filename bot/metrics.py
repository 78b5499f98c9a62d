"""What `/metrics` shows (Prometheus text format) and the hooks that feed it.

Each running bot gets its own registry (tests run several in one process). Nothing here changes
what the bot does: it watches the Telegram client's requests, the events handled, the
database's committed figure versions and the outbox senders' deliveries.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.sql.dml import Insert

from bot.log_context import update_context
from handlers.events import Handling, HandlingOutcome

if TYPE_CHECKING:
    from aiogram import Bot
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.channels.sender import OutboxSender, SendResult
    from models.tables import OutboxMessage

SEND_METHODS = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")
# The Bot API's errors by aiogram's exception, as the HTTP status Telegram answered.
ERROR_CODES = {
    "TelegramBadRequest": "400", "TelegramUnauthorizedError": "401", "TelegramForbiddenError": "403",
    "TelegramNotFound": "404", "TelegramConflictError": "409", "TelegramEntityTooLarge": "413",
    "TelegramRetryAfter": "429", "TelegramServerError": "5xx", "TelegramMigrateToChat": "400",
    "TelegramNetworkError": "network",
}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("dtbot_updates", "Updates handled, by channel and outcome (ok, failed)",
                               ["channel", "outcome"], registry=r)
        self.handling = Histogram("dtbot_update_handling_seconds", "Time to handle one update", ["channel"],
                                  buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.figures = Counter("dtbot_figures_stored", "Figure versions stored (new and corrected), by channel",
                               ["channel"], registry=r)
        self.sent = Counter("dtbot_messages_sent", "Messages delivered, by channel and kind (reply, scheduled)",
                            ["channel", "kind"], registry=r)
        self.send_failures = Counter("dtbot_send_failures", "Failed send calls, by channel and error code",
                                     ["channel", "code"], registry=r)
        self.unknown_outcomes = Counter("dtbot_send_unknown_outcomes",
                                        "Sends whose answer was lost (sent or not, nobody knows), by channel",
                                        ["channel"], registry=r)
        self.sending = Gauge("dtbot_sender_active",
                             "1 if this process sends the channel's messages (on PostgreSQL one process per bot "
                             "does; the others queue)", ["channel"], registry=r)
        self.backlog = Gauge("dtbot_outbox_backlog", "Messages due and not yet sent, by channel", ["channel"],
                             registry=r)
        self.oldest_due = Gauge("dtbot_outbox_oldest_due_seconds", "Age of the oldest message due and not sent",
                                registry=r)
        self.ticks = Counter("dtbot_scheduler_ticks", "Scheduler ticks done, by outcome (ok, plan_failed)",
                             ["outcome"], registry=r)
        self.tick_duration = Histogram("dtbot_scheduler_tick_seconds", "Time one scheduler tick took",
                                       buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=r)

    # --- hooks ----------------------------------------------------------------------------------

    def watch_database(self, engine: AsyncEngine) -> None:
        """Count figure versions when their transaction commits (a rolled-back batch counts nothing)."""
        # By connection object, not in conn.info: a connection the server dropped has no info.
        pending: WeakKeyDictionary[Any, list[str]] = WeakKeyDictionary()

        def after_execute(conn: Any, clause: Any, multiparams: Any, params: Any, *_: Any) -> None:
            if isinstance(clause, Insert) and clause.table.name == "submissions":
                rows = multiparams if isinstance(multiparams, (list, tuple)) and multiparams else [params]
                channels = (str(row.get("channel", "")) for row in rows if isinstance(row, dict))
                pending.setdefault(conn, []).extend(channels)

        def commit(conn: Any) -> None:
            for channel in pending.pop(conn, ()):
                self.figures.labels(channel).inc()

        def rollback(conn: Any) -> None:
            pending.pop(conn, None)

        event.listen(engine.sync_engine, "after_execute", after_execute)
        event.listen(engine.sync_engine, "commit", commit)
        event.listen(engine.sync_engine, "rollback", rollback)

    def watch_events(self) -> Callable[[Handling], AbstractContextManager[None]]:
        """For Deps.watch: every event's outcome and handling time; log lines written while it is
        handled name its chat and update."""
        @contextmanager
        def watching(handling: Handling) -> Iterator[None]:
            started = time.perf_counter()
            channel = handling.event.channel
            with update_context(channel, handling.event.chat_id, handling.key):
                try:
                    yield
                except BaseException:
                    handling.outcome = HandlingOutcome.FAILED
                    raise
                finally:
                    self.updates.labels(channel, handling.outcome).inc()
                    self.handling.labels(channel).observe(time.perf_counter() - started)

        return watching

    def watch_bot(self, bot: Bot, channel: str, on_poll: Callable[[], None]) -> None:
        """Failed sends by error code, and each successful getUpdates (the channel is alive)."""
        async def middleware(make_request: Any, bot: Any, method: Any) -> Any:
            name = getattr(method, "__api_method__", "")
            try:
                response = await make_request(bot, method)
            except Exception as exc:
                if name in SEND_METHODS:
                    self.send_failures.labels(channel, ERROR_CODES.get(type(exc).__name__, "other")).inc()
                raise
            if name == "getUpdates":
                on_poll()
            return response

        bot.session.middleware(middleware)

    def watch_sender(self, sender: OutboxSender) -> None:
        """Count what the sender delivers: replies (keyed `reply:…`) and scheduled messages."""
        transport = sender.transport
        self.sending.labels(sender.channel).set_function(lambda: 1 if sender.sends else 0)

        async def counted(row: OutboxMessage) -> SendResult:
            result = await transport(row)
            if result.ok:
                kind = "reply" if (row.key or "").startswith("reply:") else "scheduled"
                self.sent.labels(sender.channel, kind).inc()
            elif result.unknown:
                self.unknown_outcomes.labels(sender.channel).inc()
            return result

        sender.transport = counted


