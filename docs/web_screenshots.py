"""The web desk's pictures in the README: the demo plan's first quarter, in Debian's chromium.

    .venv/bin/python docs/web_screenshots.py

Writes docs/web-plan-desktop.png, docs/web-plan-phone.png, docs/web-unit-phone.png,
docs/web-review-desktop.png, docs/web-review-phone.png and docs/web-plan-charts.png.
"""
from __future__ import annotations

import asyncio
import random
import shutil
import socket
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from playwright.async_api import async_playwright

from bot.app import build_app
from bot.config import load_settings
from bot.demo import PLAN_FILE, ZONE, _earlier_quarter
from bot.web.server import COOKIE, Desk
from models import people, review, store, web_access
from models.plans import load_plan_file

HERE = Path(__file__).resolve().parent
NOW = datetime(2025, 4, 14, 9, 0, tzinfo=ZONE)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dtbot-shots-") as folder:
        app = build_app(load_settings(DATABASE_URL=f"sqlite+aiosqlite:///{folder}/shots.db"), clock=lambda: NOW)
        await app.migrate()
        async with app.unit_of_work() as session:
            await store.import_plan(session, load_plan_file(PLAN_FILE), "shots", NOW)
        await _earlier_quarter(app, random.Random(7))
        async with app.unit_of_work() as session:
            plan = await store.get_plan(session, "DT2025")
            units = await store.plan_units(session, plan)
            commune = next(u for u in units if u.kind == "commune")
            leader = await people.ensure_person(session, "console", "chairman", "Nguyễn Văn An", "chairman", NOW)
            await people.grant_role(session, person=leader, role="leader", plan_id=plan.id, unit_id=None, now=NOW)
            officer = await people.ensure_person(session, "console", "lan", "Trần Thị Lan", "lan", NOW)
            await people.grant_role(session, person=officer, role="officer", plan_id=plan.id, unit_id=commune.id,
                                    now=NOW)
            office = await people.ensure_person(session, "console", "office", "Phạm Thu Hà", "office", NOW)
            await people.grant_role(session, person=office, role="admin", plan_id=plan.id, unit_id=None, now=NOW)
            leader_token, _ = await web_access.start_session(session, leader.id, NOW)
            office_token, _ = await web_access.start_session(session, office.id, NOW)
            view = await store.load_plan_view(session, plan.id)
            part = next(pv for pv in view.parts.values() if pv.frequency.months == 1 and view.reporters.get(pv.part.id))
            march = await review.figures(session, [part.part.id], "2025-03")
            for number, figure in enumerate(march[:12]):  # some approved, one returned: the states shown
                state = review.ReviewState.RETURNED if number == 3 else review.ReviewState.APPROVED
                await review.decide(session, figure.submission, state, reason="Thiếu minh chứng (biên bản ký)"
                                    if number == 3 else None, person_id=office.id, channel="web", now=NOW)
            officer_token, _ = await web_access.start_session(session, officer.id, NOW)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        runner = web.AppRunner(Desk(app, base).application(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            async with async_playwright() as driver:
                browser = await driver.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
                desktop, phone = {"width": 1280, "height": 900}, {"width": 375, "height": 800}
                reviewing = f"/plans/DT2025/review?period=2025-03&indicator={part.code}"
                shots = [("web-plan-desktop.png", leader_token, "/plans/DT2025?period=2025-Q1", desktop),
                         ("web-plan-phone.png", leader_token, "/plans/DT2025?period=2025-03", phone),
                         ("web-unit-phone.png", officer_token, f"/plans/DT2025/units/{commune.code}?period=2025-03",
                          phone),
                         ("web-review-desktop.png", office_token, reviewing, desktop),
                         ("web-review-phone.png", office_token, reviewing, phone)]
                for name, token, path, viewport in shots:
                    context = await browser.new_context(viewport=viewport, device_scale_factor=1)
                    await context.add_cookies([{"name": COOKIE, "value": token, "url": base}])
                    page = await context.new_page()
                    await page.goto(base + path)
                    await page.screenshot(path=str(HERE / name))
                    await context.close()
                    print(HERE / name)
                # The year's charts: the plan page's last section, scrolled to so its pictures load.
                context = await browser.new_context(viewport=desktop, device_scale_factor=1)
                await context.add_cookies([{"name": COOKIE, "value": leader_token, "url": base}])
                page = await context.new_page()
                await page.goto(base + "/plans/DT2025?period=2025-03")
                charts = page.locator("section[aria-labelledby=year]")
                await charts.scroll_into_view_if_needed()
                await page.wait_for_load_state("networkidle")
                box = await charts.bounding_box()  # in the viewport: add the scroll for the page's
                assert box is not None
                box["y"] += await page.evaluate("window.scrollY")
                await page.screenshot(path=str(HERE / "web-plan-charts.png"), full_page=True, clip={
                    "x": box["x"], "y": box["y"], "width": box["width"], "height": min(box["height"], 470)})
                await context.close()
                print(HERE / "web-plan-charts.png")
                await browser.close()
        finally:
            await runner.cleanup()
            await app.close()


if __name__ == "__main__":
    asyncio.run(main())
