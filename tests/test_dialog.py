"""Whole conversations through the console channel: registration, reporting, corrections,
validation, questions, permissions, groups — in Vietnamese and English."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from models import people, store
from models.tables import Role, Submission

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"


class Chat:
    """Talks to the bot as several people; keeps what the bot said to each."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.log: list[str] = []
        self.channel = ConsoleChannel(app.deps, write=self.log.append)

    async def invite(self, role: str, unit: str | None = None, days: int = 14) -> str:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "T2025")
            found = None
            if unit:
                found = next(u for u in await store.plan_units(session, plan) if u.code == unit)
            issued = await people.create_invite(session, role=role, plan=plan, unit=found, now=self.app.now(), days=days)
        return issued.code

    async def say(self, user: str, text: str, **kwargs: object) -> str:
        replies = await self.channel.send(user, text, **kwargs)  # type: ignore[arg-type]
        return "\n".join(r.text for r in replies if r.to is None)

    async def register(self, user: str, role: str, unit: str | None = None) -> str:
        return await self.say(user, f"/start {await self.invite(role, unit)}")


@pytest.fixture
async def chat(app: App) -> Chat:
    await import_plan_file(app, SMALL)
    return Chat(app)


async def submissions(app: App) -> list[Submission]:
    async with app.unit_of_work() as session:
        return list(await session.scalars(select(Submission).order_by(Submission.id)))


async def test_an_officer_registers_with_an_invite(chat: Chat) -> None:
    answer = await chat.register("Lan", "officer", "an-sinh")
    assert "Xã An Sinh" in answer and "cán bộ đầu mối" in answer


async def test_wrong_used_and_expired_codes_get_clear_answers(chat: Chat, clock) -> None:  # type: ignore[no-untyped-def]
    assert "không đúng" in await chat.say("X", "/start ABCDEFGH")
    code = await chat.invite("officer", "an-sinh")
    await chat.say("Lan", f"/start {code}")
    assert "đã được dùng" in await chat.say("Y", f"/start {code}")
    late = await chat.invite("officer", "mao-khe", days=1)
    clock.set(clock() + timedelta(days=2))
    assert "hết hạn" in await chat.say("Z", f"/start {late}")


async def test_repeated_wrong_codes_are_throttled(chat: Chat) -> None:
    for attempt in range(5):
        await chat.say("guesser", f"/start WRONG{attempt}XY")
    good = await chat.invite("officer", "an-sinh")
    assert "quá nhiều lần" in await chat.say("guesser", f"/start {good}")


async def test_codes_are_stored_hashed(chat: Chat, app: App) -> None:
    code = await chat.invite("leader")
    async with app.unit_of_work() as session:
        from models.tables import Invite

        stored = [i.code_hash for i in await session.scalars(select(Invite))]
    assert code not in stored and len(stored[0]) == 64


async def test_figures_are_stored_confirmed_and_deduplicated(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    answer = await chat.say("Lan", "6: 120/150; 9: 96%")
    assert "Đã ghi chỉ tiêu 6 (tháng 3/2025): 80% (120/150)" in answer
    assert "9b" in answer and "96%" in answer
    assert "Còn thiếu" not in answer or "6" not in answer.split("Còn thiếu")[-1]
    again = await chat.say("Lan", "6: 120/150")
    assert "đã nhận trước đó" in again
    assert len(await submissions(app)) == 2


async def test_a_correction_keeps_every_version(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    await chat.say("Lan", "6: 72,5%")
    answer = await chat.say("Lan", "sửa chỉ tiêu 6: 75%")
    assert "72,5% → 75%" in answer
    rows = await submissions(app)
    assert [(r.version, str(r.value)) for r in rows] == [(1, "72.5"), (2, "75")]


@pytest.mark.parametrize(
    ("unit", "text", "expected"),
    [
        ("an-sinh", "6: 160/150", "lớn hơn mẫu số"),
        ("an-sinh", "6: 120%", "từ 0 đến 100%"),
        ("an-sinh", "6: -5", "không được âm"),
        ("an-sinh", "6: 5/0", "mẫu số phải lớn hơn 0"),
        ("an-sinh", "22: 5%", "không báo cáo chỉ tiêu 22"),
        ("vp", "10: 5", "không gửi số"),
        ("vhtt", "15: 50%", "không tính theo %"),
        ("an-sinh", "99: 5%", "Không có chỉ tiêu «99»"),
    ],
)
async def test_bad_figures_get_their_own_explanation(chat: Chat, app: App, unit: str, text: str, expected: str) -> None:
    await chat.register("Officer", "officer", unit)
    answer = await chat.say("Officer", text)
    assert expected in answer
    assert await submissions(app) == []


async def test_a_figure_far_from_the_previous_one_is_confirmed_first(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    await chat.say("Lan", "9: 40%")
    ask = await chat.say("Lan", "9: 95%")
    assert "40% → 95%" in ask and "Có đúng không" in ask
    assert len(await submissions(app)) == 1
    assert "40% → 95%" in await chat.say("Lan", "có")
    assert len(await submissions(app)) == 2


async def test_the_gap_answer_has_the_right_numbers(chat: Chat, clock) -> None:  # type: ignore[no-untyped-def]
    await chat.register("Lan", "officer", "an-sinh")
    clock.set(clock() - timedelta(days=30))
    await chat.say("Lan", "6: 100/150")  # February: 66,67%
    clock.set(clock() + timedelta(days=30))
    await chat.say("Lan", "6: 120/150")  # March: 80%
    answer = await chat.say("Lan", "chỉ tiêu 6 còn thiếu bao nhiêu?")
    assert "80% (120/150) (tháng 3/2025)" in answer
    assert "Tăng 13,33 điểm %" in answer
    assert "Còn thiếu 10 điểm %" in answer
    assert "Cần thêm 15" in answer  # 135/150 = 90%
    assert "(9)" in answer and "1,11 điểm %" in answer  # 10 points over the 9 months left


async def test_an_officer_cannot_see_another_unit(chat: Chat) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    await chat.register("Minh", "officer", "mao-khe")
    await chat.say("Lan", "6: 80%")
    answer = await chat.say("Minh", "tình hình xã An Sinh")
    assert "chỉ xem được số liệu của đơn vị mình" in answer and "80%" not in answer


async def test_guided_reporting_by_numbered_choices(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    listing = await chat.say("Lan", "/baocao")
    assert "Báo cáo của Xã An Sinh" in listing
    ask = await chat.say("Lan", "1")
    assert "Xin gửi số liệu" in ask
    stored = await chat.say("Lan", "85")
    assert "Đã ghi chỉ tiêu" in stored
    assert len(await submissions(app)) == 1


async def test_a_handover_tells_the_previous_officer(chat: Chat, app: App) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    code = await chat.invite("officer", "an-sinh")
    replies = await chat.channel.send("Hoa", f"/start {code}")
    told = [r for r in replies if r.to is not None]
    assert told and told[0].to == ("console", "Lan") and "Hoa" in told[0].text
    async with app.unit_of_work() as session:
        roles = list(await session.scalars(select(Role).where(Role.role == "officer").order_by(Role.id)))
    assert [r.ended_reason for r in roles] == ["handed_over", None]


async def test_leaders_ask_about_the_plan(chat: Chat) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    await chat.register("Chủ tịch", "leader")
    await chat.say("Lan", "6: 120/150")
    missing = await chat.say("Chủ tịch", "đơn vị nào chưa báo cáo?")
    assert "Phường Mạo Khê" in missing and "chưa có cán bộ đầu mối" in missing
    across = await chat.say("Chủ tịch", "chỉ tiêu 6 các đơn vị")
    assert "Xã An Sinh: 80% (120/150)" in across
    unit = await chat.say("Chủ tịch", "tinh hinh xa an sinh")
    assert "Tình hình Xã An Sinh" in unit
    off = await chat.say("Chủ tịch", "chỉ tiêu nào chưa đạt?")
    assert "6 ·" in off


async def test_english_speakers_get_english_numbers(chat: Chat) -> None:
    await chat.register("Anna", "officer", "an-sinh")
    assert "Switched to English" in await chat.say("Anna", "/language en")
    assert "Stored indicator 6 (March 2025): 72.5%" in await chat.say("Anna", "6: 72.5%")


async def test_unknown_messages_get_help_with_examples(chat: Chat) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    answer = await chat.say("Lan", "xin chào bot ơi, hôm nay trời đẹp")
    assert "6: 72,5%" in answer


async def test_unregistered_people_are_told_how_to_start(chat: Chat) -> None:
    assert "/start" in await chat.say("Stranger", "6: 50%")


async def test_the_steering_group_is_bound_and_answers_commands_only(chat: Chat) -> None:
    assert "chưa được thiết lập" in await chat.say("Admin", "/chuanop", chat="BCĐ", group=True)
    code = await chat.invite("group")
    assert "Ban Chỉ đạo" in await chat.say("Admin", f"/start {code}", chat="BCĐ", group=True)
    assert "chưa báo cáo" in await chat.say("Chủ tịch", "/chuanop", chat="BCĐ", group=True)
    assert await chat.say("Chủ tịch", "hôm nay họp lúc mấy giờ?", chat="BCĐ", group=True) == ""
