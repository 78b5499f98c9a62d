"""What the web desk shows (issue 23), channel- and web-framework-free: who may open which plan and
unit, and each page's content built from the same summary as /tonghop, /tinhhinh and the export
(models.summary_queries.build_summary), so a page and the chat never disagree for one period.

bot/web/ renders these as HTML and JSON; nothing here knows aiohttp or templates. Every text is
already in the reader's language and number format.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from handlers.formatting import describe_figure, describe_target, period_label
from handlers.summary import amount_text, signed_points
from handlers.summary_text import coverage_text
from locales import Translator
from models import people
from models.figures_export import figure_rows
from models.kinds import RoleKind
from models.periods import Period, PeriodError
from models.plan_view import PlanView
from models.session import Session
from models.standing import choose_period
from models.store import ViewCache, get_plan, load_plan_view
from models.submissions import figures_stamp
from models.summary_data import IndicatorRow, Summary
from models.summary_queries import build_summary
from models.tables import Person

__all__ = ["Access", "CellState", "DeskError", "PlanPage", "Summaries", "UnitPage", "access_to", "figures_document",
           "plan_page", "plans_of", "results_document", "unit_page"]

PAGE_UNITS = 100  # units per page of the grid: 3,000 units stay a quick page


class Summaries:
    """The desk's summaries, shared by everyone reading the same plan and period: built once,
    kept until a figure is stored anywhere (figures are append-only: the newest version's id
    says so), the plan changes or the day does.

    One build per plan and period at a time: while it runs, readers get the summary kept (at most
    STALE seconds old, so on a deadline day, with figures arriving every second, a page is one
    build behind the chat rather than every reader waiting for a build of their own). At most
    BUILDS are built at once, and a reader waiting holds no database connection: twenty people
    opening the plan page before a meeting never take the connections an officer's reply needs."""

    BUILDS = 2
    KEEP = 64  # (plan, period) pairs kept
    PAGES = 256  # assembled pages kept per summary (filters × pages × languages)
    STALE = 60.0  # seconds

    def __init__(self) -> None:
        # (plan id, period id, day) -> (figures stamp, plan view, summary, built at (monotonic))
        self._kept: OrderedDict[tuple[int, str, date], tuple[int, PlanView, Summary, float]] = OrderedDict()
        self._building: dict[tuple[int, str, date], asyncio.Future[Summary]] = {}
        self._gate: asyncio.Semaphore | None = None
        self._pages: dict[int, tuple[Summary, dict[Hashable, Any]]] = {}  # summary id -> (it, its pages)

    async def get(self, session: Session, view: PlanView, period: Period, today: date, zone: ZoneInfo) -> Summary:
        key = (view.plan.id, period.id, today)
        stamp = await figures_stamp(session)
        kept = self._kept.get(key)
        usable = kept is not None and kept[1] is view
        if usable and kept[0] == stamp:  # type: ignore[index]
            self._kept.move_to_end(key)
            return kept[2]  # type: ignore[index]
        await session.rollback()  # hand the connection back while waiting
        building = self._building.get(key)
        if building is not None:
            loop = asyncio.get_running_loop()
            if usable and loop.time() - kept[3] < self.STALE:  # type: ignore[index]
                return kept[2]  # type: ignore[index]
            return await asyncio.shield(building)
        return await self._build(session, key, stamp, view, period, today, zone)

    async def _build(self, session: Session, key: tuple[int, str, date], stamp: int, view: PlanView,
                     period: Period, today: date, zone: ZoneInfo) -> Summary:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Summary] = loop.create_future()
        self._building[key] = future
        try:
            if self._gate is None:
                self._gate = asyncio.Semaphore(self.BUILDS)
            async with self._gate:
                summary = await build_summary(session, view, period, today, zone, cells=True)
            await session.rollback()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: the waiters (if any) raise it themselves
            raise
        finally:
            del self._building[key]
        future.set_result(summary)
        self._kept[key] = (stamp, view, summary, loop.time())
        self._kept.move_to_end(key)
        while len(self._kept) > self.KEEP:
            self._kept.popitem(last=False)
        return summary

    async def page(self, key: Hashable, summary: Summary, assemble: Callable[[], Any]) -> Any:
        """A page assembled from `summary` in a worker thread, once per key while `summary` is
        the one kept (the key names the summary, so a newer one never gets an older page)."""
        pages = self._pages.get(id(summary))
        if pages is None or pages[0] is not summary:
            pages = (summary, {})
            self._pages[id(summary)] = pages
            live = {id(kept[2]) for kept in self._kept.values()}
            for stale in [k for k in self._pages if k not in live and k != id(summary)]:
                del self._pages[stale]
        found = pages[1].get(key)
        if found is None:
            found = await asyncio.to_thread(assemble)
            if len(pages[1]) < self.PAGES:
                pages[1][key] = found
        return found


class DeskError(Exception):
    """A page that cannot be shown: its message id (locales/messages-web.yaml) and HTTP status."""

    def __init__(self, message_id: str, status: int, **params: object) -> None:
        super().__init__(message_id)
        self.message_id, self.status, self.params = message_id, status, params


@dataclass(frozen=True, slots=True)
class Access:
    """What one person may do in one plan: the whole plan (leaders, admins), or their units'."""

    plan_id: int
    admin: bool
    leader: bool
    units: frozenset[int]

    @property
    def whole_plan(self) -> bool:
        return self.admin or self.leader

    def may_see_unit(self, unit_id: int) -> bool:
        return self.whole_plan or unit_id in self.units


async def access_to(session: Session, person: Person, plan_id: int) -> Access | None:
    """The person's rights in the plan, None without a role in it (an admin of every plan has one
    in each). Rights never carry over from one plan to another, as in the chat."""
    roles = [role for role in await people.active_roles(session, person.id)
             if role.plan_id == plan_id or (role.plan_id is None and role.role == RoleKind.ADMIN)]
    if not roles:
        return None
    return Access(plan_id, admin=any(r.role == RoleKind.ADMIN for r in roles),
                  leader=any(r.role == RoleKind.LEADER for r in roles),
                  units=frozenset(r.unit_id for r in roles if r.role == RoleKind.OFFICER and r.unit_id is not None))


@dataclass(frozen=True, slots=True)
class PlanLink:
    code: str
    title: str
    year: int
    whole_plan: bool
    units: tuple[tuple[str, str], ...]  # (unit code, name) an officer reports for


async def plans_of(session: Session, person: Person, cache: ViewCache) -> list[PlanLink]:
    """The plans the person has a role in, newest year first."""
    roles = await people.active_roles(session, person.id)
    everything = any(r.role == RoleKind.ADMIN and r.plan_id is None for r in roles)
    ids = await people.plan_ids(session) if everything else sorted({r.plan_id for r in roles if r.plan_id})
    links = []
    for plan in (await people.plans_by_id(session, ids)).values():
        found = await access_to(session, person, plan.id)
        if found is None:
            continue
        view = await load_plan_view(session, plan.id, cache)
        units = tuple((view.units[u].code, view.units[u].name) for u in sorted(found.units) if u in view.units)
        links.append(PlanLink(plan.code, plan.title, plan.year, found.whole_plan, units))
    return sorted(links, key=lambda link: (-link.year, link.code))


async def _plan_and_access(session: Session, person: Person | None, plan_code: str, cache: ViewCache,
                           key_plan: int | None = None) -> tuple[PlanView, Access]:
    """The plan and what the reader may do in it: a signed-in person's roles, or an API key of
    that plan (read-only, the whole plan). Unknown plan and no right look the same (404)."""
    plan = await get_plan(session, plan_code)
    if plan is None:
        raise DeskError("web-error-no-plan", 404, plan=plan_code)
    if key_plan is not None:
        if key_plan != plan.id:
            raise DeskError("web-error-no-plan", 404, plan=plan_code)
        found: Access | None = Access(plan.id, admin=False, leader=True, units=frozenset())
    else:
        found = await access_to(session, person, plan.id) if person is not None else None
    if found is None:
        raise DeskError("web-error-no-plan", 404, plan=plan_code)
    return await load_plan_view(session, plan.id, cache), found


def _period(view: PlanView, asked: str | None, today: date) -> Period:
    if not asked:
        return choose_period(view, today)
    try:
        period = Period.parse(asked.strip())
    except PeriodError:
        raise DeskError("web-error-period", 400, period=asked, example=f"{view.plan.year}-Q1") from None
    if period.year != view.plan.year:
        raise DeskError("web-error-period", 400, period=asked, example=f"{view.plan.year}-Q1")
    return period


# --- the plan page ----------------------------------------------------------------------------


class CellState(StrEnum):
    """What the grid shows for one unit and one part."""

    ON_TIME = "on-time"
    LATE = "late"
    MISSING = "missing"
    NOT_APPLICABLE = "not-applicable"
    NOT_OWED = "not-owed"  # the unit does not report this part


@dataclass(frozen=True, slots=True)
class IndicatorLine:
    code: str
    group: str
    title: str
    figure: str
    coverage: str
    reported: int
    expected: int
    target: str
    standing: str
    change: str | None
    period: str


@dataclass(frozen=True, slots=True)
class GridCell:
    state: CellState
    text: str  # the figure as shown, or the state's word


@dataclass(frozen=True, slots=True)
class GridRow:
    code: str
    name: str
    kind: str
    officer: str | None
    cells: tuple[GridCell, ...]
    missing: int


@dataclass(frozen=True)
class PlanPage:
    plan_code: str
    plan_title: str
    period: str  # its id, for links
    period_label: str
    periods: list[tuple[str, str]]  # (id, label) the reader can switch to
    expected: int
    received: int
    on_time: int
    late: int
    missing: int
    rate: str
    indicators: list[IndicatorLine]
    columns: list[str]  # part codes, the grid's columns
    grid: list[GridRow]
    units_total: int  # matching the filters, over every page
    page: int
    pages: int
    groups: list[str]
    kinds: list[str]
    filters: dict[str, str] = field(default_factory=dict)
    kind_labels: dict[str, str] = field(default_factory=dict)


def _group_of(view: PlanView, row: IndicatorRow) -> str:
    """The indicator's group as the plan names it ("II. Kinh tế số"), or ""."""
    code = view.parts[row.part_id].indicator.group_code
    if not code:
        return ""
    title = next((g.get("title") for g in view.plan.groups or () if g.get("code") == code), None)
    return f"{code}. {title}" if title else str(code)


def indicator_lines(view: PlanView, summary: Summary, t: Translator) -> list[IndicatorLine]:
    return [IndicatorLine(
        code=row.code, group=_group_of(view, row), title=f"{row.title} — {row.label}" if row.label else row.title,
        figure=amount_text(row, t), coverage=coverage_text(row.rollup, t), reported=row.reports.received,
        expected=row.reports.expected, target=describe_target(row.target, t),
        standing=row.standing.value, period=period_label(row.period, t),
        change=signed_points(row.change, row.target, t) if row.change is not None else None,
    ) for row in summary.rows]


def _periods(view: PlanView, t: Translator) -> list[tuple[str, str]]:
    """Every period the plan's parts are collected for, in the year's order."""
    from models.periods import periods_of_year
    frequencies = sorted({pv.frequency for pv in view.parts.values()}, key=lambda f: f.months)
    seen: dict[str, tuple[tuple[int, int], str]] = {}
    for frequency in frequencies:
        for period in periods_of_year(view.plan.year, frequency):
            seen[period.id] = ((period.last_month, -frequency.months), period_label(period, t))
    return [(pid, label) for pid, (_, label) in sorted(seen.items(), key=lambda item: item[1][0])]


async def plan_page(
    session: Session, person: Person | None, plan_code: str, asked_period: str | None, *, cache: ViewCache,
    summaries: Summaries, today: date, zone: ZoneInfo, t: Translator, filters: dict[str, str] | None = None,
    page: int = 1,
) -> PlanPage:
    view, found = await _plan_and_access(session, person, plan_code, cache)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    period = _period(view, asked_period, today)
    summary = await summaries.get(session, view, period, today, zone)
    wanted = {k: v for k, v in (filters or {}).items() if v}
    key = (id(summary), t.locale, tuple(sorted(wanted.items())), page)
    # Assembled in a worker thread (thousands of figures formatted): the event loop keeps serving
    # officers meanwhile. Kept with its summary: the next reader of the same page gets it at once.
    return await summaries.page(key, summary, lambda: assemble_plan_page(view, summary, t, wanted, page))


def assemble_plan_page(view: PlanView, summary: Summary, t: Translator, filters: dict[str, str],
                       page: int) -> PlanPage:
    every_line = indicator_lines(view, summary, t)
    lines, rows = every_line, summary.rows
    if group := filters.get("group"):
        lines = [line for line in lines if line.group == group]
    if standing := filters.get("status"):
        lines = [line for line in lines if line.standing == standing]
    if len(lines) != len(every_line):
        keep = {line.code for line in lines}
        rows = [row for row in rows if row.code in keep]
    units = summary.units
    if kind := filters.get("kind"):
        units = [unit for unit in units if unit.kind == kind]
    if filters.get("units") == "missing":
        units = [unit for unit in units if unit.reports.missing]
    pages = max(1, -(-len(units) // PAGE_UNITS))
    page = min(max(1, page), pages)
    shown = units[(page - 1) * PAGE_UNITS: page * PAGE_UNITS]
    cells = _Cells(summary, rows, t)
    grid = [GridRow(unit.code, unit.name, kind_label(unit.kind, t), unit.officer, cells.of(unit.unit_id),
                    unit.reports.missing) for unit in shown]
    reports = summary.reports
    kinds = {unit.kind for unit in summary.units}
    return PlanPage(
        plan_code=view.plan.code, plan_title=view.plan.title, period=summary.period.id,
        period_label=period_label(summary.period, t), periods=_periods(view, t), expected=reports.expected,
        received=reports.received, on_time=reports.on_time, late=reports.late, missing=reports.missing,
        rate=t.percent(reports.rate.quantize(Decimal("0.1"))) if reports.rate is not None else "—",
        indicators=lines, columns=[row.code for row in rows], grid=grid, units_total=len(units), page=page,
        pages=pages, groups=sorted({line.group for line in every_line if line.group}), kinds=sorted(kinds),
        filters=filters, kind_labels={kind: kind_label(kind, t) for kind in kinds},
    )


class _Cells:
    """The grid's cells of some parts: what Summary.cell says, without the gap it also works out
    (the grid shows whether and when a figure came, not how far it is from the target)."""

    def __init__(self, summary: Summary, rows: Sequence[IndicatorRow], t: Translator) -> None:
        self.rows, self.t = rows, t
        self.expected = {row.part_id: frozenset(summary.expected.get(row.part_id, ())) for row in rows}
        self.figures = {row.part_id: summary.figures.get(row.part_id, {}) for row in rows}
        self.on_time = {row.part_id: summary.on_time.get(row.part_id, set()) for row in rows}
        self.missing = GridCell(CellState.MISSING, t("web-cell-missing"))
        self.not_owed = GridCell(CellState.NOT_OWED, "")

    def of(self, unit_id: int) -> tuple[GridCell, ...]:
        return tuple(self.cell(row, unit_id) for row in self.rows)

    def cell(self, row: IndicatorRow, unit_id: int) -> GridCell:
        part_id = row.part_id
        if unit_id not in self.expected[part_id]:
            return self.not_owed
        figure = self.figures[part_id].get(unit_id)
        if figure is None:
            return self.missing
        text = describe_figure(figure, row.target, self.t)
        if figure.not_applicable:
            return GridCell(CellState.NOT_APPLICABLE, text)
        return GridCell(CellState.ON_TIME if unit_id in self.on_time[part_id] else CellState.LATE, text)


def kind_label(kind: str, t: Translator) -> str:
    """"Xã", "Phòng, ban"…: a unit kind as offices write it."""
    try:
        return t(f"web-kind-{kind}")
    except KeyError:
        return kind


# --- one unit's page --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitFigure:
    code: str
    title: str
    period: str
    figure: str
    state: CellState
    target: str
    versions: tuple[tuple[str, str, str], ...]  # (when, figure, channel), oldest first


@dataclass(frozen=True)
class UnitPage:
    plan_code: str
    plan_title: str
    unit_code: str
    unit_name: str
    period: str
    period_label: str
    periods: list[tuple[str, str]]
    figures: list[UnitFigure]
    whole_plan: bool


async def unit_page(
    session: Session, person: Person, plan_code: str, unit_code: str, asked_period: str | None, *,
    cache: ViewCache, summaries: Summaries, today: date, zone: ZoneInfo, t: Translator,
) -> UnitPage:
    view, found = await _plan_and_access(session, person, plan_code, cache)
    unit = next((u for u in view.units.values() if u.code == unit_code), None)
    if unit is None or not found.may_see_unit(unit.id):
        raise DeskError("web-error-no-unit", 404, unit=unit_code)
    period = _period(view, asked_period, today)
    summary = await summaries.get(session, view, period, today, zone)
    history = await figure_rows(session, view, periods=[p.id for p, _ in summary.periods], unit_id=unit.id,
                                versions=True)
    by_part: dict[tuple[int, str], list[Any]] = {}
    for record in history:
        by_part.setdefault((record.part_id, record.period), []).append(record)
    figures = []
    cells = _Cells(summary, summary.rows, t)
    for row in summary.rows:
        cell = cells.cell(row, unit.id)
        if cell.state is CellState.NOT_OWED:
            continue
        versions = tuple(
            (_when(record.at, zone, t), describe_figure(record.figure, row.target, t), record.channel)
            for record in by_part.get((row.part_id, row.period.id), ()))
        figures.append(UnitFigure(row.code, f"{row.title} — {row.label}" if row.label else row.title,
                                  period_label(row.period, t), cell.text, cell.state, describe_target(row.target, t),
                                  versions))
    return UnitPage(view.plan.code, view.plan.title, unit.code, unit.name, summary.period.id,
                    period_label(summary.period, t), _periods(view, t), figures, found.whole_plan)


def _when(at: datetime, zone: ZoneInfo, t: Translator) -> str:
    local = at.astimezone(zone)
    return f"{t.date(local.date())} {local:%H:%M}"


# --- the read-only API --------------------------------------------------------------------------


def _plain(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    rounded = value.quantize(Decimal("0.01")).normalize()
    return int(rounded) if rounded == rounded.to_integral_value() else float(rounded)


async def results_document(
    session: Session, person: Person | None, key_plan: int | None, plan_code: str, asked_period: str | None, *,
    cache: ViewCache, summaries: Summaries, today: date, zone: ZoneInfo, t: Translator,
) -> dict[str, Any]:
    """GET /api/v1/plans/{plan}/results: the summary's numbers, a percentage as 72.5."""
    view, found = await _plan_and_access(session, person, plan_code, cache, key_plan)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    period = _period(view, asked_period, today)
    summary = await summaries.get(session, view, period, today, zone)
    return {
        "plan": view.plan.code, "period": summary.period.id,
        "units": {"expected": summary.reports.expected, "reported": summary.reports.received,
                  "on_time": summary.reports.on_time},
        "indicators": [{
            "code": row.indicator_code, "part": row.code, "title": row.title, "value": _plain(row.amount),
            "unit": "%" if row.target.is_percentage else (row.target.unit or None),
            "coverage": {"reported": row.reports.received, "expected": row.reports.expected},
            "status": row.standing.value, "target": describe_target(row.target, t), "period": row.period.id,
        } for row in summary.rows],
    }


async def figures_document(
    session: Session, person: Person | None, key_plan: int | None, plan_code: str, asked_period: str | None,
    unit_code: str | None, *, versions: bool, cache: ViewCache, today: date,
) -> list[dict[str, Any]]:
    """GET /api/v1/plans/{plan}/figures and `python -m bot figures`: the current figure of each
    unit, part and period (with `versions`, every stored one, oldest first). An officer gets their
    units' only."""
    view, found = await _plan_and_access(session, person, plan_code, cache, key_plan)
    unit_id = None
    if unit_code:
        unit = next((u for u in view.units.values() if u.code == unit_code), None)
        if unit is None or not found.may_see_unit(unit.id):
            raise DeskError("web-error-no-unit", 404, unit=unit_code)
        unit_id = unit.id
    elif not found.whole_plan:
        if len(found.units) != 1:
            raise DeskError("web-error-leaders-only", 403)
        unit_id = next(iter(found.units))
    periods = [_period(view, asked_period, today).id] if asked_period else None
    rows = await figure_rows(session, view, periods=periods, unit_id=unit_id, versions=versions)
    return [record.document(view) for record in rows]


def as_csv_rows(documents: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The figures as CSV rows, header first."""
    header = ["unit", "indicator", "part", "period", "value", "numerator", "denominator", "state", "at", "by",
              "channel", "message", "version", "review", "evidence"]
    return [header, *([_csv_cell(document.get(column)) for column in header] for document in documents)]


def _csv_cell(value: Any) -> Any:
    return "; ".join(value) if isinstance(value, list) else value  # the evidence file names


async def spreadsheet(
    session: Session, person: Person, plan_code: str, asked_period: str | None, *, cache: ViewCache, today: date,
    zone: ZoneInfo, t: Translator,
) -> tuple[str, bytes]:
    """The period's spreadsheet, as /xuat sends it: (file name, content), written in a worker
    thread. Leaders and admins."""
    from handlers.export import export_filename, export_workbook, summary_details
    from handlers.export_review import history_rows, review_rows

    view, found = await _plan_and_access(session, person, plan_code, cache)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    period = _period(view, asked_period, today)
    summary = await build_summary(session, view, period, today, zone, details=summary_details(view))
    reviewed, history = await review_rows(session, view, period), await history_rows(session, view, period, zone)
    await session.rollback()  # the connection goes back while the workbook is written
    return export_filename(summary), await asyncio.to_thread(export_workbook, view, summary, t, reviewed, history)


async def official_report(
    session: Session, person: Person, plan_code: str, asked_period: str | None, *, cache: ViewCache,
    summaries: Summaries, today: date, zone: ZoneInfo,
) -> tuple[str, bytes]:
    """The period's official report as /baocaovanban writes it (issue 18, Word): (file name,
    content), from the summary the plan page shows, rendered in a worker thread. Leaders and
    admins."""
    from handlers.official_report import render_report, report_filename

    view, found = await _plan_and_access(session, person, plan_code, cache)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    summary = await summaries.get(session, view, _period(view, asked_period, today), today, zone)
    return report_filename(summary), await asyncio.to_thread(render_report, view, summary)
