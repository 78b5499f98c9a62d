"""The one way in, for every channel: what arrived, as Inbound items, becomes replies queued in the
outbox.

One rule: each event is one unit of work. Its update's key is recorded, its handler runs and its
replies are queued in one transaction, committed together or not at all; an update delivered again
(a crash before the channel confirmed it, a webhook retry, another process) finds its key and
changes nothing. A chat's events are handled in order, different chats side by side, so one
leader's summary never holds up another officer's figure. The channel only turns its updates into
Events, and renders and delivers what is queued.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

from handlers.context import Ctx, Deps
from handlers.dispatch import route
from handlers.events import Event, Handling, HandlingOutcome, Reply
from locales import translator
from models import intake, outbox
from models.availability import database_unavailable, write_conflict
from models.kinds import Urgency
from models.session import Session
from models.tables import OutboxMessage

__all__ = ["PARALLEL", "Deps", "Inbound", "Intake", "Outcome", "Unavailable", "handle", "handle_all"]

log = logging.getLogger(__name__)

# Chats handled side by side: within a connection pool's reach, so none waits for a connection.
PARALLEL = 8
CONFLICT_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Inbound:
    event: Event
    # The channel's id of the update (exactly once); None where nothing is delivered twice (the
    # console), and then nothing is recorded.
    key: str | None = None


@dataclass
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    # Queued and claimed by the caller's process (`claim_by`): it sends them now.
    held: list[OutboxMessage] = field(default_factory=list)
    # Replies that could not be queued (the database failed after the handler did): send as they are.
    unsent: list[Reply] = field(default_factory=list)
    duplicate: bool = False  # handled before; nothing was done
    unavailable: bool = False  # the database was unavailable: nothing was stored, it must come again


class Unavailable(Exception):
    """The database is unavailable: nothing of the event was stored; the channel must not confirm
    the update, so that it comes again."""


async def handle_all(deps: Deps, items: Sequence[Inbound], *, claim_by: str | None = None,
                     parallel: int = PARALLEL) -> list[Outcome]:
    """Handle a channel's batch: each chat's events in order, chats side by side. An event that
    could not be stored because the database is unavailable, and the events of its chat after it,
    come back `unavailable`; the others are handled (their replies are the caller's to send)."""
    by_chat: dict[tuple[str, str], list[int]] = {}
    for index, item in enumerate(items):
        by_chat.setdefault((item.event.channel, item.event.chat_id), []).append(index)
    outcomes: list[Outcome | None] = [None] * len(items)
    gate = asyncio.Semaphore(parallel)

    async def in_order(indexes: list[int]) -> None:
        async with gate:
            for index in indexes:
                try:
                    outcomes[index] = await handle(deps, items[index], claim_by=claim_by)
                except Unavailable:
                    return  # this one and the chat's later ones wait for the database, in order

    await asyncio.gather(*(in_order(indexes) for indexes in by_chat.values()))
    return [outcome or Outcome(unavailable=True) for outcome in outcomes]


async def handle(deps: Deps, item: Inbound, *, claim_by: str | None = None) -> Outcome:
    """One event, one unit of work. A failure other than the database's is logged (without the
    message: it may hold personal data) and answered with an apology."""
    handling = Handling(item.event, item.key)
    with deps.watch(handling) if deps.watch is not None else nullcontext():
        try:
            outcome = await _first_to_commit(deps, item, claim_by)
        except Exception as exc:
            if database_unavailable(exc):
                handling.outcome = HandlingOutcome.FAILED
                raise Unavailable() from exc
            # Whatever this event read is suspect now: plan views are built again from the database.
            deps.plan_views.clear()
            log.exception("failed to handle a %s event (chat kind %s)", item.event.channel, item.event.chat_kind)
            handling.outcome = HandlingOutcome.FAILED
            return await _apologise(deps, item, claim_by)
        if outcome.duplicate:
            handling.outcome = HandlingOutcome.DUPLICATE
        return outcome


async def _first_to_commit(deps: Deps, item: Inbound, claim_by: str | None) -> Outcome:
    """The unit of work, done again from the start when another transaction wrote the same thing
    first (another process storing the next version of the same figure): nothing of the failed
    attempt was kept, and the next one sees the other's result."""
    retries = CONFLICT_RETRIES
    while True:
        try:
            return await _unit_of_work(deps, item, claim_by)
        except Exception as exc:
            if retries == 0 or not write_conflict(exc):
                raise
            retries -= 1


async def _unit_of_work(deps: Deps, item: Inbound, claim_by: str | None) -> Outcome:
    event = item.event
    async with deps.sessions() as session:
        if item.key is not None and item.key in await outbox.processed_among(session, event.channel, [item.key]):
            return Outcome(duplicate=True)  # the cheap check; the key's insert below is the sure one
        ctx = Ctx(deps, session, event, event.at or deps.clock())
        await route(ctx)
        held = _queue(session, event, item.key, ctx.replies, ctx, claim_by)
        if not await _record(session, event, item.key, ctx):
            return Outcome(duplicate=True)
        await session.commit()
    return Outcome(replies=ctx.replies, held=held)


async def _record(session: Session, event: Event, key: str | None, ctx: Ctx) -> bool:
    """Record the update as handled, last, so that a transaction that only reads (a summary being
    drawn) takes no write lock until its end. False when another delivery of it was handled
    meanwhile (the transaction is rolled back)."""
    return key is None or await outbox.record_processed(session, event.channel, key, ctx.now)


def _queue(session: Session, event: Event, key: str | None, replies: list[Reply], ctx: Ctx,
           claim_by: str | None) -> list[OutboxMessage]:
    """The replies, as outbox rows in this transaction; those for the event's own channel are
    claimed by `claim_by` (the caller sends them right after the commit)."""
    reply_key = key or uuid.uuid4().hex
    edit_message_id = event.message_id if event.choice else None
    rows = []
    for number, reply in enumerate(replies):
        channel, chat_id = reply.to or (event.channel, event.chat_id)
        mine = reply.to is None
        row = outbox.new_message(
            key=f"reply:{event.channel}:{reply_key}:{number}", channel=channel, chat_id=chat_id,
            payload=reply.to_payload(edit_message_id), now=ctx.now,
            person_id=ctx.person.id if mine and ctx.person is not None else None,
            claim_by=claim_by if channel == event.channel else None,
            # The person waits for the answer; a message this causes elsewhere (a leader told) does not.
            priority=Urgency.REPLY if mine else Urgency.ROUTINE,
        )
        rows.append(row)
    outbox.add_all(session, rows)
    return [row for row in rows if row.claimed_by is not None]


async def _apologise(deps: Deps, item: Inbound, claim_by: str | None) -> Outcome:
    """The apology for an event whose handling failed, queued with the update's key so that it too
    is sent once; sent as it is if even that cannot be stored."""
    event = item.event
    apology = Reply(translator(deps.default_locale)("error-internal"), locale=deps.default_locale)
    now = event.at or deps.clock()
    try:
        async with deps.sessions() as session:
            ctx = Ctx(deps, session, event, now)
            held = _queue(session, event, item.key, [apology], ctx, claim_by)
            if not await _record(session, event, item.key, ctx):
                return Outcome(duplicate=True)
            await session.commit()
    except Exception as exc:
        if database_unavailable(exc):
            raise Unavailable() from exc
        log.exception("could not queue the apology for a failed %s event", event.channel)
        return Outcome(replies=[apology], unsent=[apology])
    return Outcome(replies=[apology], held=held)


# --- intake: taking updates without waiting for their handling ----------------------------------

Deliver = Callable[[Inbound, Outcome], Awaitable[None]]
Busy = Callable[[list[Event]], Awaitable[None]]


class Intake:
    """Updates taken from a channel and handled in the background, so that taking the next ones
    never waits for the handling (a chairman's summary, an export, a database lock) nor for the
    sending. `accept` writes the batch's events to the intake journal in one statement, after which
    the channel may confirm them to the messenger (a crash loses nothing: `recover` handles what
    was written and not handled, at the next start); then each event is one unit of work
    (`handle`), each chat's in the order they came, across batches, PARALLEL chats side by side.
    While the database is away, a chat's next event waits and is tried again, in order; its
    replies go to `deliver` once handled. At most `backlog` events wait at a time: beyond that
    `room` holds the channel's next fetch, so memory stays bounded."""

    WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # tries again while the database is unavailable
    FORGET_EVERY = 200  # handled updates whose journal rows are deleted together

    def __init__(self, deps: Deps, channel: str, *, deliver: Deliver, busy: Busy,
                 claim_by: Callable[[], str | None] = lambda: None, parallel: int = PARALLEL,
                 backlog: int = 2000, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.deps = deps
        self.channel = channel
        self.deliver = deliver
        self.busy = busy
        self.claim_by = claim_by
        self.backlog = backlog
        self.sleep = sleep
        self._gate = asyncio.Semaphore(parallel)
        self._chats: dict[str, asyncio.Task[None]] = {}  # each chat's last event, handled or waiting
        self._waiting = 0
        self._fewer = asyncio.Event()
        self._handled: list[str] = []  # keys whose journal rows are still to delete
        self._tasks: set[asyncio.Task[None]] = set()
        self.outage = False

    @property
    def waiting(self) -> int:
        return self._waiting

    async def accept(self, items: Sequence[Inbound]) -> bool:
        """Write the events to the journal and start handling them; False (nothing written) when
        the database is unavailable: then the channel must not confirm them."""
        now = self.deps.clock()
        # Each event keeps the moment it came (a figure sent before a deadline is on time however
        # long the queue), and is written as such.
        items = [Inbound(replace(item.event, at=item.event.at or now), item.key) for item in items]
        try:
            async with self.deps.sessions() as session:
                await intake.journal(session, self.channel, [(item.key, item.event.to_payload())
                                                             for item in items if item.key is not None], now)
                await session.commit()
        except Exception as exc:
            if database_unavailable(exc):
                return False
            raise
        self.submit(items)
        return True

    async def recover(self) -> int:
        """Handle what an earlier run wrote and did not handle (a crash, a stop mid-backlog), before
        anything new: how many there were."""
        async with self.deps.sessions() as session:
            await intake.forget(session, self.channel)
            left = await intake.waiting(session, self.channel)
            await session.commit()
        self.submit([Inbound(Event.from_payload(event), key) for key, event in left])
        return len(left)

    def submit(self, items: Sequence[Inbound]) -> None:
        for item in items:
            chat = item.event.chat_id
            task = asyncio.create_task(self._in_turn(self._chats.get(chat), item))
            self._chats[chat] = task
            self._waiting += 1
            task.add_done_callback(lambda done, chat=chat: self._done(chat, done))

    def _done(self, chat: str, task: asyncio.Task[None]) -> None:
        if self._chats.get(chat) is task:
            del self._chats[chat]
        self._waiting -= 1
        self._fewer.set()

    async def room(self) -> None:
        """Wait while the backlog is full."""
        while self._waiting >= self.backlog:
            self._fewer.clear()
            await self._fewer.wait()

    async def settle(self) -> None:
        """Wait for every event taken so far to be handled, and forget their journal rows."""
        while self._chats:
            await asyncio.wait(list(self._chats.values()))
        await self._forget()

    async def _in_turn(self, previous: asyncio.Task[None] | None, item: Inbound) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        async with self._gate:
            outcome = await self._handled_at_last(item)
        try:
            await self.deliver(item, outcome)
        except Exception:  # the sender's trouble; the replies are queued and go out later
            log.exception("delivering the replies to a %s event failed", self.channel)
        if item.key is not None:
            self._handled.append(item.key)
            if len(self._handled) >= self.FORGET_EVERY:
                task = asyncio.create_task(self._forget())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _handled_at_last(self, item: Inbound) -> Outcome:
        """Handled, however long the database is away: this chat's later events wait behind it."""
        told = False
        for attempt in itertools.count():
            try:
                outcome = await handle(self.deps, item, claim_by=self.claim_by())
            except Unavailable:
                if not self.outage:  # one line per outage, not one per event
                    log.warning("the database is unavailable; %s updates wait for it, in order", self.channel)
                    self.outage = True
                if not told:
                    told = True
                    await self.busy([item.event])
                await self.sleep(self.WAITS[min(attempt, len(self.WAITS) - 1)])
                continue
            if self.outage:
                log.warning("the database is back; waiting %s updates are being handled", self.channel)
                self.outage = False
            return outcome
        raise AssertionError("unreachable")

    async def _forget(self) -> None:
        keys, self._handled = self._handled, []
        if not keys:
            return
        try:
            async with self.deps.sessions() as session:
                await intake.forget(session, self.channel, keys)
                await session.commit()
        except Exception as exc:  # left rows are harmless: `recover` skips what was handled
            log.warning("could not clear %d handled %s updates from the intake (%s)", len(keys), self.channel,
                        type(exc).__name__)
