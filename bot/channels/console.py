"""The terminal channel: a person typing to the bot, line by line, through the same conversation
code as Telegram and Zalo. Choices are numbered lines answered with their number."""
from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.channels.sender import OutboxSender, SendResult
from handlers.events import Event, FetchError, FileTooBig, IncomingFile, Reply
from handlers.inbox import Deps, Inbound, handle_all
from locales import translator
from models.kinds import ChatKind
from models.tables import OutboxMessage

CHANNEL = "console"


def render(reply: Reply) -> str:
    lines = [reply.text]
    lines.extend(f"  {number}. {choice.label}" for number, choice in enumerate(reply.choices, start=1))
    for attachment in reply.attachments:
        lines.append(f"  [{attachment.kind}: {attachment.filename}]")
    return "\n".join(lines)


def render_payload(payload: dict) -> str:  # type: ignore[type-arg]
    """A queued message (outbox payload) as the console shows it."""
    return render(Reply.from_payload(payload).reply)


class ConsoleFiles:
    """The console's files are paths on this machine (handlers' FileFetcher)."""

    async def fetch(self, file: IncomingFile, limit: int) -> bytes:
        path = Path(file.ref)
        try:
            if path.stat().st_size > limit:
                raise FileTooBig(str(path.stat().st_size))
            return await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise FetchError(type(exc).__name__) from None


class ConsoleChannel:
    """Several people may talk through one console (the demo does); each line is one event."""

    def __init__(self, deps: Deps, write: Callable[[str], None] = print, now: datetime | None = None) -> None:
        self.deps = deps
        self.write = write
        self.now = now  # replay at this instant (console --now) instead of the clock's
        self._message_ids = itertools.count(1)
        self._sender = OutboxSender(deps.sessions, CHANNEL, self.deliver, worker="console", wall_clock=deps.clock)
        deps.fetchers.setdefault(CHANNEL, ConsoleFiles())

    async def send(self, user: str, text: str | None, *, chat: str | None = None, group: bool = False,
                   mentioned: bool = False, files: tuple[Path, ...] = ()) -> list[Reply]:
        """`user` types `text` (in `chat`, a group when `group`), with `files` attached (their
        caption is the text); returns and writes the replies."""
        event = Event(
            channel=CHANNEL, chat_id=chat or user, chat_kind=ChatKind.GROUP if group else ChatKind.PRIVATE,
            sender_id=user, sender_name=user, text=text, message_id=str(next(self._message_ids)),
            chat_title=chat if group else None, mentioned=mentioned, at=self.now,
            files=tuple(IncomingFile("document", str(path), path.name, None, None) for path in files),
        )
        # The same way in as every channel: the replies are queued, then delivered (written) here.
        [outcome] = await handle_all(self.deps, [Inbound(event)], claim_by=self._sender.worker)
        if outcome.unavailable:  # nothing was stored, and a console does not send it again by itself
            outcome.unsent.append(Reply(translator(self.deps.default_locale)("error-internal")))
            outcome.replies = outcome.unsent
        await self._sender.deliver(outcome.held)
        for reply in outcome.unsent:
            self.write(f"[bot → {event.chat_id}]\n{render(reply)}")
        return outcome.replies

    async def deliver(self, row: OutboxMessage) -> SendResult:
        """Scheduled messages (prompts, reminders, the summary) queued for console users."""
        self.write(f"[bot → {row.chat_id}]\n{render_payload(row.payload)}")
        return SendResult(True)

    def sender(self) -> OutboxSender:
        return self._sender


async def run_console(deps: Deps, user: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, *,
                      now: datetime | None = None, paragraphs: bool = False) -> None:
    """Read lines until end of input; print the bot's replies. Scriptable:
    printf '/start CODE\\n6: 72,5%%\\n' | python -m bot console --user An

    With `now`, every message is handled at that instant (replaying a conversation at any moment
    of a plan's year); with `paragraphs`, a blank line ends a message, so a pasted multi-line
    report is one message as in a chat."""
    channel = ConsoleChannel(deps, write=lambda text: print(text, file=stdout, flush=True), now=now)
    loop = asyncio.get_running_loop()
    pending: list[str] = []
    while True:
        line = await loop.run_in_executor(None, stdin.readline)
        text = line.strip()
        if paragraphs and text:
            pending.append(text)
            if line:
                continue
        if paragraphs:
            text, pending = "\n".join(pending), []
        if text:
            if not stdin.isatty():
                # Echo scripted input so the transcript reads as a conversation.
                print(f"[{user}] {text}", file=stdout, flush=True)
            await channel.send(user, text)
        if not line:
            break
