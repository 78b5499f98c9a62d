"""The web desk's review table (issue 23 with issue 17): the tracking office approves and returns
figures from /plans/{plan}/review over real HTTP, with the same decisions, the same message to the
officer (through the Telegram emulator) and the same audit trail as in chat; rights, CSRF and the
evidence files. The browser test of the page is in tests/test_web_browser.py."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.app import App
from bot.web.server import Desk as WebDesk
from models.tables import Review
from tests.conftest import Clock
from tests.test_evidence import JPEG
from tests.test_review import BOSS, LAN, MINH, Desk, desk, plan_file
from tests.test_web import LINK, browser, free_port

LEADER = 1004


@pytest.fixture
async def site(app: App, tmp_path: Path) -> AsyncIterator[tuple[Desk, str]]:
    async for harness in desk(app, plan_file(tmp_path, evidence=False)):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app.deps.web_base = base
        runner = aiohttp.web.AppRunner(WebDesk(app, base, {"telegram": harness.channel.sender}).application())
        await runner.setup()
        await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield harness, base
        finally:
            await runner.cleanup()


async def sign_in(tg: Desk, user: int) -> aiohttp.ClientSession:
    [answer] = await tg.say(user, "/web")
    found = LINK.search(answer)
    assert found, answer
    session = browser()
    async with session.get(found.group(1)) as response:
        assert response.status == 200
    return session


async def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def post(session: aiohttp.ClientSession, base: str, form: dict[str, str | list[str]],
               origin: str | None = None) -> tuple[int, str]:
    data = aiohttp.FormData()
    for key, value in form.items():
        for one in value if isinstance(value, list) else [value]:
            data.add_field(key, one)
    async with session.post(f"{base}/plans/T2025/review", data=data,
                            headers={"Origin": origin or base}) as response:
        return response.status, await response.text()


async def states(app: App) -> list[tuple[str, str | None, str]]:
    async with app.sessions() as session:
        return [(r.decision, r.reason, r.channel) for r in await session.scalars(select(Review).order_by(Review.id))]


async def test_the_tracking_office_returns_and_approves_from_the_web(site: tuple[Desk, str], clock: Clock) -> None:
    tg, base = site
    await tg.say(LAN, "6: 120/150")
    async with await sign_in(tg, MINH) as web:
        async with web.get(f"{base}/") as response:  # an officer who reviews: the home page links both
            home = await response.text()
        assert "/plans/T2025/review" in home and "/plans/T2025/units/vhtt" in home
        async with web.get(f"{base}/plans/T2025/review?period=2025-03") as response:
            assert response.status == 200
            page = await response.text()
        assert "Xã An Sinh" in page and "80% (120/150)" in page and "chờ duyệt" in page
        token = await csrf_of(page)
        form = {"csrf": token, "period": "2025-03", "indicator": "6", "unit": "an-sinh"}

        status, answer = await post(web, base, {**form, "action": "return", "reason": "  "})
        assert status == 200 and "Cần ghi lý do trả lại" in answer  # asked again, nothing decided
        assert await states(tg.app) == []

        before = len(tg.emu.sent)
        _, answer = await post(web, base, {**form, "action": "return", "reason": "thiếu minh chứng"})
        assert "Đã trả lại 1 số liệu" in answer and "trả lại" in answer
        await tg.emu.wait_for_sent(before + 1)
        [told] = [s.text for s in tg.emu.sent[before:] if s.chat_id == LAN]
        assert "bị trả lại. Lý do: thiếu minh chứng" in told  # the chat's own message to the officer
        assert await states(tg.app) == [("returned", "thiếu minh chứng", "web")]

        clock.set(clock() + timedelta(minutes=10))
        await tg.say(LAN, "sửa chỉ tiêu 6: 125/150")  # the correction awaits review again
        async with web.get(f"{base}/plans/T2025/review?period=2025-03&state=awaiting") as response:
            page = await response.text()
        assert "83,33% (125/150)" in page and "80% (120/150)" not in page
        _, answer = await post(web, base, {**form, "action": "approve", "state": "awaiting"})
        assert "Đã duyệt 1 số liệu" in answer
        _, again = await post(web, base, {**form, "action": "approve"})
        assert "Đã duyệt 0 số liệu" in again  # a second press (or a reload) approves nothing twice
    assert await states(tg.app) == [("returned", "thiếu minh chứng", "web"), ("approved", None, "web")]
    [history] = await tg.say(MINH, "lịch sử chỉ tiêu 6 xã An Sinh")  # the chat's audit trail
    lines = history.splitlines()
    assert "trả lại phiên bản 1: thiếu minh chứng" in lines[2] and "web" in lines[2]
    assert "duyệt phiên bản 2" in lines[4] and "web" in lines[4]


async def test_approve_all_and_nothing_chosen(site: tuple[Desk, str]) -> None:
    tg, base = site
    await tg.say(LAN, "6: 120/150")
    async with await sign_in(tg, MINH) as web:
        async with web.get(f"{base}/plans/T2025/review?period=2025-03&indicator=6") as response:
            token = await csrf_of(await response.text())
        form = {"csrf": token, "period": "2025-03", "indicator": "6"}
        _, answer = await post(web, base, {**form, "action": "approve"})
        assert "Chưa chọn dòng nào" in answer
        _, answer = await post(web, base, {**form, "action": "approve-all"})
        assert "Đã duyệt 1 số liệu" in answer and "đã duyệt" in answer
    assert await states(tg.app) == [("approved", None, "web")]


async def test_review_is_for_the_tracking_office_and_forms_for_its_own_pages(site: tuple[Desk, str]) -> None:
    tg, base = site
    await tg.say(LAN, "6: 120/150")
    await tg.say(LEADER, f"/start {await tg.invite('leader')}")
    async with await sign_in(tg, LAN) as web, web.get(f"{base}/plans/T2025/review") as response:
        assert response.status == 403  # an officer of another unit reviews nothing
        assert "cơ quan theo dõi chỉ tiêu" in await response.text()
    async with await sign_in(tg, LEADER) as web:  # a leader sees the plan, does not review it
        async with web.get(f"{base}/plans/T2025/review") as response:
            assert response.status == 403
        async with web.get(f"{base}/plans/T2025?period=2025-03") as response:
            assert "/plans/T2025/review" not in await response.text()
    async with await sign_in(tg, MINH) as web:
        async with web.get(f"{base}/plans/T2025/review?period=2025-03&indicator=99") as response:
            assert response.status == 403
        async with web.get(f"{base}/plans/T2025/review?period=2025-03") as response:
            token = await csrf_of(await response.text())
        form = {"csrf": token, "period": "2025-03", "indicator": "6", "unit": "an-sinh", "action": "approve"}
        status, _ = await post(web, base, form, origin="http://evil.example")
        assert status == 403
        status, _ = await post(web, base, {**form, "csrf": "forged"})
        assert status == 403
    await tg.say(BOSS, f"/start {await tg.invite('admin')}")
    async with await sign_in(tg, BOSS) as web:  # an admin reviews everything, from the plan page too
        async with web.get(f"{base}/plans/T2025?period=2025-03") as response:
            assert "/plans/T2025/review?period=2025-03" in await response.text()
        async with web.get(f"{base}/plans/T2025/review?period=2025-03") as response:
            assert response.status == 200
    assert await states(tg.app) == []


async def test_evidence_files_open_for_the_reviewer_and_the_unit_only(site: tuple[Desk, str]) -> None:
    tg, base = site
    await tg.say(LAN, "6: 120/150")
    await tg.photo(JPEG, "minh chứng ct 6")
    async with await sign_in(tg, MINH) as web:
        async with web.get(f"{base}/plans/T2025/review?period=2025-03") as response:
            page = await response.text()
        found = re.search(r'href="(/plans/T2025/evidence/\d+)"', page)
        assert found, page
        async with web.get(base + found.group(1)) as response:
            assert response.status == 200 and await response.read() == JPEG
            assert response.headers["Content-Disposition"].startswith("attachment;")
        async with web.get(f"{base}/plans/T2025/evidence/999999") as response:
            assert response.status == 404
    other = 1005
    await tg.say(other, f"/start {await tg.invite('officer', 'mao-khe')}")
    async with await sign_in(tg, other) as web, web.get(base + found.group(1)) as response:
        assert response.status == 404  # another commune's officer
    async with await sign_in(tg, LAN) as web, web.get(base + found.group(1)) as response:
        assert response.status == 200  # the unit's own officer


async def test_the_unit_page_shows_each_figures_review_and_evidence(site: tuple[Desk, str]) -> None:
    tg, base = site
    await tg.say(LAN, "6: 120/150")
    await tg.photo(JPEG, "minh chứng ct 6")
    async with await sign_in(tg, MINH) as web:
        async with web.get(f"{base}/plans/T2025/review?period=2025-03&indicator=6") as response:
            token = await csrf_of(await response.text())
        await post(web, base, {"csrf": token, "period": "2025-03", "indicator": "6", "unit": "an-sinh",
                               "action": "return", "reason": "số liệu chưa khớp biên bản"})
    async with await sign_in(tg, LAN) as web, web.get(f"{base}/plans/T2025/units/an-sinh?period=2025-03") as response:
        page = await response.text()
    row = page[page.index('data-code="6"'):].split("</tr>")[0]
    assert "đã trả lại" in row and "số liệu chưa khớp biên bản" in row
    assert re.search(r'href="/plans/T2025/evidence/\d+" download>', row)


async def test_the_plan_grid_marks_a_returned_figure_as_soon_as_it_is_returned(site: tuple[Desk, str]) -> None:
    tg, base = site
    await tg.say(LAN, "6: 120/150")
    await tg.say(LEADER, f"/start {await tg.invite('leader')}")
    leader = await sign_in(tg, LEADER)
    grid = f"{base}/plans/T2025?period=2025-03"

    async def cell() -> str:
        async with leader.get(grid) as response:
            page = await response.text()
        found = re.search(r'Xã An Sinh</a>.*?</tr>', page, re.S)
        assert found, page
        return found.group(0)

    assert 'class="c on-time"' in await cell() or 'class="c late"' in await cell()
    async with await sign_in(tg, MINH) as web:
        async with web.get(f"{base}/plans/T2025/review?period=2025-03&indicator=6") as response:
            token = await csrf_of(await response.text())
        await post(web, base, {"csrf": token, "period": "2025-03", "indicator": "6", "unit": "an-sinh",
                               "action": "return", "reason": "thiếu minh chứng"})
    assert 'class="c returned"' in await cell()  # the page kept for others is rebuilt after a decision
    async with leader.get(grid) as response:  # and the counts of the review, per indicator and in all
        page = await response.text()
    assert "Duyệt số liệu đã nhận: 0 đã duyệt, 0 chờ duyệt, 1 trả lại để sửa." in page
    six = page[page.index('<tr data-code="6">'):].split("</tr>")[0]
    assert '<td class="review">0 / 0 / 1</td>' in six
    await tg.say(LAN, "sửa 6: 125/150")  # corrected: awaiting review again, no longer returned
    assert 'class="c returned"' not in await cell()
    await leader.close()


async def test_the_review_table_flags_a_figure_out_of_line(site: tuple[Desk, str]) -> None:
    tg, base = site
    await tg.say(LAN, "6 tháng 2: 10/100")
    [asked] = await tg.say(LAN, "6 tháng 3: 90/100")  # nine times February's: the officer confirms it
    assert "Có đúng không" in asked
    await tg.say(LAN, "đúng")
    async with await sign_in(tg, MINH) as web, web.get(
            f"{base}/plans/T2025/review?period=2025-03&indicator=6") as response:
        page = await response.text()
    row = page[page.index('data-unit="an-sinh"'):].split("</tr>")[0]
    assert 'class="flag"' in row and "kỳ trước" in row, row
