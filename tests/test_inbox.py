"""The one way in (handlers/inbox.py), as every channel uses it: exactly once, replies queued with
their cause, a failure answered, chats side by side, nothing stored while the database is away."""
from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, strategies as st
from sqlalchemy import func, select

from bot.app import App
from bot.cli import import_plan_file
from handlers import report
from handlers.events import Attachment, Choice, Event, Reply
from handlers.inbox import Inbound, Unavailable, handle, handle_all
from models.tables import OutboxMessage, ProcessedUpdate, Submission
from tests.test_dialog import SMALL, Chat


@pytest.fixture
async def chat(app: App) -> Chat:
    await import_plan_file(app, SMALL)
    return Chat(app)


def said(user: str, text: str) -> Event:
    return Event(channel="console", chat_id=user, chat_kind="private", sender_id=user, sender_name=user, text=text)


async def count(app: App, model: type) -> int:
    async with app.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_an_update_handled_twice_changes_nothing_the_second_time(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    first = await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-1"), claim_by="w")
    again = await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-1"), claim_by="w")
    assert "Đã ghi chỉ tiêu 6" in first.replies[0].text and len(first.held) == 1
    assert again.duplicate and not again.replies and not again.held
    assert await count(app, Submission) == 1
    async with app.unit_of_work() as session:
        [row] = await session.scalars(select(OutboxMessage).where(OutboxMessage.key.like("reply:console:u-1:%")))
    assert row.claimed_by == "w" and row.person_id is not None  # queued with its cause, held by the caller
    assert Reply.from_payload(row.payload).reply.text == first.replies[0].text


async def test_a_failing_handler_is_answered_once_and_stores_nothing(chat: Chat, app: App,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    await chat.register("Lan", "officer", "an-sinh")

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(report, "submit", broken)
    outcome = await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-2"))
    again = await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-2"))
    assert "sự cố" in outcome.replies[0].text and not outcome.unsent  # the apology is queued, so sent once
    assert again.duplicate
    assert await count(app, Submission) == 0


async def test_a_chats_events_in_order_and_chats_side_by_side(chat: Chat, app: App,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Lan's second message waits for her first; Minh's is handled while Lan's first is held up."""
    await chat.register("Lan", "officer", "an-sinh")
    await chat.register("Minh", "officer", "mao-khe")
    release, order = asyncio.Event(), []
    submit = report.submit

    async def slow_for_lan(ctx, *args, **kwargs):  # type: ignore[no-untyped-def]
        order.append((ctx.event.sender_id, ctx.event.text))
        if ctx.event.text == "6: 10/150":
            await release.wait()
        elif ctx.event.sender_id == "Minh":
            release.set()  # reached only if Minh's event runs while Lan's first is waiting
        return await submit(ctx, *args, **kwargs)

    monkeypatch.setattr(report, "submit", slow_for_lan)
    items = [Inbound(said("Lan", "6: 10/150"), key="a"), Inbound(said("Lan", "6: 20/150"), key="b"),
             Inbound(said("Minh", "6: 30/150"), key="c")]
    # A minute at most: if Minh's event could not run while Lan's first waits, this never ends.
    outcomes = await asyncio.wait_for(handle_all(app.deps, items), timeout=60)
    texts = [o.replies[0].text for o in outcomes]
    assert "6,67% (10/150)" in texts[0] and "13,33% (20/150)" in texts[1] and "20% (30/150)" in texts[2], texts
    assert order.index(("Lan", "6: 10/150")) < order.index(("Lan", "6: 20/150"))
    assert order.index(("Minh", "6: 30/150")) < order.index(("Lan", "6: 20/150"))


async def test_nothing_is_stored_while_the_database_is_away(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    real = app.deps.sessions

    def away() -> object:
        raise ConnectionRefusedError("down")

    app.deps.sessions = away  # type: ignore[assignment]
    with pytest.raises(Unavailable):
        await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-3"))
    app.deps.sessions = real
    assert await count(app, Submission) == 0
    async with app.unit_of_work() as session:
        assert await session.scalar(select(ProcessedUpdate).where(ProcessedUpdate.update_key == "u-3")) is None
    app.deps.sessions = away  # type: ignore[assignment]
    [outcome] = await handle_all(app.deps, [Inbound(said("Lan", "6: 120/150"), key="u-3")])
    assert outcome.unavailable and not outcome.replies  # in a batch: said so, the others go on
    app.deps.sessions = real
    assert (await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-3"))).replies  # handled once back


async def test_the_console_delivers_through_the_outbox(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    await chat.say("Lan", "6: 120/150")
    async with app.unit_of_work() as session:
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "console")))
    assert len(rows) == 2 and all(row.sent_at is not None for row in rows)
    assert any("Đã ghi chỉ tiêu 6" in line for line in chat.log)


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(text=texts, choices=st.lists(st.tuples(texts, texts), max_size=4),
       files=st.lists(st.tuples(st.sampled_from(["photo", "document"]), texts, st.binary(max_size=64),
                                st.none() | texts), max_size=3),
       edit=st.booleans(), replaces=st.none() | st.text(alphabet="0123456789", min_size=1, max_size=9))
def test_a_reply_survives_the_outbox(text: str, choices: list[tuple[str, str]],
                                     files: list[tuple[str, str, bytes, str | None]], edit: bool,
                                     replaces: str | None) -> None:
    reply = Reply(text, choices=tuple(Choice(label, data) for label, data in choices),
                  attachments=tuple(Attachment(kind, name, content, caption) for kind, name, content, caption in files),
                  edit=edit, locale="en")
    delivery = Reply.from_payload(reply.to_payload(replaces))
    expected_edit = edit and bool(replaces)
    assert delivery.reply == Reply(reply.text, reply.choices, reply.attachments, edit=expected_edit, locale="en")
    assert delivery.replaces == (replaces if expected_edit else None)


async def test_a_unit_of_work_that_lost_a_race_is_done_again(chat: Chat, app: App,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process stored the next version of the same figure first (a unique key taken): the
    event is handled again from the start, not answered with an apology."""
    from sqlalchemy.exc import IntegrityError

    await chat.register("Lan", "officer", "an-sinh")
    submit, attempts = report.submit, []

    async def loses_once(ctx, *args, **kwargs):  # type: ignore[no-untyped-def]
        attempts.append(1)
        await submit(ctx, *args, **kwargs)  # writes, then finds the other process was first
        if len(attempts) == 1:
            raise IntegrityError("INSERT INTO submissions", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(report, "submit", loses_once)
    outcome = await handle(app.deps, Inbound(said("Lan", "6: 120/150"), key="u-9"))
    assert len(attempts) == 2 and "Đã ghi chỉ tiêu 6" in outcome.replies[0].text
    assert await count(app, Submission) == 1  # the first attempt left nothing


async def test_the_console_says_so_when_the_database_is_away(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")

    def away() -> object:
        raise ConnectionRefusedError("down")

    app.deps.sessions = away  # type: ignore[assignment]
    assert "Số liệu chưa được ghi" in await chat.say("Lan", "6: 120/150")  # an answer, not a traceback
