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
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from handlers import review as review_chat, review_flags
from handlers.formatting import describe_figure, describe_target, period_label
from handlers.rights import Action, allowed
from handlers.summary import amount_text, signed_points
from handlers.summary_text import coverage_text
from locales import Translator
from models import evidence, outbox, people, review
from models.figures_export import figure_rows
from models.kinds import RoleKind, Urgency
from models.periods import Period, PeriodError
from models.plan_view import PartView, PlanView
from models.session import Session
from models.standing import choose_period
from models.store import ViewCache, get_plan, load_plan_view
from models.submissions import figure_of, figures_stamp
from models.summary_data import IndicatorRow, Summary
from models.summary_queries import build_summary
from models.tables import Person
from models.text import fold

__all__ = ["Access", "CellState", "DeskError", "PlanPage", "ReviewAction", "ReviewPage", "Summaries", "UnitPage",
           "access_to", "evidence_file", "figures_document", "plan_page", "plans_of", "results_document",
           "review_act", "review_notes", "review_page", "unit_page"]

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
        self._kept: OrderedDict[tuple[int, str, date], tuple[tuple[int, int], PlanView, Summary, float]] = OrderedDict()
        self._building: dict[tuple[int, str, date], asyncio.Future[Summary]] = {}
        self._gate: asyncio.Semaphore | None = None
        self._pages: dict[int, tuple[Summary, dict[Hashable, Any]]] = {}  # summary id -> (it, its pages)

    async def get(self, session: Session, view: PlanView, period: Period, today: date, zone: ZoneInfo) -> Summary:
        key = (view.plan.id, period.id, today)
        # A new figure or a new review decision anywhere: both are append-only, so their newest
        # ids say whether what is kept is still what the chat would say.
        stamp = (await figures_stamp(session), await review.decisions_stamp(session))
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

    async def _build(self, session: Session, key: tuple[int, str, date], stamp: tuple[int, int], view: PlanView,
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
    reviews: bool = False  # reviews some of the plan's indicators (its tracking office, admins)


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
        reviews = bool(_reviewed_parts(view, found))
        links.append(PlanLink(plan.code, plan.title, plan.year, found.whole_plan, units, reviews))
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
    RETURNED = "returned"  # sent, and returned by the tracking office for correction
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
    review: tuple[int, int, int] | None = None  # (approved, awaiting, returned) of the figures received


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
    review: tuple[int, int, int] | None  # (approved, awaiting, returned) over every indicator
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
        code=row.code, group=_group_of(view, row), title=row.full_title,
        figure=amount_text(row, t), coverage=coverage_text(row.rollup, t), reported=row.reports.received,
        expected=row.reports.expected, target=describe_target(row.target, t),
        standing=row.standing.value, period=period_label(row.period, t),
        change=signed_points(row.change, row.target, t) if row.change is not None else None,
        review=summary.review_counts(row),
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


async def _plan_summary(session: Session, person: Person | None, plan_code: str, asked_period: str | None, *,
                        cache: ViewCache, summaries: Summaries, today: date,
                        zone: ZoneInfo) -> tuple[PlanView, Access, Summary]:
    """The plan, the reader's rights in it and its shared summary for the period asked, for a
    reader of the whole plan."""
    view, found = await _plan_and_access(session, person, plan_code, cache)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    return view, found, await summaries.get(session, view, _period(view, asked_period, today), today, zone)


async def plan_page(
    session: Session, person: Person | None, plan_code: str, asked_period: str | None, *, cache: ViewCache,
    summaries: Summaries, today: date, zone: ZoneInfo, t: Translator, filters: dict[str, str] | None = None,
    page: int = 1,
) -> tuple[PlanPage, bool]:
    """The plan page (shared by its readers) and whether this reader reviews some of the plan's
    indicators (the page then links the review table)."""
    view, found, summary = await _plan_summary(session, person, plan_code, asked_period, cache=cache,
                                               summaries=summaries, today=today, zone=zone)
    wanted = {k: v for k, v in (filters or {}).items() if v}
    key = (id(summary), t.locale, tuple(sorted(wanted.items())), page)
    # Assembled in a worker thread (thousands of figures formatted): the event loop keeps serving
    # officers meanwhile. Kept with its summary: the next reader of the same page gets it at once.
    shown = await summaries.page(key, summary, lambda: assemble_plan_page(view, summary, t, wanted, page))
    return shown, bool(_reviewed_parts(view, found))


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
        review=summary.review_totals(),
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
        self.returned = summary.returned
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
        if (unit_id, part_id) in self.returned:
            return GridCell(CellState.RETURNED, text)
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
    review: review.ReviewState | None = None  # None: no figure to review
    reason: str | None = None  # why it was returned
    evidence: tuple[tuple[int, str], ...] = ()  # (evidence id, file name)


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
    states: dict[tuple[int, str], review.Figure] = {}
    files: dict[tuple[int, str], list[tuple[int, str]]] = {}
    by_period: dict[str, list[int]] = {}
    for row in summary.rows:
        by_period.setdefault(row.period.id, []).append(row.part_id)
    for period_id, part_ids in by_period.items():
        for figure in await review.figures(session, part_ids, period_id, unit.id):
            states[(figure.submission.part_id, period_id)] = figure
        for kept in await evidence.of_parts(session, part_ids, period_id, unit_ids=[unit.id]):
            files.setdefault((kept.part_id, period_id), []).append((kept.id, kept.name))
    figures = []
    cells = _Cells(summary, summary.rows, t)
    for row in summary.rows:
        cell = cells.cell(row, unit.id)
        if cell.state is CellState.NOT_OWED:
            continue
        versions = tuple(
            (_when(record.at, zone, t), describe_figure(record.figure, row.target, t), record.channel)
            for record in by_part.get((row.part_id, row.period.id), ()))
        reviewed = states.get((row.part_id, row.period.id))
        figures.append(UnitFigure(row.code, row.full_title,
                                  period_label(row.period, t), cell.text, cell.state, describe_target(row.target, t),
                                  versions, reviewed.state if reviewed is not None else None,
                                  reviewed.reason if reviewed is not None else None,
                                  tuple(files.get((row.part_id, row.period.id), ()))))
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
    thread while the grid's figures are read a chunk of units at a time. Leaders and admins."""
    from handlers.export import export_filename, export_streamed, summary_cells, summary_details
    from handlers.export_review import history_rows, review_rows

    view, found = await _plan_and_access(session, person, plan_code, cache)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    period = _period(view, asked_period, today)
    summary = await build_summary(session, view, period, today, zone, details=summary_details(view),
                                  cells=summary_cells(view))
    reviewed, history = await review_rows(session, view, period), await history_rows(session, view, period, zone)
    return export_filename(summary), await export_streamed(session, view, summary, t, reviewed, history)


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


# --- the tracking office's review table ---------------------------------------------------------

REVIEW_PAGE_UNITS = 200  # rows of one indicator's review table per page
WEB_CHANNEL = "web"  # how the audit trail names the desk (history: who, when, through which channel)


class ReviewAction(StrEnum):
    APPROVE = "approve"  # the units ticked
    APPROVE_ALL = "approve-all"  # every figure of the indicator awaiting or returned
    RETURN = "return"  # the units ticked, with the reason given


class ReviewNote(StrEnum):
    """What the review page says after an action (carried in the address: the page after a form is
    a plain GET, so reloading it never approves twice)."""

    APPROVED = "approved"
    RETURNED = "returned"
    NONE_CHOSEN = "none-chosen"
    REASON_NEEDED = "reason-needed"


@dataclass(frozen=True, slots=True)
class ReviewRow:
    unit_code: str
    unit_name: str
    figure: str
    previous: str  # the previous period's figure, "—" without
    state: review.ReviewState
    reason: str | None  # why it was returned
    evidence: tuple[tuple[int, str], ...]  # (evidence id, file name)
    flags: tuple[str, ...]  # why the figure looks out of line (handlers/review_flags.py), if it does
    may_approve: bool
    may_return: bool


@dataclass(frozen=True)
class ReviewPage:
    plan_code: str
    plan_title: str
    whole_plan: bool
    period: str
    period_label: str
    periods: list[tuple[str, str]]
    indicators: list[tuple[str, str]]  # (code, title) the reader reviews
    code: str  # the indicator shown
    title: str
    part_period: str  # the indicator's own period ("Tháng 3/2026" under "Quý 1/2026")
    expected: int
    evidence_required: bool
    counts: dict[review.ReviewState, int]
    rows: list[ReviewRow]
    state_filter: str
    page: int
    pages: int
    notes: list[str]  # what the last action did, in the reader's words


def _reviews(view: PlanView, found: Access, pv: PartView) -> bool:
    """The role matrix's "review" cell (handlers/rights.py) for the web's reader."""
    if found.admin and allowed(RoleKind.ADMIN, False, Action.REVIEW):
        return True
    return any(allowed(RoleKind.OFFICER, review.tracks(view, unit_id, pv.indicator), Action.REVIEW)
               for unit_id in found.units)


def _reviewed_parts(view: PlanView, found: Access) -> list[PartView]:
    """The parts someone reports that the reader reviews."""
    return [pv for pv in view.parts.values() if view.reporters.get(pv.part.id) and _reviews(view, found, pv)]


async def _reviewed(session: Session, view: PlanView, found: Access, period: Period, summaries: Summaries,
                    today: date, zone: ZoneInfo) -> list[tuple[PartView, Period]]:
    """The parts the reader reviews, each with its own period within `period` (as the plan page
    shows them: a monthly indicator's month in a quarter)."""
    mine = _reviewed_parts(view, found)
    if not mine:
        return []
    summary = await summaries.get(session, view, period, today, zone)
    periods = {row.part_id: row.period for row in summary.rows}
    return [(pv, periods[pv.part.id]) for pv in mine if pv.part.id in periods]


async def _review_target(session: Session, person: Person | None, plan_code: str, asked_period: str | None,
                         indicator: str | None, *, cache: ViewCache, summaries: Summaries, today: date,
                         zone: ZoneInfo) -> tuple[PlanView, Access, Period, list[tuple[PartView, Period]],
                                                  tuple[PartView, Period]]:
    view, found = await _plan_and_access(session, person, plan_code, cache)
    period = _period(view, asked_period, today)
    mine = await _reviewed(session, view, found, period, summaries, today, zone)
    if not mine:
        raise DeskError("web-error-not-reviewer", 403)
    chosen = next((item for item in mine if item[0].code == indicator), None) if indicator else mine[0]
    if chosen is None:
        raise DeskError("web-error-not-reviewer-of", 403, code=indicator)
    return view, found, period, mine, chosen


async def review_page(
    session: Session, person: Person, plan_code: str, asked_period: str | None, indicator: str | None, *,
    cache: ViewCache, summaries: Summaries, today: date, zone: ZoneInfo, t: Translator,
    state_filter: str = "", page: int = 1, notes: Sequence[str] = (),
) -> ReviewPage:
    """One indicator's review table for a period: each unit's figure, the previous period's,
    evidence and state, for the indicator's tracking office and admins."""
    view, found, period, mine, (pv, part_period) = await _review_target(
        session, person, plan_code, asked_period, indicator, cache=cache, summaries=summaries, today=today,
        zone=zone)
    part_id = pv.part.id
    figures = await review.figures(session, [part_id], part_period.id)
    every = list(figures)
    counts = dict.fromkeys(review.ReviewState, 0)
    for figure in figures:
        counts[figure.state] += 1
    if state_filter in {state.value for state in review.ReviewState}:
        figures = [f for f in figures if f.state.value == state_filter]
    else:
        state_filter = ""

    units = view.units
    figures.sort(key=lambda f: (_sort_name(units[f.submission.unit_id].name) if f.submission.unit_id in units
                                else "", f.submission.unit_id))
    pages = max(1, -(-len(figures) // REVIEW_PAGE_UNITS))
    page = min(max(1, page), pages)
    shown = figures[(page - 1) * REVIEW_PAGE_UNITS: page * REVIEW_PAGE_UNITS]
    # The previous period and the evidence of the rows shown only: a page of 200 of 3,000 units.
    unit_ids = [f.submission.unit_id for f in shown]
    previous: dict[int, Any] = {}
    if shown and (before := part_period.previous()).year == part_period.year:
        previous = {f.submission.unit_id: f.submission
                    for f in await review.figures(session, [part_id], before.id, unit_ids=unit_ids)}
    files: dict[int, list[tuple[int, str]]] = {}
    for kept in await evidence.of_parts(session, [part_id], part_period.id, unit_ids=unit_ids):
        files.setdefault(kept.unit_id, []).append((kept.id, kept.name))
    # Out of line against every unit's figure (the median), and each row against its own previous.
    flags = review_flags.flag_reasons(pv, [f.submission for f in every], previous, t)
    rows = []
    for figure in shown:
        row = figure.submission
        unit = units.get(row.unit_id)
        was = previous.get(row.unit_id)
        rows.append(ReviewRow(
            unit_code=unit.code if unit is not None else "", unit_name=unit.name if unit is not None else "?",
            figure=describe_figure(figure_of(row), pv.target, t),
            previous=describe_figure(figure_of(was), pv.target, t) if was is not None else "—",
            state=figure.state, reason=figure.reason, evidence=tuple(files.get(row.unit_id, ())),
            flags=tuple(flags.get(row.unit_id, ())),
            may_approve=figure.state is not review.ReviewState.APPROVED,
            may_return=figure.state is not review.ReviewState.RETURNED))
    return ReviewPage(
        plan_code=view.plan.code, plan_title=view.plan.title, whole_plan=found.whole_plan, period=period.id,
        period_label=period_label(period, t), periods=_periods(view, t),
        indicators=[(item.code, _part_title(item)) for item, _ in mine], code=pv.code, title=_part_title(pv),
        part_period=period_label(part_period, t), expected=len(view.reporters.get(part_id, [])),
        evidence_required=bool(getattr(pv.indicator, "evidence_required", False)), counts=counts, rows=rows,
        state_filter=state_filter, page=page, pages=pages, notes=list(notes))


@lru_cache(maxsize=65_536)
def _sort_name(name: str) -> str:
    """A unit's name as the review table sorts it (without diacritics: "Đ" among the "D")."""
    return fold(name)


def _part_title(pv: PartView) -> str:
    return f"{pv.indicator.title} — {pv.part.label}" if pv.part.label else pv.indicator.title


@dataclass(frozen=True)
class ReviewOutcome:
    """What one action did, for the page's note (ReviewNote and its counts)."""

    note: ReviewNote
    count: int = 0
    without_evidence: int = 0  # left awaiting: the plan wants a file first
    untold: int = 0  # returned where the unit has no officer to tell


async def review_act(
    session: Session, person: Person, plan_code: str, asked_period: str | None, indicator: str,
    action: ReviewAction, unit_codes: Sequence[str], reason: str, *, cache: ViewCache, summaries: Summaries,
    today: date, zone: ZoneInfo, now: datetime, default_locale: str,
) -> ReviewOutcome:
    """Approve or return figures from the review page: the same decisions (models/review.py) and
    the same message to the officer (handlers/review.return_notice) as in chat, recorded as made
    through the web. The caller commits."""
    view, _, _, _, (pv, part_period) = await _review_target(
        session, person, plan_code, asked_period, indicator, cache=cache, summaries=summaries, today=today,
        zone=zone)
    part_id = pv.part.id
    by_code = {unit.code: unit.id for unit in view.units.values()}
    unit_ids = list(dict.fromkeys(by_code[code] for code in unit_codes if code in by_code))
    if action is ReviewAction.APPROVE_ALL:
        done = await review.approve(session, view, [part_id], part_period.id, unit_id=None, person_id=person.id,
                                    channel=WEB_CHANNEL, now=now)
        return ReviewOutcome(ReviewNote.APPROVED, len(done.approved), len(done.no_evidence))
    if not unit_ids:
        return ReviewOutcome(ReviewNote.NONE_CHOSEN)
    if action is ReviewAction.APPROVE:
        approved = without = 0
        for unit_id in unit_ids:
            done = await review.approve(session, view, [part_id], part_period.id, unit_id=unit_id,
                                        person_id=person.id, channel=WEB_CHANNEL, now=now)
            approved, without = approved + len(done.approved), without + len(done.no_evidence)
        return ReviewOutcome(ReviewNote.APPROVED, approved, without)
    reason = " ".join(reason.split())[:500]
    if not reason:
        return ReviewOutcome(ReviewNote.REASON_NEEDED)
    returned = untold = 0
    for figure in await review.figures(session, [part_id], part_period.id):
        if figure.submission.unit_id not in unit_ids or figure.state is review.ReviewState.RETURNED:
            continue
        decision = await review.decide(session, figure.submission, review.ReviewState.RETURNED, reason=reason,
                                       person_id=person.id, channel=WEB_CHANNEL, now=now)
        returned += 1
        notice = await review_chat.return_notice(session, default_locale, pv, part_period,
                                                 figure.submission.unit_id, reason)
        if notice is None or notice.to is None:
            untold += 1
            continue
        await outbox.enqueue(session, key=f"web-return:{decision.id}", channel=notice.to[0], chat_id=notice.to[1],
                             payload=notice.to_payload(), now=now, unique=True, priority=Urgency.ROUTINE)
    return ReviewOutcome(ReviewNote.RETURNED, returned, untold=untold)


def review_notes(outcome: ReviewOutcome, t: Translator) -> list[str]:
    """The page's note after an action, in the reader's words."""
    match outcome.note:
        case ReviewNote.APPROVED:
            notes = [t("web-review-approved", count=outcome.count)]
            if outcome.without_evidence:
                notes.append(t("web-review-no-evidence", count=outcome.without_evidence))
            return notes
        case ReviewNote.RETURNED:
            notes = [t("web-review-returned", count=outcome.count)]
            if outcome.untold:
                notes.append(t("web-review-untold", count=outcome.untold))
            return notes
        case ReviewNote.NONE_CHOSEN:
            return [t("web-review-none-chosen")]
        case _:
            return [t("web-review-reason-needed")]


async def evidence_file(session: Session, person: Person, plan_code: str, evidence_id: int, *,
                        cache: ViewCache) -> tuple[str, str, str]:
    """(name, content type, SHA-256) of an evidence file the reader may open: their own unit's,
    or one of the indicators they review, or any in a plan they lead."""
    view, found = await _plan_and_access(session, person, plan_code, cache)
    row = await evidence.by_id(session, evidence_id)
    pv = view.parts.get(row.part_id) if row is not None and row.plan_id == view.plan.id else None
    if row is None or pv is None or not (found.may_see_unit(row.unit_id) or _reviews(view, found, pv)):
        raise DeskError("web-error-no-file", 404)
    kept = await evidence.file(session, row.file_id)
    if kept is None:
        raise DeskError("web-error-no-file", 404)
    return row.name, kept.content_type, kept.sha256


# --- each indicator over the year -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # the period, short ("T3", "Q1", "2025")
    title: str  # the period and figure in words, for the tooltip and screen readers
    value: float | None  # None: no figure yet (or a period still ahead)
    line: float | None  # where the plan expects the figure to be by then, if it says


@dataclass(frozen=True)
class YearChart:
    code: str
    title: str
    bars: list[Bar]
    top: float  # the scale's top
    last: str  # the chosen period's figure, as the table shows it


class YearSeries:
    """Each part's plan-wide figure for every period of the year up to the one asked, from the
    same summary as the table (one build per period, cells not read). Kept for KEEP seconds and
    then rebuilt in the background while readers get the kept one: a past month's figure moves
    only when a late correction arrives, and the chosen period's own bar is always taken from the
    plan page's exact summary."""

    KEEP = 600.0  # seconds
    PLANS = 32

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, str, date], tuple[float, PlanView, dict[int, list[IndicatorRow]]]] = \
            OrderedDict()
        self._building: dict[tuple[int, str, date], asyncio.Future[dict[int, list[IndicatorRow]]]] = {}
        self._gate: asyncio.Semaphore | None = None

    async def get(self, sessions: Callable[[], Any], view: PlanView, period: Period, today: date,
                  zone: ZoneInfo) -> dict[int, list[IndicatorRow]]:
        key = (view.plan.id, period.id, today)
        loop = asyncio.get_running_loop()
        kept = self._kept.get(key)
        if kept is not None and kept[1] is view:
            if loop.time() - kept[0] > self.KEEP and key not in self._building:
                self._start(key, sessions, view, period, today, zone).add_done_callback(
                    lambda done: done.cancelled() or done.exception())  # the next reader retries
            return kept[2]
        building = self._building.get(key) or self._start(key, sessions, view, period, today, zone)
        return await asyncio.shield(building)

    def _start(self, key: tuple[int, str, date], sessions: Callable[[], Any], view: PlanView, period: Period,
               today: date, zone: ZoneInfo) -> asyncio.Future[dict[int, list[IndicatorRow]]]:
        task = asyncio.ensure_future(self._build(key, sessions, view, period, today, zone))
        self._building[key] = task
        return task

    async def _build(self, key: tuple[int, str, date], sessions: Callable[[], Any], view: PlanView,
                     period: Period, today: date, zone: ZoneInfo) -> dict[int, list[IndicatorRow]]:
        try:
            if self._gate is None:
                self._gate = asyncio.Semaphore(1)  # one year's worth of summaries at a time
            series: dict[int, list[IndicatorRow]] = {}
            async with self._gate:
                for each in _periods_until(view, period):
                    async with sessions() as session:  # a connection per build, handed back between them
                        summary = await build_summary(session, view, each, today, zone, cells=False)
                    for row in summary.rows:
                        if row.period == each:
                            series.setdefault(row.part_id, []).append(row)
            loop = asyncio.get_running_loop()
            self._kept[key] = (loop.time(), view, series)
            self._kept.move_to_end(key)
            while len(self._kept) > self.PLANS:
                self._kept.popitem(last=False)
            return series
        finally:
            del self._building[key]


def _periods_until(view: PlanView, period: Period) -> list[Period]:
    """Every period of the plan's frequencies in its year that ends by the end of `period`."""
    from models.periods import periods_of_year
    frequencies = sorted({pv.frequency for pv in view.parts.values()}, key=lambda f: f.months)
    return [each for frequency in frequencies for each in periods_of_year(view.plan.year, frequency)
            if each.last_month <= period.last_month]


def _short_period(period: Period, t: Translator) -> str:
    if period.frequency.months == 1:
        return t("web-chart-month", month=period.last_month)
    if period.frequency.months == 3:
        return t("web-chart-quarter", quarter=period.last_month // 3)
    if period.frequency.months == 6:
        return t("web-chart-half", half=period.last_month // 6)
    return str(period.year)


async def year_chart(
    session: Session, person: Person, plan_code: str, part_code: str, asked_period: str | None, *,
    cache: ViewCache, summaries: Summaries, series: YearSeries, sessions: Callable[[], Any], today: date,
    zone: ZoneInfo, t: Translator,
) -> YearChart:
    """One part's figure over the year up to the period asked, for the plan page's readers."""
    view, _, summary = await _plan_summary(session, person, plan_code, asked_period, cache=cache,
                                           summaries=summaries, today=today, zone=zone)
    await session.rollback()  # no connection held while the year is read
    row = next((row for row in summary.rows if row.code == part_code), None)
    if row is None:
        raise DeskError("web-error-no-indicator", 404, code=part_code)
    by_period = {each.period: each for each in (await series.get(sessions, view, summary.period, today, zone)).get(
        row.part_id, [])}
    by_period[row.period] = row  # the chosen period's bar is the table's figure, exactly
    from models.periods import periods_of_year
    bars = []
    for each in periods_of_year(view.plan.year, row.frequency):
        shown = by_period.get(each) if each.last_month <= row.period.last_month else None
        value = float(shown.amount) if shown is not None and shown.amount is not None else None
        line = float(shown.line) if shown is not None and shown.line is not None else None
        words = amount_text(shown, t) if shown is not None else "—"
        bars.append(Bar(_short_period(each, t), f"{period_label(each, t)}: {words}", value, line))
    top = max([b.value or 0 for b in bars] + [b.line or 0 for b in bars] + [0.0])
    return YearChart(row.code, row.full_title, bars,
                     top * 1.1 if top > 0 else 1.0, amount_text(row, t))
