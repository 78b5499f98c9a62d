"""The real aiogram bot, end to end, through the Bot API emulator over loopback HTTP."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.sender import Limits
from bot.channels.telegram import TelegramChannel, split_text
from bot.cli import import_plan_file
from bot.run import serve_webhook
from models import people, store
from models.tables import GroupBinding, OutboxMessage, Person, Submission, Unit
from tests.conftest import Clock
from tests.telegram_emulator import TelegramEmulator

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
TOKEN = "123456:TEST-token"
USERNAME = "dtbot_test_bot"
LAN, MINH, BOSS = 1001, 1002, 1003
GROUP = -100500


class Seconds:
    """Monotonic time for the emulator and the rate limiter; sleeping moves it on at once."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Harness:
    def __init__(self, app: App, emu: TelegramEmulator, channel: TelegramChannel) -> None:
        self.app, self.emu, self.channel = app, emu, channel
        self.stop_poll = asyncio.Event()
        self.polling: asyncio.Task[None] | None = None

    async def stop_polling(self) -> None:
        self.stop_poll.set()
        if self.polling is not None:
            await self.polling

    async def invite(self, role: str, unit: str | None = None) -> str:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "T2025")
            found = next(u for u in await store.plan_units(session, plan) if u.code == unit) if unit else None
            return (await people.create_invite(session, role=role, plan=plan, unit=found, now=self.app.now())).code

    async def say(self, user: int, text: str, chat: int | None = None) -> list[str]:
        """Send as a user and wait until the bot has answered; returns the new texts."""
        before = len(self.emu.sent)
        if chat is None:
            self.emu.user_message(user, text)
        else:
            self.emu.group_message(chat, user, text)
        await self.emu.wait_until_updates_consumed()  # confirmed by the next poll: the batch is taken
        await self.channel.settle()  # handled in the background, and its replies sent
        return [r.text or "" for r in self.emu.sent[before:]]

    async def press(self, user: int, message_id: int, data: str) -> list[str]:
        before = len(self.emu.sent)
        self.emu.press_button(user, message_id, data)
        await self.emu.wait_until_updates_consumed()
        await self.channel.settle()
        return [r.text or "" for r in self.emu.sent[before:]]

    async def count(self, table: type) -> int:
        async with self.app.unit_of_work() as session:
            return await session.scalar(select(func.count()).select_from(table)) or 0


@pytest.fixture
async def tg(app: App) -> AsyncIterator[Harness]:
    await import_plan_file(app, SMALL)
    seconds = Seconds()
    async with TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds) as emu:
        bot = emu.make_bot()
        channel = TelegramChannel(app, bot, limits=Limits(), sleep=seconds.sleep, monotonic=seconds)
        await channel.start()
        harness = Harness(app, emu, channel)
        stop = asyncio.Event()
        harness.polling = asyncio.create_task(channel.poll(harness.stop_poll, timeout=1))
        sending = asyncio.create_task(channel.sender.run(stop))
        await emu.wait_for_call("getUpdates")
        try:
            yield harness
        finally:
            stop.set()
            await harness.stop_polling()
            await sending
            await bot.session.close()


async def test_registration_through_a_deep_link(tg: Harness) -> None:
    code = await tg.invite("officer", "an-sinh")
    assert tg.channel.invite_link(code, "officer") == f"https://t.me/{USERNAME}?start={code}"
    assert tg.channel.invite_link(code, "group") == f"https://t.me/{USERNAME}?startgroup={code}"
    [answer] = await tg.say(LAN, f"/start {code}")
    assert "cán bộ đầu mối của Xã An Sinh" in answer


async def test_reporting_by_text_and_by_buttons_with_a_correction_and_the_gap(tg: Harness) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    [stored] = await tg.say(LAN, "6: 120/150")
    assert "Đã ghi chỉ tiêu 6 (tháng 3/2025): 80% (120/150)" in stored
    before = len(tg.emu.sent)
    await tg.say(LAN, "/baocao")
    listing = tg.emu.sent[before]
    buttons = listing.reply_markup["inline_keyboard"]
    assert len(buttons) >= 2 and all(len(row[0]["callback_data"].encode()) <= 64 for row in buttons)
    data = buttons[0][0]["callback_data"]  # the first one still missing
    [asked] = await tg.press(LAN, listing.message_id, data)
    assert tg.emu.callback_answers, "the button press is answered"
    assert tg.emu.sent[-1].edit and tg.emu.sent[-1].message_id == listing.message_id  # the list turns into the question
    assert "Xin gửi số liệu" in asked
    [done] = await tg.say(LAN, "96")
    assert "Đã ghi chỉ tiêu" in done
    [corrected] = await tg.say(LAN, "sửa chỉ tiêu 6: 125/150")
    assert "80% (120/150) → 83,33% (125/150)" in corrected
    [gap] = await tg.say(LAN, "chỉ tiêu 6 còn thiếu bao nhiêu?")
    assert "Còn thiếu 6,67 điểm %" in gap
    assert await tg.count(Submission) == 3


@pytest.mark.parametrize("error_code", [429, 502, 400])
async def test_a_press_is_handled_even_when_answering_it_fails(tg: Harness, error_code: int) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    before = len(tg.emu.sent)
    await tg.say(LAN, "/baocao")
    listing = tg.emu.sent[before]
    tg.emu.fail_next("answerCallbackQuery", error_code)
    [asked] = await tg.press(LAN, listing.message_id, listing.reply_markup["inline_keyboard"][0][0]["callback_data"])
    assert "Xin gửi số liệu" in asked
    assert not tg.polling.done()  # and the bot goes on polling


async def test_the_group_is_bound_with_startgroup_and_answers_commands(tg: Harness) -> None:
    [not_yet] = await tg.say(BOSS, "/tonghop", chat=GROUP)
    assert "chưa được thiết lập" in not_yet
    code = await tg.invite("group")
    [bound] = await tg.say(BOSS, f"/start@{USERNAME} {code}", chat=GROUP)
    assert "Ban Chỉ đạo" in bound
    before = len(tg.emu.sent)
    summary = await tg.say(BOSS, f"/tonghop@{USERNAME}", chat=GROUP)
    assert "Tổng hợp" in summary[0]
    assert [r.method for r in tg.emu.sent[before:]].count("sendPhoto") == 2  # the two charts
    assert await tg.say(BOSS, "chào cả nhà", chat=GROUP) == []  # no command, no mention: silence


async def test_a_429_burst_goes_back_to_the_queue_and_loses_and_duplicates_nothing(tg: Harness, clock: Clock) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    tg.emu.fail_next("sendMessage", error_code=429, retry_after=3, times=3)
    assert await tg.say(LAN, "6: 120/150") == []  # refused: queued again; nothing waits for it
    for _ in range(3):
        async with tg.app.unit_of_work() as session:
            row = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
        assert row.sent_at is None and row.claimed_by is None and row.not_before == clock() + timedelta(seconds=3)
        clock.set(clock() + timedelta(seconds=3))
        await tg.channel.sender.drain()
    assert len([a for a in tg.emu.messages_to(LAN) if "Đã ghi chỉ tiêu 6" in a]) == 1
    async with tg.app.unit_of_work() as session:
        row = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1))
    assert row.sent_at is not None and row.attempts == 4


async def test_a_blocked_officer_is_marked_unreachable_and_admins_see_it(tg: Harness) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    await tg.say(BOSS, f"/start {await tg.invite('admin')}")
    tg.emu.block(LAN)
    assert await tg.say(LAN, "6: 120/150") == []
    async with tg.app.unit_of_work() as session:
        lan = await session.scalar(select(Person).where(Person.display_name == "An").order_by(Person.id).limit(1))
        failed = await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.failed_at.is_not(None)))
    assert lan is not None and lan.unreachable_at is not None and failed == 1
    assert await tg.count(Submission) == 1  # the figure itself was stored
    [listing] = await tg.say(BOSS, "/khonglienlac")
    assert "Xã An Sinh" in listing


async def test_the_same_update_delivered_twice_is_stored_once(tg: Harness) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    update_id = tg.emu.user_message(LAN, "6: 120/150")
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    replies = len(tg.emu.sent)
    tg.emu.redeliver(update_id)
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    assert await tg.count(Submission) == 1
    assert len(tg.emu.sent) == replies  # and no second reply


async def test_a_polled_batch_is_stored_and_answered_in_each_chats_order(tg: Harness) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    await tg.say(MINH, f"/start {await tg.invite('officer', 'mao-khe')}")
    before = len(tg.emu.sent)
    # Injected together, they reach the bot in one getUpdates batch: one transaction.
    for user, text in [(LAN, "6: 120/150"), (MINH, "6: 90/150"), (LAN, "6: 121/150"), (MINH, "chỉ tiêu 6 còn thiếu bao nhiêu?")]:
        tg.emu.user_message(user, text)
    await tg.emu.wait_until_updates_consumed()
    await tg.emu.wait_for_sent(before + 4)
    await tg.channel.settle()  # each send is marked once its answer is back
    assert await tg.count(Submission) == 3
    to_lan = [r.text or "" for r in tg.emu.sent[before:] if r.chat_id == LAN]
    to_minh = [r.text or "" for r in tg.emu.sent[before:] if r.chat_id == MINH]
    assert "Đã ghi chỉ tiêu 6" in to_lan[0] and "121/150" in to_lan[1]
    assert "Đã ghi chỉ tiêu 6" in to_minh[0] and "6" in to_minh[1] and len(to_minh) == 2
    async with tg.app.unit_of_work() as session:
        unsent = await session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    assert unsent == 0


async def test_an_officer_replaced_can_no_longer_report(tg: Harness) -> None:
    """Each update is its own unit of work and nothing about a sender is cached between them: the
    handover is seen by the next message. (Updates of different chats in one batch are handled side
    by side, as they were sent: a figure sent at the moment of a handover may still count.)"""
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    code = await tg.invite("officer", "an-sinh")
    before = len(tg.emu.sent)
    await tg.say(MINH, f"/start {code}")  # Minh takes the commune over ...
    tg.emu.user_message(LAN, "6: 120/150")  # ... then Lan sends a figure
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    await tg.emu.wait_for_sent(before + 3)  # Minh welcomed, Lan told of the handover, Lan answered
    assert await tg.count(Submission) == 0
    assert not any("Đã ghi" in (r.text or "") for r in tg.emu.sent[before:])


async def test_a_role_granted_earlier_in_the_same_batch_is_the_one_used(tg: Harness) -> None:
    await tg.say(MINH, f"/start {await tg.invite('officer', 'an-sinh')}")
    code = await tg.invite("officer", "mao-khe")
    before = len(tg.emu.sent)
    tg.emu.user_message(MINH, f"/start {code}")  # Minh now answers for Mạo Khê ...
    tg.emu.user_message(MINH, "6: 120/150")  # ... and reports for it, in the same batch
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    await tg.emu.wait_for_sent(before + 2)
    async with tg.app.unit_of_work() as session:
        units = list(await session.scalars(select(Unit.code).join(Submission, Submission.unit_id == Unit.id)))
    assert units == ["mao-khe"]


async def test_one_failing_update_leaves_the_rest_of_its_batch_answered(tg: Harness, monkeypatch: pytest.MonkeyPatch,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    from handlers import report

    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    await tg.say(MINH, f"/start {await tg.invite('officer', 'mao-khe')}")
    submit = report.submit

    async def fails_for_minh(ctx, *args, **kwargs):  # type: ignore[no-untyped-def]
        if ctx.event.sender_id == str(MINH):
            raise RuntimeError("a bug in handling")
        return await submit(ctx, *args, **kwargs)

    monkeypatch.setattr(report, "submit", fails_for_minh)
    before = len(tg.emu.sent)
    tg.emu.user_message(LAN, "6: 120/150")
    tg.emu.user_message(MINH, "6: 90/150")
    tg.emu.user_message(LAN, "7: đạt")
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    await tg.emu.wait_for_sent(before + 3)
    to_lan = [r.text or "" for r in tg.emu.sent[before:] if r.chat_id == LAN]
    to_minh = [r.text or "" for r in tg.emu.sent[before:] if r.chat_id == MINH]
    assert len(to_lan) == 2 and "Đã ghi chỉ tiêu 6" in to_lan[0]
    assert to_minh == ["Xin lỗi, hệ thống gặp sự cố khi xử lý tin nhắn này. Số liệu chưa được ghi; xin gửi lại sau ít phút."]
    async with tg.app.unit_of_work() as session:
        stored = list(await session.scalars(select(Submission.unit_id).distinct()))
    assert len(stored) == 1  # An Sinh's figures only
    assert "failed to handle a telegram event (chat kind private)" in caplog.text
    assert "90/150" not in caplog.text  # the message itself is not logged: it may hold personal data


async def test_a_supergroup_upgrade_keeps_the_binding_and_removal_is_recorded(tg: Harness) -> None:
    await tg.say(BOSS, f"/start {await tg.invite('admin')}")
    await tg.say(BOSS, f"/start {await tg.invite('group')}", chat=GROUP)
    tg.emu.migrate_group(GROUP, -1009999)
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    async with tg.app.unit_of_work() as session:
        assert (await session.scalar(select(GroupBinding))).chat_id == "-1009999"
    before = len(tg.emu.sent)
    tg.emu.bot_removed(-1009999, by_user_id=BOSS)
    await tg.emu.wait_until_updates_consumed()
    await tg.channel.settle()
    await tg.emu.wait_for_sent(before + 1)
    async with tg.app.unit_of_work() as session:
        assert (await session.scalar(select(GroupBinding))).removed_at is not None
    assert "bị xóa khỏi nhóm" in (tg.emu.sent[-1].text or "")


async def test_the_command_menu_is_set_per_language_and_scope(tg: Harness) -> None:
    commands = tg.emu.commands
    vi_private = [c["command"] for c in commands[("all_private_chats", "vi")]]
    en_private = [c["command"] for c in commands[("all_private_chats", "en")]]
    assert "baocao" in vi_private and "report" in en_private
    assert "tonghop" in [c["command"] for c in commands[("all_group_chats", "vi")]]


async def test_webhook_mode_checks_the_secret(tg: Harness) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram"
    stop = asyncio.Event()
    server = asyncio.create_task(serve_webhook(tg.channel, stop, url, "s3cret-token-1234", "127.0.0.1", port, register=False))
    try:
        for _ in range(200):  # until the socket listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.01)
        await tg.stop_polling()  # webhook mode: updates come only by HTTP
        wrong = tg.emu.user_message(LAN, "6: 120/150")
        assert await tg.emu.deliver_webhook(wrong, url, "wrong-secret-0000") == 401
        assert await tg.count(Submission) == 0
        assert await tg.emu.deliver_webhook(wrong, url, "s3cret-token-1234") == 200
        assert await tg.count(Submission) == 1
    finally:
        stop.set()
        await server


def test_long_replies_are_split_at_line_ends() -> None:
    text = "\n".join(f"dòng {n} " + "x" * 90 for n in range(120))
    pieces = split_text(text)
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) == 3
    assert "\n".join(pieces) == text
    assert split_text("y" * 9000) == ["y" * 4096, "y" * 4096, "y" * 808]
