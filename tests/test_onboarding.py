"""Onboarding a whole plan (issue 16): `invite --all` for the seed plans (JSON, XLSX, CSV, printable
cards whose QR codes read back to the links), `people`, in one transaction, on every backend."""
from __future__ import annotations

import csv
import io
import json
from argparse import Namespace
from datetime import timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import func, select

from bot import cli, onboard_cli
from bot.app import App
from bot.seeds import seed_plans
from models import onboarding, people, store
from models.kinds import RoleKind
from models.tables import Invite, Unit

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small-plan.yaml"


def invite_args(**given: Any) -> Namespace:
    values = {"role": "officer", "plan": "T2025", "unit": None, "days": 14, "json": False, "all": True,
              "kind": None, "replace": False, "out": None}
    values.update(given)
    return Namespace(**values)


@pytest.fixture
def named_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    async def username(_app: object) -> str:
        return "dtbot"

    monkeypatch.setattr(cli, "telegram_username", username)


async def invite_json(app: App, capsys: pytest.CaptureFixture[str], **given: Any) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert await cli.cmd_invite(app, invite_args(json=True, **given)) == 0
    return json.loads(capsys.readouterr().out)


def read_cards(pdf: bytes) -> tuple[list[str], list[str], int]:
    """What a phone reads from each page's QR codes (rendered at 150 dpi), each page's text, and
    the number of pages."""
    document = pypdfium2.PdfDocument(pdf)
    read, texts = [], []
    try:
        for page in document:
            image = page.render(scale=150 / 72).to_pil()
            read += [found.text for found in zxingcpp.read_barcodes(image)]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return read, texts, len(document)
    finally:
        document.close()


async def register(app: App, unit_code: str, name: str, plan_code: str = "T2025") -> None:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        unit = await session.scalar(select(Unit).where(Unit.plan_id == plan.id, Unit.code == unit_code))
        person = await people.ensure_person(session, "telegram", f"id-{name}", name, f"id-{name}", app.now())
        await people.grant_role(session, person=person, role=RoleKind.OFFICER, plan_id=plan.id, unit_id=unit.id,
                                now=app.now())


@pytest.mark.usefixtures("named_bot")
async def test_every_seed_plan_gets_one_working_code_per_unit(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    for path in sorted(seed_plans().glob("*.yaml")):
        await cli.import_plan_file(app, path)
    async with app.unit_of_work() as session:
        plans = await store.list_plans(session)
    assert len(plans) == 5
    for plan in plans:
        made = await invite_json(app, capsys, plan=plan.code)
        async with app.unit_of_work() as session:
            full = await store.get_plan(session, plan.code)
            active = [u for u in await store.plan_units(session, full) if u.active]
            assert sorted(row["unit"] for row in made) == sorted(u.code for u in active)
            assert len({row["code"] for row in made}) == len(made)
            for row in made[:3]:  # each code is the unit's officer invite, and the link carries it
                invite = await people.find_invite(session, row["code"], app.now())
                assert invite is not None and invite.role == RoleKind.OFFICER
                assert invite.unit_id == next(u.id for u in active if u.code == row["unit"])
                assert row["telegram_link"] == f"https://t.me/dtbot?start={row['code']}"


@pytest.mark.usefixtures("named_bot")
async def test_units_with_an_officer_are_left_out_unless_replaced(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    await cli.import_plan_file(app, SMALL)
    first = await invite_json(app, capsys)
    assert len(first) == 6
    await register(app, "an-sinh", "Nguyễn Văn An")
    again = await invite_json(app, capsys)
    assert sorted(row["unit"] for row in again) == ["mao-khe", "tp", "vhtt", "vnpt", "vp"]
    async with app.unit_of_work() as session:
        # The new sheet is the one that counts: the first sheet's codes for those units no longer work.
        stale = await people.find_invite(session, next(r["code"] for r in first if r["unit"] == "vp"), app.now())
        assert stale is not None and stale.expires_at <= app.now()
        fresh = await people.find_invite(session, next(r["code"] for r in again if r["unit"] == "vp"), app.now())
        assert fresh is not None and fresh.expires_at > app.now()
    replaced = await invite_json(app, capsys, replace=True, kind="commune,ward", days=3)
    assert [(row["unit"], row["replacing"]) for row in replaced] == [("an-sinh", "Nguyễn Văn An"), ("mao-khe", None)]
    assert replaced[0]["expires_at"].startswith((app.now() + timedelta(days=3)).astimezone(
        app.settings.timezone).date().isoformat())


async def test_an_unknown_kind_and_bad_combinations_are_one_line_each(app: App) -> None:
    await cli.import_plan_file(app, SMALL)
    with pytest.raises(onboard_cli.OnboardError, match=r"“village”.*city, commune, department, enterprise, ward"):
        await cli.cmd_invite(app, invite_args(json=True, kind="village"))
    wrongs = ({"role": "leader"}, {"unit": "tp"}, {"json": False}, {"out": "x.docx"}, {"all": False, "kind": "ward"})
    for wrong in wrongs:
        with pytest.raises(onboard_cli.OnboardError):
            await cli.cmd_invite(app, invite_args(**{"json": True, **wrong}))


@pytest.mark.usefixtures("named_bot")
async def test_the_spreadsheet_and_the_csv_list_every_code_with_its_link(
        app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await cli.import_plan_file(app, SMALL)
    assert await cli.cmd_invite(app, invite_args(out=str(tmp_path / "moi.xlsx"))) == 0
    said = capsys.readouterr().out
    assert "Đã tạo 6 mã mời" in said and "moi.xlsx" in said
    sheet = openpyxl.load_workbook(tmp_path / "moi.xlsx").active
    rows = [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert rows[0] == ["Mã đơn vị", "Đơn vị", "Loại", "Mã mời", "Liên kết Telegram", "Hạn dùng"]
    assert [row[0] for row in rows[1:]] == ["tp", "vhtt", "vp", "an-sinh", "mao-khe", "vnpt"]
    assert rows[4][1] == "Xã An Sinh" and rows[4][4] == f"https://t.me/dtbot?start={rows[4][3]}"
    async with app.unit_of_work() as session:
        assert await people.find_invite(session, rows[4][3], app.now()) is not None
    # The CSV, made again with --replace: the same columns, UTF-8 that Excel opens with diacritics.
    assert await cli.cmd_invite(app, invite_args(out=str(tmp_path / "moi.csv"), replace=True)) == 0
    raw = (tmp_path / "moi.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == rows[0] and len(table) == 7 and table[4][1] == "Xã An Sinh"


async def test_zalo_adds_what_to_send_the_bot(app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pydantic import SecretStr

    await cli.import_plan_file(app, SMALL)
    app.settings.zalo_bot_token = SecretStr("1:zalo")
    made = await invite_json(app, capsys)
    assert made[0]["zalo_hint"] == {"send": made[0]["code"], "link": None}
    assert made[0]["telegram_link"] is None  # no BOT_TOKEN: no Telegram link
    assert await cli.cmd_invite(app, invite_args(out=str(tmp_path / "moi.csv"))) == 0
    table = list(csv.reader(io.StringIO((tmp_path / "moi.csv").read_text(encoding="utf-8-sig"))))
    assert table[0][5] == "Trên Zalo" and table[1][5] == f"gửi mã {table[1][3]} cho bot"
    assert table[1][4] == f"gửi /start {table[1][3]} cho bot"
    assert "chưa biết tên bot Telegram" in capsys.readouterr().out


@pytest.mark.usefixtures("named_bot")
async def test_the_cards_hold_one_qr_code_per_unit_that_reads_back_to_its_link(
        app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = seed_plans() / "dong-trieu-2024.yaml"
    await cli.import_plan_file(app, plan)
    out = tmp_path / "the.pdf"
    assert await cli.cmd_invite(app, invite_args(plan="DT2024", out=str(out))) == 0
    async with app.unit_of_work() as session:
        full = await store.get_plan(session, "DT2024")
        units = {u.id: u for u in await store.plan_units(session, full)}
        invites = list(await session.scalars(select(Invite).where(Invite.plan_id == full.id)))
    read, texts, pages = read_cards(out.read_bytes())
    assert pages == -(-len(invites) // 6)  # six cards to a page
    assert len(read) == len(invites) == len(set(read))
    codes = [link.rsplit("=", 1)[1] for link in read]
    assert all(link == f"https://t.me/dtbot?start={code}" for link, code in zip(read, codes, strict=True))
    text = "\n".join(texts)
    async with app.unit_of_work() as session:
        for code in codes:  # the code printed large beside its QR code, for the unit it was issued for
            assert f"{code[:4]} {code[4:]}" in text
            invite = await people.find_invite(session, code, app.now())
            assert invite is not None and units[invite.unit_id].name.split()[0] in text
    assert "Mã đăng ký cán bộ đầu mối" in text and "quét mã QR" in text and "Dùng được đến" in text


@pytest.mark.usefixtures("named_bot")
async def test_a_file_that_cannot_be_written_leaves_no_invite(app: App, tmp_path: Path) -> None:
    await cli.import_plan_file(app, SMALL)
    (tmp_path / "taken").mkdir()
    with pytest.raises(OSError):
        await cli.cmd_invite(app, invite_args(out=str(tmp_path / "no-such-folder" / "moi.pdf")))
    async with app.unit_of_work() as session:
        assert await session.scalar(select(func.count()).select_from(Invite)) == 0


@pytest.mark.usefixtures("named_bot")
async def test_people_shows_officers_units_without_one_and_invites(
        app: App, capsys: pytest.CaptureFixture[str], clock: Any) -> None:
    await cli.import_plan_file(app, SMALL)
    await cli.cmd_invite(app, invite_args(json=True, kind="commune,ward", days=1))
    await register(app, "an-sinh", "Nguyễn Văn An")
    clock.set(clock() + timedelta(days=2))  # the ward's invite expired unused
    await cli.cmd_invite(app, invite_args(json=True, kind="department"))
    capsys.readouterr()
    assert await onboard_cli.cmd_people(app, Namespace(plan="T2025", json=True)) == 0
    board = json.loads(capsys.readouterr().out)
    an_sinh = next(u for u in board["units"] if u["unit"] == "an-sinh")
    assert an_sinh["officer"]["name"] == "Nguyễn Văn An" and an_sinh["officer"]["channels"] == ["telegram"]
    assert an_sinh["officer"]["unreachable"] is False
    assert board["without_officer"] == ["tp", "vhtt", "vp", "mao-khe", "vnpt"]
    assert sorted(i["unit"] for i in board["pending_invites"]) == ["vhtt", "vp"]
    assert [i["unit"] for i in board["expired_invites"]] == ["mao-khe"]
    assert await onboard_cli.cmd_people(app, Namespace(plan="T2025", json=False)) == 0
    text = capsys.readouterr().out
    assert "1/6 đơn vị đã có cán bộ đầu mối" in text and "Xã An Sinh: Nguyễn Văn An (telegram)" in text
    assert "Đơn vị chưa có cán bộ đầu mối (5/6)" in text and "Phường Mạo Khê — tạo bởi máy chủ" in text


async def test_units_to_invite_skips_inactive_units(app: App) -> None:
    await cli.import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        vnpt = await session.scalar(select(Unit).where(Unit.plan_id == plan.id, Unit.code == "vnpt"))
        vnpt.active = False
        await session.flush()
        units = await onboarding.units_to_invite(session, plan)
    assert [unit.code for unit, _ in units] == ["tp", "vhtt", "vp", "an-sinh", "mao-khe"]


async def test_the_group_summary_attaches_the_spreadsheet_its_cut_list_speaks_of(
        app: App, clock: Any, tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bench.generated import plan_yaml
    from scheduler.tick import tick

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    for code, communes in (("BIG", 40), ("FEW", 5)):  # 40 units to chase: more than the text lists
        path = tmp_path / f"{code}.yaml"
        path.write_text(plan_yaml(communes, 2, code=code), encoding="utf-8")
        await cli.import_plan_file(app, path)
        async with app.unit_of_work() as session:
            plan = await store.get_plan(session, code)
            await people.bind_group(session, plan_id=plan.id, channel="console", chat_id=f"group-{code}",
                                    title="BCĐ", now=app.now())
    found: dict[str, list[Any]] = {}
    for day in range(1, 29):  # the first month's summary, whenever the default schedule sends it
        instant = datetime(2025, 2, day, 9, 0, tzinfo=zone)
        clock.set(instant)
        report = await tick(app.deps, instant)
        for message in report.queued:
            if message.kind == "summary":
                found.setdefault(message.chat_id, []).append(message)
        if len(found) == 2:
            break
    big, few = found["group-BIG"], found["group-FEW"]
    assert "bảng tính Excel" in "".join(m.text for m in big)
    sheets = [a for m in big for a in m.attachments if a.kind == "document"]
    assert len(sheets) == 1 and sheets[0].filename.endswith(".xlsx") and sheets[0].content.startswith(b"PK")
    assert not any(a.kind == "document" for m in few for a in m.attachments)


async def test_admins_hear_once_a_day_of_invites_expired_unused_and_officers_out_of_reach(
        app: App, clock: Any) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from models.tables import OutboxMessage, Person
    from scheduler.tick import tick

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    await cli.import_plan_file(app, SMALL)
    clock.set(datetime(2025, 3, 3, 10, 0, tzinfo=zone))
    async with app.unit_of_work() as session:
        admin = await people.ensure_person(session, "console", "boss", "Boss", "boss", app.now())
        await people.grant_role(session, person=admin, role=RoleKind.ADMIN, plan_id=None, unit_id=None, now=app.now())
    await cli.cmd_invite(app, invite_args(json=True, kind="ward", days=1))  # Mạo Khê's expires 4/3 10:00
    await register(app, "an-sinh", "Nguyễn Văn An")
    async with app.unit_of_work() as session:
        lan = await session.scalar(select(Person).where(Person.display_name == "Nguyễn Văn An"))
        lan.unreachable_at = datetime(2025, 3, 4, 15, 0, tzinfo=zone)  # blocked the bot

    async def notices_at(day: int, hour: int) -> list[str]:
        instant = datetime(2025, 3, day, hour, 0, tzinfo=zone)
        clock.set(instant)
        return (await tick(app.deps, instant)).notices

    assert await notices_at(4, 9) == []  # nothing had happened by 8:00 on the 4th
    [key] = await notices_at(5, 8)  # the morning after: both pieces of news, in one message
    assert key.startswith("onboarding:T2025:2025-03-05:p") and key.endswith("@console")
    assert await notices_at(5, 8) == [] and await notices_at(5, 17) == []  # a tick again, a restart: nothing
    assert await notices_at(6, 8) == []  # told once: the next day has no news
    async with app.unit_of_work() as session:
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.key.like("onboarding:%"))))
    assert len(rows) == 1 and rows[0].chat_id == "boss"
    text = rows[0].payload["text"]
    assert "Mã mời của Phường Mạo Khê đã hết hạn mà chưa ai dùng." in text
    assert "Bot không còn liên lạc được với Nguyễn Văn An (Xã An Sinh) từ 15:00 04/03/2025." in text


def write_roster_xlsx(path: Path, rows: list[list[Any]]) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH CÁN BỘ ĐẦU MỐI CHUYỂN ĐỔI SỐ"])  # a title above the header
    sheet.append([])
    for row in rows:
        sheet.append(row)
    book.save(path)


@pytest.mark.usefixtures("named_bot")
async def test_a_roster_names_who_should_register_and_the_cards_greet_them(
        app: App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await cli.import_plan_file(app, SMALL)
    roster = tmp_path / "can-bo.xlsx"
    write_roster_xlsx(roster, [
        ["STT", "Tên đơn vị", "Họ và tên", "Chức vụ", "SĐT", "Vai trò"],
        [1, "Xã An Sinh", "Nguyễn Thị Lan", "Công chức VH-XH", 912345678, "Cán bộ đầu mối"],
        [2, "mao-khe", "Trần Văn Minh", "Phó Chủ tịch", "0987 654 321", "đầu mối"],
        [],
        [3, "UBND thành phố", "Lê Văn Chủ", "Chủ tịch", None, "Lãnh đạo"],
    ])
    assert await onboard_cli.cmd_import_people(app, Namespace(path=str(roster), plan=None)) == 0
    assert "Đã nhập danh sách 3 người cho kế hoạch T2025" in capsys.readouterr().out
    made = await invite_json(app, capsys)
    assert {row["unit"]: row["person"] for row in made}["an-sinh"] == "Nguyễn Thị Lan"
    out = tmp_path / "the.pdf"
    await cli.cmd_invite(app, invite_args(out=str(out), replace=True))
    _, texts, _ = read_cards(out.read_bytes())
    assert "Mời đồng chí Nguyễn Thị Lan" in "\n".join(texts)
    capsys.readouterr()
    await register(app, "mao-khe", "Minh Tran")  # someone else than the roster's man registered
    await onboard_cli.cmd_people(app, Namespace(plan="T2025", json=False))
    text = capsys.readouterr().out
    assert "• Xã An Sinh: chưa đăng ký — theo danh sách: Nguyễn Thị Lan, 912345678" in text
    assert "Minh Tran (telegram)" in text and "(danh sách ghi: Trần Văn Minh)" in text
    await onboard_cli.cmd_people(app, Namespace(plan="T2025", json=True))
    board = json.loads(capsys.readouterr().out)
    assert board["units"][3]["expected"] == {"name": "Nguyễn Thị Lan", "phone": "912345678"}


async def test_a_broken_roster_names_each_problem_by_row_and_column_and_imports_nothing(
        app: App, tmp_path: Path) -> None:
    from models.tables import RosterEntry

    await cli.import_plan_file(app, SMALL)
    good = tmp_path / "good.csv"
    good.write_text("Đơn vị;Họ tên\nXã An Sinh;Nguyễn Thị Lan\n", encoding="utf-8-sig")
    assert await onboard_cli.cmd_import_people(app, Namespace(path=str(good), plan="T2025")) == 0
    broken = tmp_path / "broken.csv"
    broken.write_text(
        "Đơn vị,Họ và tên,Chức vụ,Điện thoại,Vai trò\n"
        "Xã An Sinh,Nguyễn Văn A,,0912,cán bộ đầu mối\n"  # row 2: a phone too short
        "Xã Sao Hỏa,Trần B,,,đầu mối\n"  # row 3: no such unit
        "Phường Mạo Khê,,,,\n"  # row 4: no name
        "vnpt,Lê C,,,thư ký\n"  # row 5: unknown role
        "Phường Mạo Khê,Phạm D,,,\n"
        "Phường Mạo Khê,Phạm E,,,\n",  # row 7: a second officer for Mạo Khê
        encoding="utf-8")
    with pytest.raises(onboard_cli.OnboardError) as first:
        await onboard_cli.cmd_import_people(app, Namespace(path=str(broken), plan="T2025"))
    said = str(first.value)
    assert said.startswith("Không nhập danh sách từ broken.csv (chưa ghi gì):")
    assert "dòng 2, cột Điện thoại: số điện thoại «0912» không hợp lệ." in said
    assert "dòng 4, cột Họ và tên: còn trống." in said
    assert "dòng 5, cột Vai trò: không hiểu vai trò «thư ký»" in said
    fixed = tmp_path / "fixed.csv"  # the file's own problems fixed: the plan's are found next
    fixed.write_text(broken.read_text(encoding="utf-8").replace(",0912,", ",0912 345 678,")
                     .replace("Phường Mạo Khê,,,,", "Phường Mạo Khê,Ngô F,,,").replace("thư ký", "lãnh đạo"),
                     encoding="utf-8")
    with pytest.raises(onboard_cli.OnboardError) as second:
        await onboard_cli.cmd_import_people(app, Namespace(path=str(fixed), plan="T2025"))
    said = str(second.value)
    assert "dòng 3, cột Đơn vị: kế hoạch T2025 không có đơn vị «Xã Sao Hỏa»." in said
    assert "dòng 6, cột Họ và tên: Phường Mạo Khê đã có cán bộ đầu mối ở dòng 4" in said
    async with app.unit_of_work() as session:  # the earlier roster stands, untouched
        names = list(await session.scalars(select(RosterEntry.full_name)))
    assert names == ["Nguyễn Thị Lan"]
    with pytest.raises(onboard_cli.OnboardError, match="dòng tiêu đề"):
        (tmp_path / "none.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        await onboard_cli.cmd_import_people(app, Namespace(path=str(tmp_path / "none.csv"), plan="T2025"))


def test_the_commands_as_an_operator_runs_them(tmp_path: Path) -> None:
    from tests.test_cli import run

    assert run("import-plan", str(SMALL), cwd=tmp_path).returncode == 0
    roster = tmp_path / "roster.csv"
    roster.write_text("Đơn vị,Họ và tên,Điện thoại\nXã An Sinh,Nguyễn Thị Lan,0912 345 678\n", encoding="utf-8")
    imported = run("import-people", str(roster), cwd=tmp_path)
    assert imported.returncode == 0 and "1 người" in imported.stdout, imported.stderr
    made = run("invite", "--plan", "T2025", "--role", "officer", "--all", "--kind", "commune,ward",
               "--out", "moi.csv", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Đã tạo 2 mã mời" in made.stdout and (tmp_path / "moi.csv").is_file()
    wrong = run("invite", "--plan", "T2025", "--role", "leader", "--all", "--json", cwd=tmp_path)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr and "--role officer" in wrong.stderr
    board = json.loads(run("people", "--plan", "T2025", "--json", cwd=tmp_path).stdout)
    assert sorted(i["unit"] for i in board["pending_invites"]) == ["an-sinh", "mao-khe"]
    assert board["units"][3]["expected"]["name"] == "Nguyễn Thị Lan"


@pytest.mark.parametrize(("text", "part"), [
    ("ai chưa đăng ký?", "without"), ("ai chua dang ky", "without"),
    ("Đơn vị nào chưa có cán bộ đầu mối?", "without"), ("which units have no officer?", "without"),
    ("who has not registered yet", "without"), ("mã mời nào chưa dùng?", "pending"),
    ("unused invites", "pending"), ("danh sách cán bộ đầu mối", "all"),
    ("đơn vị nào chưa báo cáo?", None), ("6: 72,5%", None), ("chỉ tiêu 6 còn thiếu bao nhiêu?", None),
])
def test_the_board_questions_in_words(text: str, part: str | None) -> None:
    from handlers.invites import onboarding_question

    assert onboarding_question(text) == part


def test_inviting_every_unit_is_not_read_into_a_unit_named_ca() -> None:
    from handlers.invites import _ALL
    from models.text import fold

    assert [bool(_ALL.match(fold(typed))) for typed in ("tất cả", "Tat ca", "all", "Cà Mau", "Hết")] == \
        [True, True, True, False, False]
