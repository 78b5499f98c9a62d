"""The Telegram channel on aiogram 3: updates become events, queued replies become Bot API calls.

It decides nothing: handlers/ does (handlers/inbox.py is the one way in). What it owns is Telegram's
side of things: which updates mean what, buttons and edits, long messages, the command menu, deep
links, polling and webhooks, and delivery through the outbox within Telegram's rate limits.

Exactly once: each update is handled with its id recorded in the same transaction as its effects and
replies (handlers/inbox.py), and a polled batch is confirmed (the next offset) only once it is written
to the intake journal, which a restart handles first, so an update delivered again after a crash or a
webhook retry changes nothing and none is lost. Polling never waits for the handling, nor the
handling for the sending: the replies are handed to the sender, which sends them on its own. While
the database is unavailable nothing is confirmed (the offset stays, a webhook post gets 503), so
Telegram keeps the updates until they can be stored; each officer waiting hears so once.
"""
from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    AiogramError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import ClientConnectorError, web

from bot.app import App
from bot.channels.links import invite_link
from bot.channels.sender import Limits, OutboxSender, RateLimiter, SendResult, Sleep
from bot.channels.telegram_text import split_text
from handlers.commands import Scope, menu
from handlers.events import Choice, Event, FetchError, FileTooBig, Happening, IncomingFile, Reply
from handlers.inbox import Inbound, Intake, Outcome, handle_all
from locales import translator
from models import membership
from models.kinds import ChatKind, Urgency
from models.tables import OutboxMessage

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_BUTTONS = 100
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def make_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token=token, session=session)


def make_keyboard(choices: tuple[Choice, ...]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    rows = [[InlineKeyboardButton(text=c.label[:60], callback_data=c.data)] for c in choices[:MAX_BUTTONS]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _files_of(message: Message) -> tuple[IncomingFile, ...]:
    """A photo (its largest size: Telegram sends several) or a document, described, not fetched."""
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.file_size or 0, size.width * size.height))
        return (IncomingFile(kind="photo", ref=largest.file_id, mime="image/jpeg", size=largest.file_size),)
    if message.document is not None:
        document = message.document
        return (IncomingFile(kind="document", ref=document.file_id, name=document.file_name,
                             mime=document.mime_type, size=document.file_size),)
    return ()


class TelegramFiles:
    """Fetches the bytes of files people send (handlers' FileFetcher): getFile, then the download
    path of the same Bot API server (a bot may download up to 20 MB)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def fetch(self, file: IncomingFile, limit: int) -> bytes:
        try:
            found = await self.bot.get_file(file.ref)
            if found.file_size is not None and found.file_size > limit:
                raise FileTooBig(str(found.file_size))
            if found.file_path is None:
                raise FetchError("no file path")
            buffer = await self.bot.download_file(found.file_path)
        except TelegramBadRequest as exc:
            if "too big" in exc.message.lower():
                raise FileTooBig(exc.message) from None
            raise FetchError(exc.message) from None
        except (AiogramError, TimeoutError, OSError) as exc:
            raise FetchError(type(exc).__name__) from None
        if buffer is None:
            raise FetchError("nothing downloaded")
        return buffer.read()


class TelegramChannel:
    def __init__(self, app: App, bot: Bot, *, limits: Limits | None = None, sleep: Sleep = asyncio.sleep,
                 monotonic: Any = time.monotonic) -> None:
        self.app = app
        self.bot = bot
        self.username: str | None = None
        # Unique to this process's life (a container's pid repeats after a restart).
        self.worker = f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.limiter = RateLimiter(limits or Limits(), clock=monotonic, sleep=sleep)
        self.sender = OutboxSender(app.sessions, CHANNEL, self.transport, worker=self.worker,
                                   wall_clock=app.now, sleep=sleep)
        self.sleep = sleep
        app.deps.fetchers[CHANNEL] = TelegramFiles(bot)  # handlers fetch what people send through it
        self._progress: dict[int, int] = {}  # outbox id -> pieces already sent (long messages)
        self.conflicts = 0  # 409s from getUpdates: another process polls with this token
        self._outage = False  # the database was unavailable at the last intake
        self._told_busy: set[str] = set()  # private chats told so during this outage
        self._answering: set[asyncio.Task[None]] = set()  # answerCallbackQuery calls on their way
        # Polled updates, handled in the background so the next poll never waits for them.
        self.intake_queue = Intake(app.deps, CHANNEL, deliver=self._deliver_one, busy=self._tell_busy,
                                   claim_by=lambda: self.worker if self.sender.sends else None, sleep=sleep)

    # --- set-up ---------------------------------------------------------------------------------

    async def start(self) -> None:
        me = await self.bot.get_me()
        self.username = me.username
        # /moi and the invite cards link codes to this bot (handlers/invites.py).
        self.app.deps.invite_links[CHANNEL] = lambda code: self.invite_link(code, "officer")
        await self.set_commands()

    async def set_commands(self) -> None:
        """The command menu, per language and per kind of chat (handlers/commands.py)."""
        for locale in ("vi", "en"):
            for scope, telegram_scope in ((Scope.PRIVATE, BotCommandScopeAllPrivateChats()),
                                          (Scope.GROUP, BotCommandScopeAllGroupChats())):
                await self.bot.set_my_commands(_menu(locale, scope), scope=telegram_scope, language_code=locale)
        locale = self.app.settings.bot_locale
        await self.bot.set_my_commands(_menu(locale, Scope.PRIVATE), scope=BotCommandScopeAllPrivateChats())
        for chat_id in await self._admin_chats():
            try:
                await self.bot.set_my_commands(_menu(locale, Scope.ADMIN),
                                               scope=BotCommandScopeChat(chat_id=int(chat_id)))
            except TelegramBadRequest:
                log.warning("could not set the admin command menu for one admin chat")

    async def _admin_chats(self) -> list[str]:
        chats = {user for channel, user in self.app.settings.admins if channel == CHANNEL}
        async with self.app.sessions() as session:
            chats.update(contact.chat_id for contact in await membership.admin_contacts(session, CHANNEL))
        return sorted(chats)

    def invite_link(self, code: str, role: str) -> str | None:
        return invite_link(CHANNEL, self.username, code, role)

    # --- updates --------------------------------------------------------------------------------

    def event_of(self, update: Update) -> Event | None:
        """What an update means to the bot, or None for what it ignores (a sticker, a join)."""
        if update.message is not None:
            return self._message_event(update.message)
        if update.callback_query is not None:
            return _press_event(update.callback_query)
        change = update.my_chat_member
        if change is not None and change.new_chat_member.status in ("left", "kicked"):
            return Event(channel=CHANNEL, chat_id=str(change.chat.id), chat_kind=_kind(change.chat.type),
                         sender_id=str(change.from_user.id), sender_name=change.from_user.full_name,
                         chat_title=change.chat.title, happening=Happening.LEFT)
        return None

    def _message_event(self, message: Message) -> Event | None:
        chat = message.chat
        if message.migrate_to_chat_id:
            return Event(channel=CHANNEL, chat_id=str(chat.id), chat_kind=ChatKind.GROUP, sender_id="", sender_name="",
                         chat_title=chat.title, happening=Happening.MOVED, moved_to=str(message.migrate_to_chat_id))
        text = message.text or message.caption
        files = _files_of(message)
        if (text is None and not files) or message.from_user is None:
            return None
        return Event(
            channel=CHANNEL, chat_id=str(chat.id), chat_kind=_kind(chat.type),
            sender_id=str(message.from_user.id), sender_name=message.from_user.full_name, text=text,
            message_id=str(message.message_id), chat_title=chat.title,
            mentioned=self._mentioned(message, text or ""), files=files,
        )

    def _mentioned(self, message: Message, text: str) -> bool:
        if message.chat.type == "private":
            return False
        if self.username and f"@{self.username.lower()}" in text.lower():
            return True
        reply = message.reply_to_message
        return bool(reply and reply.from_user and reply.from_user.username == self.username)

    async def _answer(self, query: CallbackQuery) -> None:
        # Answered first: the button stops spinning whatever the handling takes.
        # Too old, flood-limited, Telegram down: only the spinner stays; handling the press matters more.
        with contextlib.suppress(AiogramError, TimeoutError):
            await self.bot.answer_callback_query(query.id)

    # --- polling --------------------------------------------------------------------------------

    async def poll(self, stop: asyncio.Event, timeout: int = 25) -> None:
        """Long polling. Each batch is written to the intake journal and confirmed by the next
        request at once; its updates are handled in the background (handlers/inbox.py Intake:
        each chat's in order, chats side by side), so the next batch is fetched without waiting
        for a slow one (a summary, an export) or for any sending. What an earlier run took and
        did not handle is handled first."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        recovered = await self.intake_queue.recover()
        if recovered:
            log.info("handling %d updates taken before the last stop", recovered)
        offset: int | None = None
        failures = 0
        conflicts = 0  # in a row, for the backoff
        outage = 0  # tries of the same batch while the database is unavailable
        while not stop.is_set():
            await self.intake_queue.room()
            fetch = asyncio.ensure_future(self.bot.get_updates(offset=offset, timeout=timeout,
                                                               allowed_updates=ALLOWED_UPDATES))
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if fetch not in done:
                fetch.cancel()
                break
            try:
                updates = fetch.result()
                failures = conflicts = 0
            except TelegramUnauthorizedError:
                raise
            except TelegramConflictError:
                # Another process polls with this token: Telegram ends one poll for the other.
                # Both go on (each update is handled once whichever gets it), a little apart.
                conflicts += 1
                self.conflicts += 1
                if self.conflicts in (1, 10, 100, 1000, 10000):
                    log.warning("another instance is polling with this bot's token (409 Conflict, %d so far); "
                                "both keep working, but only one should poll: stop the other or use a webhook",
                                self.conflicts)
                await self._pause(min(30.0, 2.0 ** min(conflicts, 5)), stop)
                continue
            except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter) as exc:
                failures += 1
                wait = getattr(exc, "retry_after", None) or min(30.0, 2.0 ** failures)
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, wait)
                await self._pause(wait, stop)
                continue
            if not updates:
                continue
            if not await self.take(updates):
                # Not confirmed: Telegram keeps the batch and gives it again with the next poll.
                outage += 1
                await self._pause(min(30.0, 2.0 ** min(outage, 5)), stop)
                continue
            outage = 0
            offset = updates[-1].update_id + 1
        if offset is not None:
            # Confirm the last batch so a restart does not fetch it again (it would be skipped anyway).
            with contextlib.suppress(TelegramNetworkError, TelegramServerError, TelegramRetryAfter):
                await self.bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)
        await self.intake_queue.settle()

    async def take(self, updates: list[Update]) -> bool:
        """Write polled updates to the intake journal and start handling them; False when the
        database is unavailable: what could not be written must not be confirmed to Telegram, and
        each private chat among them hears once per outage that its message will be recorded."""
        self._answer_presses(updates)
        items = [Inbound(event, key=str(update.update_id))
                 for update in updates if (event := self.event_of(update)) is not None]
        if not await self.intake_queue.accept(items):
            if not self._outage:  # one line per outage, not one per poll
                log.warning("the database is unavailable; updates wait for it, unconfirmed")
                self._outage = True
            await self._tell_busy([item.event for item in items])
            return False
        if self._outage:
            log.warning("the database is back; waiting updates are being handled")
            self._outage = False
        if not self.intake_queue.outage:
            self._told_busy.clear()
        return True

    def _answer_presses(self, updates: list[Update]) -> None:
        """Pressed buttons stop spinning now, not after the handling, which does not wait for them."""
        for update in updates:
            if update.callback_query is not None:
                answering = asyncio.create_task(self._answer(update.callback_query))
                self._answering.add(answering)  # held, or the loop could lose the task
                answering.add_done_callback(self._answering.discard)

    async def settle(self) -> None:
        """Wait until every update taken so far is handled and its replies sent."""
        await self.intake_queue.settle()
        await self.sender.settle()

    async def _deliver_one(self, item: Inbound, outcome: Outcome) -> None:
        await self._deliver([item], [outcome])

    async def intake(self, updates: list[Update]) -> bool:
        """Handle updates (polled or posted); False when the database is unavailable: what could
        not be stored must not be confirmed to Telegram, and each private chat among them hears
        once per outage that its message will be recorded shortly."""
        self._answer_presses(updates)
        items = [Inbound(event, key=str(update.update_id))
                 for update in updates if (event := self.event_of(update)) is not None]
        outcomes = await handle_all(self.app.deps, items, claim_by=self.worker if self.sender.sends else None)
        await self._deliver(items, outcomes)  # what was stored is answered, outage or not
        waiting = [item.event for item, outcome in zip(items, outcomes, strict=True) if outcome.unavailable]
        if waiting:
            if not self._outage:  # one line per outage, not one per update
                log.warning("the database is unavailable; updates wait for it, unconfirmed")
                self._outage = True
            await self._tell_busy(waiting)
            return False
        if self._outage:
            log.warning("the database is back; waiting updates are being handled")
            self._outage = False
            self._told_busy.clear()
        return True

    async def _deliver(self, items: list[Inbound], outcomes: list[Outcome]) -> None:
        await self.sender.take(items, outcomes)

    async def _tell_busy(self, waiting: list[Event]) -> None:
        """Each private chat whose message waits hears so, once per outage."""
        t = translator(self.app.settings.bot_locale)
        for event in waiting:
            if not event.private or event.choice or event.chat_id in self._told_busy:
                continue
            self._told_busy.add(event.chat_id)
            # Sent directly: the outbox lives in the database that is away.
            await self.transport(OutboxMessage(id=0, chat_id=event.chat_id, priority=Urgency.REPLY,
                                               payload=Reply(t("intake-busy"), locale=t.locale).to_payload()))

    def webhook_handler(self, secret: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The HTTP handler for updates Telegram posts with `secret`: each is answered once it is
        stored with its replies queued, or 503 while the database is unavailable, so that
        Telegram posts it again later."""
        async def on_update(request: web.Request) -> web.Response:
            given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=401, text="Unauthorized")
            update = Update.model_validate(await request.json(), context={"bot": self.bot})
            if not await self.intake([update]):
                return web.Response(status=503, text="Service Unavailable")
            return web.Response()

        return on_update

    async def _pause(self, seconds: float, stop: asyncio.Event) -> None:
        sleeper, stopper = asyncio.ensure_future(self.sleep(seconds)), asyncio.ensure_future(stop.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        stopper.cancel()

    # --- sending --------------------------------------------------------------------------------

    async def transport(self, row: OutboxMessage) -> SendResult:
        delivery = Reply.from_payload(row.payload)
        chat_id: int | str = int(row.chat_id) if row.chat_id.lstrip("-").isdigit() else row.chat_id
        try:
            message_id = await self._send(row.id, chat_id, delivery.reply, delivery.replaces, row.priority)
        except TelegramRetryAfter as exc:
            return SendResult(False, retry_after=float(exc.retry_after), error="429 retry after")
        except TelegramForbiddenError as exc:
            self._progress.pop(row.id, None)
            return SendResult(False, permanent=f"forbidden: {exc.message}")
        except TelegramBadRequest as exc:
            self._progress.pop(row.id, None)
            return SendResult(False, permanent=f"bad request: {exc.message}")
        except TelegramNetworkError as exc:
            # Not connected: nothing went out. Anything else (a timeout, a dropped connection)
            # may have lost the answer to a message Telegram delivered.
            sent_nothing = isinstance(exc.__cause__, ClientConnectorError)
            return SendResult(False, error=f"{type(exc).__name__}: {exc}", unknown=not sent_nothing)
        except TelegramServerError as exc:
            return SendResult(False, error=f"{type(exc).__name__}: {exc}")
        self._progress.pop(row.id, None)
        return SendResult(True, channel_message_id=message_id)

    async def _send(self, row_id: int, chat_id: int | str, reply: Reply, replaces: str | None,
                    priority: int = 0) -> str | None:
        """The reply's pieces (a long text in several messages, the buttons under the last), then its
        files; the id of the last message. A row retried after some pieces went out goes on from
        the first piece not sent."""
        group = isinstance(chat_id, int) and chat_id < 0
        markup = make_keyboard(reply.choices)
        pieces = split_text(reply.text)
        done = self._progress.get(row_id, 0) if row_id else 0
        message_id: str | None = None
        if replaces and len(pieces) == 1 and done == 0:
            message_id, done = await self._edit(chat_id, group, pieces[0], replaces, markup, priority)
        for index in range(done, len(pieces)):
            last = index == len(pieces) - 1
            async with self.limiter.slot(str(chat_id), group, priority):
                sent = await self.bot.send_message(chat_id, pieces[index], reply_markup=markup if last else None)
            message_id = str(sent.message_id)
            if row_id:
                self._progress[row_id] = index + 1
        for attachment in reply.attachments:
            file = BufferedInputFile(attachment.content, filename=attachment.filename)
            async with self.limiter.slot(str(chat_id), group, priority):
                if attachment.kind == "photo":
                    sent = await self.bot.send_photo(chat_id, file, caption=attachment.caption)
                else:
                    sent = await self.bot.send_document(chat_id, file, caption=attachment.caption)
            message_id = str(sent.message_id)
        return message_id

    async def _edit(self, chat_id: int | str, group: bool, text: str, replaces: str,
                    markup: InlineKeyboardMarkup | None, priority: int) -> tuple[str | None, int]:
        """Replace the message whose button was pressed; (its id, 1) if it was, (None, 0) when it
        cannot be (too old to edit, deleted): then the reply goes as a new message."""
        try:
            async with self.limiter.slot(str(chat_id), group, priority):
                sent = await self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=int(replaces),
                                                        reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" in exc.message.lower():
                return replaces, 1
            return None, 0
        return str(getattr(sent, "message_id", replaces)), 1


def _kind(chat_type: str) -> ChatKind:
    return ChatKind.PRIVATE if chat_type == "private" else ChatKind.GROUP


def _press_event(query: CallbackQuery) -> Event | None:
    message = query.message
    if message is None or query.data is None:
        return None
    chat = message.chat
    return Event(
        channel=CHANNEL, chat_id=str(chat.id), chat_kind=_kind(chat.type), sender_id=str(query.from_user.id),
        sender_name=query.from_user.full_name, choice=query.data, message_id=str(message.message_id),
        chat_title=chat.title,
    )


def _menu(locale: str, scope: Scope) -> list[BotCommand]:
    t = translator(locale)
    return [BotCommand(command=command, description=t(key)) for command, key in menu(locale, scope)]
