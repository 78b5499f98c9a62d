"""`python -m bot demo`: one month of reporting on the Đông Triều 2025 plan, played through the
real conversation and scheduler code on an emulated clock, in a throwaway database. No token, no
network. Prints the transcript; writes demo-output/summary.png and demo-output/results.xlsx."""
from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.app import App, build_app
from bot.channels.console import ConsoleChannel
from bot.channels.sender import OutboxSender, SendResult
from bot.channels.zalo import zalo_steps
from bot.config import Settings, load_settings
from bot.files import FileServer
from bot.seeds import seed_plans
from handlers.events import Event, Reply
from handlers.inbox import Inbound, handle_all
from models import people, store
from models.kinds import Channel, ChatKind, RoleKind
from models.plans import load_plan_file
from models.tables import OutboxMessage
from scheduler.tick import tick

PLAN_FILE = seed_plans() / "dong-trieu-2025.yaml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP = "BCĐ Chuyển đổi số Đông Triều"
LEADER = "Đ/c Chủ tịch"
ADMIN = "Phòng VHTT (quản trị)"
# The scripted officers; every other commune, ward and office below registers too and reports
# in one message, so the summary has 20+ units to count.
LAN, MINH, HA, TUAN, HOA = "Lan (xã An Sinh)", "Minh (phường Mạo Khê)", "Hà (Trung tâm HCC)", \
    "Tuấn (xã Việt Dân)", "Hoa (phường Kim Sơn)"
SCRIPTED = {"an-sinh": LAN, "mao-khe": MINH, "hcc": HA, "viet-dan": TUAN, "kim-son": HOA}
LATE = {"viet-dan", "trang-luong", "hong-thai-tay"}  # units that miss the deadline


# One officer and one leader use Zalo, beside the others on Telegram (the console stands in for it).
ZALO_USERS = {HOA: "zalo-hoa", "Đ/c Phó Chủ tịch (Zalo)": "zalo-pct"}
ZALO_LEADER = "Đ/c Phó Chủ tịch (Zalo)"
PUBLIC_BASE_URL = "https://bot.example.gov.vn"


class ZaloPhone:
    """People on Zalo in the demo: their messages go the way the Zalo channel sends them in (one
    event each, keyed by message id), and replies are rendered by the Zalo channel's own rules
    (numbered choices, 2,000-character pieces, charts as photos by URL under PUBLIC_BASE_URL),
    printed instead of posted to the platform."""

    def __init__(self, app: App, write: Callable[[str], None]) -> None:
        self.app, self.write = app, write
        self.files = FileServer(app.sessions, PUBLIC_BASE_URL, app.now)
        self.sender = OutboxSender(app.sessions, Channel.ZALO, self.deliver, worker="demo-zalo", wall_clock=app.now)
        self.names = {chat: name for name, chat in ZALO_USERS.items()}
        self._messages = 0

    async def send(self, user: str, text: str) -> None:
        self._messages += 1
        chat = ZALO_USERS[user]
        event = Event(channel=Channel.ZALO, chat_id=chat, chat_kind=ChatKind.PRIVATE, sender_id=chat,
                      sender_name=user, text=text, message_id=f"m{self._messages}")
        [outcome] = await handle_all(self.app.deps, [Inbound(event, key=f"{chat}:m{self._messages}")],
                                     claim_by="demo-zalo")
        await self.sender.deliver(outcome.held)

    async def deliver(self, row: OutboxMessage) -> SendResult:
        reply = Reply.from_payload(row.payload).reply
        links: list[str | None] = [await self.files.publish(a) for a in reply.attachments]
        for method, params in zalo_steps(reply, row.chat_id, links, self.files.days):
            shown = params["text"] if method == "sendMessage" else f"[ảnh: {params['photo']}] {params['caption']}"
            self.write(f"[bot → Zalo · {self.names.get(row.chat_id, row.chat_id)}]\n{shown}")
        return SendResult(True)


class DemoClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: int, hour: int, minute: int = 0) -> None:
        self.now = datetime(2025, 4, day, hour, minute, tzinfo=ZONE)


class Demo:
    """The transcript: narration, what people type, what the bot answers or sends on schedule."""

    SHOWN_PER_KIND = 2  # scheduled messages to officers printed in full per round; the rest are counted
    BRIEF_LINES = 10  # a catch-up summary to the group is shown this far

    def __init__(self, app: App, clock: DemoClock, write: Callable[[str], None]) -> None:
        self.app, self.clock, self.write = app, clock, write
        self.quiet = False
        self.channel = ConsoleChannel(app.deps, write=self._bot_says)
        self.sender = self.channel.sender()
        self.zalo = ZaloPhone(app, self._bot_says)
        self.hidden = 0
        self.shown = 0
        self.brief_group = False

    def _bot_says(self, text: str) -> None:
        if self.quiet:
            return
        self.write(text)
        self.write("")

    def _scheduled(self, text: str) -> None:
        if text.startswith(f"[bot → {GROUP}]"):
            lines = text.split("\n")
            if self.brief_group and len(lines) > self.BRIEF_LINES:
                lines = [*lines[: self.BRIEF_LINES], "   …"]
            self.write("\n".join(lines))
            self.write("")
        elif self.shown < self.SHOWN_PER_KIND:
            self.shown += 1
            self.write(text)
            self.write("")
        else:
            self.hidden += 1

    def narrate(self, text: str) -> None:
        local = self.clock.now.astimezone(ZONE).strftime("%a %d/%m/%Y %H:%M")
        self.write(f"── {local} · {text}")
        self.write("")

    async def invite(self, role: RoleKind, unit_code: str | None = None) -> str:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "DT2025")
            assert plan is not None
            unit = None
            if unit_code:
                unit = next(u for u in await store.plan_units(session, plan) if u.code == unit_code)
            issued = await people.create_invite(session, role=role, plan=plan, unit=unit, now=self.clock.now)
        return issued.code

    async def say(self, user: str, text: str, *, chat: str | None = None, group: bool = False,
                  quiet: bool = False) -> None:
        if not quiet:
            where = f" @ {chat}" if group else (" @ Zalo" if user in ZALO_USERS else "")
            self.write(f"[{user}{where}] {text}")
        self.quiet = quiet
        try:
            if user in ZALO_USERS and not group:
                await self.zalo.send(user, text)
            else:
                await self.channel.send(user, text, chat=chat, group=group)
        finally:
            self.quiet = False

    async def tick(self, what: str, *, brief_group: bool = False) -> None:
        self.narrate(f"lịch tự động chạy (tick): {what}")
        self.channel.write = self._scheduled
        self.shown = self.hidden = 0
        self.brief_group = brief_group
        try:
            report = await tick(self.app.deps, self.clock.now,
                                senders={Channel.CONSOLE: self.sender, Channel.ZALO: self.zalo.sender})
        finally:
            self.channel.write = self._bot_says
        if self.hidden:
            self.write(f"   … và {self.hidden} tin nhắn tương tự gửi tới các đơn vị khác.")
            self.write("")
        if not report.queued:
            self.write("   (không có gì cần gửi)")
            self.write("")


async def play(settings: Settings, write: Callable[[str], None] = print, output: Path = Path("demo-output")) -> None:
    clock = DemoClock(datetime(2025, 4, 14, 9, 0, tzinfo=ZONE))
    with tempfile.TemporaryDirectory(prefix="dtbot-demo-") as folder:
        demo_settings = load_settings(DATABASE_URL=f"sqlite+aiosqlite:///{folder}/demo.db",
                                      BOT_LOCALE=settings.bot_locale, BOT_TIMEZONE="Asia/Ho_Chi_Minh")
        app = build_app(demo_settings, clock)
        try:
            await app.migrate()
            async with app.unit_of_work() as session:
                await store.import_plan(session, load_plan_file(PLAN_FILE), "demo", clock.now)
            demo = Demo(app, clock, write)
            await _script(demo)
            await _write_outputs(app, clock, output, write)
        finally:
            await app.close()


async def _units(app: App) -> list[tuple[str, str, str]]:
    """(code, name, kind) of the units that get an officer: every commune and ward, and a few offices."""
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        assert plan is not None
        units = await store.plan_units(session, plan)
    chosen = [u for u in units if u.kind in ("commune", "ward") or u.code in ("hcc", "vhtt", "noi-vu")]
    return [(u.code, u.name, u.kind) for u in chosen]


def _figures_for(code: str, rng: random.Random, parts: list[str]) -> str:
    """One message with every monthly figure, the way an officer copies it from a spreadsheet."""
    lines = []
    for part in parts:
        if part == "PL2.5":
            lines.append(f"{part}: {rng.randint(40, 90)}")
        else:
            lines.append(f"{part}: {rng.randint(70, 100)}%")
    return "\n".join(lines)


async def _owed(app: App, user: str) -> list[str]:
    """The part codes a registered officer's unit owes this month (as /baocao shows them)."""
    from models.people import active_roles, person_by_identity
    from models.periods import Frequency
    from models.store import load_plan_view

    async with app.unit_of_work() as session:
        person = await (person_by_identity(session, Channel.ZALO, ZALO_USERS[user]) if user in ZALO_USERS
                        else person_by_identity(session, Channel.CONSOLE, user))
        assert person is not None
        role = next(r for r in await active_roles(session, person.id) if r.role is RoleKind.OFFICER)
        view = await load_plan_view(session, role.plan_id or 0)
        return [pv.code for pv in view.parts_of_unit(role.unit_id or 0) if pv.frequency is Frequency.MONTHLY]


async def _earlier_quarter(app: App, rng: random.Random) -> None:
    """The first quarter's figures, as the tracking office loaded them from its spreadsheets
    before the bot: they give April something to compare with, and nothing old is overdue."""
    from models.periods import Frequency, Period
    from models.store import load_plan_view
    from models.tables import Submission

    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        for unit in view.units.values():
            for pv in view.parts_of_unit(unit.id):
                periods = {Frequency.MONTHLY: ["2025-01", "2025-02", "2025-03"], Frequency.QUARTERLY: ["2025-Q1"]}
                for period in periods.get(pv.frequency, []):
                    deadline = view.deadline(Period.parse(period))
                    figure = _sample(pv.target.measure.value, rng)
                    session.add(Submission(
                        plan_id=plan.id, part_id=pv.part.id, unit_id=unit.id, period=period, version=1,
                        channel="import", note="Nhập từ bảng tổng hợp quý I",
                        submitted_at=datetime(deadline.year, deadline.month, deadline.day, 10, tzinfo=ZONE),
                        **figure,
                    ))


def _sample(measure: str, rng: random.Random, low: int = 70) -> dict[str, object]:
    from decimal import Decimal

    if measure == "milestone":
        return {"done": rng.random() < 0.6}
    if measure == "count":
        return {"value": Decimal(rng.randint(0, 40))}
    return {"value": Decimal(rng.randint(low * 10, 1000)) / 10}


async def _script(d: Demo) -> None:
    rng = random.Random(2025)
    units = await _units(d.app)
    officers = {code: SCRIPTED.get(code, f"Cán bộ {name}") for code, name, _ in units}
    await _earlier_quarter(d.app, rng)

    d.narrate(f"Phòng Văn hóa và Thông tin cấp mã mời cho {len(units)} cán bộ đầu mối, lãnh đạo "
              "và nhóm Ban Chỉ đạo (python -m bot invite …)")
    for code, _, _ in units:
        invite = await d.invite(RoleKind.OFFICER, code)
        await d.say(officers[code], invite if officers[code] in ZALO_USERS else f"/start {invite}",
                    quiet=code not in SCRIPTED)
    d.write(f"   … {len(units) - len(SCRIPTED)} cán bộ khác cũng đăng ký bằng mã của mình.\n")
    await d.say(LEADER, f"/start {await d.invite(RoleKind.LEADER)}")
    d.narrate("Đồng chí Phó Chủ tịch dùng Zalo, như chị Hoa (phường Kim Sơn): gửi mã mời cho bot trên Zalo")
    await d.say(ZALO_LEADER, await d.invite(RoleKind.LEADER))
    await d.say(ADMIN, f"/start {await d.invite(RoleKind.ADMIN)}")
    await d.say(ADMIN, f"/start {await d.invite(RoleKind.GROUP)}", chat=GROUP, group=True)

    d.clock.at(15, 8)
    await d.tick("3 ngày làm việc trước hạn 20/4 (Chủ nhật, nên nhắc vào thứ Sáu 18/4): gửi đề nghị "
                 "báo cáo; nhóm vừa gắn nhận bù tổng hợp quý I (rút gọn ở đây)", brief_group=True)

    d.clock.at(15, 9, 30)
    d.narrate("Chị Lan báo cáo từng bước bằng nút chọn")
    await d.say(LAN, "/baocao", quiet=True)
    d.write(f"[{LAN}] /baocao\n   (bot gửi danh sách chỉ tiêu kèm nút chọn)\n")
    await d.say(LAN, "1")
    await d.say(LAN, "100%")
    d.narrate("Anh Minh gửi nhiều số liệu trong một tin nhắn")
    await d.say(MINH, "6: 85%\n9: 96%\n3: 100%\n8: 92%")
    d.narrate("Một số liệu sai bị từ chối, kèm cách gửi đúng")
    await d.say(MINH, "2: 120%")
    await d.say(MINH, "2: 82%")
    d.narrate("Chị Hoa báo cáo trên Zalo: không có nút bấm, bot đánh số các lựa chọn, chị trả lời bằng số")
    await d.say(HOA, "/baocao")
    await d.say(HOA, "2")
    await d.say(HOA, "95%")
    d.narrate("Chị Hà gõ không dấu, dùng viết tắt")
    await d.say(HA, "ct6 dat 91,5%; ct7 = 100%; ct 8: 95")
    await d.say(HA, "chi tieu 6 con thieu bao nhieu")

    d.clock.at(16, 10)
    d.narrate("Các đơn vị khác gửi đủ số liệu (mỗi đơn vị một tin nhắn nhiều dòng)")
    for code, _, _ in units:
        if code in LATE or code in ("an-sinh", "mao-khe", "hcc"):
            continue
        await d.say(officers[code], _figures_for(code, rng, await _owed(d.app, officers[code])), quiet=True)
    d.write(f"   … {len(units) - len(LATE) - 3} đơn vị đã gửi.\n")

    d.clock.at(17, 14)
    d.narrate("Chị Lan gửi nốt và sửa lại chỉ tiêu 6, rồi hỏi khoảng cách")
    rest = [p for p in await _owed(d.app, LAN) if p not in ("1",)]
    await d.say(LAN, _figures_for("an-sinh", rng, rest), quiet=True)
    d.write(f"[{LAN}] (gửi {len(rest)} chỉ tiêu còn lại trong một tin nhắn)\n")
    await d.say(LAN, "sửa chỉ tiêu 6: 78%")
    await d.say(LAN, "chỉ tiêu 6 còn thiếu bao nhiêu?")
    d.narrate("Chị Lan thử xem số liệu của phường khác")
    await d.say(LAN, "tình hình phường Mạo Khê")
    rest = [p for p in await _owed(d.app, MINH) if p not in ("6", "3", "8", "9b", "2")]
    await d.say(MINH, _figures_for("mao-khe", rng, rest), quiet=True)
    rest = [p for p in await _owed(d.app, HA) if p not in ("6", "7", "8")]
    await d.say(HA, _figures_for("hcc", rng, rest), quiet=True)

    d.clock.at(18, 8)
    await d.tick("ngày làm việc cuối trước hạn: nhắc các đơn vị còn thiếu")

    d.clock.at(18, 16)
    d.narrate("Anh Tuấn (xã Việt Dân) gửi được một phần")
    await d.say(TUAN, "6: 70%\n3: 95%\n9: 90%")

    d.clock.at(21, 8)
    await d.tick("ngày làm việc đầu tiên sau hạn: thông báo quá hạn")
    d.clock.at(21, 9)
    await d.tick("9:00 sau hạn: báo cáo tổng hợp gửi nhóm Ban Chỉ đạo")

    d.clock.at(22, 10)
    d.narrate("Lãnh đạo hỏi tình hình")
    await d.say(LEADER, "đơn vị nào chưa báo cáo?")
    await d.say(LEADER, "chỉ tiêu 6 các đơn vị")
    await d.say(LEADER, "tình hình xa viet dan")
    await d.say(LEADER, "chỉ tiêu nào chưa đạt?")

    d.clock.at(23, 8)
    await d.tick("2 ngày làm việc sau hạn: báo cáo lên lãnh đạo và phòng theo dõi các đơn vị còn thiếu")

    d.clock.at(23, 9, 15)
    d.narrate("Đồng chí Phó Chủ tịch xem biểu đồ trên Zalo: ảnh gửi bằng đường dẫn PUBLIC_BASE_URL")
    await d.say(ZALO_LEADER, "/bieudo")

    d.clock.at(23, 9, 30)
    d.narrate("Nhóm Ban Chỉ đạo hỏi lại tổng hợp")
    await d.say(LEADER, "/tonghop", chat=GROUP, group=True)


async def _write_outputs(app: App, clock: DemoClock, output: Path, write: Callable[[str], None]) -> None:
    from handlers.charts import bullet_chart
    from handlers.export import export_workbook
    from handlers.summary import build_summary
    from locales import translator
    from models.periods import Period
    from models.store import load_plan_view

    output.mkdir(parents=True, exist_ok=True)
    t = translator(app.settings.bot_locale)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        today = clock.now.astimezone(ZONE).date()
        summary = await build_summary(session, view, Period.parse("2025-04"), today, ZONE, details=True)
    (output / "summary.png").write_bytes(bullet_chart(summary, t))
    (output / "results.xlsx").write_bytes(export_workbook(view, summary, t))
    write(f"── Đã ghi {output / 'summary.png'} và {output / 'results.xlsx'}")


