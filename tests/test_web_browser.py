"""The web desk in a real browser: Debian's chromium driven by Playwright (no browser download).
.ci/run installs chromium when it is missing; elsewhere these tests say why they are skipped."""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tests.test_review import MINH, Desk
from tests.test_telegram import LAN, Harness, tg  # noqa: F401  (the fixture)
from tests.test_web import BOSS_ID, LINK, Site, desk, register, web_link  # noqa: F401  (the fixture)
from tests.test_web_review import site  # noqa: F401  (the fixture)

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="Debian's chromium is not installed (apt-get install chromium)")


@pytest.fixture
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


class Watched:
    """A page whose requests and console errors are recorded."""

    def __init__(self, page: object, origin: str) -> None:
        self.page, self.origin = page, origin
        self.foreign: list[str] = []
        self.errors: list[str] = []
        page.on("request", self._request)  # type: ignore[attr-defined]
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _request(self, request: object) -> None:
        url = request.url  # type: ignore[attr-defined]
        if not url.startswith("data:") and urlsplit(url).netloc != urlsplit(self.origin).netloc:
            self.foreign.append(url)


async def open_page(chromium: object, desk: Site, **options: object) -> Watched:  # noqa: F811
    context = await chromium.new_context(**options)  # type: ignore[attr-defined]
    return Watched(await context.new_page(), desk.base)


async def test_a_leader_signs_in_from_the_chat_link_and_reads_the_plan(tg: Harness, desk: Site,  # noqa: F811
                                                                       chromium: object) -> None:
    await register(tg, LAN, "officer", "an-sinh")
    await register(tg, BOSS_ID, "leader")
    await tg.say(LAN, "6: 72,5%")
    watched = await open_page(chromium, desk)
    page = watched.page
    await page.goto(await web_link(tg, BOSS_ID))  # type: ignore[attr-defined]
    assert page.url.endswith("/plans/T2025")  # type: ignore[attr-defined]
    await page.select_option("select[name=period]", "2025-03")  # type: ignore[attr-defined]
    await page.click("form.filters button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_url("**/plans/T2025?period=2025-03*")  # type: ignore[attr-defined]
    row = page.locator("table.indicators tr[data-code='6']")  # type: ignore[attr-defined]
    assert await row.locator("td.figure").inner_text() == "72,5%"
    assert "1/" in await row.locator("td.coverage").inner_text()
    # Signing out works from the page (a form with its CSRF token), then the page is closed.
    await page.click("header form button")  # type: ignore[attr-defined]
    await page.goto(f"{desk.base}/plans/T2025")  # type: ignore[attr-defined]
    assert "/web" in await page.inner_text("main")  # type: ignore[attr-defined]
    assert watched.foreign == []
    assert [e for e in watched.errors if "401" not in e] == []


async def test_an_officer_on_a_phone_reads_their_unit_in_english_without_sideways_scrolling(
        tg: Harness, desk: Site, chromium: object) -> None:  # noqa: F811
    await register(tg, LAN, "officer", "an-sinh")
    await tg.say(LAN, "english")
    await tg.say(LAN, "6: 80%")
    watched = await open_page(chromium, desk, viewport={"width": 375, "height": 740}, is_mobile=True)
    page = watched.page
    await page.goto(await web_link(tg, LAN))  # type: ignore[attr-defined]
    assert page.url.endswith("/plans/T2025/units/an-sinh")  # type: ignore[attr-defined]
    assert await page.get_attribute("html", "lang") == "en"  # type: ignore[attr-defined]
    await page.goto(f"{desk.base}/plans/T2025/units/an-sinh?period=2025-03")  # type: ignore[attr-defined]
    assert "Sign out" in await page.inner_text("header")  # type: ignore[attr-defined]
    assert await page.locator("tr[data-code='6'] td.c").inner_text() == "80%"  # type: ignore[attr-defined]
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")  # type: ignore[attr-defined]
    assert width[0] <= width[1], width
    response = await page.goto(f"{desk.base}/plans/T2025/units/mao-khe")  # type: ignore[attr-defined]
    assert response.status == 404
    assert watched.foreign == []
    assert [e for e in watched.errors if "404" not in e] == []


async def test_the_tracking_office_returns_and_approves_on_the_review_page_on_a_phone(
        site: tuple[Desk, str], chromium: object) -> None:  # noqa: F811
    harness, base = site
    await harness.say(LAN, "6: 120/150")
    context = await chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)  # type: ignore[attr-defined]
    watched = Watched(await context.new_page(), base)
    page = watched.page
    [answer] = await harness.say(MINH, "/web")
    await page.goto(LINK.search(answer).group(1))  # type: ignore[attr-defined, union-attr]
    await page.click("a[href='/plans/T2025/review']")  # type: ignore[attr-defined]
    await page.select_option("select[name=period]", "2025-03")  # type: ignore[attr-defined]
    await page.click("form.filters button[type=submit]")  # type: ignore[attr-defined]
    await page.wait_for_url("**/review?period=2025-03*")  # type: ignore[attr-defined]
    await page.select_option("select[name=indicator]", "6")  # type: ignore[attr-defined]
    await page.click("form.filters button[type=submit]")  # type: ignore[attr-defined]
    row = page.locator("tr[data-unit='an-sinh']")  # type: ignore[attr-defined]
    assert await row.get_attribute("data-state") == "awaiting"
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")  # type: ignore[attr-defined]
    assert width[0] <= width[1], width
    await page.check("tr[data-unit='an-sinh'] input[type=checkbox]")  # type: ignore[attr-defined]
    await page.fill("input[name=reason]", "thiếu minh chứng")  # type: ignore[attr-defined]
    await page.click("button[value=return]")  # type: ignore[attr-defined]
    assert "Đã trả lại 1 số liệu" in await page.inner_text("p.note")  # type: ignore[attr-defined]
    assert await row.get_attribute("data-state") == "returned"
    await page.check("tr[data-unit='an-sinh'] input[type=checkbox]")  # type: ignore[attr-defined]
    await page.click("button[value=approve]")  # type: ignore[attr-defined]
    assert "Đã duyệt 1 số liệu" in await page.inner_text("p.note")  # type: ignore[attr-defined]
    assert await row.get_attribute("data-state") == "approved"
    [history] = await harness.say(MINH, "lịch sử chỉ tiêu 6 xã An Sinh")
    assert "trả lại phiên bản 1: thiếu minh chứng" in history and "duyệt phiên bản 1" in history
    assert watched.foreign == []
    assert watched.errors == []
    await context.close()
