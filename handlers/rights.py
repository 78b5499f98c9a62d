"""Who may do what on the tracking office's desk (issue 17): the role matrix in one place.

The matrix is the README's ("The tracking office's desk"), which tests/test_roles.py reads and
checks cell by cell against `allowed`; the handlers ask `allowed` (through `may_review` and
`may_see_history`), so the table, the code and the behaviour cannot drift apart.

The tracking office of an indicator is the registered officers of its tracking units
(models/review.py tracking_units: the units the plan's `tracking` cell names, else the plan's
`tracking_unit`).
"""
from __future__ import annotations

from enum import StrEnum

from handlers.context import Ctx
from models import review
from models.kinds import RoleKind
from models.plan_view import PartView, PlanView

__all__ = ["Action", "allowed", "in_tracking_office", "may_export", "may_review", "may_see_history",
           "may_see_summary"]


class Action(StrEnum):
    """The README's rows (tests/test_roles.py maps their words to these)."""

    REPORT = "report"
    HISTORY_OWN = "history-own"
    HISTORY_OTHER = "history-other"
    REVIEW = "review"
    CLOSE = "close"
    DECIDE = "decide"
    SUMMARY = "summary"  # the whole plan: /tonghop (also of approved figures only), /bieudo, every unit's /tinhhinh
    EXPORT = "export"  # the period's spreadsheet (/xuat), with its review and history sheets


# The tracking office's column: an officer of one of the indicator's tracking units; for the
# spreadsheet, which covers the whole plan, of one of the plan's (in_tracking_office).
_TRACKING_OFFICE = frozenset({Action.HISTORY_OTHER, Action.REVIEW, Action.CLOSE, Action.DECIDE, Action.EXPORT})


def allowed(role: str, tracking: bool, action: Action) -> bool:
    """Whether a person of `role` may do `action` on an indicator; `tracking`: they are an officer
    of one of the indicator's tracking units."""
    if role == RoleKind.GROUP:  # the bound steering-committee group
        return action is Action.SUMMARY
    if role == RoleKind.ADMIN:
        return action is not Action.REPORT
    if role == RoleKind.LEADER:
        return action in (Action.HISTORY_OWN, Action.HISTORY_OTHER, Action.SUMMARY, Action.EXPORT)
    if role == RoleKind.OFFICER:
        return action in (Action.REPORT, Action.HISTORY_OWN) or (tracking and action in _TRACKING_OFFICE)
    return False


def _any(ctx: Ctx, view: PlanView, pv: PartView, action: Action) -> bool:
    return any(allowed(role.role, role.role == RoleKind.OFFICER and review.tracks(view, role.unit_id, pv.indicator),
                       action) for role in ctx.roles)


def in_tracking_office(ctx: Ctx, view: PlanView) -> bool:
    """The asker is an officer of one of the plan's tracking units (models.review.plan_tracking_units):
    what the tracking office may do for the whole plan (invites, who is on board, the official
    report, a consolidated sheet) asks this, the one rule."""
    officer = ctx.officer
    return officer is not None and officer.unit_id in review.plan_tracking_units(view)


def may_review(ctx: Ctx, view: PlanView, pv: PartView, action: Action = Action.REVIEW) -> bool:
    """Review, approve, return (or, with `action`, close or decide) this indicator's figures."""
    return _any(ctx, view, pv, action)


def may_see_summary(ctx: Ctx) -> bool:
    """The plan's summary (/tonghop, /bieudo): in the bound steering group, or a person whose
    role may."""
    if ctx.group_plan_id is not None and allowed(RoleKind.GROUP, False, Action.SUMMARY):
        return True
    return any(allowed(role.role, False, Action.SUMMARY) for role in ctx.roles)


def may_export(ctx: Ctx, view: PlanView) -> bool:
    """The period's spreadsheet (/xuat): a person whose role may, the plan's tracking office too."""
    tracking = in_tracking_office(ctx, view)
    return any(allowed(role.role, tracking and role.role == RoleKind.OFFICER, Action.EXPORT) for role in ctx.roles)


def may_see_history(ctx: Ctx, view: PlanView, parts: list[PartView], unit_id: int) -> bool:
    own = any(role.role == RoleKind.OFFICER and role.unit_id == unit_id for role in ctx.roles)
    if own and any(_any(ctx, view, pv, Action.HISTORY_OWN) for pv in parts):
        return True
    return any(_any(ctx, view, pv, Action.HISTORY_OTHER) for pv in parts)
