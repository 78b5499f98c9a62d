"""The Telegram channel on aiogram 3: updates become events, replies become Bot API calls.

It decides nothing: handlers/ does. What it owns is Telegram's side of things: private chats and
groups, buttons and edits, long messages, the command menu, deep links, polling and webhooks,
group upgrades and removals, and delivery through the outbox within Telegram's rate limits.

Exactly once: an update's id is recorded in the same transaction as its effects and its replies
(queued in the outbox), and the polling offset is confirmed only after a batch is handled, so an
update delivered again after a crash or a webhook retry changes nothing. A polled batch is handled
in one transaction (group commit, see handle_batch); a webhook's update in its own. The replies are
then handed to the sender, which sends them while the next batch is fetched. While the database is
unavailable nothing is confirmed (the offset stays, a webhook post gets 503), so Telegram keeps the
updates until they can be stored; each officer waiting hears so once.
"""
from __future__ import annotations

import asyncio
import base64
import hmac
import logging
import os
import secrets
import socket
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher, Router
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
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import ClientConnectorError, web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.channels.sender import Limits, OutboxSender, RateLimiter, SendResult, Sleep
from bot.db import database_unavailable
from handlers.context import Ctx
from handlers.dispatch import Known, handle_event, handle_within
from handlers.events import Event, Reply
from locales import translator
from models import outbox, people
from models.tables import GroupBinding, Identity, OutboxMessage, Person, Role

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4096
MAX_BUTTONS = 100
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


def make_bot(token: str, api_url: str) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    return Bot(token=token, session=session)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends where possible."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single line longer than a message: cut it hard
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def keyboard(choices: list[list[str]]) -> InlineKeyboardMarkup | None:
    if not choices:
        return None
    rows = [[InlineKeyboardButton(text=label[:60], callback_data=data)] for label, data in choices[:MAX_BUTTONS]]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def payload_of(reply: Reply, edit_message_id: str | None) -> dict[str, Any]:
    attachments = [
        {"kind": a.kind, "filename": a.filename, "caption": a.caption,
         "data": base64.b64encode(a.content).decode("ascii")}
        for a in reply.attachments
    ]
    return outbox.reply_payload(reply.text, [(c.label, c.data) for c in reply.choices], attachments,
                                edit_message_id if reply.edit else None)


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
        # Conversation state lives in our database (handlers/state.py), so aiogram's FSM would only
        # cost a lookup per update.
        self.dispatcher = Dispatcher(disable_fsm=True)
        self.dispatcher.include_router(self._router())
        self.sleep = sleep
        self._progress: dict[int, int] = {}  # outbox id -> pieces already sent (long messages)
        self.conflicts = 0  # 409s from getUpdates: another process polls with this token
        self._outage = False  # the database was unavailable at the last intake
        self._told_busy: set[int] = set()  # private chats told so during this outage

    # --- set-up ---------------------------------------------------------------------------------

    async def start(self) -> None:
        me = await self.bot.get_me()
        self.username = me.username
        await self.set_commands()

    async def set_commands(self) -> None:
        """The command menu, per language and per kind of chat (interfaces.md)."""
        for locale in ("vi", "en"):
            t = translator(locale)
            private = [BotCommand(command=c, description=t(f"menu-{key}")) for c, key in _private_commands(locale)]
            group = [BotCommand(command=c, description=t(f"menu-{key}")) for c, key in _group_commands(locale)]
            await self.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats(), language_code=locale)
            await self.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats(), language_code=locale)
        t = translator(self.app.settings.bot_locale)
        await self.bot.set_my_commands(
            [BotCommand(command=c, description=t(f"menu-{key}")) for c, key in _private_commands(t.locale)],
            scope=BotCommandScopeAllPrivateChats())
        admin_commands = [BotCommand(command=c, description=t(f"menu-{key}"))
                          for c, key in [*_private_commands(t.locale), *_admin_commands()]]
        for chat_id in await self._admin_chats():
            try:
                await self.bot.set_my_commands(admin_commands, scope=BotCommandScopeChat(chat_id=int(chat_id)))
            except TelegramBadRequest:
                log.warning("could not set the admin command menu for one admin chat")

    async def _admin_chats(self) -> list[str]:
        chats = {user for channel, user in self.app.settings.admins if channel == CHANNEL}
        async with self.app.sessions() as session:
            rows = await session.execute(
                select(Identity.chat_id, Identity.external_id).join(Role, Role.person_id == Identity.person_id)
                .where(Identity.channel == CHANNEL, Role.role == "admin", Role.ended_at.is_(None)))
            chats.update(chat or user for chat, user in rows)
        return sorted(chats)

    def invite_link(self, code: str, role: str) -> str | None:
        if not self.username:
            return None
        kind = "startgroup" if role == "group" else "start"
        return f"https://t.me/{self.username}?{kind}={code}"

    # --- updates --------------------------------------------------------------------------------

    def _router(self) -> Router:
        router = Router(name="telegram-channel")
        router.message.register(self.on_message)
        router.callback_query.register(self.on_callback)
        router.my_chat_member.register(self.on_my_chat_member)
        return router

    async def on_message(self, message: Message, event_update: Update) -> None:
        if message.migrate_to_chat_id:
            await self._group_migrated(str(message.chat.id), str(message.migrate_to_chat_id))
            return
        text = message.text or message.caption
        if text is None or message.from_user is None:
            return
        chat = message.chat
        event = Event(
            channel=CHANNEL, chat_id=str(chat.id), chat_kind="private" if chat.type == "private" else "group",
            sender_id=str(message.from_user.id), sender_name=message.from_user.full_name, text=text,
            message_id=str(message.message_id), chat_title=chat.title, mentioned=self._mentioned(message, text),
        )
        await self.process(event, event_update.update_id)

    async def on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        if _batch.get() is None:  # a batch answers its presses before its transaction
            await self._answer(query)
        message = query.message
        if message is None or query.data is None:
            return
        chat = message.chat
        event = Event(
            channel=CHANNEL, chat_id=str(chat.id), chat_kind="private" if chat.type == "private" else "group",
            sender_id=str(query.from_user.id), sender_name=query.from_user.full_name, choice=query.data,
            message_id=str(message.message_id), chat_title=chat.title,
        )
        await self.process(event, event_update.update_id)

    async def _answer(self, query: CallbackQuery) -> None:
        # Answered first: the button stops spinning whatever the handling takes.
        try:
            await self.bot.answer_callback_query(query.id)
        except (AiogramError, TimeoutError):
            # Too old, flood-limited, Telegram down: only the spinner stays; handling the press
            # matters more.
            pass

    async def on_my_chat_member(self, change: ChatMemberUpdated, event_update: Update) -> None:
        if change.new_chat_member.status not in ("left", "kicked"):
            return
        now = self.app.now()
        chat_id = str(change.chat.id)
        try:
            async with self.app.unit_of_work() as session:
                await self._bot_left(session, change, event_update.update_id, chat_id, now)
        except IntegrityError:
            return  # handled before
        self.sender.wake.set()

    async def _bot_left(self, session: Any, change: ChatMemberUpdated, update_id: int, chat_id: str,
                        now: Any) -> None:
        """Blocked by a person: they are unreachable. Removed from the steering group: the binding
        ends and every admin is told."""
        await outbox.mark_processed(session, CHANNEL, str(update_id), now)
        if change.chat.type == "private":
            person = await session.scalar(select(Person).join(Identity, Identity.person_id == Person.id)
                                          .where(Identity.channel == CHANNEL, Identity.chat_id == chat_id))
            if person is not None and person.unreachable_at is None:
                person.unreachable_at, person.unreachable_reason = now, "blocked the bot"
            return
        binding = await session.scalar(select(GroupBinding).where(
            GroupBinding.channel == CHANNEL, GroupBinding.chat_id == chat_id, GroupBinding.removed_at.is_(None)))
        if binding is None:
            return
        binding.removed_at = now
        for person_id, admin_chat, locale in await session.execute(
            select(Person.id, Identity.chat_id, Person.locale).join(Identity, Identity.person_id == Person.id)
            .join(Role, Role.person_id == Person.id)
            .where(Identity.channel == CHANNEL, Role.role == "admin", Role.ended_at.is_(None))
        ):
            t = translator(locale or self.app.settings.bot_locale)
            await outbox.enqueue(session, key=f"removed:{CHANNEL}:{update_id}:{person_id}",
                                 channel=CHANNEL, chat_id=admin_chat, person_id=person_id, now=now, unique=True,
                                 payload=outbox.reply_payload(t("group-removed", title=change.chat.title or chat_id)))

    async def _group_migrated(self, old: str, new: str) -> None:
        async with self.app.unit_of_work() as session:
            binding = await session.scalar(select(GroupBinding).where(
                GroupBinding.channel == CHANNEL, GroupBinding.chat_id == old))
            if binding is not None:
                binding.chat_id = new

    def _mentioned(self, message: Message, text: str) -> bool:
        if message.chat.type == "private":
            return False
        if self.username and f"@{self.username.lower()}" in text.lower():
            return True
        reply = message.reply_to_message
        return bool(reply and reply.from_user and reply.from_user.username == self.username)

    async def process(self, event: Event, update_id: int) -> None:
        """Handle one event; its replies are queued in the same transaction, then sent. Within a
        batch handled together, the batch's transaction is used and the batch sends the replies."""
        batch = _batch.get()
        held: list[OutboxMessage] = batch.held if batch is not None else []
        # A process that does not hold the sender turn (bot/singleton.py) queues its replies
        # unclaimed, for the holder to send.
        sends = self.sender.sends
        recorded: list[list[Reply]] = []  # the replies queued, to tell them from an apology

        async def record(ctx: Ctx) -> None:
            recorded.append(ctx.replies)
            for number, reply in enumerate(ctx.replies):
                channel, chat_id = reply.to or (CHANNEL, event.chat_id)
                mine = reply.to is None
                row = outbox.new_message(
                    key=f"reply:{CHANNEL}:{update_id}:{number}", channel=channel, chat_id=chat_id,
                    payload=payload_of(reply, event.message_id if event.choice else None), now=ctx.now,
                    person_id=ctx.person.id if mine and ctx.person else None,
                    claim_by=self.worker if channel == CHANNEL and sends else None,
                )
                # A reply's key is new: its update is handled once. In a batch, replies are
                # inserted together just before the commit (nothing reads them before).
                if batch is not None:
                    batch.replies.append(row)
                else:
                    ctx.session.add(row)
                if channel == CHANNEL and sends:
                    held.append(row)

        if batch is not None:
            await handle_within(batch.session, self.app.deps, event, record, batch.known)
            return
        replies = await handle_event(self.app.deps, event, update_key=str(update_id), record=record)
        if held:
            self.sender.hand_over(held)
        elif recorded and replies is recorded[-1]:
            self.sender.wake.set()  # queued unclaimed: the holder of the sender turn is nudged
        elif replies:  # handling failed: the apology was not queued; send it as it is
            for reply in replies:
                await self.transport(OutboxMessage(id=0, chat_id=event.chat_id, payload=payload_of(reply, None)))

    async def feed(self, update: Update) -> None:
        await self.dispatcher.feed_update(self.bot, update)

    # --- polling --------------------------------------------------------------------------------

    async def poll(self, stop: asyncio.Event, timeout: int = 25) -> None:
        """Long polling. A batch is handled (chats in parallel, each chat's updates in order)
        before its offset is confirmed by the next request."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        failures = 0
        conflicts = 0  # in a row, for the backoff
        outage = 0  # tries of the same batch while the database is unavailable
        while not stop.is_set():
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
            if not await self.intake(updates):
                # Not confirmed: Telegram keeps the batch and gives it again with the next poll.
                outage += 1
                await self._pause(min(30.0, 2.0 ** min(outage, 5)), stop)
                continue
            outage = 0
            offset = updates[-1].update_id + 1
        if offset is not None:
            # Confirm the last batch so a restart does not fetch it again (it would be skipped anyway).
            try:
                await self.bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=ALLOWED_UPDATES)
            except (TelegramNetworkError, TelegramServerError, TelegramRetryAfter):
                pass

    async def intake(self, updates: list[Update]) -> bool:
        """Handle updates (polled or posted); False when the database is unavailable: nothing of
        them was stored, the caller must not confirm them to Telegram, and each private chat
        among them hears once per outage that its message will be recorded shortly."""
        try:
            await self.handle_batch(updates)
        except DatabaseUnavailable as exc:
            if not self._outage:  # one line per outage, not one per update
                log.warning("the database is unavailable (%s); updates wait for it, unconfirmed",
                            type(exc.__cause__).__name__)
                self._outage = True
            await self._tell_busy(updates)
            return False
        if self._outage:
            log.warning("the database is back; waiting updates are being handled")
            self._outage = False
            self._told_busy.clear()
        return True

    async def _tell_busy(self, updates: list[Update]) -> None:
        t = translator(self.app.settings.bot_locale)
        for update in updates:
            message = update.message
            if message is None or message.chat.type != "private" or message.chat.id in self._told_busy:
                continue
            self._told_busy.add(message.chat.id)
            # Sent directly: the outbox lives in the database that is away.
            await self.transport(OutboxMessage(id=0, chat_id=str(message.chat.id),
                                               payload=outbox.reply_payload(t("intake-busy"))))

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

    async def handle_batch(self, updates: list[Update]) -> None:
        """Group commit: a batch is handled in one transaction, and its replies handed to the
        sender. If any update in it fails, the batch is rolled back and handled again one update
        per transaction, so the failing one gets its apology and the others their answers; if
        the database is unavailable, DatabaseUnavailable (nothing was stored)."""
        if all(_together_safe(update) for update in updates):
            # Pressed buttons stop spinning now, not after the batch (nor inside its transaction).
            await asyncio.gather(*(self._answer(u.callback_query) for u in updates if u.callback_query))
            try:
                held = await self._handle_together(updates)
            except Exception as exc:
                if database_unavailable(exc):
                    raise DatabaseUnavailable() from exc
                # Nothing of the updates is logged: they may hold personal data.
                log.warning("a batch of %d updates failed as a whole (%s); handling them one by one",
                            len(updates), type(exc).__name__)
            else:
                self.sender.hand_over(held)  # sent while the next batch is fetched and handled
                if not self.sender.sends:
                    self.sender.wake.set()  # queued unclaimed: the holder of the sender turn is nudged
                return
        await self._handle_one_by_one(updates)

    async def _handle_together(self, updates: list[Update]) -> list[OutboxMessage]:
        async with self.app.sessions() as session:
            seen = await outbox.processed_among(session, CHANNEL, [str(update.update_id) for update in updates])
            fresh = {str(update.update_id): update for update in updates if str(update.update_id) not in seen}
            await outbox.mark_all_processed(session, CHANNEL, list(fresh), self.app.now())
            batch = _Batch(session, known=await people.people_by_identities(
                session, CHANNEL, [_sender(update) for update in fresh.values()]))
            token = _batch.set(batch)
            try:
                for update in fresh.values():
                    await self.feed(update)
            finally:
                _batch.reset(token)
            session.add_all(batch.replies)
            await session.commit()
        return batch.held

    async def _handle_one_by_one(self, updates: list[Update]) -> None:
        by_chat: dict[str, list[Update]] = defaultdict(list)
        for update in updates:
            by_chat[_chat_key(update)].append(update)

        async def in_order(sequence: list[Update]) -> None:
            for update in sequence:
                try:
                    await self.feed(update)
                except Exception:
                    log.exception("update %s failed", update.update_id)

        await asyncio.gather(*(in_order(seq) for seq in by_chat.values()))

    # --- sending --------------------------------------------------------------------------------

    async def transport(self, row: OutboxMessage) -> SendResult:
        payload = row.payload
        chat_id = int(row.chat_id) if row.chat_id.lstrip("-").isdigit() else row.chat_id
        group = isinstance(chat_id, int) and chat_id < 0
        markup = keyboard(payload.get("choices") or [])
        pieces = split_text(payload.get("text") or "")
        done = self._progress.get(row.id, 0) if row.id else 0
        message_id: str | None = None
        try:
            edit = payload.get("edit_message_id")
            if edit and len(pieces) == 1 and done == 0:
                try:
                    async with self.limiter.slot(str(chat_id), group):
                        sent = await self.bot.edit_message_text(text=pieces[0], chat_id=chat_id,
                                                                message_id=int(edit), reply_markup=markup)
                    message_id = str(getattr(sent, "message_id", edit))
                    done = 1
                except TelegramBadRequest as exc:
                    if "not modified" in exc.message.lower():
                        done = 1
                    # otherwise (too old to edit, deleted): send it as a new message below
            for index in range(done, len(pieces)):
                last = index == len(pieces) - 1
                async with self.limiter.slot(str(chat_id), group):
                    sent = await self.bot.send_message(chat_id, pieces[index], reply_markup=markup if last else None)
                message_id = str(sent.message_id)
                if row.id:
                    self._progress[row.id] = index + 1
            for attachment in payload.get("attachments") or []:
                file = BufferedInputFile(base64.b64decode(attachment["data"]), filename=attachment["filename"])
                async with self.limiter.slot(str(chat_id), group):
                    if attachment["kind"] == "photo":
                        sent = await self.bot.send_photo(chat_id, file, caption=attachment.get("caption"))
                    else:
                        sent = await self.bot.send_document(chat_id, file, caption=attachment.get("caption"))
                message_id = str(sent.message_id)
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


class DatabaseUnavailable(Exception):
    """Updates could not be handled because the database is unavailable; nothing was stored."""


@dataclass
class _Batch:
    """The transaction a batch of updates is handled in, the replies it queued, and those of
    them this channel sends."""

    session: AsyncSession
    replies: list[OutboxMessage] = field(default_factory=list)
    held: list[OutboxMessage] = field(default_factory=list)
    known: Known = field(default_factory=dict)


_batch: ContextVar[_Batch | None] = ContextVar("telegram_batch", default=None)


def _together_safe(update: Update) -> bool:
    """Messages and button presses; a removal or a group's upgrade opens its own transaction."""
    if update.message is not None:
        return update.message.migrate_to_chat_id is None
    return update.callback_query is not None


def _sender(update: Update) -> str:
    if update.message is not None and update.message.from_user is not None:
        return str(update.message.from_user.id)
    if update.callback_query is not None:
        return str(update.callback_query.from_user.id)
    return ""


def _chat_key(update: Update) -> str:
    if update.message:
        return str(update.message.chat.id)
    if update.callback_query and update.callback_query.message:
        return str(update.callback_query.message.chat.id)
    if update.my_chat_member:
        return str(update.my_chat_member.chat.id)
    return f"update:{update.update_id}"


def _private_commands(locale: str) -> list[tuple[str, str]]:
    if locale == "en":
        return [("report", "report"), ("gap", "gap"), ("status", "status"), ("missing", "missing"),
                ("summary", "summary"), ("language", "language"), ("cancel", "cancel"), ("help", "help")]
    return [("baocao", "report"), ("chitieu", "gap"), ("tinhhinh", "status"), ("chuanop", "missing"),
            ("tonghop", "summary"), ("ngonngu", "language"), ("huy", "cancel"), ("help", "help")]


def _group_commands(locale: str) -> list[tuple[str, str]]:
    if locale == "en":
        return [("summary", "summary"), ("missing", "missing"), ("status", "status"), ("help", "help")]
    return [("tonghop", "summary"), ("chuanop", "missing"), ("tinhhinh", "status"), ("help", "help")]


def _admin_commands() -> list[tuple[str, str]]:
    return [("khonglienlac", "unreachable"), ("lich", "schedule")]
