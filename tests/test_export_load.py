"""Issue 19, item 3: the spreadsheet of a large plan is written off the event loop (officers'
figures are answered meanwhile), one export at a time per plan, an identical request sharing the
build in flight, and above UNIT_SHEETS_MAX units one grid of every unit's figures instead of a
sheet per unit. On SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import tempfile
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select

from bot.app import App
from bot.cli import import_plan_file
from handlers import export as export_module, summary as summary_module
from handlers.context import Ctx
from handlers.events import Event, Reply
from handlers.export import UNIT_SHEETS_MAX, export_workbook, summary_details, unit_layout
from handlers.inbox import Inbound, handle
from handlers.intents import PeriodHint
from locales import translator
from models import people, store
from models.periods import Frequency, Period
from models.tables import IndicatorPart, Submission, Unit
from models.targets import Figure

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small-plan.yaml"
UNITS = UNIT_SHEETS_MAX + 60  # past a sheet each: the grid
INDICATORS = 30


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


def large_plan(units: int, indicators: int) -> str:
    """A city, `units` communes, `indicators` monthly percentages reported by every commune."""
    lines = ["format: 1", "plan: {code: BIG, title: Kế hoạch lớn, year: 2025}", "units:",
             "  - {code: city, name: UBND thành phố, kind: city}"]
    lines += [f"  - {{code: c{i}, name: Xã Số {i}, kind: commune, parent: city}}" for i in range(units)]
    lines.append("indicators:")
    for n in range(1, indicators + 1):
        lines += [f'  - code: "{n}"', f'    title: "Chỉ tiêu {n}"', f'    text: "Tỷ lệ số {n} đạt 90%"',
                  '    coordinating: "UBND các xã, phường"', '    target: "90%"']
    return "\n".join(lines) + "\n"


async def _grant(app: App, plan_code: str, user: str, role: str, unit: str | None = None) -> None:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, plan_code)
        assert plan is not None
        unit_id = None
        if unit is not None:
            unit_id = await session.scalar(select(Unit.id).where(Unit.plan_id == plan.id, Unit.code == unit))
        person = await people.ensure_person(session, "console", user, user, user, app.now())
        await people.grant_role(session, person=person, role=role, plan_id=plan.id, unit_id=unit_id, now=app.now())


@pytest.fixture
async def big(app: App, clock: Any, tmp_path: Path) -> App:
    """The large plan with March's figures from every commune but one (c0, whose officer sends
    one during the test), in bulk: storing them one by one would take most of the test."""
    clock.set(local(2025, 3, 25, 9, 0))
    path = tmp_path / "big.yaml"
    path.write_text(large_plan(UNITS, INDICATORS), encoding="utf-8")
    await import_plan_file(app, path)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "BIG")
        assert plan is not None
        units = list(await session.scalars(
            select(Unit.id).where(Unit.plan_id == plan.id, Unit.kind == "commune", Unit.code != "c0")))
        parts = list(await session.scalars(select(IndicatorPart.id).where(IndicatorPart.plan_id == plan.id)))
        at = local(2025, 3, 18, 9, 0)
        rows = [dict(plan_id=plan.id, part_id=part, unit_id=unit, period="2025-03", version=1,
                     value=Decimal(80 + (unit + part) % 20), channel="console",
                     submitted_at=at + timedelta(days=(unit + part) % 5))
                for unit in units for part in parts]
        connection = await session.connection()
        await connection.execute(insert(Submission.__table__), rows)
    await _grant(app, "BIG", "admin1", "admin")
    await _grant(app, "BIG", "lan", "officer", unit="c0")
    return app


def _said(user: str, text: str) -> Event:
    return Event(channel="console", chat_id=user, chat_kind="private", sender_id=user, sender_name=user, text=text)


async def test_an_officers_figure_is_answered_before_a_large_export_finishes(
        big: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real export of a plan past a sheet per unit (thousands of rows, its summary read in
    full) takes far longer than storing and answering one figure. Sent once the workbook is being
    written, the officer's figure is answered first: were the workbook written on the event
    loop's thread, the figure's handling could not even start before it was done."""
    order: list[str] = []
    writing = threading.Event()
    write = export_module.export_workbook

    def watched(*args: Any, **kwargs: Any) -> bytes:
        writing.set()
        content = write(*args, **kwargs)
        order.append("export written")  # list.append: safe from the worker thread
        return content

    # handlers.export.export_streamed writes it, the grid's figures read while it writes.
    monkeypatch.setattr(export_module, "export_workbook", watched)
    asked = asyncio.create_task(handle(big.deps, Inbound(_said("admin1", "/xuat 2025-03"), key="admin1-1")))
    started = asyncio.ensure_future(asyncio.to_thread(writing.wait, 120))
    await asyncio.wait([started, asked], return_when=asyncio.FIRST_COMPLETED)
    assert writing.is_set(), "the export ended before writing its workbook"
    figure = await handle(big.deps, Inbound(_said("lan", "1: 95%"), key="lan-1"))
    order.append("figure answered")
    exported = await asyncio.wait_for(asked, 120)
    await started

    assert order == ["figure answered", "export written"]
    assert any("Đã ghi chỉ tiêu 1" in reply.text for reply in figure.replies), [r.text for r in figure.replies]
    (reply,) = exported.replies
    (document,) = reply.attachments
    assert document.filename == "BIG-2025-03.xlsx"
    book = load_workbook(BytesIO(document.content), read_only=True)
    assert len(book.sheetnames) < 10 and book.sheetnames[0] == "Tổng hợp"  # one grid, not a sheet a unit
    grid = book["Tổng hợp"]
    rows = list(grid.iter_rows(values_only=True))
    assert rows[2][:5] == ("Mã đơn vị", "Đơn vị", "Tỷ lệ đã nhận", "Tỷ lệ đúng hạn", "1\n≥ 90%")
    assert len(rows) == 4 + UNITS and rows[4][:2] == ("c0", "Xã Số 0")
    assert all(value is None for value in rows[4][4:])  # read before c0's figure came: nothing from c0
    c1 = rows[5]
    assert c1[0] == "c1" and all(isinstance(value, float) for value in c1[4:4 + INDICATORS])
    book.close()


async def test_the_grid_shows_status_colours_late_figures_and_what_is_missing(big: App) -> None:
    async with big.unit_of_work() as session:
        plan = await store.get_plan(session, "BIG")
        assert plan is not None
        view = await store.load_plan_view(session, plan.id)
        assert not summary_details(view)  # the grid shows no first times: they are not read
        summary = await summary_module.build_summary(session, view, Period.parse("2025-03"), big.now().date(), ZONE)
    assert unit_layout(view) == "grid"
    book = load_workbook(BytesIO(export_workbook(view, summary, translator("en"))))
    grid = book["Overview"]
    assert book.sheetnames[0] == "Overview"
    last = grid.cell(4 + UNITS, 4 + INDICATORS)  # the last unit's last part
    assert grid.freeze_panes == "C5" and grid.auto_filter.ref == f"A3:{last.coordinate}"
    headers = [cell.value for cell in grid[3]]
    assert headers[:2] == ["Unit code", "Unit"] and all(cell.font.b for cell in grid[3])
    assert grid.page_setup.orientation == "landscape" and grid.page_setup.paperSize == 9
    assert grid.print_title_rows == "$3:$4" and grid.sheet_properties.pageSetUpPr.fitToPage
    assert grid.conditional_formatting  # the units' rates shaded by value
    missing = grid.cell(5, 5)  # c0 sent nothing: an empty red cell
    assert missing.value is None and missing.fill.fgColor.rgb == "FFFFC7CE"
    # c1's figures: 80 + (unit + part) % 20 against 90%: met from 90 up (green), else not (yellow);
    # after the 20th (the deadline) in italics.
    for cell in grid[6][4:4 + INDICATORS]:
        assert cell.number_format == "0.0%"
        met = cell.value >= 0.9
        assert cell.fill.fgColor.rgb == ("FFC6EFCE" if met else "FFFFEB9C"), cell.coordinate
    assert {cell.font.i for cell in grid[6][4:4 + INDICATORS]} == {True, False}


# --- one export at a time per plan; identical requests share ------------------------------------------


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


async def _admin(app: App, session: Any, user: str) -> Ctx:
    ctx = Ctx(app.deps, session, _said(user, "/xuat"), app.now())
    ctx.person, ctx.roles = await people.person_and_roles(session, "console", user)
    ctx.relocalize()
    await ctx.settle_plan(ctx.roles)
    return ctx


async def test_exports_of_one_plan_wait_their_turn_and_an_identical_one_shares_the_file(
        app: App, clock: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(local(2025, 3, 25, 9, 0))
    await import_plan_file(app, SMALL)
    for user in ("an", "binh", "chi"):
        await _grant(app, "T2025", user, "admin")
    building = _Watched()
    monkeypatch.setattr(app.deps.limits, "building", building)
    read: list[str] = []
    started, gate = asyncio.Event(), asyncio.Event()
    build = summary_module.build_summary

    async def held(session: Any, view: Any, period: Any, *args: Any, **kwargs: Any) -> Any:
        read.append(period.id)
        started.set()
        if len(read) == 1:
            await gate.wait()  # the first export is in progress while the others come
        return await build(session, view, period, *args, **kwargs)

    writing: list[int] = []
    most = [0]
    lock = threading.Lock()
    write = export_module.export_workbook

    def counted(*args: Any, **kwargs: Any) -> bytes:
        with lock:
            writing.append(1)
            most[0] = max(most[0], len(writing))
        try:
            return write(*args, **kwargs)
        finally:
            with lock:
                writing.pop()

    monkeypatch.setattr(summary_module, "build_summary", held)
    monkeypatch.setattr(export_module, "export_workbook", counted)  # what export_streamed calls
    factory = getattr(app.sessions, "factory", app.sessions)
    march, february = PeriodHint(Frequency.MONTHLY, 3, 2025), PeriodHint(Frequency.MONTHLY, 2, 2025)
    async with factory() as s1, factory() as s2, factory() as s3:
        first, same, other = await _admin(app, s1, "an"), await _admin(app, s2, "binh"), await _admin(app, s3, "chi")
        first_task = asyncio.create_task(summary_module.export_for_admin(first, march))
        await started.wait()
        same_task = asyncio.create_task(summary_module.export_for_admin(same, march))
        await building.joined.wait()
        other_task = asyncio.create_task(summary_module.export_for_admin(other, february))
        while len(building) < 2:  # February's request is in flight, waiting for the plan's turn
            await asyncio.sleep(0)
        assert read == ["2025-03"]  # not even read while March's export holds the plan
        gate.set()
        await asyncio.gather(first_task, same_task, other_task)

    assert read == ["2025-03", "2025-02"] and most == [1]
    documents = [_document(ctx.replies) for ctx in (first, same, other)]
    assert documents[0].filename == documents[1].filename == "T2025-2025-03.xlsx"
    assert documents[1].content == documents[0].content  # the same file, built once
    assert documents[2].filename == "T2025-2025-02.xlsx"
    assert building == {}


def _document(replies: list[Reply]) -> Any:
    (reply,) = replies
    (document,) = reply.attachments
    return document


async def test_a_workbook_that_fails_half_way_leaves_no_temporary_files(
        app: App, clock: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Rows wait in temporary files until the workbook is closed; a failure must not leave them."""
    clock.set(local(2025, 3, 25, 9, 0))
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        assert plan is not None
        view = await store.load_plan_view(session, plan.id)
        summary = await summary_module.build_summary(session, view, Period.parse("2025-03"), app.now().date(), ZONE,
                                                     details=True)
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))

    def broken(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_module, "_write_unit_sheets", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_workbook(view, summary, translator("vi"))
    assert list(folder.iterdir()) == []
    monkeypatch.undo()
    assert export_workbook(view, summary, translator("vi"))[:2] == b"PK"  # a zip: the workbook


# --- the grid read a chunk of units at a time while it is written ------------------------------------


def _grid(content: bytes) -> list[list[tuple[Any, Any, Any]]]:
    """Every cell of the grid: its value, fill and italics."""
    book = load_workbook(BytesIO(content))
    sheet = book[book.sheetnames[0]]
    return [[(cell.value, cell.fill.fgColor.rgb, cell.font.i) for cell in row] for row in sheet.iter_rows()]


async def test_the_grid_read_while_written_is_the_grid_of_the_whole_summary(
        big: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """handlers.export.export_streamed (the summary without its cells; each chunk of units' figures
    read as the grid is written) gives the grid build_summary with every cell gives, cell for cell,
    corrections on time and late included; and a figure stored or corrected while it is written
    is left for the next export, so that the grid agrees with the rates above it."""
    from models.submissions import store_figure
    from models.summary_queries import CellReader

    monkeypatch.setattr(export_module, "CELL_CHUNK", 37)  # many chunks, the last one short
    async with big.unit_of_work() as session:
        plan = await store.get_plan(session, "BIG")
        assert plan is not None
        view = await store.load_plan_view(session, plan.id)
        units = {u.code: u.id for u in view.units.values()}
        parts = sorted(pv.part.id for pv in view.parts.values())
        # Corrections: after the deadline (the 20th) of figures first sent in time, and not.
        for n, code in enumerate(("c1", "c2", "c40", "c41", "c250")):
            for part_id in parts[n:n + 3]:
                await store_figure(session, plan_id=plan.id, part_id=part_id, unit_id=units[code], period="2025-03",
                                   figure=Figure(value=Decimal(50 + n)), person_id=None, channel="console",
                                   now=local(2025, 3, 21 + n % 3, 10, 0))
    t = translator("vi")
    march = Period.parse("2025-03")
    read = CellReader.read
    stored_meanwhile: list[int] = []

    async def read_and_store(self: Any, session: Any, unit_ids: Any) -> Any:
        if not stored_meanwhile:  # the first chunk: c0 sends a figure, c1 corrects one, committed
            async with big.unit_of_work() as other:
                for code, value in (("c0", 99), ("c1", 11)):
                    stored = await store_figure(other, plan_id=plan.id, part_id=parts[0], unit_id=units[code],
                                                period="2025-03", figure=Figure(value=Decimal(value)), person_id=None,
                                                channel="console", now=local(2025, 3, 25, 9, 30))
                    stored_meanwhile.append(stored.row.id)
        return await read(self, session, unit_ids)

    async with big.unit_of_work() as session:
        whole = await summary_module.build_summary(session, view, march, big.now().date(), ZONE)
        lean = await summary_module.build_summary(session, view, march, big.now().date(), ZONE, cells=False)
        assert lean.figures == {} and (lean.units, lean.reports) == (whole.units, whole.reports)
        expected = export_module.export_workbook(view, whole, t)
        monkeypatch.setattr(CellReader, "read", read_and_store)
        streamed = await export_module.export_streamed(session, view, lean, t)
    assert len(stored_meanwhile) == 2
    grid = _grid(streamed)
    assert len(grid) == 4 + UNITS
    assert grid == _grid(expected)
    async with big.unit_of_work() as session:  # the next export has them
        again = await summary_module.build_summary(session, view, march, big.now().date(), ZONE, cells=False)
        rows = _grid(await export_module.export_streamed(session, view, again, t))
    assert rows[4][4][0] == 0.99 and rows[5][4][0] == 0.11
