"""The Telegram emulator, exercised by the real aiogram Bot and Dispatcher over loopback HTTP."""
from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.methods import SendMessage
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberAdministrator,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.telegram_emulator import EmulatorSession, TelegramEmulator, scope_key

TOKEN = "123456:TEST-token"
USERNAME = "dtbot_test_bot"
USER = 4242
GROUP = -1001234567890


class FakeClock:
    """Monotonic seconds moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def seconds() -> FakeClock:
    """The emulator's clock (flood limits and record times), not the suite's datetime ``clock``."""
    return FakeClock()


@pytest.fixture
async def emu(seconds: FakeClock) -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds) as emulator:
        yield emulator


@pytest.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = emu.make_bot()
    try:
        yield bot
    finally:
        await bot.session.close()


@asynccontextmanager
async def polling(dp: Dispatcher, bot: Bot, emu: TelegramEmulator) -> AsyncIterator[None]:
    """Run ``dp.start_polling`` in a task for the block; stop it cleanly afterwards."""
    task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=False))
    try:
        await emu.wait_for_call("getUpdates")
        yield
    finally:
        await dp.stop_polling()
        await task


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=d, callback_data=d) for d in data]])


# ------------------------------------------------------------------------------------------------


async def test_get_me_returns_the_bot_and_a_wrong_token_is_unauthorized(emu: TelegramEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.username, me.id, me.is_bot) == (USERNAME, 123456, True)

    stranger = Bot(token="999:other", session=EmulatorSession(emu.base_url))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_dispatcher_polls_injected_messages_and_its_replies_are_recorded(
    emu: TelegramEmulator, bot: Bot
) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, command: CommandObject) -> None:
        await message.answer(f"start {command.args}")

    @router.message(Command("report"))
    async def report(message: Message) -> None:
        await message.answer("report in group")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    dp = Dispatcher()
    dp.include_router(router)
    async with polling(dp, bot, emu):
        emu.user_message(USER, "/start INVITE42")
        emu.user_message(USER, "Xã đạt 80%")
        emu.group_message(GROUP, USER, "/report@dtbot_test_bot")
        emu.group_message(GROUP, USER, "/report@someone_else_bot")  # not for us: echoed, not a command
        await emu.wait_for_sent(4)
        await emu.wait_until_updates_consumed()

    assert sorted(emu.messages_to(USER)) == ["echo: Xã đạt 80%", "start INVITE42"]
    assert sorted(emu.messages_to(GROUP)) == ["echo: /report@someone_else_bot", "report in group"]
    assert {record.method for record in emu.sent} == {"sendMessage"}
    assert emu.sent[0].params["chat_id"] in (USER, GROUP)  # decoded from aiogram's form field
    assert emu.calls_of("getMe") and emu.pending_updates == []


async def test_callback_query_is_answered_and_the_message_edited(emu: TelegramEmulator, bot: Bot) -> None:
    router = Router()

    @router.callback_query()
    async def chosen(query: CallbackQuery) -> None:
        await query.answer(f"chose {query.data}")
        assert isinstance(query.message, Message)
        await query.message.edit_text(f"You chose {query.data}")

    dp = Dispatcher()
    dp.include_router(router)
    emu.add_chat(USER)
    question = await bot.send_message(USER, "Which month?", reply_markup=keyboard("m:3", "m:4"))
    assert question.reply_markup is not None and question.reply_markup.inline_keyboard[0][1].callback_data == "m:4"
    with pytest.raises(ValueError, match="has no button"):
        emu.press_button(USER, question.message_id, "m:5")

    async with polling(dp, bot, emu):
        emu.press_button(USER, question.message_id, "m:4")
        await emu.wait_for_sent(2)

    [answer] = emu.callback_answers
    assert (answer.text, answer.data, answer.user_id, answer.show_alert) == ("chose m:4", "m:4", USER, False)
    edit = emu.sent[-1]
    assert (edit.method, edit.edit, edit.message_id, edit.text) == (
        "editMessageText", True, question.message_id, "You chose m:4",
    )
    assert emu.messages_to(USER) == ["Which month?", "You chose m:4"]
    current = emu.bot_message(USER, question.message_id)
    assert current is not None and "reply_markup" not in current  # editing text without a markup drops it


async def test_injected_faults_raise_what_aiogram_raises(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_chat(USER)
    emu.fail_next("sendMessage", retry_after=3)
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(USER, "hi")
    assert flood.value.retry_after == 3
    await bot.send_message(USER, "hi")  # only the next call failed

    emu.fail_with_5xx("sendMessage", times=2)
    for _ in range(2):
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(USER, "hi")
    assert [call.status for call in emu.calls_of("sendMessage")] == [429, 200, 502, 502]
    assert emu.messages_to(USER) == ["hi"]
    assert emu.too_many_requests == 0  # injected 429s are not flood limits


async def test_blocked_users_removed_bots_and_unknown_chats_are_refused(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user_message(USER, "hello")
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "reminder")

    emu.group_message(GROUP, USER, "hi all")
    await bot.send_message(GROUP, "ok")
    emu.bot_removed(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "reminder")

    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "anyone?")

    updates = await bot.get_updates(allowed_updates=["message", "my_chat_member"])
    removal = updates[-1].my_chat_member
    assert removal is not None
    assert (removal.old_chat_member.status, removal.new_chat_member.status) == ("administrator", "kicked")


async def test_text_limits_are_checked_on_the_trimmed_text(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_chat(USER)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "  \n ")
    sent = await bot.send_message(USER, "  " + "x" * 4096 + "\n")
    assert sent.text == "x" * 4096 and emu.sent[-1].plain == sent.text


async def test_markup_the_bot_never_sends_is_refused_and_fails_the_test(seconds: FakeClock) -> None:
    emulator = TelegramEmulator(token=TOKEN, username=USERNAME, clock=seconds)
    with pytest.raises(AssertionError, match="markup the emulator does not render"):
        async with emulator:
            emulator.add_chat(USER)
            bot = emulator.make_bot()
            try:
                with pytest.raises(TelegramBadRequest, match="plain text only"):
                    await bot.send_message(USER, "<b>Đạt</b>", parse_mode="HTML")
                await bot.send_message(USER, "Đạt")
            finally:
                await bot.session.close()
    assert [call.params["text"] for call in emulator.refused_markup] == ["<b>Đạt</b>"]
    assert emulator.messages_to(USER) == ["Đạt"]


async def test_callback_data_over_64_bytes_is_rejected(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_chat(USER)
    await bot.send_message(USER, "ok", reply_markup=keyboard("a" * 64))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "too long", reply_markup=keyboard("a" * 65))
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):  # 22 letters, 66 bytes in UTF-8
        await bot.send_message(USER, "too long", reply_markup=keyboard("ữ" * 22))
    assert emu.messages_to(USER) == ["ok"]


async def test_rate_limits_answer_429_until_the_window_frees(
    emu: TelegramEmulator, bot: Bot, seconds: FakeClock
) -> None:
    emu.rate_limit(per_second=30, per_chat_per_second=1, per_group_per_minute=20)

    emu.add_chat(USER)
    for _ in range(3):  # a burst of three is fine
        await bot.send_message(USER, "burst")
    with pytest.raises(TelegramRetryAfter) as flood:
        await bot.send_message(USER, "one too many")
    assert flood.value.retry_after == 1
    seconds.advance(1)
    await bot.send_message(USER, "after a second")
    assert emu.sent[-1].time == seconds.now == 1001.0  # records carry the emulator's clock

    emu.add_chat(GROUP)
    for _ in range(20):
        await bot.send_message(GROUP, "report")
        seconds.advance(1)
    with pytest.raises(TelegramRetryAfter) as group_flood:
        await bot.send_message(GROUP, "the 21st within a minute")
    assert group_flood.value.retry_after == 40  # the first of the 20 leaves the window at +60 s

    for chat_id in range(1, 31):
        emu.add_chat(chat_id)
        await bot.send_message(chat_id, "broadcast")
    emu.add_chat(31)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(31, "the 31st this second")
    assert emu.too_many_requests == 3


async def test_redelivered_update_arrives_again_with_the_same_id(emu: TelegramEmulator, bot: Bot) -> None:
    seen: list[int] = []
    router = Router()

    @router.message()
    async def handle(message: Message, event_update: Update) -> None:
        seen.append(event_update.update_id)
        await message.answer("noted")

    dp = Dispatcher()
    dp.include_router(router)
    async with polling(dp, bot, emu):
        update_id = emu.user_message(USER, "Xã A: 80%")
        await emu.wait_for_sent(1)
        await emu.wait_until_updates_consumed()
        emu.redeliver(update_id)
        await emu.wait_for_sent(2)
        await emu.wait_until_updates_consumed()
    assert seen == [update_id, update_id]


async def test_photo_and_document_uploads_are_recorded(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_chat(GROUP)
    png = b"\x89PNG\r\n\x1a\n" + bytes(2000)
    photo = await bot.send_photo(GROUP, BufferedInputFile(png, "chart.png"), caption="Biểu đồ")
    workbook = bytes(range(256)) * 20
    document = await bot.send_document(GROUP, BufferedInputFile(workbook, "bao-cao.xlsx"), caption="Báo cáo")

    photo_record, document_record = emu.sent
    assert (photo_record.method, photo_record.filename, photo_record.size, photo_record.caption) == (
        "sendPhoto", "chart.png", len(png), "Biểu đồ",
    )
    assert (document_record.method, document_record.filename, document_record.size) == (
        "sendDocument", "bao-cao.xlsx", len(workbook),
    )
    assert photo.photo is not None and photo.photo[-1].file_size == len(png)
    assert document.document is not None and document.document.file_name == "bao-cao.xlsx"
    assert emu.messages_to(GROUP) == ["Biểu đồ", "Báo cáo"]

    await bot.send_document(GROUP, document.document.file_id)  # resent by file_id, no upload
    assert emu.sent[-1].filename is None and emu.sent[-1].file_id == document.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(GROUP, "no-such-file-id")

    emu.user_document(USER, "ke-hoach.xlsx", b"PK\x03\x04 plan")  # a user's upload the bot downloads
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.document is not None
    downloaded = await bot.download(update.message.document.file_id, destination=io.BytesIO())
    assert downloaded is not None and downloaded.read() == b"PK\x03\x04 plan"


async def test_commands_are_recorded_per_scope_and_language(emu: TelegramEmulator, bot: Bot) -> None:
    emu.add_chat(GROUP)
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="baocao", description="Báo cáo")], language_code="vi")
    await bot.set_my_commands(
        [BotCommand(command="report", description="Report")], scope=BotCommandScopeAllGroupChats()
    )
    await bot.set_my_commands(
        [BotCommand(command="plan", description="Plan")], scope=BotCommandScopeChat(chat_id=GROUP)
    )
    assert emu.commands == {
        ("default", ""): [{"command": "start", "description": "Start"}],
        ("default", "vi"): [{"command": "baocao", "description": "Báo cáo"}],
        ("all_group_chats", ""): [{"command": "report", "description": "Report"}],
        (f"chat:{GROUP}", ""): [{"command": "plan", "description": "Plan"}],
    }
    assert scope_key({"type": "chat", "chat_id": GROUP}) == f"chat:{GROUP}"
    [command] = await bot.get_my_commands(language_code="vi")
    assert command.command == "baocao"

    await bot.delete_my_commands(language_code="vi")
    assert await bot.get_my_commands(language_code="vi") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bao-Cao", description="x")])


async def test_webhook_delivery_checks_the_secret_and_runs_the_reply(emu: TelegramEmulator, bot: Bot) -> None:
    await bot.set_webhook("https://bot.example.org/tg", secret_token="s3cret")
    info = await bot.get_webhook_info()
    assert info.url == "https://bot.example.org/tg" and emu.webhook is not None
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    with pytest.raises(TelegramBadRequest, match="HTTPS URL must be provided"):
        await bot.set_webhook("http://bot.example.org/tg")

    router = Router()

    @router.message()
    async def reply(message: Message) -> SendMessage:
        return message.answer(f"webhook: {message.text}")  # answered in the webhook response body

    dp = Dispatcher()
    dp.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="s3cret", handle_in_background=False).register(app, "/tg")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/tg"
    try:
        update_id = emu.user_message(USER, "Xã B: 90%")
        assert await emu.deliver_webhook(update_id, url=url, secret_token="wrong") == 401
        assert emu.sent == []
        assert await emu.deliver_webhook(update_id, url=url) == 200  # secret from setWebhook
    finally:
        await runner.cleanup()
    assert emu.messages_to(USER) == ["webhook: Xã B: 90%"]

    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_migrated_group_reports_its_new_id(emu: TelegramEmulator, bot: Bot) -> None:
    emu.group_message(-4001, USER, "hi", title="BCĐ xã")
    emu.migrate_group(-4001, GROUP)
    updates = await bot.get_updates()
    moved = [update.message for update in updates if update.message and update.message.migrate_to_chat_id]
    assert moved and moved[0].chat.id == -4001 and moved[0].migrate_to_chat_id == GROUP
    with pytest.raises(TelegramMigrateToChat) as migrated:
        await bot.send_message(-4001, "still there?")
    assert migrated.value.migrate_to_chat_id == GROUP
    await bot.send_message(GROUP, "moved")
    assert (await bot.get_chat(GROUP)).title == "BCĐ xã"


async def test_get_updates_long_polls_confirms_by_offset_and_adds_entities(emu: TelegramEmulator, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await emu.wait_for_call("getUpdates")
    first = emu.user_message(USER, "/start CODE-1")
    [update] = await waiting
    assert loop.time() - started < 2  # woke on the update, not at the timeout
    assert update.update_id == first and update.message is not None
    [command] = update.message.entities or []
    assert (command.type, command.offset, command.length) == ("bot_command", 0, 6)

    emu.group_message(GROUP, USER, "@dtbot_test_bot 😀 /report@dtbot_test_bot")
    updates = await bot.get_updates(offset=first + 1, timeout=0)
    assert [u.update_id for u in updates] == [first + 1]  # the first is confirmed by the offset
    message = updates[0].message
    assert message is not None and message.chat.type == "supergroup"
    assert [(e.type, e.offset, e.length) for e in message.entities or []] == [
        ("mention", 0, 15), ("bot_command", 19, 22),  # offsets in UTF-16 units: the emoji counts 2
    ]
    assert await bot.get_updates(offset=first + 2, timeout=0) == []
    await emu.wait_until_updates_consumed()


async def test_raw_http_json_and_form_requests_and_unknown_methods(emu: TelegramEmulator) -> None:
    emu.add_chat(USER)
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{emu.base_url}/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "hi"}) as r:
            body = await r.json()
            assert r.status == 200 and body["ok"] and body["result"]["from"]["username"] == USERNAME
        async with client.get(f"{emu.base_url}/bot{TOKEN}/sendMessage", params={"chat_id": "oops"}) as r:
            assert r.status == 400 and (await r.json())["description"] == "Bad Request: chat not found"
        async with client.post(f"{emu.base_url}/bot{TOKEN}/noSuchMethod", data={"x": "1"}) as r:
            assert r.status == 404
            assert await r.json() == {
                "ok": False, "error_code": 404, "description": "Not Found: method not found",
            }
    assert emu.messages_to(USER) == ["hi"]


async def test_edits_that_change_nothing_and_member_queries(emu: TelegramEmulator, bot: Bot) -> None:
    emu.group_message(GROUP, USER, "hi")
    sent = await bot.send_message(GROUP, "Tháng 3", reply_markup=keyboard("ok"))
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Tháng 3", chat_id=GROUP, message_id=sent.message_id, reply_markup=keyboard("ok"))
    await bot.edit_message_reply_markup(chat_id=GROUP, message_id=sent.message_id, reply_markup=None)
    assert emu.bot_message(GROUP, sent.message_id) is not None
    assert "reply_markup" not in (emu.bot_message(GROUP, sent.message_id) or {})
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=GROUP, message_id=999)

    assert await bot.send_chat_action(GROUP, "typing") is True
    me = await bot.get_chat_member(GROUP, bot.id)
    assert isinstance(me, ChatMemberAdministrator)
    assert (await bot.get_chat_member(GROUP, USER)).status == "member"


async def test_waiting_for_sent_messages_times_out_with_an_explanation(emu: TelegramEmulator) -> None:
    emu.user_message(USER, "nobody is polling")
    with pytest.raises(TimeoutError, match=r"expected 1 sent message\(s\) within 0.05s, got 0"):
        await emu.wait_for_sent(1, timeout=0.05)
    with pytest.raises(TimeoutError, match="still unconfirmed"):
        await emu.wait_until_updates_consumed(timeout=0.05)
