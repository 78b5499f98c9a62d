"""`python -m bot demo`: a reporting cycle on the Đông Triều 2025 plan, played through the console
channel's code path (the same conversation code as Telegram and Zalo) in a throwaway database, on
an emulated clock. No token, no network."""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import App, build_app
from bot.channels.console import ConsoleChannel
from bot.config import Settings, load_settings
from models import people, store
from models.plans import load_plan_file

PLAN_FILE = Path(__file__).resolve().parent.parent / "data" / "plans" / "dong-trieu-2025.yaml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


class DemoClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Demo:
    def __init__(self, app: App, clock: DemoClock, write: Callable[[str], None]) -> None:
        self.app, self.clock, self.write = app, clock, write
        self.channel = ConsoleChannel(app.deps, write=self._bot_says)

    def _bot_says(self, text: str) -> None:
        self.write(text)
        self.write("")

    def narrate(self, text: str) -> None:
        local = self.clock.now.astimezone(ZONE).strftime("%d/%m/%Y %H:%M")
        self.write(f"── {local} · {text}")
        self.write("")

    async def invite(self, role: str, unit_code: str | None = None) -> str:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "DT2025")
            assert plan is not None
            unit = None
            if unit_code:
                unit = next(u for u in await store.plan_units(session, plan) if u.code == unit_code)
            issued = await people.create_invite(session, role=role, plan=plan, unit=unit, now=self.clock.now)
        shown = f"python -m bot invite --plan DT2025 --role {role}" + (f" --unit {unit_code}" if unit_code else "")
        self.write(f"$ {shown}\n{issued.code}\n")
        return issued.code

    async def say(self, user: str, text: str) -> None:
        self.write(f"[{user}] {text}")
        await self.channel.send(user, text)


async def play(settings: Settings, write: Callable[[str], None] = print) -> None:
    clock = DemoClock(datetime(2025, 3, 17, 8, 30, tzinfo=ZONE))
    with tempfile.TemporaryDirectory(prefix="dtbot-demo-") as folder:
        demo_settings = load_settings(DATABASE_URL=f"sqlite+aiosqlite:///{folder}/demo.db",
                                      BOT_LOCALE=settings.bot_locale, BOT_TIMEZONE="Asia/Ho_Chi_Minh")
        app = build_app(demo_settings, clock)
        try:
            await app.migrate()
            async with app.unit_of_work() as session:
                await store.import_plan(session, load_plan_file(PLAN_FILE), "demo", clock.now)
            await _script(Demo(app, clock, write))
        finally:
            await app.close()


async def _script(d: Demo) -> None:
    d.narrate("Phòng Văn hóa và Thông tin cấp mã mời cho ba cán bộ đầu mối và một lãnh đạo")
    an_sinh = await d.invite("officer", "an-sinh")
    mao_khe = await d.invite("officer", "mao-khe")
    hcc = await d.invite("officer", "hcc")
    leader = await d.invite("leader")

    d.narrate("Các cán bộ đăng ký bằng mã mời")
    await d.say("Lan (xã An Sinh)", f"/start {an_sinh}")
    await d.say("Minh (phường Mạo Khê)", f"/start {mao_khe}")
    await d.say("Hà (Trung tâm HCC)", f"/start {hcc}")
    await d.say("Đồng chí Chủ tịch", f"/start {leader}")

    d.narrate("Chị Lan báo cáo theo hướng dẫn từng bước")
    await d.say("Lan (xã An Sinh)", "/baocao")
    await d.say("Lan (xã An Sinh)", "1")
    await d.say("Lan (xã An Sinh)", "100%")
    await d.say("Lan (xã An Sinh)", "6: 72,5%")

    d.narrate("Anh Minh gửi nhiều số liệu trong một tin nhắn")
    await d.say("Minh (phường Mạo Khê)", "6: 85%\n9: 96%\n10: xong\n13: 120/150")
    d.narrate("Một số liệu sai bị từ chối, kèm cách gửi đúng")
    await d.say("Minh (phường Mạo Khê)", "8: 120%")
    await d.say("Minh (phường Mạo Khê)", "8: 92%")

    d.narrate("Chị Hà gõ không dấu")
    await d.say("Hà (Trung tâm HCC)", "ct6 dat 91,5%; ct7 = 100%")
    await d.say("Hà (Trung tâm HCC)", "chi tieu 6 con thieu bao nhieu")

    d.narrate("Chị Lan sửa lại số liệu chỉ tiêu 6, rồi hỏi khoảng cách")
    await d.say("Lan (xã An Sinh)", "sửa chỉ tiêu 6: 78%")
    await d.say("Lan (xã An Sinh)", "chỉ tiêu 6 còn thiếu bao nhiêu?")
    d.narrate("Chị Lan thử xem số liệu của phường khác")
    await d.say("Lan (xã An Sinh)", "tình hình phường Mạo Khê")

    d.clock.advance(hours=7)
    d.narrate("Lãnh đạo hỏi tình hình")
    await d.say("Đồng chí Chủ tịch", "đơn vị nào chưa báo cáo?")
    await d.say("Đồng chí Chủ tịch", "chỉ tiêu 6 các đơn vị")
    await d.say("Đồng chí Chủ tịch", "tình hình xa an sinh")
    await d.say("Đồng chí Chủ tịch", "chỉ tiêu nào chưa đạt?")
