"""The Zalo Bot Platform's HTTP API, as far as the bot uses it: `POST {base}/bot{token}/{method}`
with a JSON body, answered `{"ok": true, "result": ...}` or `{"ok": false, "error_code": N,
"description": "..."}` (docs: bot.zaloplatforms.com/docs).

A small aiohttp client rather than a library: no maintained, typed async client for the Bot
Platform exists (the packages named after Zalo are for Official Accounts, personal accounts, or
other frameworks' plugins), and the API is a handful of JSON calls. Errors are sorted into what the
callers act on: a refused token, a platform error (with retry_after on 429), and a network failure
that says whether the request may have been performed. No exception carries the request's URL,
which holds the token.
"""
from __future__ import annotations

import json
from typing import Any

import aiohttp

__all__ = ["ZaloApi", "ZaloError", "ZaloNetworkError"]

# A send that takes longer than this is counted lost (and retried once, later).
CALL_TIMEOUT = 30.0


class ZaloError(Exception):
    """The platform answered with an error."""

    def __init__(self, error_code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    @property
    def unauthorized(self) -> bool:
        return self.error_code == 401

    @property
    def timed_out(self) -> bool:
        """getUpdates' answer when nothing came within its timeout: not a failure."""
        return self.error_code == 408 or "timeout" in self.description.lower()

    @property
    def transient(self) -> bool:
        """Worth trying again later: flood control, the platform's own trouble."""
        return self.error_code == 429 or self.error_code >= 500 or self.timed_out


class ZaloNetworkError(Exception):
    """No answer. `sent_nothing`: the connection was never made, so the call was not performed;
    otherwise (a timeout, a dropped connection) it may have been."""

    def __init__(self, kind: str, *, sent_nothing: bool) -> None:
        super().__init__(kind)
        self.sent_nothing = sent_nothing


class ZaloApi:
    def __init__(self, token: str, base_url: str, *, timeout: float = CALL_TIMEOUT) -> None:
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def bot_id(self) -> str:
        return self._token.split(":", 1)[0]

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # Connections to the platform kept open; as many at once as a burst of sends needs.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None) -> Any:
        """The method's `result`; ZaloError or ZaloNetworkError otherwise."""
        url = f"{self.base_url}/bot{self._token}/{method}"
        limit = aiohttp.ClientTimeout(total=timeout or self.timeout)
        try:
            async with self._client().post(url, json=params or {}, timeout=limit) as response:
                raw = await response.read()
                status, retry_header = response.status, response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError:
            raise ZaloNetworkError("ClientConnectorError", sent_nothing=True) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ZaloNetworkError(type(exc).__name__, sent_nothing=False) from None
        return _result(status, raw, retry_header)


    async def download(self, url: str, limit: int) -> bytes:
        """A file a person sent (the platform gives its URL); ZaloError 413 past `limit` bytes."""
        if not url.startswith(("https://", "http://")):
            raise ZaloError(400, "not a web address")
        try:
            async with self._client().get(url, timeout=aiohttp.ClientTimeout(total=self.timeout * 4)) as response:
                if response.status != 200:
                    raise ZaloError(response.status, f"HTTP {response.status}")
                if (response.content_length or 0) > limit:
                    raise ZaloError(413, "too big")
                content = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    content.extend(chunk)
                    if len(content) > limit:  # a server that announced less, or nothing
                        raise ZaloError(413, "too big")
                return bytes(content)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ZaloNetworkError(type(exc).__name__, sent_nothing=True) from None


def _result(status: int, raw: bytes, retry_header: str | None) -> Any:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("ok") is True and status < 400:
        return body.get("result")
    if not isinstance(body, dict):  # a proxy's error page, an empty answer
        raise ZaloError(status if status >= 400 else 502, f"HTTP {status}: not an API answer",
                        _seconds(retry_header))
    code = body.get("error_code")
    code = code if isinstance(code, int) and code > 0 else (status if status >= 400 else 400)
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    retry_after = _seconds(parameters.get("retry_after")) or _seconds(retry_header)
    return _raise(code, str(body.get("description") or ""), retry_after)


def _raise(code: int, description: str, retry_after: float | None) -> Any:
    raise ZaloError(code, description, retry_after)


def _seconds(value: object) -> float | None:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if 0 < seconds < 3600 else None
