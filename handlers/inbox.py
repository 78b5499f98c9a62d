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
import logging
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

from handlers.context import Ctx, Deps
from handlers.dispatch import route
from handlers.events import Event, Handling, HandlingOutcome, Reply
from locales import translator
from models import outbox
from models.availability import database_unavailable, write_conflict
from models.kinds import Urgency
from models.session import Session
from models.tables import OutboxMessage

__all__ = ["PARALLEL", "Deps", "Inbound", "Outcome", "Unavailable", "handle", "handle_all"]

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
