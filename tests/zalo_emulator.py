"""An emulator of the Zalo Bot Platform's HTTP API (docs: bot.zaloplatforms.com/docs), served over
loopback HTTP so that tests drive the real adapter (bot/channels/zalo.py) through real requests.

What it does as the platform documents it: `POST /bot{token}/{method}` with a JSON body, answered
`{"ok": true, "result": ...}` or `{"ok": false, "error_code": N, "description": "..."}`; getMe;
getUpdates, long polling that returns one update per call (a single object, no offsets: an update
returned is gone) and answers "Request timeout" when nothing came within `timeout` seconds (a
string); setWebhook / deleteWebhook / getWebhookInfo, with webhook delivery carrying
`X-Bot-Api-Secret-Token`, and getUpdates refused while a webhook is set; sendMessage (text of 1-2,000
characters), sendPhoto (the photo is a URL the platform fetches: what is not an image is refused),
sendChatAction, sendSticker. Ids are strings.

What tests inject: users' messages (text, image, sticker, unsupported), the same update twice,
errors (429 with retry_after, 5xx), dropped connections (before or after the call is performed),
blocked users, rate limits.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
MAX_TEXT = 2000
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"RIFF")
SECRET_HEADER = "X-Bot-Api-Secret-Token"


class ApiError(Exception):
    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Call:
    method: str
    params: JSON
    at: float
    status: int = 0
    description: str | None = None


@dataclass
class Sent:
    method: str  # sendMessage | sendPhoto | sendSticker
    chat_id: str
    message_id: str
    text: str | None = None
    photo_url: str | None = None
    photo: bytes | None = None
    caption: str | None = None


@dataclass
class _Fault:
    method: str  # lower case; "*" for any
    error: ApiError
    times: int


@dataclass
class _RateLimit:
    per_second: int
    per_chat_per_second: float
    chat_burst: int
    overall: deque[float] = field(default_factory=deque)
    chats: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, chat_id: str, now: float) -> int | None:
        """Seconds to wait (429) or None, counting this send when it fits."""
        while self.overall and self.overall[0] <= now - 1.0:
            self.overall.popleft()
        chat = self.chats.setdefault(chat_id, deque())
        span = self.chat_burst / self.per_chat_per_second
        while chat and chat[0] <= now - span:
            chat.popleft()
        if len(self.overall) >= self.per_second or len(chat) >= self.chat_burst:
            return 1
        self.overall.append(now)
        chat.append(now)
        return None


class ZaloEmulator:
    def __init__(self, token: str = "1234567890:zalo-TEST-secret", *, account_name: str = "dtbot",
                 can_join_groups: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.account_name = account_name
        self.can_join_groups = can_join_groups
        self.clock = clock
        self.calls: list[Call] = []
        self.sent: list[Sent] = []
        self.actions: list[tuple[str, str]] = []  # (chat id, action) of sendChatAction
        self.webhook: JSON | None = None  # {"url", "secret_token"}
        self.webhook_statuses: list[int] = []
        self.blocked: set[str] = set()
        self.names: dict[str, str] = {}
        self.groups: set[str] = set()
        self._queue: deque[JSON] = deque()
        self._arrived = asyncio.Event()
        self._changed = asyncio.Event()
        self._faults: list[_Fault] = []
        self._dropped: list[list[Any]] = []  # [method, performed, times]
        self._limit: _RateLimit | None = None
        self._deliveries: set[asyncio.Task[int]] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.media: dict[str, bytes] = {}  # pictures users sent, served at {base_url}/media/{name}

    # ---------------------------------------------------------------- life

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/media/{name}", self._media)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> ZaloEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---------------------------------------------------------------- what users do

    def _update(self, event_name: str, user_id: str, chat_id: str | None, group: bool, **message: Any) -> JSON:
        chat = chat_id or user_id
        if group:
            self.groups.add(chat)
        name = self.names.setdefault(user_id, f"User {user_id}")
        return {"event_name": event_name, "message": {
            "message_id": message.pop("message_id", None) or uuid.uuid4().hex,
            "date": int(time.time() * 1000),
            "from": {"id": user_id, "display_name": name, "is_bot": False},
            "chat": {"id": chat, "chat_type": "GROUP" if group else "PRIVATE"},
            **message,
        }}

    def user_message(self, user_id: str, text: str, *, chat_id: str | None = None, group: bool = False,
                     message_id: str | None = None) -> JSON:
        """A user writes; the update goes to the webhook if one is set, else waits for getUpdates."""
        update = self._update("message.text.received", user_id, chat_id, group, text=text, message_id=message_id)
        self.push(update)
        return update

    def user_image(self, user_id: str, content: bytes | None = None, caption: str = "", *,
                   group: bool = False) -> JSON:
        """A user sends a picture; with `content`, the platform serves it at the update's
        photo_url (as Zalo's CDN does) for the bot to download."""
        url = "https://example.invalid/p.jpg"
        if content is not None:
            name = f"{uuid.uuid4().hex}.jpg"
            self.media[name] = content
            url = f"{self.base_url}/media/{name}"
        update = self._update("message.image.received", user_id, None, group, photo_url=url, caption=caption)
        self.push(update)
        return update

    async def _media(self, request: web.Request) -> web.Response:
        content = self.media.get(request.match_info["name"])
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="image/jpeg")

    def user_sticker(self, user_id: str) -> JSON:
        update = self._update("message.sticker.received", user_id, None, False, sticker="abc123")
        self.push(update)
        return update

    def push(self, update: JSON) -> None:
        """Deliver an update (again, for a duplicate): to the webhook, or into the polling queue."""
        if self.webhook is not None:
            task = asyncio.ensure_future(self.deliver_webhook(update))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
            return
        self._queue.append(update)
        self._arrived.set()
        self._notify()

    def block(self, user_id: str) -> None:
        self.blocked.add(user_id)

    # ---------------------------------------------------------------- faults

    def fail_next(self, method: str, error_code: int, *, times: int = 1, description: str | None = None,
                  retry_after: int | None = None) -> None:
        """The next `times` calls of `method` ("*": any) answer this error, with the HTTP status
        of the same number, and are not performed."""
        defaults = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
                    503: "Service Unavailable"}
        if error_code == 429 and retry_after is None:
            retry_after = 1
        error = ApiError(error_code, description or defaults.get(error_code, "Error"), retry_after)
        self._faults.append(_Fault(method.lower(), error, times))

    def drop_connections(self, method: str, times: int = 1, *, performed: bool = True) -> None:
        """The next `times` calls of `method` have their connection dropped: after being performed
        (the message went out, the bot never hears so) or, with performed=False, before."""
        self._dropped.append([method.lower(), performed, times])

    def rate_limit(self, per_second: int = 10, per_chat_per_second: float = 1.0, *, chat_burst: int = 3) -> None:
        """sendMessage / sendPhoto / sendSticker beyond these answer 429 (measured by `clock`)."""
        self._limit = _RateLimit(per_second, per_chat_per_second, chat_burst)

    # ---------------------------------------------------------------- reading what happened

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def texts_to(self, chat_id: str) -> list[str]:
        return [s.text or s.caption or "" for s in self.sent if s.chat_id == chat_id]

    @property
    def pending(self) -> int:
        return len(self._queue)

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

    async def wait_for_sent(self, count: int, timeout: float = 10.0) -> list[Sent]:
        await self._wait(lambda: len(self.sent) >= count, timeout,
                         lambda: f"expected {count} sent, got {len(self.sent)}: {[s.text for s in self.sent]}; "
                                 f"last calls {[(c.method, c.status) for c in self.calls[-6:]]}")
        return self.sent

    async def wait_until_consumed(self, timeout: float = 10.0) -> None:
        """Every queued update was handed out by getUpdates (handling may still run)."""
        await self._wait(lambda: not self._queue, timeout, lambda: f"{len(self._queue)} updates still queued")

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        await self._wait(lambda: len(self.calls_of(method)) >= count, timeout,
                         lambda: f"expected {count} {method} calls, got {len(self.calls_of(method))}")
        return self.calls_of(method)

    async def wait_for_deliveries(self) -> list[int]:
        """Every webhook delivery started has been answered; their statuses."""
        while self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)
        return self.webhook_statuses

    # ---------------------------------------------------------------- webhook

    async def deliver_webhook(self, update: JSON, *, url: str | None = None, secret: str | None = None,
                              send_secret: bool = True) -> int:
        """POST an update to the webhook with the stored secret (or `secret`); the HTTP status."""
        stored = self.webhook or {}
        target = url or stored.get("url")
        if not target:
            raise ValueError("no webhook set")
        token = secret if secret is not None else stored.get("secret_token")
        headers = {SECRET_HEADER: token} if send_secret and token else {}
        async with aiohttp.ClientSession() as client, client.post(target, json=update, headers=headers) as response:
            status = response.status
        self.webhook_statuses.append(status)
        self._notify()
        return status

    # ---------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            call = Call(method, {}, self.clock(), 401, "Unauthorized")
            self.calls.append(call)
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        try:
            params = await request.json() if request.body_exists else {}
        except ValueError:
            params = None
        if not isinstance(params, dict):
            return web.json_response(ApiError(400, "Bad Request: body is not a JSON object").body(), status=400)
        if self._take_dropped(method.lower(), performed=False) and request.transport is not None:
            request.transport.abort()  # dropped on the way: never performed
            return web.Response(status=499)
        status, body = await self._call(method, params)
        if status == 200 and self._take_dropped(method.lower(), performed=True) and request.transport is not None:
            request.transport.abort()  # performed, but the answer is lost
        return web.json_response(body, status=status)

    def _take_dropped(self, key: str, *, performed: bool) -> bool:
        for dropped in self._dropped:
            if dropped[0] in (key, "*") and dropped[1] == performed:
                dropped[2] -= 1
                if dropped[2] == 0:
                    self._dropped.remove(dropped)
                return True
        return False

    def _take_fault(self, key: str) -> None:
        for fault in self._faults:
            if fault.method in (key, "*"):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                raise fault.error

    async def _call(self, method: str, params: JSON) -> tuple[int, JSON]:
        call = Call(method, params, self.clock())
        self.calls.append(call)
        handler = {
            "getme": self._get_me, "getupdates": self._get_updates, "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook, "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message, "sendphoto": self._send_photo,
            "sendchataction": self._send_chat_action, "sendsticker": self._send_sticker,
        }.get(method.lower())
        try:
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._take_fault(method.lower())
            result = await handler(params)
        except ApiError as error:
            call.status, call.description = error.error_code, error.description
            self._notify()
            return error.error_code, error.body()
        call.status = 200
        self._notify()
        return 200, {"ok": True, "result": result}

    async def _get_me(self, _params: JSON) -> JSON:
        return {"id": self.bot_id, "account_name": self.account_name, "account_type": "BASIC",
                "can_join_groups": self.can_join_groups}

    async def _get_updates(self, params: JSON) -> JSON:
        if self.webhook is not None:
            raise ApiError(400, "Bad Request: getUpdates is not available while a webhook is set")
        try:
            timeout = float(params.get("timeout", "30"))
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: invalid timeout") from None
        if not self._queue:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
        if not self._queue:
            raise ApiError(408, "Request timeout")
        update = self._queue.popleft()
        return update

    async def _set_webhook(self, params: JSON) -> JSON:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: invalid url")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret}
        # Whatever waited for getUpdates now goes to the webhook.
        while self._queue:
            self.push(self._queue.popleft())
        return {"url": url, "updated_at": int(time.time() * 1000)}

    async def _delete_webhook(self, _params: JSON) -> JSON:
        self.webhook = None
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _get_webhook_info(self, _params: JSON) -> JSON:
        return {"url": (self.webhook or {}).get("url", ""), "updated_at": int(time.time() * 1000)}

    def _chat(self, params: JSON) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str) or not chat_id:
            raise ApiError(400, "Bad Request: chat_id must be a non-empty string")
        if chat_id not in self.names and chat_id not in self.groups:
            raise ApiError(404, "Not Found: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        if self._limit is not None and (wait := self._limit.check(chat_id, self.clock())) is not None:
            raise ApiError(429, "Too Many Requests", retry_after=wait)
        return chat_id

    def _record(self, method: str, chat_id: str, **fields: Any) -> JSON:
        message_id = f"m{next(self._ids)}"
        self.sent.append(Sent(method, chat_id, message_id, **fields))
        return {"message_id": message_id, "date": int(time.time() * 1000)}

    async def _send_message(self, params: JSON) -> JSON:
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MAX_TEXT:
            raise ApiError(400, f"Bad Request: text must be 1-{MAX_TEXT} characters")
        chat_id = self._chat(params)
        return self._record("sendMessage", chat_id, text=text)

    async def _send_photo(self, params: JSON) -> JSON:
        url, caption = params.get("photo"), params.get("caption")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "Bad Request: photo must be a URL")
        chat_id = self._chat(params)
        try:
            async with aiohttp.ClientSession() as client, client.get(url) as response:
                content = await response.read()
                ok = response.status == 200 and response.content_type.startswith("image/")
        except aiohttp.ClientError:
            raise ApiError(400, "Bad Request: the photo could not be fetched") from None
        if not ok or not content.startswith(IMAGE_MAGIC):
            raise ApiError(400, "Bad Request: the photo is not an image")
        return self._record("sendPhoto", chat_id, photo_url=url, photo=content, caption=caption)

    async def _send_sticker(self, params: JSON) -> JSON:
        chat_id = self._chat(params)
        return self._record("sendSticker", chat_id, text=None)

    async def _send_chat_action(self, params: JSON) -> bool:
        if params.get("action") not in ("typing", "upload_photo"):
            raise ApiError(400, "Bad Request: unknown action")
        chat_id = self._chat(params)
        self.actions.append((chat_id, str(params["action"])))
        return True
