"""Who may do what on the tracking office's desk (issue 17): the role matrix in one place.

| action                          | officer        | tracking office      | leader | admin | group |
|---------------------------------|----------------|----------------------|--------|-------|-------|
| see figures (/tinhhinh, /tonghop)| own unit      | own unit             | all    | all   | plan summary |
| report, correct, send evidence  | own unit       | own unit             | —      | —     | —     |
| see a unit's history            | own unit       | its indicators       | all    | all   | —     |
| review, approve, return         | —              | its indicators       | —      | all   | —     |
| close / reopen a period         | —              | its indicators       | —      | all   | —     |
| grant / refuse a change request | —              | its indicators       | —      | all   | —     |
| export (/xuat)                  | —              | —                    | —      | yes   | —     |

The tracking office of an indicator is the registered officers of its tracking units
(models/review.py tracking_units: the units the plan's `tracking` cell names, else the plan's
`tracking_unit`). The command line acts as an admin.
"""
from __future__ import annotations

from enum import StrEnum

from handlers.context import Ctx
from models import review
from models.kinds import RoleKind
from models.plan_view import PartView, PlanView

__all__ = ["Action", "allowed", "may_review"]


class Action(StrEnum):
    REPORT = "report"
    HISTORY_OWN = "history-own"
    HISTORY_ANY = "history-any"
    REVIEW = "review"
    CLOSE = "close"
    DECIDE = "decide"


def may_review(ctx: Ctx, view: PlanView, pv: PartView) -> bool:
    """Admins, and the officers of the indicator's tracking units: review, approve, return, close,
    reopen, and decide change requests."""
    if ctx.is_admin:
        return True
    return any(role.role == RoleKind.OFFICER and review.tracks(view, role.unit_id, pv.indicator) for role in ctx.roles)


def allowed(role: str, tracking: bool, action: Action) -> bool:
    """The matrix above, for a person of this role (tracking: an officer of a tracking unit of
    the indicator in question) and an action on an indicator of another unit (own unit: REPORT,
    HISTORY_OWN)."""
    if role == RoleKind.ADMIN:
        return action is not Action.REPORT
    if role == RoleKind.LEADER:
        return action in (Action.HISTORY_OWN, Action.HISTORY_ANY)
    if role == RoleKind.OFFICER:
        return action in (Action.REPORT, Action.HISTORY_OWN) or tracking
    return False
