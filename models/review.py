"""The tracking office's review of figures (issue 17): who reviews an indicator, each figure's
state, approvals and returns. Functions take the session first and never commit; nothing here is
ever deleted: a decision is a new row about one version of a figure.

A figure's state is the latest decision on its current version: none yet is "awaiting review"; a
correction is a new version, so a returned (or approved) figure that is corrected awaits review
again.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.plan_view import PlanView
from models.plans import named_units
from models.schedule_queries import Recipient
from models.tables import Evidence, Identity, Person, Review, Role, Submission

__all__ = ["Figure", "ReviewState", "approval_counts", "decide", "decisions_stamp", "figures", "plan_tracking_units",
           "returned_figures", "tracking_units", "tracks"]


class ReviewState(StrEnum):
    AWAITING = "awaiting"
    APPROVED = "approved"
    RETURNED = "returned"


def tracking_units(view: PlanView, indicator: Any) -> set[int]:
    """The units whose officers are the indicator's tracking office (cơ quan theo dõi), from the
    plan file: the units the indicator's `tracking` text names (by name, alias or code); when it
    names none, the plan's `tracking_unit`. The one rule for who reviews what."""
    units = [u for u in view.units.values() if getattr(u, "in_file", True)]
    # The same reading of the `tracking` cell as the escalations' (scheduler/tick.py).
    codes = named_units(indicator.tracking or "", units) if indicator.tracking else set()
    if codes:
        return {u.id for u in units if u.code in codes}
    code = view.plan.tracking_unit_code
    return {unit.id for unit in view.units.values() if code and unit.code == code}


def plan_tracking_units(view: PlanView) -> set[int]:
    """The units tracking any of the plan's indicators, and the plan's `tracking_unit`: their
    officers are the plan's tracking office for what concerns the whole plan (invites, the
    official report, a consolidated sheet)."""
    units = {unit_id for indicator in view.indicators for unit_id in tracking_units(view, indicator)}
    code = view.plan.tracking_unit_code
    return units | {unit.id for unit in view.units.values() if code and unit.code == code}


def tracks(view: PlanView, unit_id: int | None, indicator: Any) -> bool:
    """Whether the officer of `unit_id` is in the indicator's tracking office."""
    return unit_id is not None and unit_id in tracking_units(view, indicator)


@dataclass(frozen=True)
class Figure:
    """One unit's current figure for a part and period, with its review."""

    submission: Submission
    state: ReviewState
    reason: str | None  # why it was returned
    evidence: int  # files proving it


async def figures(session: AsyncSession, part_ids: Iterable[int], period: str,
                  unit_id: int | None = None, *, unit_ids: Iterable[int] | None = None) -> list[Figure]:
    """The current figures of these parts in one period (one unit's, or these units', if given),
    with their states."""
    parts = list(part_ids)
    if not parts:
        return []
    latest = (select(Submission.unit_id, Submission.part_id, func.max(Submission.version).label("version"))
              .where(Submission.part_id.in_(parts), Submission.period == period)
              .group_by(Submission.unit_id, Submission.part_id))
    if unit_id is not None:
        latest = latest.where(Submission.unit_id == unit_id)
    if unit_ids is not None:
        latest = latest.where(Submission.unit_id.in_(sorted(set(unit_ids))))
    current = latest.subquery()
    rows = list(await session.scalars(select(Submission).join(current, (Submission.unit_id == current.c.unit_id)
                                                              & (Submission.part_id == current.c.part_id)
                                                              & (Submission.version == current.c.version))
                                      .where(Submission.period == period)
                                      .order_by(Submission.part_id, Submission.unit_id)))
    decisions: dict[int, Review] = {}
    if rows:
        for review in await session.scalars(select(Review).where(Review.submission_id.in_([r.id for r in rows]))
                                            .order_by(Review.id)):
            decisions[review.submission_id] = review  # the latest wins
    counted = dict(((u, p), n) for u, p, n in await session.execute(
        select(Evidence.unit_id, Evidence.part_id, func.count()).where(
            Evidence.part_id.in_(parts), Evidence.period == period).group_by(Evidence.unit_id, Evidence.part_id)))
    out = []
    for row in rows:
        decision = decisions.get(row.id)
        state = ReviewState(decision.decision) if decision is not None else ReviewState.AWAITING
        out.append(Figure(row, state, decision.reason if decision is not None and state is ReviewState.RETURNED
                          else None, counted.get((row.unit_id, row.part_id), 0)))
    return out


def _latest_decisions(plan_id: int, wanted: Sequence[tuple[int, str]], *columns: str,
                      grouped: bool = False, only: ReviewState | None = None) -> Any:
    """Select (part id, period, decision, *columns) of the latest decision on each current figure
    of these (part id, period) pairs, or with `grouped`, (part id, period, decision, how many).
    Parts and periods are matched apart: callers keep the pairs they asked for."""
    r, later = aliased(Review), aliased(Review)
    keys = (r.part_id, r.period, r.decision)
    query = (select(*keys, func.count()) if grouped else select(*keys, *(getattr(r, c) for c in columns)))
    query = (query.join(Submission, Submission.id == r.submission_id)
             .where(r.plan_id == plan_id, r.part_id.in_(sorted({p for p, _ in wanted})),
                    r.period.in_(sorted({q for _, q in wanted})), Submission.is_current,
                    ~exists().where(later.submission_id == r.submission_id, later.id > r.id)))
    if only is not None:
        query = query.where(r.decision == only.value)
    return query.group_by(*keys) if grouped else query


async def approval_counts(session: AsyncSession, plan_id: int,
                          pairs: Iterable[tuple[int, str]]) -> dict[int, tuple[int, int]]:
    """Per part: (approved, returned) among the current figures of these (part id, period) pairs,
    by the latest decision on each current version (the summary's review counts; what is received
    and neither awaits review). Reads the decisions only, so it costs nothing where nobody reviews."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    keys = set(wanted)
    counts: dict[int, list[int]] = {}
    for part_id, period, decision, count in await session.execute(_latest_decisions(plan_id, wanted, grouped=True)):
        if (part_id, period) not in keys:
            continue
        mine = counts.setdefault(part_id, [0, 0])
        mine[0 if decision == ReviewState.APPROVED.value else 1] += int(count)
    return {part_id: (approved, returned) for part_id, (approved, returned) in counts.items()}


async def returned_figures(session: AsyncSession, plan_id: int,
                           pairs: Iterable[tuple[int, str]]) -> frozenset[tuple[int, int]]:
    """(unit id, part id) of the current figures of these (part id, period) pairs whose latest
    decision is a return: what the web desk's grid marks as returned."""
    wanted = sorted(set(pairs))
    if not wanted:
        return frozenset()
    keys = set(wanted)
    return frozenset((unit_id, part_id) for part_id, period, decision, unit_id
                     in await session.execute(_latest_decisions(plan_id, wanted, "unit_id", only=ReviewState.RETURNED))
                     if (part_id, period) in keys)


async def decisions_stamp(session: AsyncSession) -> int:
    """The newest decision's id (0 before any): decisions are append-only, so it changes exactly
    when someone approves or returns a figure (the web desk keeps its pages until then)."""
    return await session.scalar(select(func.max(Review.id))) or 0


async def decide(session: AsyncSession, submission: Submission, state: ReviewState, *, reason: str | None,
                 person_id: int | None, channel: str, now: datetime) -> Review:
    """Record a decision on this version of a figure."""
    assert state is not ReviewState.AWAITING
    row = Review(submission_id=submission.id, plan_id=submission.plan_id, unit_id=submission.unit_id,
                 part_id=submission.part_id, period=submission.period, decision=state.value, reason=reason,
                 person_id=person_id, channel=channel, decided_at=now)
    session.add(row)
    await session.flush()
    return row


@dataclass
class Approval:
    """What approving a set of figures did."""

    approved: list[Submission]
    no_evidence: list[Submission]  # `evidence: required` and no file yet: left awaiting
    already: int = 0  # approved before


async def approve(session: AsyncSession, view: PlanView, part_ids: Iterable[int], period: str, *,
                  unit_id: int | None, person_id: int | None, channel: str, now: datetime) -> Approval:
    """Approve the current figures of these parts in a period (one unit's, if given) that await
    review or were returned; those the plan wants evidence for and that have none stay awaiting."""
    done = Approval([], [])
    for figure in await figures(session, part_ids, period, unit_id):
        if figure.state is ReviewState.APPROVED:
            done.already += 1
            continue
        pv = view.parts.get(figure.submission.part_id)
        if pv is not None and getattr(pv.indicator, "evidence_required", False) and figure.evidence == 0:
            done.no_evidence.append(figure.submission)
            continue
        await decide(session, figure.submission, ReviewState.APPROVED, reason=None, person_id=person_id,
                     channel=channel, now=now)
        done.approved.append(figure.submission)
    return done


async def reviewers(session: AsyncSession, plan_id: int, unit_ids: Iterable[int]) -> list[Recipient]:
    """Who gets an indicator's review list: the officers of its tracking units in this plan, and
    the plan's (and every plan's) admins; each once, on the messenger they chose or last used."""
    people: dict[int, Recipient] = {}
    chosen: dict[int, tuple[str | None, str | None]] = {}
    rows = await session.execute(
        select(Person.id, Person.display_name, Person.locale, Person.unreachable_at, Identity.channel,
               Identity.chat_id, Identity.external_id, Person.prompt_channel, Person.last_channel)
        .join(Role, Role.person_id == Person.id)
        .join(Identity, Identity.person_id == Person.id)
        .where(Role.ended_at.is_(None), or_(
            (Role.role == "officer") & (Role.plan_id == plan_id) & Role.unit_id.in_(sorted(unit_ids)),
            (Role.role == "admin") & or_(Role.plan_id == plan_id, Role.plan_id.is_(None))))
        .order_by(Person.id, Identity.id))
    for person_id, name, locale, unreachable_at, channel, chat_id, external_id, prompt, last in rows:
        chosen[person_id] = (prompt, last)
        person = people.setdefault(person_id, Recipient(person_id, name, locale,
                                                        unreachable=unreachable_at is not None))
        person.add(channel, chat_id or external_id)
    for person_id, (prompt, last) in chosen.items():
        people[person_id].one_channel(prompt, last)
    return list(people.values())
