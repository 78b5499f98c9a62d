"""The web desk (issue 23) over real HTTP: sign-in from a chat link (Telegram through the Bot API
emulator), the plan and unit pages, rights as in chat, CSRF, and the read-only API with its keys.
The browser tests are in tests/test_web_browser.py."""
from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest

from bot.app import App
from bot.web.server import Desk
from bot.web_cli import cmd_api_key, cmd_figures
from handlers.desk import Summaries, results_document
from locales import translator
from models import store
from models.periods import Period
from models.store import load_plan_view
from models.summary_queries import build_summary
from tests.conftest import Clock
from tests.test_telegram import LAN, MINH, Harness, tg  # noqa: F401  (the fixture)

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/login/[A-Za-z0-9_-]{43})")
BOSS_ID = 1003


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Site:
    base: str
    app: App


@pytest.fixture
async def desk(tg: Harness) -> AsyncIterator[Site]:  # noqa: F811
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tg.app.deps.web_base = base
    runner = aiohttp.web.AppRunner(Desk(tg.app, base).application(), access_log=None)
    await runner.setup()
    await aiohttp.web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Site(base, tg.app)
    finally:
        await runner.cleanup()


async def register(tg: Harness, user: int, role: str, unit: str | None = None) -> None:  # noqa: F811
    code = await tg.invite(role, unit)
    await tg.say(user, f"/start {code}")


async def web_link(tg: Harness, user: int) -> str:  # noqa: F811
    [answer] = await tg.say(user, "/web")
    found = LINK.search(answer)
    assert found, answer
    return found.group(1)


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def signed_in(tg: Harness, user: int) -> aiohttp.ClientSession:  # noqa: F811
    session = browser()
    async with session.get(await web_link(tg, user)) as response:
        assert response.status == 200
    return session


async def test_a_leader_signs_in_from_the_chat_and_sees_the_summarys_numbers(tg: Harness, desk: Site) -> None:  # noqa: F811
    await register(tg, LAN, "officer", "an-sinh")
    await register(tg, BOSS_ID, "leader")
    await tg.say(LAN, "6: 72,5%")
    async with await signed_in(tg, BOSS_ID) as session:
        async with session.get(f"{desk.base}/") as response:  # one plan: straight to it
            assert str(response.url).endswith("/plans/T2025")
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        async with session.get(f"{desk.base}/plans/T2025?period=2025-03") as response:
            page = await response.text()
        assert '<html lang="vi">' in page
        assert "72,5%" in page and "Xã An Sinh" in page
        await tg.say(LAN, "sửa 6: 75%")  # the page kept for others is rebuilt once a figure arrives
        async with session.get(f"{desk.base}/plans/T2025?period=2025-03") as response:
            page = await response.text()
        assert "75%" in page and "72,5%" not in page
        await tg.say(LAN, "6: 72,5%")
        async with session.get(f"{desk.base}/api/v1/plans/T2025/results?period=2025-03") as response:
            results = await response.json()
    async with desk.app.sessions() as db:
        plan = await store.get_plan(db, "T2025")
        view = await load_plan_view(db, plan.id)
        summary = await build_summary(db, view, Period.parse("2025-03"), desk.app.now().date(),
                                      desk.app.deps.timezone)
        again = await results_document(db, None, plan.id, "T2025", "2025-03", cache=desk.app.deps.plan_views,
                                       summaries=Summaries(), today=desk.app.now().date(),
                                       zone=desk.app.deps.timezone, t=translator("vi"))
    assert results == again
    six = next(item for item in results["indicators"] if item["part"] == "6")
    assert six["value"] == 72.5
    row = summary.row("6")
    assert six["coverage"] == {"reported": row.reports.received, "expected": row.reports.expected}
    assert results["units"] == {"expected": summary.reports.expected, "reported": summary.reports.received,
                                "on_time": summary.reports.on_time}


async def test_a_link_works_once_and_for_ten_minutes(tg: Harness, desk: Site, clock: Clock) -> None:  # noqa: F811
    await register(tg, BOSS_ID, "leader")
    link = await web_link(tg, BOSS_ID)
    async with browser() as session, session.get(link) as response:
        assert response.status == 200
    async with browser() as session, session.get(link) as response:
        assert response.status == 403
        assert "/web" in await response.text()
    stale = await web_link(tg, BOSS_ID)
    clock.set(clock() + timedelta(minutes=11))
    async with browser() as session:
        async with session.get(stale) as response:
            assert response.status == 403
        async with session.get(f"{desk.base}/login/{'x' * 43}") as response:  # forged
            assert response.status == 403
        async with session.get(f"{desk.base}/plans/T2025") as response:
            assert response.status == 401


async def test_an_officer_sees_their_own_unit_only(tg: Harness, desk: Site) -> None:  # noqa: F811
    await register(tg, LAN, "officer", "an-sinh")
    await tg.say(LAN, "6: 80%")
    async with await signed_in(tg, LAN) as session:
        async with session.get(f"{desk.base}/") as response:
            assert str(response.url).endswith("/plans/T2025/units/an-sinh")
        async with session.get(f"{desk.base}/plans/T2025/units/an-sinh?period=2025-03") as response:
            assert "80%" in await response.text()
        async with session.get(f"{desk.base}/plans/T2025/units/mao-khe") as response:
            assert response.status == 404
        async with session.get(f"{desk.base}/plans/T2025") as response:
            assert response.status == 403
        async with session.get(f"{desk.base}/api/v1/plans/T2025/figures?unit=mao-khe") as response:
            assert response.status == 404
        async with session.get(f"{desk.base}/api/v1/plans/T2025/figures") as response:
            figures = await response.json()
    assert {f["unit"] for f in figures} == {"an-sinh"}
    assert figures[0]["value"] == 80 and figures[0]["channel"] == "telegram"


async def test_signing_out_needs_the_pages_token_and_origin(tg: Harness, desk: Site) -> None:  # noqa: F811
    await register(tg, BOSS_ID, "leader")
    async with await signed_in(tg, BOSS_ID) as session:
        async with session.get(f"{desk.base}/plans/T2025") as response:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text()).group(1)
        async with session.post(f"{desk.base}/logout", data={"csrf": "wrong"},
                                headers={"Origin": desk.base}) as response:
            assert response.status == 403
        async with session.post(f"{desk.base}/logout", data={"csrf": csrf},
                                headers={"Origin": "https://evil.example"}) as response:
            assert response.status == 403
        async with session.get(f"{desk.base}/plans/T2025") as response:
            assert response.status == 200  # still signed in
        async with session.post(f"{desk.base}/logout", data={"csrf": csrf}, headers={"Origin": desk.base}) as response:
            assert response.status == 200
        async with session.get(f"{desk.base}/plans/T2025") as response:
            assert response.status == 401


async def test_the_api_takes_a_key_of_its_plan_until_revoked(tg: Harness, desk: Site,  # noqa: F811
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import json

    await register(tg, LAN, "officer", "an-sinh")
    await tg.say(LAN, "6: 72,5%")
    await cmd_api_key(desk.app, argparse.Namespace(plan="T2025", revoke=None, json=True))
    key = json.loads(capsys.readouterr().out)["key"]
    auth = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{desk.base}/api/v1/plans/T2025/results?period=2025-03", headers=auth) as response:
            assert response.status == 200
            assert (await response.json())["plan"] == "T2025"
        async with session.get(f"{desk.base}/api/v1/plans/T2025/figures?versions=1", headers=auth) as response:
            [figure] = await response.json()
            assert figure["value"] == 72.5 and figure["unit"] == "an-sinh" and figure["part"] == "6"
        async with session.get(f"{desk.base}/api/v1/plans/OTHER/results", headers=auth) as response:
            assert response.status == 404
        async with session.get(f"{desk.base}/api/v1/plans/T2025/results") as response:
            assert response.status == 401
        async with session.get(f"{desk.base}/api/v1/openapi.json") as response:
            assert (await response.json())["openapi"].startswith("3.")
        await cmd_api_key(desk.app, argparse.Namespace(plan="T2025", revoke=key, json=True))
        async with session.get(f"{desk.base}/api/v1/plans/T2025/results", headers=auth) as response:
            assert response.status == 401
    capsys.readouterr()
    await cmd_figures(desk.app, argparse.Namespace(plan="T2025", period="2025-03", unit=None, versions=False,
                                                   json=False, csv=True))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("unit,indicator,part,period,value")
    assert lines[1].startswith("an-sinh,6,6,2025-03,72.5")


async def test_web_is_explained_when_the_desk_is_not_set_up(tg: Harness) -> None:  # noqa: F811
    await register(tg, MINH, "leader")
    [answer] = await tg.say(MINH, "/web")
    assert "WEB_LISTEN" in answer


async def test_a_second_person_gets_their_own_link(tg: Harness, desk: Site) -> None:  # noqa: F811
    await register(tg, LAN, "officer", "an-sinh")
    await register(tg, BOSS_ID, "leader")
    first = await web_link(tg, LAN)
    second = await web_link(tg, BOSS_ID)
    assert first != second
    async with browser() as session, session.get(second) as response:  # the leader's link opens the leader's desk
        assert str(response.url).endswith("/plans/T2025")


async def test_leaders_download_the_periods_spreadsheet_and_officers_do_not(tg: Harness, desk: Site) -> None:  # noqa: F811
    import io

    from openpyxl import load_workbook

    await register(tg, LAN, "officer", "an-sinh")
    await register(tg, BOSS_ID, "leader")
    await tg.say(LAN, "6: 72,5%")
    async with await signed_in(tg, BOSS_ID) as session, \
            session.get(f"{desk.base}/plans/T2025/export.xlsx?period=2025-03") as response:
        assert response.status == 200
        assert "attachment" in response.headers["Content-Disposition"]
        workbook = load_workbook(io.BytesIO(await response.read()), read_only=True)
        assert workbook.sheetnames
    async with await signed_in(tg, LAN) as session, \
            session.get(f"{desk.base}/plans/T2025/export.xlsx?period=2025-03") as response:
        assert response.status == 403


async def test_leaders_download_the_periods_official_report(tg: Harness, desk: Site) -> None:  # noqa: F811
    import io

    import docx

    await register(tg, LAN, "officer", "an-sinh")
    await register(tg, BOSS_ID, "leader")
    await tg.say(LAN, "6: 72,5%")
    async with await signed_in(tg, BOSS_ID) as session:
        async with session.get(f"{desk.base}/plans/T2025?period=2025-03") as response:
            assert "/plans/T2025/report.docx?period=2025-03" in await response.text()
        async with session.get(f"{desk.base}/plans/T2025/report.docx?period=2025-03") as response:
            assert response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            lines = [p.text for p in docx.Document(io.BytesIO(await response.read())).paragraphs]
    assert "BÁO CÁO" in lines and any(line.endswith("tháng 3/2025") for line in lines)
    async with await signed_in(tg, LAN) as session, \
            session.get(f"{desk.base}/plans/T2025/report.docx?period=2025-03") as response:
        assert response.status == 403


async def test_each_indicator_over_the_year_as_a_picture(tg: Harness, desk: Site, clock: Clock) -> None:  # noqa: F811
    await register(tg, LAN, "officer", "an-sinh")
    await register(tg, BOSS_ID, "leader")
    await tg.say(LAN, "6 tháng 2: 60%")
    await tg.say(LAN, "6: 72,5%")
    async with await signed_in(tg, BOSS_ID) as session:
        async with session.get(f"{desk.base}/plans/T2025?period=2025-03") as response:
            page = await response.text()
        assert 'src="/plans/T2025/charts/6.svg?period=2025-03"' in page
        async with session.get(f"{desk.base}/plans/T2025/charts/6.svg?period=2025-03") as response:
            assert response.content_type == "image/svg+xml"
            svg = await response.text()
        assert svg.count('fill="#0b5cad"') == 2  # February's and March's bars; nothing ahead of March
        assert "tháng 2/2025: 60%" in svg and "tháng 3/2025: 72,5%" in svg and "tháng 4/2025: —" in svg
        await tg.say(LAN, "sửa 6: 75%")  # the chosen period's bar is the table's figure, at once
        async with session.get(f"{desk.base}/plans/T2025/charts/6.svg?period=2025-03") as response:
            assert "tháng 3/2025: 75%" in await response.text()
        async with session.get(f"{desk.base}/plans/T2025/charts/99.svg?period=2025-03") as response:
            assert response.status == 404
    async with await signed_in(tg, LAN) as session, session.get(
            f"{desk.base}/plans/T2025/charts/6.svg?period=2025-03") as response:
        assert response.status == 403  # an officer sees their unit's page, not the plan's
