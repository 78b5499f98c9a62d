"""What the steering committee's summary reads, and build_summary: read everything first, then
compute (models.standing) in a worker thread.

Cost: one bulk query for every version of the figures of the covered periods and the periods
before them (columns through Core, with an "early" flag computed in SQL so no time is parsed), one
for the units' officers, then plain dict loops and list comprehensions: 3,000 units × 30
indicators in well under a second on SQLite and PostgreSQL (bench/bench_summary.py). The
spreadsheet's first-submission times come from one more grouped query, min(submitted_at), only
when asked for (build_summary(..., details=True)).

Only reads: a summary, its charts and its spreadsheet write nothing, so on SQLite they never hold
the database's write lock while they are computed and drawn.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import Integer, String, and_, case, func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from models.people import officer_names
from models.periods import Period
from models.standing import (
    PlanLike,
    choose_period,
    compute_summary,
    covered_periods,
    end_of_day,
    periods_to_read,
)
from models.summary_data import Summary
from models.tables import Submission

__all__ = ["build_summary", "figure_versions", "first_submission_times"]


async def figure_versions(
    session: AsyncSession, plan_id: int, periods: Iterable[str], cutoffs: Mapping[str, datetime],
) -> Sequence[Any]:
    """Every version of the plan's figures in these periods, in one query: (part id, unit id,
    period, version, value, numerator, denominator, done, not applicable, early), where early is
    1 when that version was submitted before its period's cutoff (periods in `cutoffs`; 0
    elsewhere): models.standing.FigureRow.

    The current figure is the highest version (picked in Python: no grouped join to run), and the
    first version was on time exactly when some version was (min(submitted_at) < cutoff ⇔ some
    submitted_at < cutoff), so no time needs parsing. Core, not ORM: 180,000 rows load in a few
    tenths of a second on SQLite.
    """
    wanted = sorted(set(periods))
    if cutoffs:
        early = case(*(
            (and_(Submission.period == period_id, Submission.submitted_at < cutoff), 1)
            for period_id, cutoff in cutoffs.items()
        ), else_=0)
    else:
        early = literal(0)
    # The exact decimals come back as the text they are stored as (models.tables.DecimalText) and
    # done as it is stored: models.standing converts each distinct figure once, not every row.
    query = select(
        Submission.part_id, Submission.unit_id, Submission.period, Submission.version,
        type_coerce(Submission.value, String), type_coerce(Submission.numerator, String),
        type_coerce(Submission.denominator, String), type_coerce(Submission.done, Integer),
        type_coerce(Submission.not_applicable, Integer), early,
    ).where(Submission.plan_id == plan_id, Submission.period.in_(wanted))
    connection = await session.connection()
    return (await connection.execute(query)).all()


async def first_submission_times(
    session: AsyncSession, plan_id: int, periods: Iterable[str],
) -> dict[tuple[int, int], datetime]:
    """(part id, unit id) -> the first version's time, min(submitted_at), in these periods (each
    part has one period in a summary's cycle). For the spreadsheet's unit sheets."""
    rows = await session.execute(
        select(Submission.part_id, Submission.unit_id, func.min(Submission.submitted_at))
        .where(Submission.plan_id == plan_id, Submission.period.in_(sorted(set(periods))))
        .group_by(Submission.part_id, Submission.unit_id, Submission.period)
    )
    return {(part_id, unit_id): first for part_id, unit_id, first in rows}


async def build_summary(
    session: AsyncSession,
    view: PlanLike,
    period: Period | None,
    today: date,
    timezone: tzinfo,
    *,
    details: bool = False,
) -> Summary:
    """The summary of `period` (None: the cycle just closed, see models.standing) as seen on
    `today`; on-time counts use the end of each deadline day in `timezone` (BOT_TIMEZONE). With
    `details`, also each received figure's first submission time (Summary.first_at), which the
    spreadsheet shows: one more grouped query.

    Everything is read first; the arithmetic (about half a second for a province) then runs in a
    worker thread, so the event loop answers other chats meanwhile."""
    headline = period if period is not None else choose_period(view, today)
    chosen = covered_periods(view, headline, today)
    parts = [pv for pv in view.parts.values() if pv.frequency in chosen]
    cutoffs = {p.id: end_of_day(view.deadline(p), timezone) for p in chosen.values()}
    rows = await figure_versions(session, view.plan.id, periods_to_read(parts, chosen), cutoffs) if parts else []
    officers = await officer_names(session, view.plan.id)
    first_at = await first_submission_times(session, view.plan.id, cutoffs) if details and parts else {}
    summary = await asyncio.to_thread(compute_summary, view, headline, chosen, parts, rows, officers, today, timezone)
    summary.first_at = first_at
    return summary
