"""Issue 12 (hardening): each hole found by probing, reproduced on the console path and through the
Telegram emulator, and shown closed."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import logging
import os
import signal
import socket
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import given, strategies as st
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import App
from bot.cli import import_plan_file
from bot.config import ConfigError, load_settings
from bot.redact import SecretFilter
from handlers import buttons, report
from handlers.events import Event
from handlers.inbox import Inbound, handle
from locales import translator
from models import people, plan_xlsx, store
from models.periods import Frequency, Period
from models.plans import MAX_YAML_BYTES, PlanFileError, load_plan_file
from models.store import load_plan_view
from models.tables import Base, IndicatorPart, Invite, ServerSecret, Submission
from tests.telegram_emulator import TelegramEmulator
from tests.test_dialog import SMALL as SMALL_PLAN, Chat, chat  # noqa: F401  (the console conversation fixture)
from tests.test_plan_xlsx import appendix
from tests.test_telegram import BOSS, LAN, MINH, Harness, tg  # noqa: F401  (the emulator fixture)


async def _stored(app: App) -> list[tuple[int, str, str]]:
    async with app.unit_of_work() as session:
        rows = await session.execute(select(Submission.unit_id, Submission.period, Submission.value).order_by(Submission.id))
        return [(unit_id, period, format(value, "f") if value is not None else "-") for unit_id, period, value in rows]


def _fail_first(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> None:
    """The next figures stored raise, after the plan view was loaded in that event's session."""
    insert_versions = report.submissions.insert_versions
    failed: list[bool] = []

    async def fails_first(session, stored):  # type: ignore[no-untyped-def]
        if stored and len(failed) < times:
            failed.append(True)
            raise RuntimeError("a bug in handling")
        return await insert_versions(session, stored)

    monkeypatch.setattr(report.submissions, "insert_versions", fails_first)


# --- 1. one failed event poisons a plan until restart ----------------------------------------------


async def test_the_plan_view_is_plain_data_that_outlives_its_session(chat: Chat,  # noqa: F811
                                                                       app: App) -> None:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        view = await load_plan_view(session, plan.id, {})
        await session.rollback()  # what a failed event does to everything its session loaded
    held = [view.plan, *view.units.values(), *view.indicators, *(p for pv in view.parts.values() for p in (pv.part, pv.indicator))]
    assert not [item for item in held if isinstance(item, Base)]
    assert view.plan.code == "T2025" and {u.name for u in view.units.values()} >= {"Xã An Sinh"}
    assert [pv.indicator.title for pv in view.parts.values()][0] == "Hồ sơ xử lý trực tuyến toàn trình"
    assert len(next(i for i in view.indicators if i.code == "9").parts) == 2


async def test_a_failed_event_does_not_break_the_next_ones_on_the_console(chat: Chat,  # noqa: F811
                                                                           app: App,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    await chat.register("Minh", "officer", "mao-khe")
    app.deps.plan_views.clear()  # as right after start-up: the failing event builds the view
    _fail_first(monkeypatch)
    assert "sự cố" in await chat.say("Lan", "6: 70%")
    assert "Đã ghi chỉ tiêu 6" in await chat.say("Minh", "6: 71%")
    assert "Đã ghi chỉ tiêu 6" in await chat.say("Lan", "6: 70%")
    assert len(await _stored(app)) == 2


async def test_a_failed_event_does_not_break_the_next_ones_through_telegram(tg: Harness,  # noqa: F811
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    await tg.say(MINH, f"/start {await tg.invite('officer', 'mao-khe')}")
    tg.app.deps.plan_views.clear()
    _fail_first(monkeypatch)  # each update is its own unit of work: only the first fails
    [apology] = await tg.say(LAN, "6: 70%")
    assert "sự cố" in apology
    [stored] = await tg.say(MINH, "6: 71%")
    assert "Đã ghi chỉ tiêu 6" in stored
    [stored] = await tg.say(LAN, "6: 70%")
    assert "Đã ghi chỉ tiêu 6" in stored


# --- 4. forged button data ---------------------------------------------------------------------------


async def _part_id(app: App, code: str) -> int:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        return await session.scalar(select(IndicatorPart.id).where(IndicatorPart.plan_id == plan.id,
                                                                    IndicatorPart.code == code))


async def _press(app: App, user: str, data: str) -> str:
    """A button press on the console path: the event a channel makes of it."""
    event = Event(channel="console", chat_id=user, chat_kind="private", sender_id=user, sender_name=user, choice=data)
    return "\n".join(reply.text for reply in (await handle(app.deps, Inbound(event))).replies)


def _forged(part: int, other: int) -> list[str]:
    return [f"v1:pick:{part}:{period}" for period in ("2199-12", "1900-01", "2025-04", "2024-12", "2026-01",
                                                      "2025-Q1", "2025", "garbage", "2025-13", "2025-00")] + [
        "v1:pick:" + "1" * 4301, f"v1:pick:{other}:2025-03", f"v1:pick:0{part}:2025-03", f"v2:pick:{part}:2025-03",
        "v1:pick", "v1:lang:fr", "v1:maybe", ":", "v1:pick:-1:2025-03", f"v1:pick:{part}:2025-03:x",
        f"v1:pick:{part}:２０２５-03",
    ]


async def test_forged_button_data_is_refused_politely_on_the_console(chat: Chat, app: App) -> None:  # noqa: F811
    await chat.register("Lan", "officer", "an-sinh")
    part, other = await _part_id(app, "6"), await _part_id(app, "22")  # 22 is VNPT's, not An Sinh's
    for data in _forged(part, other):
        assert "đã cũ" in await _press(app, "Lan", data), data
        assert "Đã ghi" not in await chat.say("Lan", "55"), data  # no question is open
    assert await _stored(app) == []
    assert "Xin gửi số liệu" in await _press(app, "Lan", f"v1:pick:{part}:2025-02")  # late, but open
    assert "tháng 2/2025" in await chat.say("Lan", "55")
    assert [(period, value) for _, period, value in await _stored(app)] == [("2025-02", "55")]


async def test_forged_button_data_is_refused_politely_through_telegram(tg: Harness) -> None:  # noqa: F811
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    before = len(tg.emu.sent)
    await tg.say(LAN, "/baocao")
    listing = tg.emu.sent[before]
    part, other = await _part_id(tg.app, "6"), await _part_id(tg.app, "22")
    for data in [d for d in _forged(part, other) if len(d.encode()) <= 64]:
        before = len(tg.emu.sent)
        tg.emu.press_button(LAN, listing.message_id, data, check=False)
        await tg.emu.wait_until_updates_consumed()
        await tg.channel.settle()  # replies go out beside the poll loop
        assert ["đã cũ" in (r.text or "") for r in tg.emu.sent[before:]] == [True], data
    assert "Đã ghi" not in (await tg.say(LAN, "55"))[0]
    assert await _stored(tg.app) == []


@given(st.text(max_size=80) | st.from_regex(r"v1:(pick|lang|yes|no)(:[-0-9A-Za-z]{0,12}){0,3}", fullmatch=True))
def test_decoding_any_button_data_never_raises(data: str) -> None:
    button = buttons.decode(data)
    assert button is None or buttons.decode(buttons.encode(button)) == button


@given(st.integers(1, 10**12 - 1), st.integers(2000, 2100), st.sampled_from(list(Frequency)), st.integers(1, 12))
def test_every_button_this_release_makes_decodes_to_itself(part: int, year: int, frequency: Frequency, index: int) -> None:
    period = Period(year, frequency, min(index, frequency.periods_per_year))
    for button in (buttons.Pick(part, period), buttons.Answer(True), buttons.Answer(False), buttons.Language("en")):
        data = buttons.encode(button)
        assert len(data.encode()) <= buttons.MAX_BYTES and buttons.decode(data) == button


# --- 5. a pending confirmation follows its sender to another unit -------------------------------------


async def test_a_pending_confirmation_stays_with_its_unit_on_the_console(chat: Chat, app: App) -> None:  # noqa: F811
    await chat.register("Lan", "officer", "an-sinh")
    await chat.say("Lan", "9: 10%")
    assert "Có đúng không" in await chat.say("Lan", "9: 95%")
    await chat.register("Lan", "officer", "mao-khe")
    assert "đơn vị hoặc vai trò cũ" in await chat.say("Lan", "có")
    assert "không có gì cần xác nhận" in await chat.say("Lan", "có")  # the question is gone
    assert [value for _, _, value in await _stored(app)] == ["10"]


async def test_a_guided_question_stays_with_its_unit_on_the_console(chat: Chat, app: App) -> None:  # noqa: F811
    await chat.register("Lan", "officer", "an-sinh")
    await chat.say("Lan", "/baocao")
    assert "Xin gửi số liệu" in await chat.say("Lan", "1")
    await chat.register("Lan", "officer", "mao-khe")
    assert "đơn vị hoặc vai trò cũ" in await chat.say("Lan", "85")
    assert await _stored(app) == []


async def test_a_pending_confirmation_stays_with_its_unit_through_telegram(tg: Harness) -> None:  # noqa: F811
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    await tg.say(LAN, "9: 10%")
    before = len(tg.emu.sent)
    await tg.say(LAN, "9: 95%")
    question = tg.emu.sent[before]
    await tg.say(LAN, f"/start {await tg.invite('officer', 'mao-khe')}")
    [answer] = await tg.press(LAN, question.message_id, "v1:yes")
    assert "đơn vị hoặc vai trò cũ" in answer
    assert [value for _, _, value in await _stored(tg.app)] == ["10"]


# --- 2. roles resolved per plan --------------------------------------------------------------------


@pytest.fixture
async def two_plans(chat: Chat, app: App, tmp_path) -> Chat:  # type: ignore[no-untyped-def]  # noqa: F811
    """T2025 (imported by `chat`) and U2025, the same plan under another code."""
    other = tmp_path / "other-plan.yaml"
    other.write_text(SMALL_PLAN.read_text(encoding="utf-8").replace("code: T2025", "code: U2025")
                     .replace('title: "Kế hoạch thử"', 'title: "Kế hoạch khác"'), encoding="utf-8")
    await import_plan_file(app, other)
    return chat


async def _invite(app: App, plan_code: str, role: str, unit: str | None = None) -> str:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        found = next(u for u in await store.plan_units(session, plan) if u.code == unit) if unit else None
        return (await people.create_invite(session, role=role, plan=plan, unit=found, now=app.now())).code


async def _plan_id(app: App, code: str) -> int:
    async with app.unit_of_work() as session:
        return (await store.get_plan(session, code)).id


async def test_a_leader_of_one_plan_is_an_officer_only_in_another_on_the_console(two_plans: Chat, app: App) -> None:
    chat = two_plans  # noqa: F811  (the fixture, renamed)
    await chat.say("Minh", f"/start {await _invite(app, 'T2025', 'officer', 'mao-khe')}")
    await chat.say("Minh", "6: 81%")
    await chat.say("Boss", f"/start {await _invite(app, 'U2025', 'leader')}")
    joined = await chat.say("Boss", f"/start {await _invite(app, 'T2025', 'officer', 'an-sinh')}")
    assert "nhiều kế hoạch" in joined and "/kehoach" in joined
    # In T2025 Boss is An Sinh's officer and nothing more.
    assert "chỉ xem được số liệu của đơn vị mình" in await chat.say("Boss", "tình hình phường Mạo Khê")
    assert "81%" not in await chat.say("Boss", "chỉ tiêu 6 các đơn vị")
    assert "Đã ghi chỉ tiêu 6" in await chat.say("Boss", "6: 70%")
    # Switching to U2025 makes Boss its leader there, and no officer.
    await chat.say("Boss", "/kehoach")
    listing = chat.log[-1]  # as the console shows it, with the numbered choices
    assert "Kế hoạch thử (T2025)" in listing and "U2025 · Kế hoạch khác" in listing
    assert "Kế hoạch khác (U2025)" in await chat.say("Boss", "2")
    assert "Tình hình Phường Mạo Khê" in await chat.say("Boss", "tình hình phường Mạo Khê")
    assert "Đã ghi" not in await chat.say("Boss", "6: 75%")
    assert "Kế hoạch thử (T2025)" in await chat.say("Boss", "/kehoach t2025")
    assert "70% → 72%" in await chat.say("Boss", "sửa chỉ tiêu 6: 72%")
    assert "không có vai trò trong kế hoạch «X9»" in await chat.say("Boss", "/kehoach X9")
    async with app.unit_of_work() as session:
        plans = list(await session.scalars(select(Submission.plan_id).distinct()))
    assert plans == [await _plan_id(app, "T2025")]


async def test_an_admin_of_every_plan_chooses_which_on_the_console(two_plans: Chat, app: App) -> None:
    chat = two_plans  # noqa: F811  (the fixture, renamed)
    app.deps.admins = frozenset({("console", "Admin")})
    assert "Kế hoạch khác" in await chat.say("Admin", "/tonghop")  # the newest plan by default
    await chat.say("Admin", "/kehoach")
    listing = chat.log[-1]
    assert "U2025 · Kế hoạch khác" in listing and "T2025 · Kế hoạch thử" in listing
    assert "Kế hoạch thử (T2025)" in await _press(app, "Admin", f"v1:plan:{await _plan_id(app, 'T2025')}")
    assert "Kế hoạch thử" in await chat.say("Admin", "/tonghop")
    assert "đã cũ" in await _press(app, "Admin", "v1:plan:999")


async def test_a_leader_of_one_plan_is_an_officer_only_in_another_through_telegram(tg: Harness, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    other = tmp_path / "other-plan.yaml"
    other.write_text(SMALL_PLAN.read_text(encoding="utf-8").replace("code: T2025", "code: U2025"), encoding="utf-8")
    await import_plan_file(tg.app, other)
    await tg.say(MINH, f"/start {await _invite(tg.app, 'T2025', 'officer', 'mao-khe')}")
    await tg.say(MINH, "6: 81%")
    await tg.say(BOSS, f"/start {await _invite(tg.app, 'U2025', 'leader')}")
    await tg.say(BOSS, f"/start {await _invite(tg.app, 'T2025', 'officer', 'an-sinh')}")
    [refused] = await tg.say(BOSS, "tình hình phường Mạo Khê")
    assert "chỉ xem được số liệu của đơn vị mình" in refused
    before = len(tg.emu.sent)
    await tg.say(BOSS, "/kehoach")
    listing = tg.emu.sent[before]
    [switched] = await tg.press(BOSS, listing.message_id, f"v1:plan:{await _plan_id(tg.app, 'U2025')}")
    assert "(U2025)" in switched
    [status] = await tg.say(BOSS, "tình hình phường Mạo Khê")
    assert "Tình hình Phường Mạo Khê" in status


# --- 10. secrets: the webhook secret, invite codes, guessing ----------------------------------------


@pytest.mark.parametrize("secret", ["a", "has space!", "fifteen-chars15", "x" * 257, "mật-khẩu-dài-hơn-16", "tab\tsecret-123456789"])
def test_a_weak_or_malformed_webhook_secret_is_refused(secret: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(WEBHOOK_URL="https://bot.example.gov.vn/telegram", WEBHOOK_SECRET=secret)
    assert "WEBHOOK_SECRET" in str(refused.value) and "\n" not in str(refused.value)
    assert len(secret) < 5 or secret not in str(refused.value)  # the value itself is never shown


@pytest.mark.parametrize("secret", ["sixteen-chars_16", "A" * 256, "0123456789abcdef0123456789abcdef"])
def test_a_strong_webhook_secret_is_accepted(secret: str) -> None:
    settings = load_settings(WEBHOOK_URL="https://bot.example.gov.vn/telegram", WEBHOOK_SECRET=secret)
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == secret


async def test_invite_codes_are_stored_as_a_keyed_hash(chat: Chat, app: App) -> None:  # noqa: F811
    code = await chat.invite("leader")
    async with app.unit_of_work() as session:
        invite = await session.scalar(select(Invite))
        key = (await session.get(ServerSecret, people.INVITE_KEY)).value
    assert invite.keyed and len(bytes.fromhex(key)) == 32
    assert invite.code_hash != hashlib.sha256(code.encode()).hexdigest()  # not reversible without the key
    assert invite.code_hash == hmac.new(bytes.fromhex(key), code.encode(), hashlib.sha256).hexdigest()
    assert "lãnh đạo" in await chat.say("Chủ tịch", f"/start {code.lower()}")


async def test_an_invite_issued_before_keyed_hashes_still_works(chat: Chat, app: App) -> None:  # noqa: F811
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        session.add(Invite(code_hash=hashlib.sha256(b"ABCD2345").hexdigest(), keyed=False, plan_id=plan.id,
                           role="leader", created_at=app.now(), expires_at=app.now() + timedelta(days=14)))
    assert "lãnh đạo" in await chat.say("Chủ tịch", "/start ABCD2345")
    assert "đã được dùng" in await chat.say("Khác", "/start ABCD2345")


async def _guesses_from_everyone(app: App, count: int) -> None:
    async with app.unit_of_work() as session:
        for sender in range(count):
            await people.record_failed_attempt(session, "console", f"guesser-{sender}", app.now())


async def test_wrong_codes_from_many_senders_pause_registration_on_the_console(chat: Chat, app: App, clock) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    good = await chat.invite("officer", "an-sinh")
    await _guesses_from_everyone(app, people.GLOBAL_THROTTLE_LIMIT - 1)
    assert "không đúng" in await chat.say("one-more-guesser", "/start WRONGXY9")  # the limit's last one
    answer = await chat.say("Lan", f"/start {good}")
    assert "tạm dừng" in answer and "phút" in answer
    clock.set(clock() + people.THROTTLE_WINDOW)
    assert "cán bộ đầu mối" in await chat.say("Lan", f"/start {good}")


async def test_wrong_codes_from_many_senders_pause_registration_through_telegram(tg: Harness) -> None:  # noqa: F811
    good = await tg.invite("officer", "an-sinh")
    async with tg.app.unit_of_work() as session:
        for sender in range(people.GLOBAL_THROTTLE_LIMIT):
            await people.record_failed_attempt(session, "telegram", str(9000 + sender), tg.app.now())
    [answer] = await tg.say(LAN, f"/start {good}")
    assert "tạm dừng" in answer


# --- 11. long messages ---------------------------------------------------------------------------------


def _long_report(length: int) -> str:
    head = "6: 70%\n"
    tail = "\n9: 96%"
    return head + "ghi chú " * ((length - len(head) - len(tail)) // 8) + "x" * ((length - len(head) - len(tail)) % 8) + tail


async def test_a_message_over_the_limit_is_answered_as_such_on_the_console(chat: Chat, app: App) -> None:  # noqa: F811
    await chat.register("Lan", "officer", "an-sinh")
    answer = await chat.say("Lan", _long_report(5000))
    assert "5.000 ký tự" in answer and "4.096" in answer and "chưa ghi gì" in answer
    assert await _stored(app) == []
    assert len(_long_report(4096)) == 4096
    within = await chat.say("Lan", _long_report(4096))
    assert "vượt giới hạn" not in within and "Đã ghi chỉ tiêu 6" in within
    assert "vượt giới hạn" in await chat.say("Lan", "/tonghop " + "x" * 4100, chat="BCĐ", group=True)
    assert await chat.say("Lan", "x" * 5000, chat="BCĐ", group=True) == ""  # group chatter stays unanswered


async def test_a_message_over_the_limit_is_answered_as_such_through_telegram(tg: Harness) -> None:  # noqa: F811
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    [answer] = await tg.say(LAN, _long_report(4097))
    assert "4.097 ký tự" in answer and "chưa ghi gì" in answer
    assert await _stored(tg.app) == []


# --- 8. plan files: size, shape and nesting checked before loading -------------------------------------


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_", "TELEGRAM_"))}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def _problem(path: Path) -> str:
    with pytest.raises(PlanFileError) as refused:
        load_plan_file(path)
    [issue] = refused.value.issues
    return refused.value.render(translator("en")).splitlines()[-1] + " " + issue.message


@pytest.mark.parametrize(("cell", "sheet"), [("XFD1048576", "Đơn vị"), ("A20001", "Phụ lục 1"), ("BM3", "Phụ lục 1")])
def test_a_sheet_with_cells_beyond_the_range_is_refused(tmp_path: Path, cell: str, sheet: str) -> None:
    path = appendix(tmp_path / "plan.xlsx")
    book = load_workbook(path)
    book[sheet][cell] = "x"
    book.save(path)
    problem = _problem(path)
    assert "plan-error-xlsx-shape" in problem and sheet in problem and "20000 rows × 64 columns" in problem


def test_an_appendix_at_the_edge_of_the_range_imports(tmp_path: Path) -> None:
    path = appendix(tmp_path / "plan.xlsx")
    book = load_workbook(path)
    book["Phụ lục 1"]["BL20000"] = "ghi chú"
    book.save(path)
    assert load_plan_file(path).code == "X2025"


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_xlsx, "MAX_UNPACKED_BYTES", 2**20)  # the same check, at a size a test can afford
    path = appendix(tmp_path / "plan.xlsx")
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as package:
        with package.open("xl/media/padding.bin", "w") as padding:
            for _ in range(3):
                padding.write(bytes(2**20))
    assert path.stat().st_size < 2**20 // 10
    assert "plan-error-xlsx-unpacked" in _problem(path) and "unpacks to 4 MB, over the 1 MB limit" in _problem(path)


def test_an_oversized_file_is_refused_by_its_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * MAX_YAML_BYTES)
    assert "plan-error-too-large" in _problem(path)


def test_deep_nesting_and_many_aliases_are_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("plan: " + "[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert "plan-error-too-deep" in _problem(deep)
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text("a: &a [x, x, x]\nb: [" + ", ".join(["*a"] * 101) + "]\n", encoding="utf-8")
    assert "plan-error-aliases" in _problem(laughs)


def test_the_command_line_refuses_a_deep_file_in_one_line(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("plan:\n  x: " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    result = _cli("import-plan", str(deep), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "lồng nhau quá 32 cấp" in result.stderr and len(result.stderr.strip().splitlines()) == 2  # header, problem


# --- 9. every error of the command line and of `run` in one clear line, no token in any ------------


RUN_TOKEN = "123456:RUN-secret-token"


def test_a_dotenv_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"BOT_LOCALE=vi\n# Qu\xe1n tr\xf2 (saved as Windows-1258)\n")
    result = _cli("plans", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ".env" in result.stderr and "UTF-8" in result.stderr and result.stderr.strip().count("\n") == 0


class _Api:
    def __init__(self) -> None:
        self.url = ""
        self.asked = asyncio.Event()


@asynccontextmanager
async def _bad_api(kind: str) -> AsyncIterator[_Api]:
    """A Bot API address that is closed, answers an error page echoing the request path (token
    included), or never answers."""
    api = _Api()
    if kind == "closed":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            api.url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        yield api
        return
    never = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        api.asked.set()
        if kind == "hang":
            await never.wait()
        return web.Response(status=502, content_type="text/html",
                            text=f"<html><h1>502 Bad Gateway</h1><p>upstream failed for {request.path}</p></html>")

    server = web.Application()
    server.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(server, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield api
    finally:
        never.set()
        await runner.cleanup()


async def _run_bot(tmp_path: Path, api: str, token: str = RUN_TOKEN) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_", "TELEGRAM_"))}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parent.parent), BOT_TOKEN=token, TELEGRAM_API_URL=api)
    return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
                                                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def _stop(bot: asyncio.subprocess.Process, seen: list[str]) -> str:
    bot.send_signal(signal.SIGTERM)
    _, rest = await asyncio.wait_for(bot.communicate(), timeout=60)
    return "".join(seen) + rest.decode()


@pytest.mark.parametrize("kind", ["closed", "echoing"])
async def test_run_keeps_retrying_an_api_it_cannot_reach_one_line_each(tmp_path: Path, kind: str) -> None:
    async with _bad_api(kind) as api:
        bot = await _run_bot(tmp_path, api.url)
        seen: list[str] = []
        try:
            while sum("retrying" in line for line in seen) < 2:
                line = await asyncio.wait_for(bot.stderr.readline(), timeout=60)  # type: ignore[union-attr]
                assert line, "".join(seen)
                seen.append(line.decode())
            stderr = await _stop(bot, seen)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    assert bot.returncode == 0, stderr
    assert "Traceback" not in stderr and RUN_TOKEN not in stderr and "RUN-secret" not in stderr
    attempts = [line for line in stderr.splitlines() if "cannot be reached" in line]
    assert attempts[:2] == [
        f"WARNING bot.run: telegram: the Bot API cannot be reached (attempt {n}: {kind_name}); retrying in {wait} s"
        for n, wait, kind_name in ((1, 1, _error_name(kind)), (2, 2, _error_name(kind)))]


def _error_name(kind: str) -> str:
    return {"closed": "TelegramNetworkError", "echoing": "ClientDecodeError"}[kind]  # an HTML page, not JSON


async def test_run_stops_cleanly_on_sigterm_during_a_call_that_hangs(tmp_path: Path) -> None:
    async with _bad_api("hang") as api:
        bot = await _run_bot(tmp_path, api.url)
        try:
            await asyncio.wait_for(api.asked.wait(), timeout=60)  # getMe sent, never answered
            stderr = await _stop(bot, [])
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    assert bot.returncode == 0 and "Traceback" not in stderr, stderr


async def test_a_rejected_token_is_one_line(tmp_path: Path) -> None:
    async with TelegramEmulator(token="999:other-token", username="dtbot_run_bot") as emu:
        bot = await _run_bot(tmp_path, emu.base_url)
        _, err = await asyncio.wait_for(bot.communicate(), timeout=60)
    stderr = err.decode()
    assert bot.returncode == 1 and "Traceback" not in stderr and RUN_TOKEN not in stderr
    assert stderr.strip().splitlines()[-1].startswith("Telegram từ chối BOT_TOKEN")


def test_secrets_are_blanked_from_every_log_record(caplog: pytest.LogCaptureFixture) -> None:
    handler = logging.StreamHandler(io.StringIO())
    handler.addFilter(SecretFilter([RUN_TOKEN]))
    logger = logging.getLogger("aiogram.test")
    logger.addHandler(handler)
    try:
        logger.warning("failed: %s", f"<p>/bot{RUN_TOKEN}/getMe</p>")
        try:
            raise RuntimeError(f"GET /bot{RUN_TOKEN}/getUpdates")
        except RuntimeError:
            logger.exception("polling")
    finally:
        logger.removeHandler(handler)
    written = handler.stream.getvalue()
    assert RUN_TOKEN not in written and written.count("/bot***/") == 2 and "Traceback" in written
