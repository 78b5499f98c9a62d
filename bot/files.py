"""Generated charts and spreadsheets served at {PUBLIC_BASE_URL}/files/{token}/{name} (issue 14):
Zalo sends pictures by URL only, and has no documents.

Each file gets its own unguessable token (256 bits), expires after DAYS, and lives in the database
(models/files.py), so every process and the next start serve it. Nothing is served without its
token and name; the answer to anything else is the same 404, and tokens are never logged (the
server runs without an access log).
"""
from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from handlers.context import SessionFactory
from handlers.events import Attachment
from models import files

__all__ = ["DAYS", "FileServer"]

DAYS = 7
ROUTE = "/files/{token}/{name}"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(filename: str) -> str:
    """A file name that needs no escaping in a URL: letters, digits, dots, dashes."""
    name = _SAFE_NAME.sub("-", filename).strip("-.") or "file"
    return name[:200]


class FileServer:
    """Publishes attachments (the Zalo channel's FilePublisher) and serves them."""

    days = DAYS

    def __init__(self, sessions: SessionFactory, base_url: str, clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    async def publish(self, attachment: Attachment) -> str:
        """Store the file; its public URL."""
        name = safe_name(attachment.filename)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        async with self.sessions() as session:
            token = await files.store(session, name=name, content_type=kind, content=attachment.content,
                                      now=self.clock(), days=self.days)
            await session.commit()
        return f"{self.base_url}/files/{token}/{quote(name)}"

    def routes(self) -> list[tuple[str, str, Callable[[web.Request], object]]]:
        return [("GET", ROUTE, self.serve)]

    async def serve(self, request: web.Request) -> web.StreamResponse:
        token, name = request.match_info["token"], request.match_info["name"]
        if not _TOKEN.fullmatch(token):
            return web.Response(status=404, text="Not Found")
        async with self.sessions() as session:
            found = await files.find(session, token, name, self.clock())
        if found is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found.content, content_type=found.content_type, headers={
            "Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{found.name}"', "Referrer-Policy": "no-referrer",
        })
