"""Issue 12 (hardening): each hole found by probing, reproduced on the console path and through the
Telegram emulator, and shown closed."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import App
from handlers import report
from handlers.context import load_plan_view
from models import store
from models.tables import Base, Submission
from tests.test_dialog import Chat, chat  # noqa: F401  (the console conversation fixture)
from tests.test_telegram import LAN, MINH, Harness, tg  # noqa: F401  (the emulator fixture)


async def _stored(app: App) -> list[tuple[int, str, str]]:
    async with app.unit_of_work() as session:
        rows = await session.execute(select(Submission.unit_id, Submission.period, Submission.value).order_by(Submission.id))
        return [(unit_id, period, format(value, "f") if value is not None else "-") for unit_id, period, value in rows]


def _fail_first(monkeypatch: pytest.MonkeyPatch, times: int = 1) -> None:
    """The next figures stored raise, after the plan view was loaded in that event's session."""
    store_figure = report._store
    failed: list[bool] = []

    async def fails_first(*args, **kwargs):  # type: ignore[no-untyped-def]
        if len(failed) < times:
            failed.append(True)
            raise RuntimeError("a bug in handling")
        return await store_figure(*args, **kwargs)

    monkeypatch.setattr(report, "_store", fails_first)


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
    _fail_first(monkeypatch, times=2)  # the polled batch, then the update alone
    [apology] = await tg.say(LAN, "6: 70%")
    assert "sự cố" in apology
    [stored] = await tg.say(MINH, "6: 71%")
    assert "Đã ghi chỉ tiêu 6" in stored
    [stored] = await tg.say(LAN, "6: 70%")
    assert "Đã ghi chỉ tiêu 6" in stored
