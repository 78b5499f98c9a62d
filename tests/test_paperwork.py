"""The officer's form both ways (handlers/paperwork.py): /bieumau sends the unit's form; the form
filled with openpyxl the way people type (comma decimals, "72,5%", a share 0.725, blanks, a wrong
value) is read back by receive_workbook (as the channels' document reception will call it:
handlers.dispatch.workbook), previewed, and stored on "có" with channel "xlsx"; a wrong cell is
named and nothing is stored; any other workbook is not ours (None)."""
from __future__ import annotations

import zipfile
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook, load_workbook

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from handlers import dispatch
from handlers.context import Ctx
from handlers.events import ChatKind, Event
from handlers.paperwork import MARK_SHEET, read_template
from models import people, store, submissions
from tests.test_export import SMALL

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2025, 3, 18, 9, 0, tzinfo=ZONE)  # March is being collected (due 20/3)


class Officer:
    def __init__(self, app: App, name: str) -> None:
        self.app, self.name = app, name
        self.channel = ConsoleChannel(app.deps, write=lambda _: None)

    async def join(self, unit_code: str | None, role: str = "officer", plan_code: str = "T2025") -> None:
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, plan_code)
            assert plan is not None
            unit = next(u for u in await store.plan_units(session, plan) if u.code == unit_code) if unit_code else None
            issued = await people.create_invite(session, role=role, plan=plan, unit=unit, now=self.app.now())
        await self.channel.send(self.name, f"/start {issued.code}")

    async def say(self, text: str) -> tuple[str, list[Any]]:
        replies = [r for r in await self.channel.send(self.name, text) if r.to is None]
        return "\n".join(r.text for r in replies), [a for r in replies for a in r.attachments]

    async def send_file(self, data: bytes, filename: str) -> tuple[bool | None, str, list[Any]]:
        """What the channels' document reception will do: one unit of work for the file."""
        event = Event(channel="console", chat_id=self.name, chat_kind=ChatKind.PRIVATE, sender_id=self.name,
                      sender_name=self.name, at=self.app.now())
        async with self.app.deps.sessions() as session:
            ctx = Ctx(self.app.deps, session, event, self.app.now())
            result = await dispatch.workbook(ctx, data, filename)
            await session.commit()
        return result, "\n".join(r.text for r in ctx.replies), [c for r in ctx.replies for c in r.choices]


@pytest.fixture
async def officer(app: App, clock: Any) -> Officer:
    clock.set(NOW)
    await import_plan_file(app, SMALL)
    officer = Officer(app, "Lan")
    await officer.join("vhtt")
    return officer


def rows_by_code(book: Any) -> dict[str, int]:
    """The form's row of each part, from the hidden sheet (as the reader finds them)."""
    return {str(code): int(row) for row, code, _ in book[MARK_SHEET].iter_rows(min_row=2, values_only=True)}


async def the_form(officer: Officer) -> tuple[Any, bytes]:
    text, attachments = await officer.say("cho xin file mẫu")
    (document,) = attachments
    assert document.filename.startswith("bieu-mau-T2025-vhtt-") and "Phòng Văn hóa và Thông tin" in text
    return load_workbook(BytesIO(document.content)), document.content


async def current(app: App, unit_code: str, plan_code: str = "T2025") -> dict[str, Any]:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        assert plan is not None
        view = await store.load_plan_view(session, plan.id)
        unit = next(u for u in view.units.values() if u.code == unit_code)
        rows = await submissions.current_for_unit(session, unit.id, [pv.part.id for pv in view.parts_of_unit(unit.id)])
        return {view.parts[r.part_id].code: r for r in rows}


async def test_the_form_is_the_units_rows_locked_validated_and_printable(officer: Officer) -> None:
    book, _ = await the_form(officer)
    assert book.sheetnames == ["Biểu mẫu", "Hướng dẫn", MARK_SHEET]
    assert book[MARK_SHEET].sheet_state == "hidden"
    form = book["Biểu mẫu"]
    assert form.protection.sheet  # labels locked
    assert [c.value for c in form[5]][:7] == ["TT", "Mã", "Chỉ tiêu", "Kỳ", "Mục tiêu", "Kỳ trước", "Số liệu kỳ này"]
    codes = rows_by_code(book)
    assert set(codes) == {"6", "9a", "15"}  # vhtt's parts being collected: not 9b (communes), not 12 (yearly)
    six = codes["6"]
    assert form.cell(six, 4).value == "tháng 3/2025" and form.cell(six, 5).value == "≥ 90%"
    assert form.cell(six, 7).protection.locked is False and form.cell(six, 3).protection.locked is not False
    validations = {str(v.sqref): v for v in form.data_validations.dataValidation}
    assert validations[f"G{six}"].type == "decimal" and validations[f"G{six}"].formula2 == "100"
    count = validations[f"G{codes['15']}"]
    assert count.type == "decimal" and count.operator == "greaterThanOrEqual"
    assert validations[f"H{six}"].type == "custom"  # numerator ≤ denominator
    assert form.page_setup.orientation == "landscape" and form.page_setup.paperSize == 9
    assert form.print_title_rows == "$5:$5"


async def test_a_filled_form_is_previewed_then_stored_with_channel_xlsx(officer: Officer, app: App) -> None:
    book, _ = await the_form(officer)
    codes = rows_by_code(book)
    form = book["Biểu mẫu"]
    form.cell(codes["6"], 7).value = "72,5%"  # typed as text, comma decimal, percent sign
    form.cell(codes["9a"], 7).value = 0.955  # a share: 95.5%
    form.cell(codes["15"], 7).value = "2"  # a count typed as text
    buffer = BytesIO()
    book.save(buffer)
    result, text, choices = await officer.send_file(buffer.getvalue(), "bieu-mau.xlsx")
    assert result is True
    assert "3 số liệu: 3 mới, 0 thay đổi, 0 không đổi, 0 lỗi" in text
    assert "6: 72,5%" in text and "9a: 95,5%" in text and "15: 2" in text
    assert len(choices) == 2
    assert await current(app, "vhtt") == {}  # nothing stored before "có"
    reply, _ = await officer.say("có")
    assert "72,5%" in reply
    stored = await current(app, "vhtt")
    assert {code: (row.value, row.channel) for code, row in stored.items()} == {
        "6": (Decimal("72.5"), "xlsx"), "9a": (Decimal("95.5"), "xlsx"), "15": (Decimal("2"), "xlsx")}

    # The same form again with one figure changed, as ratio cells: a preview of the change.
    form.cell(codes["6"], 7).value = None
    form.cell(codes["6"], 8).value = 120
    form.cell(codes["6"], 9).value = "150"
    book.save(buffer := BytesIO())
    result, text, _ = await officer.send_file(buffer.getvalue(), "bieu-mau.xlsx")
    assert "1 thay đổi, 2 không đổi" in text and "6: 72,5% → 80% (120/150)" in text
    await officer.say("có")
    assert (await current(app, "vhtt"))["6"].numerator == Decimal(120)


async def test_a_wrong_cell_is_named_and_nothing_is_stored(officer: Officer, app: App) -> None:
    book, _ = await the_form(officer)
    codes = rows_by_code(book)
    form = book["Biểu mẫu"]
    form.cell(codes["6"], 7).value = "72,5"
    form.cell(codes["9a"], 7).value = 120  # a percentage above 100
    form.cell(codes["15"], 7).value = "nhiều"  # not a figure
    book.save(buffer := BytesIO())
    result, text, choices = await officer.send_file(buffer.getvalue(), "bieu-mau.xlsx")
    assert result is True and choices == []
    assert f"Ô G{codes['9a']}" in text and f"Ô G{codes['15']}" in text and "«nhiều»" in text
    assert f"Ô G{codes['6']}" not in text  # "72,5" is fine
    assert "Chưa ghi số liệu nào" in text
    assert await current(app, "vhtt") == {}


async def test_other_workbooks_are_not_ours_and_another_units_form_is_refused(officer: Officer, app: App) -> None:
    plain = Workbook()
    plain.active.append(["6", "72,5%"])
    plain.save(buffer := BytesIO())
    assert (await officer.send_file(buffer.getvalue(), "bang.xlsx"))[0] is None
    assert (await officer.send_file(b"%PDF-1.4 not a workbook", "x.xlsx"))[0] is None
    assert read_template(b"PK\x03\x04 broken") is None
    bomb = BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("xl/worksheets/sheet1.xml", b"0" * (110 * 2**20))  # 110 MiB in about 100 KiB
    assert len(bomb.getvalue()) < 2**20 and read_template(bomb.getvalue()) is None  # refused unopened

    book, _ = await the_form(officer)
    other = Officer(app, "Hoa")
    await other.join("vp")
    book.save(buffer := BytesIO())
    result, text, _ = await other.send_file(buffer.getvalue(), "bieu-mau.xlsx")
    assert result is True and "Phòng Văn hóa và Thông tin" in text and "/bieumau" in text
    assert await current(app, "vhtt") == {}


async def test_a_milestone_is_a_list_and_done_words_are_read(officer: Officer, app: App) -> None:
    other = Officer(app, "Hoa")
    await other.join("vp")  # reports 10, a quarterly milestone: Q1 is being collected
    text, attachments = await other.say("/bieumau")
    book = load_workbook(BytesIO(attachments[0].content))
    codes = rows_by_code(book)
    form = book["Biểu mẫu"]
    validations = {str(v.sqref): v for v in form.data_validations.dataValidation}
    assert validations[f"G{codes['10']}"].type == "list"
    form.cell(codes["10"], 7).value = "Đã xong"
    book.save(buffer := BytesIO())
    _, text, _ = await other.send_file(buffer.getvalue(), "f.xlsx")
    assert "1 mới" in text, text
    await other.say("có")
    assert (await current(app, "vp"))["10"].done is True


# --- a consolidated sheet: the export's overview, filled in for 30 units ---------------------------


def thirty_communes(folder: Any) -> Any:
    units = "\n".join(f"  - {{code: x{i}, name: \"Xã Số {i}\", kind: commune, parent: tp}}" for i in range(30))
    path = folder / "thirty.yaml"
    path.write_text(f"""format: 1
plan: {{code: B30, title: "Kế hoạch ba mươi xã", year: 2025}}
units:
  - {{code: tp, name: "UBND thành phố", kind: city}}
{units}
indicators:
  - code: "1"
    title: "Hồ sơ trực tuyến"
    text: "Tỷ lệ hồ sơ trực tuyến đạt 90%"
    lead: "UBND các xã"
    target: "90%"
    reporters: {{kinds: [commune]}}
  - code: "2"
    title: "Điểm số hóa"
    text: "Ít nhất 10 điểm số hóa mỗi xã"
    lead: "UBND các xã"
    target: "ít nhất 10 điểm"
    reporters: {{kinds: [commune]}}
""", encoding="utf-8")
    return path


async def test_a_consolidated_sheet_of_30_units_is_previewed_then_stored(app: App, clock: Any, tmp_path: Any) -> None:
    import subprocess
    import sys

    from handlers.export import export_command
    from handlers.paperwork import import_figures_command

    clock.set(NOW)
    await import_plan_file(app, thirty_communes(tmp_path))
    exported = tmp_path / "b30.xlsx"
    await export_command(app, "B30", "2025-03", exported)
    book = load_workbook(exported)
    overview = book["Tổng hợp"]
    header = [cell.value for cell in overview[3]]
    one, two = (header.index(next(h for h in header if h and str(h).startswith(f"{code}\n"))) + 1 for code in "12")
    for i in range(30):
        row = 5 + i
        assert overview.cell(row, 1).value == f"x{i}"
        overview.cell(row, one).value = ["72,5%", 0.9, "88", "không phát sinh"][i % 4]
        overview.cell(row, two).value = 10 + i if i % 3 else None  # blanks: not sent
    book.save(filled := tmp_path / "filled.xlsx")

    lines = await import_figures_command(app, filled, store_them=False)
    assert lines[0].endswith("50 số liệu của 30 đơn vị: 50 mới, 0 thay đổi, 0 không đổi, 0 lỗi."), lines[0]
    assert "--yes" in lines[-1] and await current(app, "x0", "B30") == {}

    env = {"DATABASE_URL": app.settings.database_url, "PYTHONPATH": str(SMALL.parent.parent.parent)}
    done = subprocess.run([sys.executable, "-m", "bot", "import-figures", str(filled), "--yes"], capture_output=True,
                          text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Đã ghi 50 số liệu (kênh xlsx)." in done.stdout
    x0, x1, x3 = [await current(app, code, "B30") for code in ("x0", "x1", "x3")]
    assert (x0["1"].value, x0["1"].channel) == (Decimal("72.5"), "xlsx") and "2" not in x0
    assert x1["1"].value == Decimal("90") and x1["2"].value == Decimal("11")
    assert x3["1"].not_applicable

    # The export of what is stored reads back unchanged; one wrong cell stops the whole file.
    await export_command(app, "B30", "2025-03", again := tmp_path / "again.xlsx")
    assert "0 mới, 0 thay đổi, 50 không đổi" in (await import_figures_command(app, again, store_them=True))[0]
    book = load_workbook(again)
    book["Tổng hợp"].cell(6, one).value = "150%"
    book["Tổng hợp"].cell(7, one).value = 0.5
    book.save(wrong := tmp_path / "wrong.xlsx")
    lines = await import_figures_command(app, wrong, store_them=True)
    assert any(line.startswith(f"❌ Ô {book['Tổng hợp'].cell(6, one).coordinate}") for line in lines), lines
    assert "Chưa ghi số liệu nào" in lines[-1]
    assert (await current(app, "x2", "B30"))["1"].value == Decimal("88")  # x2's row kept its figure

    # In the chat: an admin sends the overview with one change; previewed, stored on "có".
    admin = Officer(app, "Quản trị")
    await admin.join(None, "admin", "B30")
    book = load_workbook(again)
    book["Tổng hợp"].cell(5, one).value = "75"
    book.save(changed := BytesIO())
    result, text, choices = await admin.send_file(changed.getvalue(), "tong-hop.xlsx")
    assert result is True and "1 thay đổi, 49 không đổi, 0 lỗi" in text and "Xã Số 0, 1: 72,5% → 75%" in text
    assert len(choices) == 2
    assert "Đã ghi 1 số liệu" in (await admin.say("có"))[0]
    x0 = await current(app, "x0", "B30")
    assert (x0["1"].value, x0["1"].channel, x0["1"].person_id is not None) == (Decimal("75"), "xlsx", True)
    officer = Officer(app, "Cán bộ xã")
    await officer.join("x5", plan_code="B30")
    result, text, _ = await officer.send_file(changed.getvalue(), "tong-hop.xlsx")
    assert result is True and "cơ quan theo dõi và quản trị viên" in text
    from tests.test_current_marker import assert_marker_holds

    async with app.unit_of_work() as session:  # the import and the correction kept the current marker
        assert await assert_marker_holds(session) == 51


async def test_before_the_first_period_is_collected_the_form_waits(officer: Officer, clock: Any) -> None:
    clock.set(datetime(2025, 1, 3, 9, 0, tzinfo=ZONE))  # January's cut-off (14/1) has not passed
    text, attachments = await officer.say("/bieumau")
    assert attachments == [] and "chưa có kỳ báo cáo nào đang thu" in text.lower()
