"""A small Telegram Bot API server for tests, talked to by the real aiogram ``Bot`` over loopback.

The emulator is an aiohttp server on ``127.0.0.1`` (a free port chosen by the OS). Point a bot at it
and everything the bot does goes through aiogram's real request encoding and response decoding::

    async with TelegramEmulator(token="123456:TEST-token", username="dtbot_test_bot") as emu:
        bot = emu.make_bot()                      # or Bot(token, session=AiohttpSession(api=...))
        emu.user_message(42, "/start CODE")       # an update the bot will get from getUpdates
        await emu.wait_for_sent(1)                # the bot answered
        assert emu.messages_to(42) == ["Xin chào"]

What it does, in the order a request meets it:

* ``POST``/``GET`` ``/bot{token}/{method}`` with a query string, url-encoded form, multipart form
  (files) or a JSON body. aiogram sends every scalar as a form field holding its JSON encoding
  (``chat_id=42``, ``show_alert=true``), strings raw, and objects (``reply_markup``, ``scope``,
  ``commands``, ``allowed_updates``) as JSON text; fields whose value is ``None`` or ``""`` are left out.
* A wrong token answers 401, an unknown method 404; faults queued with :meth:`fail_next` come next.
* Sends check what Telegram checks and tests care about: the chat exists, the bot is not blocked or
  removed, the group was not migrated, text is 1..4096 characters after trimming, captions are at
  most 1024, callback data is 1..64 bytes, and, when :meth:`rate_limit` is on, flood limits (429
  with ``retry_after``). The bot sends plain text only, so that is all the emulator renders: a
  send with ``parse_mode`` or entities is refused and fails the test when the emulator closes.
* Results are Telegram objects that aiogram's types parse; errors are
  ``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with HTTP status N.

Tests inject updates (:meth:`user_message`, :meth:`group_message`, :meth:`press_button`, ...), read
what the bot did (:attr:`sent`, :attr:`calls`, :attr:`callback_answers`, :attr:`commands`) and wait
without sleeping (:meth:`wait_for_sent`, :meth:`wait_until_updates_consumed`). The only real waiting
inside the emulator is the ``getUpdates`` long poll, and it wakes as soon as an update arrives.
Flood limits read an injectable ``clock`` so tests can move time by hand.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

__all__ = [
    "ApiError",
    "Call",
    "CallbackAnswer",
    "EmulatorSession",
    "SentRecord",
    "TelegramEmulator",
    "scope_key",
]

JSON = dict[str, Any]

MAX_TEXT: Final = 4096
MAX_CAPTION: Final = 1024
MAX_CALLBACK_DATA: Final = 64
MAX_DOCUMENT_BYTES: Final = 50 * 1024 * 1024
MAX_PHOTO_BYTES: Final = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES: Final = 20 * 1024 * 1024  # getFile: what a bot may download
DEFAULT_UPDATE_TYPES_EXCLUDED: Final = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
#: Methods that count against flood limits when :meth:`TelegramEmulator.rate_limit` is on.
RATE_LIMITED_METHODS: Final = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagereplymarkup"}
)
CHAT_ACTIONS: Final = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
    }
)

# How form fields are decoded: aiogram JSON-encodes everything that is not a string.
_JSON_FIELDS: Final = frozenset(
    {
        "reply_markup", "commands", "scope", "entities", "caption_entities", "allowed_updates",
        "link_preview_options", "reply_parameters", "media",
    }
)
_INT_FIELDS: Final = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "timeout", "user_id", "cache_time", "max_connections",
        "message_thread_id", "reply_to_message_id", "from_chat_id",
    }
)
_BOOL_FIELDS: Final = frozenset(
    {
        "show_alert", "disable_notification", "protect_content", "drop_pending_updates",
        "disable_web_page_preview", "allow_sending_without_reply", "has_spoiler",
        "disable_content_type_detection", "show_caption_above_media", "for_channels",
    }
)


# --------------------------------------------------------------------------------------------
# Records tests read
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One API request as the emulator understood it."""

    method: str
    """The method name as requested (Telegram treats it case-insensitively)."""
    params: JSON
    """Decoded parameters (ints, booleans and JSON objects decoded; files as ``attach://`` strings)."""
    time: float
    """The emulator's ``clock()`` when the request arrived."""
    status: int = 0
    """HTTP status answered (200 or the ``error_code``); 0 while the request is still open."""
    description: str | None = None
    """The error description when the request failed."""


@dataclass(frozen=True)
class SentRecord:
    """A message the bot sent or edited (sendMessage, sendPhoto, sendDocument, editMessageText)."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    """Text exactly as the bot sent it (markup included); ``None`` for media."""
    caption: str | None
    """Caption exactly as the bot sent it; ``None`` for text messages and media without one."""
    reply_markup: JSON | None
    time: float
    """The emulator's ``clock()`` when the message was accepted."""
    params: JSON
    plain: str | None = None
    """Text or caption as the user sees it: surrounding whitespace trimmed."""
    filename: str | None = None
    """Uploaded file name (multipart upload), for sendPhoto/sendDocument."""
    size: int | None = None
    """Uploaded file size in bytes, for sendPhoto/sendDocument."""
    file_id: str | None = None
    edit: bool = False
    """True for editMessageText records."""


@dataclass(frozen=True)
class CallbackAnswer:
    """An answerCallbackQuery call."""

    callback_query_id: str
    user_id: int
    data: str | None
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    time: float


class ApiError(Exception):
    """A Telegram error answer: HTTP status ``error_code`` and ``{"ok": false, ...}``."""

    def __init__(self, error_code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str, **parameters: Any) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters or None)


class EmulatorSession(AiohttpSession):
    """aiogram's aiohttp session, pointed at an emulator, closing without the 250 ms TLS grace sleep.

    ``AiohttpSession.close`` sleeps a quarter second so TLS transports can shut down; loopback HTTP
    has none, and a suite of short tests would otherwise spend most of its time there.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(api=TelegramAPIServer.from_base(base_url), **kwargs)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def scope_key(scope: Mapping[str, Any] | None) -> str:
    """The key :attr:`TelegramEmulator.commands` files a BotCommandScope under.

    ``"default"``, ``"all_private_chats"``, ``"all_group_chats"``, ``"all_chat_administrators"``,
    ``"chat:<chat_id>"``, ``"chat_administrators:<chat_id>"``, ``"chat_member:<chat_id>:<user_id>"``.
    """
    if not scope:
        return "default"
    kind = str(scope.get("type", "default"))
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"chat_member:{scope.get('chat_id')}:{scope.get('user_id')}"
    return kind


# --------------------------------------------------------------------------------------------
# Text: the bot sends plain text, so the emulator renders nothing else
# --------------------------------------------------------------------------------------------

# Markup Telegram would render (or reject); the emulator refuses it rather than guess at it.
_MARKUP_FIELDS: Final = ("parse_mode", "entities", "caption_entities")


def _utf16_positions(text: str) -> list[int]:
    positions = [0]
    for char in text:
        positions.append(positions[-1] + (2 if ord(char) > 0xFFFF else 1))
    return positions


_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}(?![\w@])")


def detect_entities(text: str) -> list[JSON]:
    """The ``bot_command`` and ``mention`` entities Telegram attaches to a user's text."""
    positions = _utf16_positions(text)
    found: list[JSON] = []
    taken: list[range] = []
    for match in _COMMAND.finditer(text):
        taken.append(range(match.start(), match.end()))
        found.append({"type": "bot_command", "offset": positions[match.start()],
                      "length": positions[match.end()] - positions[match.start()]})
    for match in _MENTION.finditer(text):
        if any(match.start() in span for span in taken):
            continue
        found.append({"type": "mention", "offset": positions[match.start()],
                      "length": positions[match.end()] - positions[match.start()]})
    found.sort(key=lambda entity: entity["offset"])
    return found


# --------------------------------------------------------------------------------------------
# Flood limits
# --------------------------------------------------------------------------------------------


@dataclass
class _RateLimiter:
    """Telegram's published limits: ~30 messages/s overall, ~1/s per chat, 20/min per group.

    The per-chat limit is a token bucket (``chat_burst`` at once, then ``per_chat_per_second``);
    the others are sliding windows. Only accepted requests use capacity.
    """

    per_second: int
    per_chat_per_second: float
    chat_burst: int
    per_group_per_minute: int
    overall: deque[float] = field(default_factory=deque)
    buckets: dict[int, tuple[float, float]] = field(default_factory=dict)  # chat -> (tokens, at)
    groups: dict[int, deque[float]] = field(default_factory=dict)

    def check(self, chat_id: int, is_group: bool, now: float) -> int | None:
        """Seconds to wait (≥ 1) if this send exceeds a limit, else ``None`` (and it is counted)."""
        waits: list[float] = []
        while self.overall and self.overall[0] <= now - 1.0:
            self.overall.popleft()
        if len(self.overall) >= self.per_second:
            waits.append(self.overall[0] + 1.0 - now)
        tokens, at = self.buckets.get(chat_id, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - at) * self.per_chat_per_second)
        if tokens < 1.0:
            waits.append((1.0 - tokens) / self.per_chat_per_second)
        window = self.groups.setdefault(chat_id, deque()) if is_group else None
        if window is not None:
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= self.per_group_per_minute:
                waits.append(window[0] + 60.0 - now)
        if waits:
            self.buckets[chat_id] = (tokens, now)
            return max(1, math.ceil(max(waits) - 1e-9))
        self.overall.append(now)
        self.buckets[chat_id] = (tokens - 1.0, now)
        if window is not None:
            window.append(now)
        return None


@dataclass
class _Fault:
    method: str  # lower-case method name or "*"
    error: ApiError
    remaining: int


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes | None
    file_name: str | None = None


_UNSET: Final[Any] = object()


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


class TelegramEmulator:
    """A Telegram Bot API server on loopback for one bot token. See the module docstring."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        username: str = "dtbot_test_bot",
        *,
        first_name: str = "DT Bot",
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        first_update_id: int = 100_001,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """
        :param token: the bot token requests must carry (others answer 401 Unauthorized).
        :param username: the bot's username, returned by getMe and used in mentions.
        :param clock: monotonic seconds for flood limits and record times; tests can pass a fake.
        :param wall_clock: Unix seconds for message ``date`` fields.
        :param first_update_id: the update_id given to the first injected update.
        """
        self.token = token
        self.username = username
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id, "is_bot": True, "first_name": first_name, "username": username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }
        self.clock = clock
        self.wall_clock = wall_clock
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        """``http://127.0.0.1:PORT`` once started."""

        # what tests read
        self.sent: list[SentRecord] = []
        self.refused_markup: list[Call] = []
        """Sends with markup (parse_mode, entities): refused with 400, and the context exit fails."""
        self.calls: list[Call] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        """Bot commands by ``(scope_key(scope), language_code or "")``."""
        self.updates: dict[int, JSON] = {}
        """Every injected update by update_id (delivered or not)."""
        self.too_many_requests = 0
        """How many sends the flood limits (:meth:`rate_limit`) answered with 429."""
        self.latency = 0.0
        """Seconds each send or edit takes on the network, half before Telegram performs it and half
        after (a real round trip: the benchmarks' rate limits are kept over real delays)."""
        self.webhook: JSON | None = None
        """``{"url", "secret_token", "allowed_updates", "max_connections"}`` after setWebhook."""

        # state
        self._next_update_id = first_update_id
        self._pending: dict[int, JSON] = {}
        self._redelivered: set[int] = set()
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._members: dict[tuple[int, int], str] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._blocked: set[int] = set()
        self._removed: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._queries: dict[str, JSON] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._lost: list[list[Any]] = []  # [method, performed, times] (lose_answers)
        self._limiter: _RateLimiter | None = None
        self._closing = False
        self._changed = asyncio.Event()
        self._methods: dict[str, Callable[[JSON, dict[str, _StoredFile]], Awaitable[Any]]] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendchataction": self._send_chat_action,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getfile": self._get_file,
            "close": self._true,
            "logout": self._true,
        }

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start serving on the loopback interface; sets :attr:`base_url`."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"

    async def close(self) -> None:
        """Wake open long polls and stop the server."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        await self.close()
        if self.refused_markup and exc_type is None:
            raise AssertionError(f"the bot sent markup the emulator does not render: {self.refused_markup}")

    def session(self, **kwargs: Any) -> EmulatorSession:
        """An aiogram session pointed at this emulator (see :class:`EmulatorSession`)."""
        return EmulatorSession(self.base_url, **kwargs)

    def make_bot(self, **kwargs: Any) -> Bot:
        """A real aiogram ``Bot`` with this emulator's token, talking to it. Close its session."""
        return Bot(token=self.token, session=self.session(), **kwargs)

    # ---------------------------------------------------------------- chats and users

    def add_chat(
        self,
        chat_id: int,
        type: str | None = None,
        title: str | None = None,
        *,
        first_name: str = "An",
        username: str | None = None,
    ) -> JSON:
        """Make a chat known (sends to unknown chats fail with "chat not found"); returns its Chat.

        ``type`` defaults from the id: positive → private, ``-100…`` → supergroup, else group.
        """
        if type is None:
            type = "private" if chat_id > 0 else ("supergroup" if chat_id <= -1_000_000_000_000 else "group")
        chat: JSON = {"id": chat_id, "type": type}
        if type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = title or "BCĐ"
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        self._removed.pop(chat_id, None)
        return chat

    def _user(self, user_id: int, first_name: str | None = None, username: str | None = None,
              language_code: str | None = None) -> JSON:
        user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": first_name or "An"}
        if first_name:
            user["first_name"] = first_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        return dict(user)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers for a user: creator, administrator, member, left or kicked."""
        self._members[(chat_id, user_id)] = status

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to their private chat answer 403."""
        self._blocked.add(user_id)

    def unblock(self, user_id: int) -> None:
        self._blocked.discard(user_id)

    def bot_message(self, chat_id: int, message_id: int) -> JSON | None:
        """A message in its current state (after edits), as Telegram would send it back."""
        message = self._messages.get((chat_id, message_id))
        return json.loads(json.dumps(message)) if message is not None else None

    # ---------------------------------------------------------------- injecting updates

    def push_update(self, update: JSON) -> int:
        """Queue a raw update; gives it the next update_id unless it has one. Returns the update_id."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self.updates[update["update_id"]] = update
        self._pending[update["update_id"]] = update
        self._notify()
        return int(update["update_id"])

    def _new_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _incoming(self, chat: JSON, user: JSON, text: str | None, entities: list[JSON] | None,
                  **fields: Any) -> JSON:
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "date": int(self.wall_clock()),
            "chat": dict(chat),
            "from": user,
            **fields,
        }
        if text is not None:
            message["text"] = text
            found = detect_entities(text) if entities is None else entities
            if found:
                message["entities"] = found
        return message

    def user_message(
        self,
        user_id: int,
        text: str,
        first_name: str = "An",
        username: str | None = None,
        chat_id: int | None = None,
        *,
        language_code: str | None = None,
        entities: list[JSON] | None = None,
    ) -> int:
        """A user writes to the bot, in private unless ``chat_id`` says otherwise; returns the update_id.

        Commands (``/start CODE``) and mentions get their entities unless ``entities`` is given.
        """
        chat_id = chat_id if chat_id is not None else user_id
        chat = self._chats.get(chat_id) or self.add_chat(chat_id, first_name=first_name, username=username)
        user = self._user(user_id, first_name, username, language_code)
        if chat["type"] != "private":
            self._members.setdefault((chat_id, user_id), "member")
        return self.push_update({"message": self._incoming(chat, user, text, entities)})

    def user_document(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        caption: str | None = None,
        chat_id: int | None = None,
        *,
        first_name: str = "An",
        mime_type: str | None = None,
    ) -> int:
        """A user sends a file; the bot can getFile it and download ``content``."""
        chat_id = chat_id if chat_id is not None else user_id
        chat = self._chats.get(chat_id) or self.add_chat(chat_id, first_name=first_name)
        user = self._user(user_id, first_name)
        stored = self._store_file("documents", content, filename)
        document = {
            "file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": filename,
            "mime_type": mime_type or mimetypes.guess_type(filename)[0] or "application/octet-stream",
            "file_size": len(content),
        }
        message = self._incoming(chat, user, None, None, document=document)
        if caption:
            message["caption"] = caption
        if chat["type"] != "private":
            self._members.setdefault((chat_id, user_id), "member")
        return self.push_update({"message": message})

    def user_photo(
        self,
        user_id: int,
        content: bytes,
        caption: str | None = None,
        chat_id: int | None = None,
        *,
        first_name: str = "An",
    ) -> int:
        """A user sends a photo (Telegram recompresses it to JPEG, several sizes; the bot can
        getFile the largest and download ``content``)."""
        chat_id = chat_id if chat_id is not None else user_id
        chat = self._chats.get(chat_id) or self.add_chat(chat_id, first_name=first_name)
        user = self._user(user_id, first_name)
        small = self._store_file("photos", content[:64], "small.jpg")
        stored = self._store_file("photos", content, "photo.jpg")
        photo = [
            {"file_id": small.file_id, "file_unique_id": small.file_unique_id, "width": 90, "height": 90,
             "file_size": len(small.content or b"")},
            {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": 1280, "height": 960,
             "file_size": len(content)},
        ]
        message = self._incoming(chat, user, None, None, photo=photo)
        if caption:
            message["caption"] = caption
        if chat["type"] != "private":
            self._members.setdefault((chat_id, user_id), "member")
        return self.push_update({"message": message})

    def group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        title: str = "BCĐ",
        entities: list[JSON] | None = None,
        *,
        first_name: str = "An",
        username: str | None = None,
        language_code: str | None = None,
    ) -> int:
        """A user writes in a group (``-100…`` ids are supergroups); commands and mentions get entities."""
        chat = self._chats.get(chat_id)
        if chat is None or chat.get("type") == "private":
            chat = self.add_chat(chat_id, None, title)
        user = self._user(user_id, first_name, username, language_code)
        self._members.setdefault((chat_id, user_id), "member")
        return self.push_update({"message": self._incoming(chat, user, text, entities)})

    def press_button(
        self, user_id: int, message_id: int, data: str, chat_id: int | None = None, *, check: bool = True
    ) -> int:
        """The user presses an inline button of bot message ``message_id``: a callback_query update.

        With ``check`` the message must currently show a button with this ``callback_data``.
        """
        chat_id = chat_id if chat_id is not None else user_id
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise KeyError(f"no bot message {message_id} in chat {chat_id}")
        if check:
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            offered = [button.get("callback_data") for row in rows for button in row]
            if data not in offered:
                raise ValueError(f"message {message_id} in chat {chat_id} has no button {data!r}; it has {offered}")
        query_id = f"{self.bot_id}{next(self._query_ids):010d}"
        query: JSON = {
            "id": query_id,
            "from": self._user(user_id),
            "message": json.loads(json.dumps(message)),
            "chat_instance": str(abs(chat_id) * 7919 % 10**12),
            "data": data,
        }
        self._queries[query_id] = query
        return self.push_update({"callback_query": query})

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> int:
        """A group becomes a supergroup: the service messages Telegram sends in both chats.

        Returns the update_id of the old chat's ``migrate_to_chat_id`` message (the new chat's
        ``migrate_from_chat_id`` message follows it). Sends to the old id then answer 400 with
        ``parameters.migrate_to_chat_id`` (aiogram raises TelegramMigrateToChat).
        """
        old = self._chats.get(old_chat_id) or self.add_chat(old_chat_id, "group")
        new = self.add_chat(new_chat_id, "supergroup", old.get("title"))
        admin = self._user(1, "Admin")
        update_id = self.push_update(
            {"message": self._incoming(old, admin, None, None, migrate_to_chat_id=new_chat_id)}
        )
        self.push_update({"message": self._incoming(new, admin, None, None, migrate_from_chat_id=old_chat_id)})
        self._migrated[old_chat_id] = new_chat_id
        return update_id

    def _member(self, status: str, user: JSON) -> JSON:
        member: JSON = {"status": status, "user": user}
        if status == "administrator":
            member.update(
                can_be_edited=False, is_anonymous=False, can_manage_chat=True, can_delete_messages=True,
                can_manage_video_chats=True, can_restrict_members=True, can_promote_members=False,
                can_change_info=True, can_invite_users=True, can_post_stories=False, can_edit_stories=False,
                can_delete_stories=False, can_send_welcome_messages=False, can_pin_messages=True,
            )
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _my_chat_member(self, chat: JSON, by: JSON, old: str, new: str) -> int:
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": dict(chat), "from": by, "date": int(self.wall_clock()),
                    "old_chat_member": self._member(old, dict(self.bot_user)),
                    "new_chat_member": self._member(new, dict(self.bot_user)),
                }
            }
        )

    def bot_added(self, chat_id: int, by_user_id: int, title: str = "BCĐ", *, status: str = "member") -> int:
        """Someone adds the bot to a group (my_chat_member left → ``status``)."""
        chat = self.add_chat(chat_id, None, title)
        self._members.setdefault((chat_id, by_user_id), "administrator")
        return self._my_chat_member(chat, self._user(by_user_id), "left", status)

    def bot_removed(self, chat_id: int, by_user_id: int | None = None, *, kicked: bool = True) -> int:
        """The bot is removed (or, in a private chat, blocked): a my_chat_member update.

        Groups: administrator/member → kicked (or left with ``kicked=False``), later sends answer 403
        "bot was kicked from the group chat" / "bot is not a member of the group chat".
        Private chats: member → kicked, i.e. the user blocked the bot.
        """
        chat = self._chats.get(chat_id) or self.add_chat(chat_id)
        private = chat["type"] == "private"
        by = self._user(by_user_id if by_user_id is not None else (chat_id if private else 1))
        old = "member" if private else self._members.get((chat_id, self.bot_id), "administrator")
        new = "kicked" if kicked or private else "left"
        if private:
            self._blocked.add(chat_id)
        else:
            self._removed[chat_id] = new
        self._members[(chat_id, self.bot_id)] = new
        return self._my_chat_member(chat, by, old, new)

    def redeliver(self, update_id: int) -> None:
        """Put an already delivered update back: the next getUpdates returns it again, same update_id,
        whatever offset the bot confirmed (as after a crash before the offset was saved)."""
        update = self.updates[update_id]
        self._pending[update_id] = update
        self._redelivered.add(update_id)
        self._notify()

    # ---------------------------------------------------------------- faults and limits

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        retry_after: int = 3,
        times: int = 1,
        description: str | None = None,
        *,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` (``"*"``: any method) fail with ``error_code``.

        429 answers carry ``parameters.retry_after`` (aiogram raises TelegramRetryAfter).
        """
        defaults = {
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
            429: f"Too Many Requests: retry after {retry_after}", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        }
        parameters: JSON = {}
        if error_code == 429:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        error = ApiError(error_code, description or defaults.get(error_code, "Error"), parameters or None)
        self._faults.append(_Fault(method.lower(), error, times))

    def lose_answers(self, method: str, times: int = 1, *, performed: bool = True) -> None:
        """The next ``times`` successful calls of ``method`` (``"*"``: any) are performed, then
        their connection is dropped before the answer (aiogram raises TelegramNetworkError): a
        send whose outcome the bot cannot know. With ``performed=False`` the next ``times``
        requests are dropped unread instead (the same error for the bot; nothing happened)."""
        self._lost.append([method.lower(), performed, times])

    def _take_lost(self, key: str, *, performed: bool) -> bool:
        for lost in self._lost:
            if lost[0] in (key, "*") and lost[1] == performed:
                lost[2] -= 1
                if lost[2] == 0:
                    self._lost.remove(lost)
                return True
        return False

    def fail_with_5xx(self, method: str, times: int = 1, *, error_code: int = 502,
                      description: str = "Bad Gateway") -> None:
        """The next ``times`` calls answer ``{"ok": false, "error_code": 502, ...}`` with HTTP 502
        (aiogram raises TelegramServerError)."""
        self.fail_next(method, error_code, times=times, description=description)

    def rate_limit(
        self,
        per_second: int = 30,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        *,
        chat_burst: int = 3,
    ) -> None:
        """Turn on flood limits for sends and edits (see :data:`RATE_LIMITED_METHODS`).

        Over a limit the answer is 429 "Too Many Requests: retry after N" with ``retry_after`` N
        (whole seconds, at least 1) until capacity frees up by ``clock``.
        """
        self._limiter = _RateLimiter(per_second, per_chat_per_second, chat_burst, per_group_per_minute)

    def no_rate_limit(self) -> None:
        self._limiter = None

    # ---------------------------------------------------------------- reading what happened

    def sent_to(self, chat_id: int) -> list[SentRecord]:
        return [record for record in self.sent if record.chat_id == chat_id]

    def messages_to(self, chat_id: int) -> list[str]:
        """Texts (or captions) sent to a chat in order; edits are separate entries (``edit=True``
        in :attr:`sent`). Media without a caption are left out."""
        texts = []
        for record in self.sent_to(chat_id):
            value = record.text if record.text is not None else record.caption
            if value is not None:
                texts.append(value)
        return texts

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by a getUpdates offset, in order."""
        return [self._pending[key] for key in sorted(self._pending)]

    # ---------------------------------------------------------------- waiting

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, ready: Callable[[], bool], timeout: float, explain: Callable[[], str]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(explain())
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> list[SentRecord]:
        """Return :attr:`sent` once it holds at least ``count`` records."""

        def explain() -> str:
            recent = ", ".join(f"{call.method}→{call.status}" for call in self.calls[-8:]) or "none"
            return (
                f"expected {count} sent message(s) within {timeout}s, got {len(self.sent)}: "
                f"{[record.text or record.caption for record in self.sent]}; "
                f"pending updates {sorted(self._pending)}; last calls: {recent}"
            )

        await self._wait(lambda: len(self.sent) >= count, timeout, explain)
        return self.sent

    async def wait_until_updates_consumed(self, timeout: float = 5.0) -> None:
        """Return once every injected update was confirmed by a later getUpdates offset (or dropped
        as a type the bot does not poll for). Confirmation is not completion: handlers may still run."""
        await self._wait(
            lambda: not self._pending,
            timeout,
            lambda: f"updates {sorted(self._pending)} still unconfirmed after {timeout}s; "
            f"last getUpdates: {[c.params for c in self.calls_of('getUpdates')[-1:]]}",
        )

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Return the calls of ``method`` once there are at least ``count`` of them."""
        await self._wait(
            lambda: len(self.calls_of(method)) >= count,
            timeout,
            lambda: f"expected {count} {method} call(s) within {timeout}s, got {len(self.calls_of(method))}",
        )
        return self.calls_of(method)

    # ---------------------------------------------------------------- webhook delivery

    async def deliver_webhook(
        self, update: JSON | int, url: str | None = None, secret_token: str | None = _UNSET
    ) -> int:
        """POST an update (or an injected update by id) to the bot's webhook; returns the HTTP status.

        ``url`` and ``secret_token`` default to what setWebhook stored; the token travels in
        ``X-Telegram-Bot-Api-Secret-Token``. A method in the reply body (aiogram's
        "reply into webhook", multipart or JSON) is executed as Telegram would and recorded.
        """
        payload = self.updates[update] if isinstance(update, int) else update
        stored = self.webhook or {}
        target = url or stored.get("url")
        if not target:
            raise ValueError("no webhook url: pass url= or have the bot call setWebhook")
        token = stored.get("secret_token") if secret_token is _UNSET else secret_token
        headers = {"X-Telegram-Bot-Api-Secret-Token": token} if token else {}
        async with aiohttp.ClientSession() as client, client.post(target, json=payload, headers=headers) as response:
            status = response.status
            method, params, files = await self._read_webhook_reply(response)
        if status == 200 and method:
            await self._call(method, params, files)
        return status

    async def _read_webhook_reply(
        self, response: aiohttp.ClientResponse
    ) -> tuple[str | None, JSON, dict[str, _StoredFile]]:
        raw: dict[str, Any] = {}
        files: dict[str, _StoredFile] = {}
        if response.content_type.startswith("multipart/"):
            reader = aiohttp.MultipartReader.from_response(response)
            while True:
                part = await reader.next()
                if part is None:
                    break
                if isinstance(part, aiohttp.BodyPartReader) and part.name:
                    data = bytes(await part.read(decode=True))
                    if part.filename is not None:
                        files[part.name] = self._upload(part.filename, data)
                    else:
                        raw[part.name] = data.decode("utf-8")
        elif response.content_type == "application/json":
            body = await response.json()
            if isinstance(body, dict):
                raw.update(body)
        method = raw.pop("method", None)
        return (str(method) if method else None), self._decode(raw), files

    # ---------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
            self.calls.append(Call(method, {}, self.clock(), 401, error.description))
            return web.json_response(error.body(), status=401)
        try:
            params, files = await self._read_request(request)
        except ApiError as error:
            self.calls.append(Call(method, {}, self.clock(), error.error_code, error.description))
            return web.json_response(error.body(), status=error.error_code)
        if self._take_lost(method.lower(), performed=False) and request.transport is not None:
            request.transport.abort()  # dropped on the way: never performed
            return web.Response(status=499)
        sending = self.latency > 0 and method.lower() in RATE_LIMITED_METHODS
        if sending:
            await asyncio.sleep(self.latency / 2)
        status, body = await self._call(method, params, files)
        if sending:
            await asyncio.sleep(self.latency / 2)
        if status == 200 and self._take_lost(method.lower(), performed=True) and request.transport is not None:
            request.transport.abort()  # performed, but the bot never hears so
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path and stored.content is not None:
                return web.Response(body=stored.content, content_type="application/octet-stream")
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _read_request(self, request: web.Request) -> tuple[JSON, dict[str, _StoredFile]]:
        raw: dict[str, Any] = dict(request.query)
        files: dict[str, _StoredFile] = {}
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad("can't parse JSON request body") from exc
                if not isinstance(body, dict):
                    raise _bad("the request body must be a JSON object")
                raw.update(body)
            elif request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                while True:
                    part = await reader.next()
                    if part is None:
                        break
                    if not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                        continue
                    data = bytes(await part.read(decode=True))
                    if part.filename is not None:
                        files[part.name] = self._upload(part.filename, data)
                    else:
                        raw[part.name] = data.decode("utf-8")
            else:
                raw.update(await request.post())
        return self._decode(raw), files

    @staticmethod
    def _decode(raw: Mapping[str, Any]) -> JSON:
        """Form fields are strings; give them the types Telegram reads them as."""
        params: JSON = {}
        for name, value in raw.items():
            if isinstance(value, str):
                if name in _JSON_FIELDS:
                    try:
                        value = json.loads(value)
                    except ValueError as exc:
                        raise _bad(f"can't parse {name} JSON object") from exc
                elif name in _INT_FIELDS:
                    try:
                        value = int(value)
                    except ValueError:
                        if name != "chat_id":
                            raise _bad(f"invalid {name} specified") from None
                elif name in _BOOL_FIELDS:
                    value = value.lower() in ("true", "1")
            params[name] = value
        return params

    async def _call(self, method: str, params: JSON, files: dict[str, _StoredFile]) -> tuple[int, JSON]:
        """Run one API method; returns (HTTP status, body). Records it in :attr:`calls`."""
        call = Call(method, params, self.clock())
        self.calls.append(call)
        key = method.lower()
        try:
            handler = self._methods.get(key)
            self._take_fault(key)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params, files)
        except ApiError as error:
            call.status, call.description = error.error_code, error.description
            self._notify()
            return error.error_code, error.body()
        call.status = 200
        self._notify()
        return 200, {"ok": True, "result": result}

    def _take_fault(self, key: str) -> None:
        for fault in self._faults:
            if fault.method in (key, "*") and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                raise fault.error

    # ---------------------------------------------------------------- shared checks

    def _chat(self, chat_id: Any) -> JSON:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            for chat in self._chats.values():
                if chat.get("username") and f"@{chat['username']}".lower() == chat_id.lower():
                    return chat
            raise _bad("chat not found")
        chat = self._chats.get(int(chat_id))
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _writable_chat(self, params: JSON) -> JSON:
        """The chat a send goes to, after block, membership and migration checks."""
        chat = self._chat(params.get("chat_id"))
        chat_id = chat["id"]
        if chat["type"] == "private" and chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self._migrated:
            raise _bad(
                "group chat was upgraded to a supergroup chat", migrate_to_chat_id=self._migrated[chat_id]
            )
        if chat_id in self._removed:
            kind = "supergroup chat" if chat["type"] == "supergroup" else f"{chat['type']} chat"
            if self._removed[chat_id] == "kicked":
                raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        return chat

    def _throttle(self, chat: JSON, method: str) -> None:
        """Flood limits (when on), checked once a send is otherwise valid."""
        if self._limiter is None or method not in RATE_LIMITED_METHODS:
            return
        wait = self._limiter.check(chat["id"], chat["type"] != "private", self.clock())
        if wait is not None:
            self.too_many_requests += 1
            raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    @staticmethod
    def _check_markup(markup: Any) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard markup JSON object")
        actions = ("url", "callback_data", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                if not any(name in button for name in actions):
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA:
                    raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _plain(self, params: JSON, key: str) -> str | None:
        """Text or caption as the user sees it (Telegram trims surrounding whitespace).

        The bot sends plain text only. Markup is refused (and fails the test when the emulator
        closes), so a change that starts sending it is noticed, not shown as unrendered text.
        """
        if any(params.get(name) for name in _MARKUP_FIELDS):
            self.refused_markup.append(self.calls[-1])
            raise _bad("can't parse entities: the emulator renders plain text only")
        value = params.get(key)
        return None if value is None else str(value).strip()

    def _text(self, params: JSON) -> str:
        plain = self._plain(params, "text")
        if not plain:
            raise _bad("message text is empty")
        if len(plain) > MAX_TEXT:
            raise _bad("message is too long")
        return plain

    def _caption(self, params: JSON) -> str | None:
        plain = self._plain(params, "caption")
        if plain is not None and len(plain) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return plain or None

    def _outgoing(self, chat: JSON, **fields: Any) -> JSON:
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "date": int(self.wall_clock()),
            "chat": dict(chat),
            "from": dict(self.bot_user),
        }
        message.update({name: value for name, value in fields.items() if value not in (None, [])})
        markup = message.get("reply_markup")
        if markup is not None and "inline_keyboard" not in markup:
            del message["reply_markup"]  # only inline keyboards come back in Message.reply_markup
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _record(self, method: str, message: JSON, params: JSON, **fields: Any) -> None:
        self.sent.append(
            SentRecord(
                method=method,
                chat_id=message["chat"]["id"],
                message_id=message["message_id"],
                text=params.get("text") if method in ("sendMessage", "editMessageText") else None,
                caption=params.get("caption"),
                reply_markup=params.get("reply_markup"),
                time=self.clock(),
                params=params,
                **fields,
            )
        )
        self._notify()

    # ---------------------------------------------------------------- files

    def _upload(self, filename: str, content: bytes) -> _StoredFile:
        return _StoredFile("", "", "", content, filename)

    def _store_file(self, folder: str, content: bytes | None, filename: str | None) -> _StoredFile:
        number = next(self._file_ids)
        suffix = "." + filename.rsplit(".", 1)[-1] if filename and "." in filename else ""
        stored = _StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:08d}{self.bot_id}",
            file_unique_id=f"AgAD{number:08d}",
            file_path=f"{folder}/file_{number}{suffix}",
            content=content,
            file_name=filename,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, params: JSON, files: dict[str, _StoredFile], name: str, folder: str,
                    limit: int) -> tuple[_StoredFile, str | None, int | None]:
        """The file a send refers to: an upload (``attach://``), a known file_id or an URL."""
        value = params.get(name)
        if value is None and name in files:
            value = f"attach://{name}"
        if not value:
            raise _bad(f"there is no {name} in the request")
        value = str(value)
        if value.startswith("attach://"):
            upload = files.get(value[len("attach://"):])
            if upload is None or upload.content is None:
                raise _bad(f"there is no {name} in the request")
            if len(upload.content) > limit:
                raise ApiError(413, "Request Entity Too Large")
            stored = self._store_file(folder, upload.content, upload.file_name)
            return stored, upload.file_name, len(upload.content)
        if value in self._files:
            return self._files[value], None, None
        if value.startswith(("http://", "https://")):
            return self._store_file(folder, None, value.rsplit("/", 1)[-1]), None, None
        raise _bad("wrong file identifier/HTTP URL specified")

    # ---------------------------------------------------------------- methods

    async def _true(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        return True

    async def _get_me(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(self, params: JSON, files: dict[str, _StoredFile]) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = params.get("offset")
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0, int(params.get("timeout") or 0))
        if "allowed_updates" in params:
            self._allowed_updates = list(params["allowed_updates"] or [])
        if offset is not None:
            self._confirm(int(offset))
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older long poll still waiting is terminated by this one
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                    "make sure that only one bot instance is running")
            batch = self._take(limit)
            if batch or self._closing:
                return batch
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            keep = sorted(self._pending)[offset:]
            for update_id in list(self._pending):
                if update_id not in keep:
                    del self._pending[update_id]
        else:
            for update_id in list(self._pending):
                if update_id < offset and update_id not in self._redelivered:
                    del self._pending[update_id]
        self._notify()

    def _take(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        batch: list[JSON] = []
        for update_id in sorted(self._pending):
            update = self._pending[update_id]
            kind = next((key for key in update if key != "update_id"), "")
            wanted = kind not in DEFAULT_UPDATE_TYPES_EXCLUDED if not allowed else kind in allowed
            if not wanted:  # never delivered to this bot
                del self._pending[update_id]
                self._redelivered.discard(update_id)
                self._notify()
                continue
            if len(batch) < limit:
                batch.append(update)
                self._redelivered.discard(update_id)
        return batch

    async def _delete_webhook(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
            self._redelivered.clear()
            self._notify()
        return True

    async def _set_webhook(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params, files)
        match = re.match(r"^https://[^/:]+(?::(\d+))?(/.*)?$", url)
        if not match:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if match.group(1) and match.group(1) not in ("443", "80", "88", "8443"):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "max_connections": params.get("max_connections", 40),
        }
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        info: JSON = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    async def _send_message(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat = self._writable_chat(params)
        plain = self._text(params)
        markup = self._check_markup(params.get("reply_markup"))
        self._throttle(chat, "sendmessage")
        message = self._outgoing(chat, text=plain, reply_markup=markup)
        self._record("sendMessage", message, params, plain=plain)
        return message

    def _editable(self, params: JSON) -> tuple[JSON, JSON]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not emulated")
        chat = self._writable_chat(params)
        message = self._messages.get((chat["id"], int(params.get("message_id") or 0)))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        return chat, message

    async def _edit_message_text(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        plain = self._text(params)
        markup = self._check_markup(params.get("reply_markup"))
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if (message["text"], message.get("reply_markup")) == (plain, inline):
            raise _bad("message is not modified: specified new message content and reply markup are exactly "
                       "the same as a current content and reply markup of the message")
        self._throttle(chat, "editmessagetext")
        message["text"] = plain
        message["edit_date"] = int(self.wall_clock())
        if inline:
            message["reply_markup"] = inline
        else:
            message.pop("reply_markup", None)
        self._record("editMessageText", message, params, plain=plain, edit=True)
        return json.loads(json.dumps(message))

    async def _edit_message_reply_markup(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat, message = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"))
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if message.get("reply_markup") == inline:
            raise _bad("message is not modified: specified new message content and reply markup are exactly "
                       "the same as a current content and reply markup of the message")
        self._throttle(chat, "editmessagereplymarkup")
        message["edit_date"] = int(self.wall_clock())
        if inline:
            message["reply_markup"] = inline
        else:
            message.pop("reply_markup", None)
        self._notify()
        return json.loads(json.dumps(message))

    async def _answer_callback_query(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self._queries.get(query_id)
        if query is None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id, user_id=query["from"]["id"], data=query.get("data"),
                text=text, show_alert=bool(params.get("show_alert")), url=params.get("url"),
                cache_time=params.get("cache_time"), time=self.clock(),
            )
        )
        self._notify()
        return True

    async def _send_photo(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat = self._writable_chat(params)
        caption = self._caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        stored, filename, size = self._input_file(params, files, "photo", "photos", MAX_PHOTO_BYTES)
        self._throttle(chat, "sendphoto")
        total = size if size is not None else len(stored.content or b"")
        photo = [
            {"file_id": f"{stored.file_id}_s", "file_unique_id": f"{stored.file_unique_id}s",
             "width": 90, "height": 67, "file_size": min(total, 1500)},
            {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
             "width": 1280, "height": 960, "file_size": total},
        ]
        message = self._outgoing(chat, photo=photo, caption=caption, reply_markup=markup)
        self._record("sendPhoto", message, params, plain=caption, filename=filename, size=size,
                     file_id=stored.file_id)
        return message

    async def _send_document(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat = self._writable_chat(params)
        caption = self._caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        stored, filename, size = self._input_file(params, files, "document", "documents", MAX_DOCUMENT_BYTES)
        self._throttle(chat, "senddocument")
        name = filename or stored.file_name
        document: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if name:
            document["file_name"] = name
            document["mime_type"] = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if stored.content is not None:
            document["file_size"] = len(stored.content)
        message = self._outgoing(chat, document=document, caption=caption, reply_markup=markup)
        self._record("sendDocument", message, params, plain=caption, filename=filename, size=size,
                     file_id=stored.file_id)
        return message

    async def _get_file(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.content is not None and len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")  # the Bot API serves bots files up to 20 MB
        result: JSON = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                        "file_path": stored.file_path}
        if stored.content is not None:
            result["file_size"] = len(stored.content)
        return result

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if isinstance(scope, dict) and "chat_id" in scope:
            self._chat(scope["chat_id"])
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("LANG_CODE_INVALID")
        return scope_key(scope), language

    async def _set_my_commands(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, _StoredFile]) -> list[JSON]:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _send_chat_action(self, params: JSON, files: dict[str, _StoredFile]) -> bool:
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._writable_chat(params)
        return True

    async def _get_chat(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat = self._chat(params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }

    async def _get_chat_member(self, params: JSON, files: dict[str, _StoredFile]) -> JSON:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id") or 0)
        if user_id == self.bot_id:
            default = "member" if chat["type"] == "private" else "administrator"
            return self._member(self._members.get((chat["id"], user_id), default), dict(self.bot_user))
        if user_id not in self._users:
            raise _bad("user not found")
        default = "member" if chat["type"] == "private" and chat["id"] == user_id else "left"
        return self._member(self._members.get((chat["id"], user_id), default), dict(self._users[user_id]))
