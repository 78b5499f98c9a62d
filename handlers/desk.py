"""What the web desk shows (issue 23), channel- and web-framework-free: who may open which plan and
unit, and each page's content built from the same summary as /tonghop, /tinhhinh and the export
(models.summary_queries.build_summary), so a page and the chat never disagree for one period.

bot/web/ renders these as HTML and JSON; nothing here knows aiohttp or templates. Every text is
already in the reader's language and number format.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from handlers.formatting import describe_amount, describe_figure, describe_target, period_label, points
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
from models.summary_data import MARKS, IndicatorRow, Summary
from models.summary_queries import build_summary
from models.tables import Person

__all__ = ["Access", "CellState", "DeskError", "PlanPage", "UnitPage", "access_to", "figures_document",
           "plan_page", "plans_of", "results_document", "unit_page"]

PAGE_UNITS = 100  # units per page of the grid: 3,000 units stay a quick page


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
    mark: str
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


def _change(row: IndicatorRow, t: Translator) -> str | None:
    if row.change is None:
        return None
    shown = points(abs(row.change), row.target, t)
    return f"+{shown}" if row.change > 0 else (f"−{shown}" if row.change < 0 else shown)


def _figure_text(row: IndicatorRow, t: Translator) -> str:
    if row.amount is None:
        return t("summary-no-figures")
    if row.is_milestone:
        return t("summary-units-done", done=t.number(row.rollup.units_done or 0),
                 expected=t.number(row.rollup.units_counted))
    return describe_amount(row.amount, row.target, t)


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
        figure=_figure_text(row, t), coverage=coverage_text(row.rollup, t), reported=row.reports.received,
        expected=row.reports.expected, target=describe_target(row.target, t), mark=MARKS[row.standing],
        standing=row.standing.value, change=_change(row, t), period=period_label(row.period, t),
    ) for row in summary.rows]


def _cell(summary: Summary, row: IndicatorRow, unit_id: int, t: Translator) -> GridCell:
    cell = summary.cell(row.part_id, unit_id)
    if cell is None:
        return GridCell(CellState.NOT_OWED, "")
    if cell.figure is None:
        return GridCell(CellState.MISSING, t("web-cell-missing"))
    text = describe_figure(cell.figure, row.target, t)
    if cell.figure.not_applicable:
        return GridCell(CellState.NOT_APPLICABLE, text)
    return GridCell(CellState.ON_TIME if cell.on_time else CellState.LATE, text)


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
    today: date, zone: ZoneInfo, t: Translator, filters: dict[str, str] | None = None, page: int = 1,
) -> PlanPage:
    view, found = await _plan_and_access(session, person, plan_code, cache)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    period = _period(view, asked_period, today)
    summary = await build_summary(session, view, period, today, zone, cells=True)
    filters = {k: v for k, v in (filters or {}).items() if v}
    lines = indicator_lines(view, summary, t)
    rows = summary.rows
    if group := filters.get("group"):
        keep = {line.code for line in lines if line.group == group}
        lines = [line for line in lines if line.code in keep]
        rows = [row for row in rows if row.code in keep]
    if standing := filters.get("status"):
        lines = [line for line in lines if line.standing == standing]
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
    grid = [GridRow(unit.code, unit.name, kind_label(unit.kind, t), unit.officer,
                    tuple(_cell(summary, row, unit.unit_id, t) for row in rows), unit.reports.missing)
            for unit in shown]
    reports = summary.reports
    return PlanPage(
        plan_code=view.plan.code, plan_title=view.plan.title, period=summary.period.id,
        period_label=period_label(summary.period, t), periods=_periods(view, t), expected=reports.expected,
        received=reports.received, on_time=reports.on_time, late=reports.late, missing=reports.missing,
        rate=t.percent(reports.rate.quantize(Decimal("0.1"))) if reports.rate is not None else "—",
        indicators=lines, columns=[row.code for row in rows], grid=grid, units_total=len(units), page=page,
        pages=pages, groups=sorted({line.group for line in indicator_lines(view, summary, t) if line.group}),
        kinds=sorted({unit.kind for unit in summary.units}), filters=filters, kind_labels={
            kind: kind_label(kind, t) for kind in {unit.kind for unit in summary.units}},
    )


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
    cache: ViewCache, today: date, zone: ZoneInfo, t: Translator,
) -> UnitPage:
    view, found = await _plan_and_access(session, person, plan_code, cache)
    unit = next((u for u in view.units.values() if u.code == unit_code), None)
    if unit is None or not found.may_see_unit(unit.id):
        raise DeskError("web-error-no-unit", 404, unit=unit_code)
    period = _period(view, asked_period, today)
    summary = await build_summary(session, view, period, today, zone, cells=True)
    history = await figure_rows(session, view, periods=[p.id for p, _ in summary.periods], unit_id=unit.id,
                                versions=True)
    by_part: dict[tuple[int, str], list[Any]] = {}
    for record in history:
        by_part.setdefault((record.part_id, record.period), []).append(record)
    figures = []
    for row in summary.rows:
        cell = _cell(summary, row, unit.id, t)
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
    cache: ViewCache, today: date, zone: ZoneInfo, t: Translator,
) -> dict[str, Any]:
    """GET /api/v1/plans/{plan}/results: the summary's numbers, a percentage as 72.5."""
    view, found = await _plan_and_access(session, person, plan_code, cache, key_plan)
    if not found.whole_plan:
        raise DeskError("web-error-leaders-only", 403)
    period = _period(view, asked_period, today)
    summary = await build_summary(session, view, period, today, zone, cells=False)
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
              "channel", "message", "version"]
    return [header, *([document.get(column) for column in header] for document in documents)]
