"""Taking updates never waits for handling them: a slow event (a summary, an export, a lock) holds
up neither the poll loop nor other chats, each chat's events stay in order across batches, and
what was taken and not handled before a crash is handled, once, at the next start. Through the real
aiogram bot and the Bot API emulator over loopback."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

import handlers.inbox
from bot.app import App
from bot.cli import import_plan_file
from handlers.context import Ctx
from handlers.events import Event
from handlers.inbox import Inbound, Intake
from models import intake
from models.kinds import ChatKind
from models.tables import IntakeEvent, ProcessedUpdate, Submission
from tests.telegram_emulator import TelegramEmulator
from tests.test_delivery import count, emu, polling, register, seconds  # noqa: F401
from tests.test_telegram import LAN, MINH, SMALL, Harness, Seconds

SLOW = "/tinhhinh"


class Held:
    """Handling of LAN's "/tinhhinh" waits until released (a chairman's summary being drawn)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.order: list[str] = []
        route = handlers.inbox.route

        async def held_route(ctx: Ctx) -> None:
            if ctx.event.text == SLOW and ctx.event.chat_id == str(LAN):
                self.started.set()
                await self.release.wait()
            await route(ctx)
            self.order.append(f"{ctx.event.chat_id}:{ctx.event.text}")

        monkeypatch.setattr(handlers.inbox, "route", held_route)


@pytest.fixture
async def h(app: App, emu: TelegramEmulator, seconds: Seconds) -> AsyncIterator[Harness]:  # noqa: F811
    await import_plan_file(app, SMALL)
    async with polling(app, emu, seconds) as harness:
        await register(harness)
        yield harness


async def test_a_slow_event_holds_up_neither_the_next_polls_nor_another_chat(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held(monkeypatch)
    h.emu.user_message(LAN, SLOW)
    await held.started.wait()  # LAN's summary is being drawn ...
    before = len(h.emu.sent)
    h.emu.user_message(MINH, "6: 90/150")  # ... when Minh's figure comes, in a later batch
    await h.emu.wait_for_sent(before + 1)
    assert "chỉ tiêu 6" in (h.emu.sent[-1].text or "") and h.emu.sent[-1].chat_id == MINH
    assert not held.release.is_set() and await count(h.app, Submission) == 1  # stored, the summary still drawing
    held.release.set()
    await h.channel.settle()
    assert h.emu.sent[-1].chat_id == LAN


async def test_a_chats_events_are_handled_in_the_order_they_came_across_batches(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held(monkeypatch)
    h.emu.user_message(LAN, SLOW)
    await held.started.wait()
    before = len(h.emu.sent)
    h.emu.user_message(LAN, "6: 120/150")  # taken while the first is still being handled
    h.emu.user_message(MINH, "6: 90/150")
    await h.emu.wait_for_sent(before + 1)  # Minh is answered ...
    await h.emu.wait_until_updates_consumed()
    assert held.order == [f"{MINH}:6: 90/150"]  # ... while Lan's figure waits for Lan's question
    held.release.set()
    await h.channel.settle()
    assert held.order == [f"{MINH}:6: 90/150", f"{LAN}:{SLOW}", f"{LAN}:6: 120/150"]


async def test_updates_taken_but_not_handled_before_a_crash_are_handled_once_at_the_next_start(
        app: App, emu: TelegramEmulator, seconds: Seconds) -> None:  # noqa: F811
    await import_plan_file(app, SMALL)
    async with polling(app, emu, seconds) as h:
        await register(h)
    # The last run wrote two updates to the journal, confirmed them to Telegram, and died.
    events = [Event(channel="telegram", chat_id=str(user), chat_kind=ChatKind.PRIVATE, sender_id=str(user),
                    sender_name="An", text=text, message_id=str(90 + n), at=app.now())
              for n, (user, text) in enumerate([(LAN, "6: 120/150"), (MINH, "6: 90/150")])]
    async with app.unit_of_work() as session:
        await intake.journal(session, "telegram", [(f"9{n}", e.to_payload()) for n, e in enumerate(events)], app.now())
    async with polling(app, emu, seconds) as h:  # the next start
        await h.channel.settle()
        assert await count(app, Submission) == 2
        # Taken again (another poller, a webhook retry): written once, handled once.
        assert await h.channel.intake_queue.accept([Inbound(events[0], "90")])
        await h.channel.settle()
    assert await count(app, Submission) == 2
    assert await count(app, ProcessedUpdate, ProcessedUpdate.update_key.in_(["90", "91"])) == 2
    assert await count(app, IntakeEvent) == 0  # nothing handled is left in the journal


async def test_an_event_taken_while_the_database_goes_away_waits_in_order_and_is_handled_once(
        app: App) -> None:
    await import_plan_file(app, SMALL)
    delivered: list[str] = []
    told: list[str] = []
    real = handlers.inbox.handle
    down = {"left": 3}

    async def flaky(deps, item, **kwargs):  # type: ignore[no-untyped-def]
        if item.event.chat_id == "7" and down["left"] > 0:
            down["left"] -= 1
            raise handlers.inbox.Unavailable()
        return await real(deps, item, **kwargs)

    async def deliver(item: Inbound, outcome: handlers.inbox.Outcome) -> None:
        delivered.append(item.key or "")

    async def busy(events: list[Event]) -> None:
        told.extend(e.chat_id for e in events)

    async def no_wait(_: float) -> None:
        await asyncio.sleep(0)

    queue = Intake(app.deps, "console", deliver=deliver, busy=busy, sleep=no_wait)
    handlers_inbox_handle = pytest.MonkeyPatch()
    handlers_inbox_handle.setattr(handlers.inbox, "handle", flaky)
    try:
        items = [Inbound(Event(channel="console", chat_id=chat, chat_kind=ChatKind.PRIVATE, sender_id=chat,
                               sender_name="An", text="/help"), key) for chat, key in
                 [("7", "a"), ("7", "b"), ("8", "c")]]
        assert await queue.accept(items)
        await queue.settle()
    finally:
        handlers_inbox_handle.undo()
    assert delivered.index("a") < delivered.index("b") and sorted(delivered) == ["a", "b", "c"]
    assert told == ["7"]  # once, however many tries
    assert await count(app, ProcessedUpdate) == 3 and await count(app, IntakeEvent) == 0
