"""Submitted figures: append-only versions, the current one being the highest. Functions take the
session first and never commit."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.kinds import StoreOutcome
from models.tables import Submission
from models.targets import Figure


def figure_of(row: Submission) -> Figure:
    return Figure(value=row.value, numerator=row.numerator, denominator=row.denominator, done=row.done,
                  not_applicable=bool(row.not_applicable))


def same_figure(row: Submission, figure: Figure) -> bool:
    return figure_of(row) == figure


@dataclass(frozen=True)
class Stored:
    """What storing one figure did (a new version, or nothing for a duplicate)."""

    outcome: StoreOutcome
    row: Submission
    previous: Submission | None = None


async def current(session: AsyncSession, unit_id: int, part_id: int, period: str) -> Submission | None:
    return await session.scalar(
        select(Submission)
        .where(Submission.unit_id == unit_id, Submission.part_id == part_id, Submission.period == period)
        .order_by(Submission.version.desc()).limit(1)
    )


def next_version(*, plan_id: int, part_id: int, unit_id: int, period: str, figure: Figure,
                 person_id: int | None, channel: str, now: datetime, previous: Submission | None,
                 note: str | None = None, message_ref: str | None = None) -> Stored:
    """What storing `figure` does, decided without writing: a new version after `previous` (the
    current one, or None), or nothing when it repeats it (a double tap or a resent message). The
    new row is written by insert_versions, together with the other figures of the same message."""
    if previous is not None and same_figure(previous, figure):
        return Stored(StoreOutcome.DUPLICATE, previous, previous)
    row = Submission(
        plan_id=plan_id, part_id=part_id, unit_id=unit_id, period=period,
        version=(previous.version + 1) if previous else 1, value=figure.value,
        numerator=figure.numerator, denominator=figure.denominator, done=figure.done,
        not_applicable=figure.not_applicable, note=note,
        person_id=person_id, channel=channel, message_ref=message_ref, submitted_at=now,
    )
    return Stored(StoreOutcome.CORRECTED if previous else StoreOutcome.NEW, row, previous)


_COLUMNS = ("plan_id", "part_id", "unit_id", "period", "version", "value", "numerator", "denominator", "done",
            "not_applicable", "note", "person_id", "channel", "message_ref", "submitted_at")


async def insert_versions(session: AsyncSession, stored: Iterable[Stored]) -> None:
    """Write the new versions next_version decided, in one statement (a message's thirty figures
    in one round trip to the database, not thirty); each row gets its id. Versions are never
    changed once written, so they are inserted with Core rather than through the session's unit
    of work; the rows are copies the session does not track."""
    rows = [s.row for s in stored if s.outcome is not StoreOutcome.DUPLICATE]
    if not rows:
        return
    await session.flush()  # anything pending the rows refer to goes first
    values = [{column: getattr(row, column) for column in _COLUMNS} for row in rows]
    result = await (await session.connection()).execute(_INSERT, values)
    for row, row_id in zip(rows, result.scalars(), strict=True):
        row.id = row_id


async def store_figure(session: AsyncSession, *, plan_id: int, part_id: int, unit_id: int, period: str,
                       figure: Figure, person_id: int | None, channel: str, now: datetime,
                       note: str | None = None, message_ref: str | None = None,
                       previous: Submission | object | None = ...) -> Stored:
    """Store one figure as the next version, unless it repeats the current one. Pass `previous`
    (the current version, or None) when the caller has it already."""
    if previous is ...:
        previous = await current(session, unit_id, part_id, period)
    assert previous is None or isinstance(previous, Submission)
    stored = next_version(plan_id=plan_id, part_id=part_id, unit_id=unit_id, period=period, figure=figure,
                          person_id=person_id, channel=channel, now=now, previous=previous, note=note,
                          message_ref=message_ref)
    await insert_versions(session, [stored])
    return stored


def _current_rows(*conditions: object):  # type: ignore[no-untyped-def]
    """Current versions only: rows with no higher version for the same unit, part and period."""
    latest = (
        select(Submission.unit_id, Submission.part_id, Submission.period,
               func.max(Submission.version).label("version"))
        .where(*conditions)
        .group_by(Submission.unit_id, Submission.part_id, Submission.period)
        .subquery()
    )
    return select(Submission).join(latest, and_(
        Submission.unit_id == latest.c.unit_id, Submission.part_id == latest.c.part_id,
        Submission.period == latest.c.period, Submission.version == latest.c.version,
    ))


# Many rows in one INSERT … RETURNING, ids in the order of the rows given (SQLAlchemy's
# "insertmanyvalues" on SQLite and PostgreSQL).
_INSERT = insert(Submission.__table__).returning(Submission.__table__.c.id, sort_by_parameter_order=True)

# Queries run for every figure an officer sends are built once: building a select with a
# subquery costs more than SQLite takes to run it.
_CURRENT_FOR_UNIT = _current_rows(
    Submission.unit_id == bindparam("unit_id"), Submission.part_id.in_(bindparam("part_ids", expanding=True)),
).order_by(Submission.period)
_REPORTED = select(Submission.part_id, Submission.period).distinct().where(
    Submission.unit_id == bindparam("unit_id"), Submission.period.in_(bindparam("periods", expanding=True)),
)


async def current_for_unit(session: AsyncSession, unit_id: int, part_ids: Iterable[int]) -> list[Submission]:
    """Every period's current figure of one unit for these parts."""
    ids = sorted(set(part_ids))
    if not ids:
        return []
    return list(await session.scalars(_CURRENT_FOR_UNIT, {"unit_id": unit_id, "part_ids": ids}))


async def current_for_plan(session: AsyncSession, plan_id: int, periods: Sequence[str]) -> list[Submission]:
    """Every current figure of a plan in these periods."""
    query = _current_rows(Submission.plan_id == plan_id, Submission.period.in_(list(periods)))
    return list(await session.scalars(query))


async def reported(session: AsyncSession, unit_id: int, keys: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which (part id, period) pairs this unit has a figure for, in one query."""
    wanted = set(keys)
    if not wanted:
        return set()
    # A plain (Core) query: no entities to load, so the ORM's execution layer is skipped.
    rows = await (await session.connection()).execute(_REPORTED, {
        "unit_id": unit_id, "periods": sorted({period for _, period in wanted})})
    return {(part, period) for part, period in rows if (part, period) in wanted}


async def figures_stamp(session: AsyncSession) -> int:
    """The newest stored version's id (0 when none): figures are append-only, so any figure stored
    anywhere changes it. One probe of the primary key's end."""
    return int(await session.scalar(select(func.max(Submission.id))) or 0)
