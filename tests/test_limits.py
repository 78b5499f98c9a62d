"""Issue 12, item 7: expensive requests (/tonghop, /bieudo, /xuat) within per-person and per-group
rate limits, one build for identical requests in flight, and commands refusing a period they cannot
read instead of answering for the default one. On the console path and through the Telegram
emulator."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, strategies as st

from bot.app import App
from handlers import limits, summary
from handlers.context import Ctx
from handlers.events import Event
from handlers.intents import AskCharts, AskExport, AskMissing, AskSummary
from handlers.understand import understand
from locales import translator
from models import people
from tests.conftest import Clock
from tests.test_dialog import Chat, chat  # noqa: F401  (the console conversation fixture)
from tests.test_telegram import BOSS, GROUP, LAN, USERNAME, Harness, tg  # noqa: F401  (the emulator fixture)

VI = translator("vi")
BUSY = "đang tạo, vui lòng chờ"
COMMANDS = {"/tonghop": AskSummary, "/bieudo": AskCharts, "/xuat": AskExport, "/chuanop": AskMissing}
NOT_PERIODS = ["2025-13", "2099-Q5", "abc", "tháng 13", "quý V"]


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every summary built for an expensive request, by its period."""
    built: list[str] = []
    build = summary.build_summary

    async def counted(session: Any, view: Any, period: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(period.id)
        return await build(session, view, period, *args, **kwargs)

    monkeypatch.setattr(summary, "build_summary", counted)
    return built


# --- periods that are not periods ---------------------------------------------------------------


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("argument", NOT_PERIODS)
def test_a_command_argument_that_names_no_period_is_kept_to_be_refused(command: str, argument: str) -> None:
    intent = understand(f"{command} {argument}", "vi")
    assert isinstance(intent, COMMANDS[command])
    assert intent.period is None and intent.unknown_period == argument


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("argument", ["2025-03", "2025-Q1", "tháng 3", "quý I", "6 tháng đầu năm", "2025", ""])
def test_periods_and_no_argument_still_read(command: str, argument: str) -> None:
    intent = understand(f"{command} {argument}".strip(), "vi")
    assert isinstance(intent, COMMANDS[command]) and intent.unknown_period is None
    assert (intent.period is None) == (argument == "")


@given(st.text(alphabet="abcq0123456789-/ IVtháng", min_size=1, max_size=20))
def test_a_period_command_either_reads_its_argument_or_refuses_it(argument: str) -> None:
    intent = understand(f"/tonghop {argument}", "vi")
    assert isinstance(intent, AskSummary)
    if argument.strip():
        assert (intent.period is None) != (intent.unknown_period is None)


@pytest.mark.parametrize("text", ["/tonghop 2025-13", "/tonghop 2099-Q5", "/tonghop abc", "/bieudo abc",
                                  "/xuat 2025-13", "/chuanop 2099-Q5"])
async def test_an_unknown_period_is_an_error_naming_what_is_accepted_on_the_console(
        chat: Chat, monkeypatch: pytest.MonkeyPatch, text: str) -> None:  # noqa: F811
    await chat.register("Boss", "admin")
    built = _count_builds(monkeypatch)
    answer = await chat.say("Boss", text)
    argument = text.split(" ", 1)[1]
    assert answer == VI("limits-period-unknown", text=argument)
    assert all(example in answer for example in ("2025-03", "2025-Q1", "tháng 3", "quý I"))
    assert built == []


# --- rate limits ---------------------------------------------------------------------------------------


async def test_a_person_asking_too_often_is_asked_to_wait_then_served_again(
        chat: Chat, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    await chat.register("Boss", "leader")
    built = _count_builds(monkeypatch)
    for _ in range(limits.PERSON_LIMIT):
        assert "Tổng hợp" in await chat.say("Boss", "/tonghop 2025-03")
    refused = await chat.say("Boss", "/bieudo 2025-03")
    assert BUSY in refused and "60 giây" in refused
    assert len(built) == limits.PERSON_LIMIT
    await chat.register("Hoa", "leader")
    assert "Tổng hợp" in await chat.say("Hoa", "/tonghop 2025-03")  # another person is not held up
    clock.set(clock() + limits.PERSON_WINDOW - timedelta(seconds=1))
    assert "1 giây" in await chat.say("Boss", "/tonghop 2025-03")
    clock.set(clock() + timedelta(seconds=1))
    assert "Biểu đồ" in await chat.say("Boss", "/bieudo 2025-03")
    assert len(built) == limits.PERSON_LIMIT + 2


async def test_ten_summaries_asked_in_the_group_build_a_few_and_the_officer_is_answered(
        chat: Chat, app: App, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """The probe's case: ten /tonghop from unregistered members of the bound group, then an
    officer's figure. Past the group's limit nothing is built, and the figure is stored."""
    assert "Ban Chỉ đạo" in await chat.say("Chair", f"/start {await chat.invite('group')}", chat="bcd", group=True)
    await chat.register("Lan", "officer", "an-sinh")
    built = _count_builds(monkeypatch)
    answers = [await chat.say(f"member{i}", "/tonghop", chat="bcd", group=True) for i in range(10)]
    assert ["Tổng hợp" in a for a in answers] == [True] * limits.GROUP_LIMIT + [False] * (10 - limits.GROUP_LIMIT)
    assert all(BUSY in a for a in answers[limits.GROUP_LIMIT:])
    assert len(built) == limits.GROUP_LIMIT
    assert "Đã ghi chỉ tiêu 6" in await chat.say("Lan", "6: 70%")


# --- one build for identical requests in flight -------------------------------------------------------


async def _leader_ctx(app: App, session: Any, user: str) -> Ctx:
    event = Event(channel="console", chat_id=user, chat_kind="private", sender_id=user, sender_name=user,
                  text="/tonghop")
    ctx = Ctx(app.deps, session, event, app.now())
    ctx.person, ctx.roles = await people.person_and_roles(session, "console", user)
    ctx.relocalize()  # in the person's language
    await ctx.settle_plan(ctx.roles)
    return ctx


class _Watched(dict):  # type: ignore[type-arg]
    """The builds in flight, noting when a request finds one to join."""

    def __init__(self) -> None:
        super().__init__()
        self.joined = asyncio.Event()

    def get(self, key: Any, default: Any = None) -> Any:
        found = super().get(key, default)
        if found is not None:
            self.joined.set()
        return found


@pytest.mark.parametrize("second_locale, shared", [("vi", True), ("en", False)])
async def test_identical_requests_in_flight_build_once(chat: Chat, app: App, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
                                                       second_locale: str, shared: bool) -> None:
    await chat.register("Boss", "leader")
    await chat.register("Hoa", "leader")
    await chat.say("Hoa", "/ngonngu en" if second_locale == "en" else "/ngonngu vi")
    building = _Watched()
    monkeypatch.setattr(app.deps.limits, "building", building)
    started, gate = asyncio.Event(), asyncio.Event()
    built: list[str] = []
    build = summary.build_summary

    async def held(session: Any, view: Any, period: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(period.id)
        started.set()
        await gate.wait()  # the first build is in progress while the second request comes
        return await build(session, view, period, *args, **kwargs)

    monkeypatch.setattr(summary, "build_summary", held)
    # Two events' own sessions, side by side (on SQLite past the one-at-a-time queue: both only read).
    factory = getattr(app.sessions, "factory", app.sessions)
    async with factory() as first_session, factory() as second_session:
        first = await _leader_ctx(app, first_session, "Boss")
        second = await _leader_ctx(app, second_session, "Hoa")
        first_task = asyncio.create_task(summary.ask_summary(first))
        await started.wait()
        second_task = asyncio.create_task(summary.ask_summary(second))
        if shared:
            await building.joined.wait()
        else:
            while len(built) < 2:  # the English one is a build of its own
                await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(first_task, second_task)
    assert len(built) == (1 if shared else 2)
    assert "Tổng hợp" in first.replies[0].text
    assert [len(r.attachments) for r in first.replies][-1] == 2
    if shared:
        assert [r.text for r in second.replies] == [r.text for r in first.replies]
        assert second.replies[-1].attachments == first.replies[-1].attachments
    else:
        assert "Digital transformation summary" in second.replies[0].text and second.replies[0].locale == "en"
    assert building == {}  # nothing left in flight


async def test_a_failed_build_fails_those_who_joined_it_and_is_not_kept(
        chat: Chat, app: App, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    await chat.register("Boss", "leader")
    building = _Watched()
    monkeypatch.setattr(app.deps.limits, "building", building)
    started, gate = asyncio.Event(), asyncio.Event()

    async def fails() -> list[Any]:
        started.set()
        await gate.wait()
        raise RuntimeError("a bug in building")

    async with app.unit_of_work() as session:
        ctx = await _leader_ctx(app, session, "Boss")
        first = asyncio.create_task(limits.expensive(ctx, "summary", 1, "2025-03", fails))
        await started.wait()
        second = asyncio.create_task(limits.expensive(ctx, "summary", 1, "2025-03", fails))
        await building.joined.wait()
        gate.set()
        results = await asyncio.gather(first, second, return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError, RuntimeError]
    assert building == {}


# --- through Telegram ----------------------------------------------------------------------------------


async def test_limits_and_period_errors_through_telegram(tg: Harness, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    [bound] = await tg.say(BOSS, f"/start@{USERNAME} {await tg.invite('group')}", chat=GROUP)
    assert "Ban Chỉ đạo" in bound
    built = _count_builds(monkeypatch)
    [refused] = await tg.say(BOSS, f"/tonghop@{USERNAME} 2025-13", chat=GROUP)
    assert refused == VI("limits-period-unknown", text="2025-13")
    for member in range(limits.GROUP_LIMIT):
        answer = await tg.say(2000 + member, f"/tonghop@{USERNAME}", chat=GROUP)
        assert "Tổng hợp" in answer[0]
    [busy] = await tg.say(2000 + limits.GROUP_LIMIT, f"/tonghop@{USERNAME}", chat=GROUP)
    assert BUSY in busy
    assert len(built) == limits.GROUP_LIMIT
    await tg.say(LAN, f"/start {await tg.invite('officer', 'an-sinh')}")
    [stored] = await tg.say(LAN, "6: 70%")
    assert "Đã ghi chỉ tiêu 6" in stored
