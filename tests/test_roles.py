"""The role matrix (issue 17) as the README documents it, checked cell by cell against the one
function the handlers ask (handlers/rights.py); the end-to-end tests (test_review.py,
test_evidence.py) check that the handlers hold to it."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from handlers.rights import Action, allowed

README = Path(__file__).resolve().parent.parent / "README.md"
# The tracking office's column is an officer of one of the indicator's tracking units.
COLUMNS = (("officer", False), ("officer", True), ("leader", False), ("admin", False), ("group", False))


def matrix() -> list[tuple[str, list[str]]]:
    text = README.read_text(encoding="utf-8")
    table = text.split("| action | officer | tracking office | leader | admin | group |", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in table.strip().splitlines()[1:] if line.startswith("|")]
    return [(cells[0], cells[1:]) for cells in ([c.strip() for c in re.split(r"\|", row)[1:-1]] for row in rows)]


ROWS = {
    "report own unit's figures and evidence": Action.REPORT,
    "see own unit's history": Action.HISTORY_OWN,
    "see another unit's history": Action.HISTORY_OTHER,
    "review, approve, return": Action.REVIEW,
    "close and reopen a period": Action.CLOSE,
    "grant or refuse a change request": Action.DECIDE,
    "see the plan's summary (also of approved figures only)": Action.SUMMARY,
    "export the period's spreadsheet": Action.EXPORT,
}


def test_the_readme_documents_every_action() -> None:
    assert sorted(ROWS[label] for label, _ in matrix()) == sorted(Action)


@pytest.mark.parametrize(("label", "cells"), matrix())
def test_every_cell_of_the_matrix(label: str, cells: list[str]) -> None:
    action = ROWS[label]
    assert len(cells) == len(COLUMNS)
    for (role, tracking), cell in zip(COLUMNS, cells, strict=True):
        assert cell in ("yes", "no", "its indicators", "its plan")
        assert allowed(role, tracking, Action(action)) is (cell != "no"), (action, role, tracking)
    # Being in a tracking office adds rights on its own indicators only: an officer of another
    # unit has exactly an officer's.
    assert allowed("officer", False, Action(action)) is (cells[0] != "no")


def test_a_group_sees_the_summary_only_and_an_unknown_role_nothing() -> None:
    assert [action for action in Action if allowed("group", False, action)] == [Action.SUMMARY]
    assert not any(allowed("", tracking, action) for tracking in (False, True) for action in Action)
