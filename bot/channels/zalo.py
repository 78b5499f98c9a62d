"""The Zalo channel on the Zalo Bot Platform: updates become events, queued replies become API calls.

Like the Telegram channel it decides nothing (handlers/inbox.py is the one way in). What it owns is
Zalo's side: text messages as Events, what to answer to pictures and stickers, long polling (one
update per call, no offsets) or a webhook, plain-text rendering (no buttons: choices are numbered
lines, and the number typed back is mapped to the choice by the handlers' conversation state), the
2,000-character limit, pictures by URL, and delivery through the outbox within Zalo's limits.

Exactly once: Zalo gives no update id, so the chat and message ids are the update's key, recorded in
the same transaction as its effects (handlers/inbox.py): a message delivered again (a webhook
retry, a repeated poll) is stored once and answered once. A polled update is gone from the
platform once returned, so while the database is unavailable it is kept here and tried again.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from bot.app import App
from bot.channels.sender import Limits, OutboxSender, RateLimiter, SendResult, Sleep
from bot.channels.telegram_text import split_text
from bot.channels.zalo_api import ZaloApi, ZaloError, ZaloNetworkError
from handlers.events import Attachment, Event, FetchError, FileTooBig, IncomingFile, Reply
from handlers.inbox import Inbound, Intake, Outcome, handle_all
from locales import translator
from models import membership
from models.kinds import ChatKind, Urgency
from models.tables import OutboxMessage

log = logging.getLogger(__name__)

CHANNEL = "zalo"
MAX_TEXT = 2000  # characters per sendMessage (counted here in UTF-16 units: never more than Zalo's count)
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
KEY_LENGTH = 64  # processed_updates.update_key
MAX_WAITING = 1000  # polled updates held while the database is unavailable, before polling pauses
STOP_WAIT = 5.0  # seconds a stop waits for polled messages to be stored
TYPING_AFTER = 1.0  # seconds of handling (a summary, charts) after which the chat sees "typing…"


def zalo_limits(per_second: float = 10) -> Limits:
    """Conservative: `per_second` overall (ZALO_RATE_PER_SECOND), about one a second per chat with
    bursts of three, twenty a minute in a group."""
    return Limits(per_second=per_second, private_burst=3, private_interval=1.0, group_per_minute=20)


class FilePublisher(Protocol):
    """Serves a generated file at a public URL (bot/files.py); Zalo takes pictures by URL only."""

    days: int

    async def publish(self, attachment: Attachment) -> str: ...


@dataclass(frozen=True)
class Me:
    id: str
    account_name: str
    can_join_groups: bool


def _picture(update: dict[str, Any]) -> tuple[IncomingFile, ...]:
    """A picture sent in a private chat, by the URL the platform gives (in groups: ignored)."""
    message = update.get("message")
    if update.get("event_name") != IMAGE_EVENT or not isinstance(message, dict):
        return ()
    chat = message.get("chat") or {}
    url = message.get("photo_url") or message.get("url")
    if str(chat.get("chat_type") or "PRIVATE").upper() == "GROUP" or not isinstance(url, str) or not url:
        return ()
    return (IncomingFile(kind="photo", ref=url, mime="image/jpeg"),)


class ZaloFiles:
    """Fetches pictures people send (handlers' FileFetcher) from the URL the platform gives."""

    def __init__(self, api: ZaloApi) -> None:
        self.api = api

    async def fetch(self, file: IncomingFile, limit: int) -> bytes:
        try:
            return await self.api.download(file.ref, limit)
        except ZaloError as exc:
            if exc.error_code == 413:
                raise FileTooBig(str(exc)) from None
            raise FetchError(str(exc)) from None
        except ZaloNetworkError as exc:
            raise FetchError(str(exc)) from None


def update_key(chat_id: str, message_id: str) -> str:
    """The update's idempotency key: the chat and message ids (hashed when too long to store)."""
    key = f"{chat_id}:{message_id}"
    if len(key) <= KEY_LENGTH:
        return key
    return "h:" + hashlib.sha256(key.encode()).hexdigest()[:KEY_LENGTH - 2]


def choices_text(reply: Reply) -> str:
    """The reply as Zalo shows it: its text, then its choices as numbered lines and how to answer."""
    if not reply.choices:
        return reply.text
    t = translator(reply.locale)
    lines = [reply.text, ""] if reply.text else []
    lines.extend(f"{number}. {choice.label}" for number, choice in enumerate(reply.choices, start=1))
    count = len(reply.choices)
    numbers = [str(n) for n in range(1, count + 1)]
    hint = t("zalo-answer-one") if count == 1 else t("zalo-answer-many", numbers=", ".join(numbers[:-1]),
                                                     last=numbers[-1])
    lines.extend(["", hint])
    return "\n".join(lines)


def zalo_steps(reply: Reply, chat_id: str, links: list[str | None], days: int) -> list[tuple[str, dict[str, Any]]]:
    """The API calls that deliver a reply on Zalo: its text with numbered choices, in pieces of at
    most 2,000 characters (plain text: the same emoji and layout as elsewhere), each picture as
    sendPhoto of its public URL, and a spreadsheet (or a picture without a URL) as a line with
    its link or a line saying where to find it."""
    t = translator(reply.locale)
    text = choices_text(reply)
    notes = []
    for attachment, link in zip(reply.attachments, links, strict=True):
        if link is None:
            notes.append(t("zalo-picture-elsewhere", name=attachment.filename))
        elif attachment.kind != "photo":
            notes.append(t("zalo-picture-link", name=attachment.filename, url=link, days=days))
    text = "\n\n".join(part for part in (text, *notes) if part)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("sendMessage", {"chat_id": chat_id, "text": piece}) for piece in split_text(text, MAX_TEXT) if piece.strip()]
    steps.extend(("sendPhoto", {"chat_id": chat_id, "photo": link, "caption": attachment.caption or ""})
                 for attachment, link in zip(reply.attachments, links, strict=True)
                 if attachment.kind == "photo" and link is not None)
    return steps


def updates_of(result: Any) -> list[dict[str, Any]]:
    """getUpdates' result: one update, a list of them, or nothing."""
    if isinstance(result, dict):
        return [result] if "message" in result or "event_name" in result else []
    if isinstance(result, list):
        return [item for item in result if isinstance(item, dict)]
    return []


class ZaloChannel:
    def __init__(self, app: App, api: ZaloApi, *, limits: Limits | None = None, sleep: Sleep = asyncio.sleep,
                 monotonic: Any = time.monotonic, files: FilePublisher | None = None) -> None:
        self.app = app
        self.api = api
        app.deps.fetchers[CHANNEL] = ZaloFiles(api)  # handlers fetch the pictures people send through it
        self.me: Me | None = None
        self.files = files
        self.worker = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        rate = app.settings.zalo_rate_per_second
        self.limiter = RateLimiter(limits or zalo_limits(rate), clock=monotonic, sleep=sleep)
        self.sender = OutboxSender(app.sessions, CHANNEL, self.transport, worker=self.worker,
                                   wall_clock=app.now, sleep=sleep)
        self.sleep = sleep
        self._groups: set[str] = set()  # chats seen to be groups (Zalo's ids do not tell)
        self._progress: dict[int, int] = {}  # outbox id -> steps of it already sent
        self._links: dict[int, list[str | None]] = {}  # outbox id -> its files' URLs, published once
        self._answered: OrderedDict[str, None] = OrderedDict()  # non-text messages answered lately
        # Polled messages are written to the intake journal and handled in the background
        # (handlers/inbox.py Intake): the next poll never waits for a slow one.
        self.intake_queue = Intake(app.deps, CHANNEL, deliver=self._deliver_one, busy=self._nobody_told,
                                   claim_by=lambda: self.worker if self.sender.sends else None, sleep=sleep)
        self._waiting: list[Inbound] = []  # polled while the database was away: not yet written
        self._retrying: asyncio.Task[None] | None = None
        self._handling: dict[str, str] = {}  # update key -> chat, taken and not yet handled (typing…)
        self._tasks: set[asyncio.Task[None]] = set()
        self._taking = 0  # polled batches being written to the journal
        self._taken = asyncio.Event()
        self._outage = False
        self.received = 0  # updates polled or posted, for tests and metrics
        self.on_poll: Callable[[], None] | None = None  # each answered getUpdates or webhook call (/healthz)

    # --- set-up ---------------------------------------------------------------------------------

    async def start(self) -> None:
        me = await self.api.call("getMe")
        me = me if isinstance(me, dict) else {}
        self.me = Me(id=str(me.get("id") or self.api.bot_id), account_name=str(me.get("account_name") or ""),
                     can_join_groups=bool(me.get("can_join_groups")))
        # No deep links on Zalo: invites say which code to send the bot (handlers/invites.py).
        self.app.deps.invite_links[CHANNEL] = lambda code: None
        # Zalo's ids do not tell a group from a person: the bound groups are known from the start,
        # so scheduled summaries to them keep a group's rate after a restart too.
        async with self.app.sessions() as session:
            self._groups.update(await membership.group_chats(session, CHANNEL))

    # --- updates --------------------------------------------------------------------------------

    def inbound(self, update: dict[str, Any]) -> Inbound | None:
        """What a text message, or a picture in a private chat, means to the bot, with its key;
        None for anything else."""
        message = update.get("message")
        if not isinstance(message, dict):
            return None
        chat, sender = message.get("chat") or {}, message.get("from") or {}
        chat_id, sender_id = str(chat.get("id") or ""), str(sender.get("id") or "")
        files = _picture(update)
        text = message.get("caption") or None if files else message.get("text")
        if update.get("event_name") != TEXT_EVENT and not files:
            return None
        if not chat_id or not sender_id or not (isinstance(text, str) or files):
            return None
        group = str(chat.get("chat_type") or "").upper() == "GROUP"
        if group:
            self._groups.add(chat_id)
        name = str(sender.get("display_name") or sender.get("first_name") or sender.get("name") or "")
        mentioned = group and bool(self.me and self.me.account_name and isinstance(text, str)
                                   and f"@{self.me.account_name.lower()}" in text.lower())
        message_id = str(message.get("message_id") or "")
        event = Event(channel=CHANNEL, chat_id=chat_id, chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE,
                      sender_id=sender_id, sender_name=name, text=text if isinstance(text, str) else None,
                      message_id=message_id or None,
                      chat_title=str(chat.get("title") or "") or None if group else None, mentioned=mentioned,
                      files=files)
        return Inbound(event, key=update_key(chat_id, message_id) if message_id else None)

    def _not_text(self, update: dict[str, Any]) -> str | None:
        """The private chat to tell that the bot reads text only (a picture, a sticker), once per
        message; None when the update needs no answer."""
        message = update.get("message")
        if not isinstance(message, dict) or update.get("event_name") == TEXT_EVENT or _picture(update):
            return None
        chat = message.get("chat") or {}
        if str(chat.get("chat_type") or "PRIVATE").upper() == "GROUP" or not chat.get("id"):
            return None
        key = update_key(str(chat["id"]), str(message.get("message_id") or ""))
        if key in self._answered:
            return None
        self._answered[key] = None
        while len(self._answered) > 1000:
            self._answered.popitem(last=False)
        return str(chat["id"])

    async def intake(self, updates: list[dict[str, Any]]) -> bool:
        """Handle posted updates; False when the database is unavailable for some."""
        return not await self._handle(await self._read(updates))

    async def _read(self, updates: list[dict[str, Any]]) -> list[Inbound]:
        """The text messages among updates; a picture or sticker in a private chat is answered
        with what the bot reads."""
        self.received += len(updates)
        for chat_id in filter(None, map(self._not_text, updates)):
            t = translator(self.app.settings.bot_locale)
            # Sent directly: a short courtesy, not worth a row (a redelivery within the last
            # thousand messages is not answered twice).
            await self.transport(OutboxMessage(id=0, chat_id=chat_id, priority=Urgency.REPLY,
                                               payload=Reply(t("zalo-text-only"), locale=t.locale).to_payload()))
        return [item for update in updates if (item := self.inbound(update)) is not None]

    async def _handle(self, items: list[Inbound]) -> list[Inbound]:
        """Handle and deliver; returns the items that could not be stored (the database is away)."""
        if not items:
            return []
        typing = asyncio.create_task(self._typing_if_slow({i.event.chat_id for i in items if i.event.private}))
        try:
            outcomes = await handle_all(self.app.deps, items, claim_by=self.worker if self.sender.sends else None)
        finally:
            typing.cancel()
        await self._deliver(items, outcomes)
        waiting = [item for item, outcome in zip(items, outcomes, strict=True) if outcome.unavailable]
        if waiting and not self._outage:
            log.warning("zalo: the database is unavailable; %d message(s) wait for it", len(waiting))
        elif not waiting and self._outage:
            log.warning("zalo: the database is back; waiting messages are being handled")
        self._outage = bool(waiting)
        return waiting

    async def _deliver(self, items: list[Inbound], outcomes: list[Outcome]) -> None:
        await self.sender.take(items, outcomes)

    # --- polling --------------------------------------------------------------------------------

    async def poll(self, stop: asyncio.Event, timeout: int = 30) -> None:
        """Long polling: one update per call. Each is written to the intake journal and handled in
        the background (each chat's in order, chats side by side) while the next is fetched; what
        an earlier run took and did not handle is handled first."""
        with contextlib.suppress(ZaloError, ZaloNetworkError):
            await self.api.call("deleteWebhook")  # polling does not work while a webhook is set
        recovered = await self.intake_queue.recover()
        if recovered:
            log.info("zalo: handling %d messages taken before the last stop", recovered)
        failures = 0
        while not stop.is_set():
            if len(self._waiting) >= MAX_WAITING:  # the database is away: hold off the platform
                await self._pause(1.0, stop)
                continue
            await self.intake_queue.room()
            fetch = asyncio.ensure_future(self.api.call("getUpdates", {"timeout": str(timeout)},
                                                        timeout=timeout + 15))
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if fetch not in done:
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, ZaloError, ZaloNetworkError):
                    await fetch
                break
            try:
                result = fetch.result()
                failures = 0
                self._alive()
            except ZaloError as exc:
                if exc.timed_out:
                    failures = 0
                    self._alive()
                    continue  # nothing came within the timeout
                if exc.unauthorized:
                    log.error("zalo: the platform refused ZALO_BOT_TOKEN (401); check the token in Zalo Bot Creator")
                    raise
                failures += 1
                wait = exc.retry_after or min(30.0, 2.0 ** failures)
                log.warning("zalo: getUpdates failed (%s); retrying in %.0f s", exc.error_code, wait)
                await self._pause(wait, stop)
                continue
            except ZaloNetworkError as exc:
                failures += 1
                wait = min(30.0, 2.0 ** failures)
                log.warning("zalo: getUpdates failed (%s); retrying in %.0f s", exc, wait)
                await self._pause(wait, stop)
                continue
            await self._take(updates_of(result))
        try:
            await asyncio.wait_for(self.settle_intake(), timeout=STOP_WAIT)
        except TimeoutError:
            # Polled updates are gone from the platform: what the database never took is lost.
            log.warning("zalo: stopping with %d polled message(s) not stored (the database is unavailable)",
                        len(self._waiting))

    def _alive(self) -> None:
        if self.on_poll is not None:
            self.on_poll()

    async def _take(self, updates: list[dict[str, Any]]) -> None:
        """Write what was polled to the intake journal and have it handled; while the database is
        away it waits here, in order, and is written as soon as it can be (the platform will not
        give a polled message twice)."""
        self._taking += 1
        try:
            await self._take_read(await self._read(updates))
        finally:
            self._taking -= 1
            self._taken.set()

    async def _take_read(self, items: list[Inbound]) -> None:
        if not items:
            return
        if self._waiting or not await self._accept(items):
            self._waiting.extend(items)
            if self._retrying is None or self._retrying.done():
                self._retrying = asyncio.create_task(self._write_waiting())

    async def _accept(self, items: list[Inbound]) -> bool:
        if not await self.intake_queue.accept(items):
            return False
        chats = {}
        for item in items:
            if item.event.private and item.key is not None:
                self._handling[item.key] = item.event.chat_id
                chats[item.key] = item.event.chat_id
        if chats:
            typing = asyncio.create_task(self._typing_if_still_handled(set(chats)))
            self._tasks.add(typing)  # held, or the loop could lose the task
            typing.add_done_callback(self._tasks.discard)
        return True

    async def _write_waiting(self) -> None:
        """Write what waited for the database, oldest first, trying again while it is away."""
        outage = 0
        while self._waiting:
            batch = list(self._waiting)
            if await self._accept(batch):
                del self._waiting[:len(batch)]
                outage = 0
                continue
            if outage == 0:
                log.warning("zalo: the database is unavailable; %d message(s) wait for it", len(self._waiting))
            outage += 1
            await self.sleep(min(30.0, 2.0 ** min(outage, 5)))
        if outage:
            log.warning("zalo: the database is back; waiting messages are being handled")

    async def _deliver_one(self, item: Inbound, outcome: Outcome) -> None:
        if item.key is not None:
            self._handling.pop(item.key, None)
        await self._deliver([item], [outcome])

    async def _nobody_told(self, events: list[Event]) -> None:
        """Zalo's officers are not told the database is away: their messages wait in order."""

    async def settle_intake(self) -> None:
        """Wait until everything polled so far is handled (or waits for the database)."""
        while self._taking:  # received, its journal write still on its way
            self._taken.clear()
            await self._taken.wait()
        while self._retrying is not None and not self._retrying.done():
            await asyncio.wait([self._retrying])
        await self.intake_queue.settle()

    # --- webhook --------------------------------------------------------------------------------

    def webhook_handler(self, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The HTTP handler for updates Zalo posts: 403 unless the secret header matches (compared
        in constant time; nothing is read before), 200 once stored with its replies queued, 503
        while the database is unavailable so that the platform posts it again."""
        expected = secret.encode()

        async def on_update(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                return web.Response(status=403, text="Forbidden")
            try:
                body = await request.json()
            except ValueError:
                return web.Response(status=400, text="Bad Request")
            if isinstance(body, dict) and isinstance(body.get("result"), (dict, list)):
                body = body["result"]  # the envelope getUpdates uses
            if not await self.intake(updates_of(body)):
                return web.Response(status=503, text="Service Unavailable")
            self._alive()
            return web.Response(text="ok")

        return on_update

    async def set_webhook(self, url: str, secret: str) -> None:
        await self.api.call("setWebhook", {"url": url, "secret_token": secret})

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        sleeper, stopper = asyncio.ensure_future(self.sleep(seconds)), asyncio.ensure_future(stop.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        stopper.cancel()

    # --- sending --------------------------------------------------------------------------------

    async def _typing_if_slow(self, chats: set[str]) -> None:
        """'typing…' in each chat whose message is still being handled after TYPING_AFTER seconds
        of real time (what the person waits): slow answers only, whatever made them slow."""
        await asyncio.sleep(TYPING_AFTER)
        await asyncio.gather(*(self.typing(chat_id) for chat_id in sorted(chats)))

    async def _typing_if_still_handled(self, keys: set[str]) -> None:
        """The same for polled messages handled in the background: the chats of those among
        `keys` still not handled after TYPING_AFTER seconds."""
        await asyncio.sleep(TYPING_AFTER)
        chats = {chat for key, chat in self._handling.items() if key in keys}
        await asyncio.gather(*(self.typing(chat_id) for chat_id in sorted(chats)))

    async def typing(self, chat_id: str) -> None:
        """'typing…' in the chat, before a slow answer; a courtesy, never an error."""
        with contextlib.suppress(ZaloError, ZaloNetworkError):
            await self.api.call("sendChatAction", {"chat_id": chat_id, "action": "typing"})

    async def transport(self, row: OutboxMessage) -> SendResult:
        try:
            message_id = await self._send(row)
        except ZaloError as exc:
            if exc.error_code == 429:
                return SendResult(False, retry_after=exc.retry_after or 1.0, error="429 too many requests")
            if exc.transient or exc.unauthorized:  # a token being replaced is nobody's fault but ours
                return SendResult(False, error=f"{exc.error_code}", unknown=exc.timed_out)
            self._forget(row.id)
            return SendResult(False, permanent=f"{exc.error_code}: {exc.description}"[:200])
        except ZaloNetworkError as exc:
            return SendResult(False, error=f"network: {exc}", unknown=not exc.sent_nothing)
        self._forget(row.id)
        return SendResult(True, channel_message_id=message_id)

    def _forget(self, row_id: int) -> None:
        self._progress.pop(row_id, None)
        self._links.pop(row_id, None)

    async def _send(self, row: OutboxMessage) -> str | None:
        """The reply's steps (zalo_steps); the id of the last message. A row tried again after
        some of it went out goes on from the first step not sent."""
        reply = Reply.from_payload(row.payload).reply
        links = await self._publish(row.id, reply)
        steps = zalo_steps(reply, row.chat_id, links, self.files.days if self.files is not None else 0)
        done = self._progress.get(row.id, 0) if row.id else 0
        message_id: str | None = None
        group = row.chat_id in self._groups
        for index in range(done, len(steps)):
            method, params = steps[index]
            async with self.limiter.slot(row.chat_id, group, row.priority):
                result = await self.api.call(method, params)
            message_id = str(result.get("message_id")) if isinstance(result, dict) else None
            if row.id:
                self._progress[row.id] = index + 1
        return message_id

    async def _publish(self, row_id: int, reply: Reply) -> list[str | None]:
        """Each attachment's public URL, or None where files are not served (no PUBLIC_BASE_URL)."""
        if self.files is None or not reply.attachments:
            return [None] * len(reply.attachments)
        if row_id and row_id in self._links:
            return self._links[row_id]
        links: list[str | None] = [await self.files.publish(attachment) for attachment in reply.attachments]
        if row_id:
            self._links[row_id] = links
        return links
