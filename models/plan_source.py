"""What plan readers share: the located raw structure a plan file is read into (a dict that
remembers its line or row), and the errors that name those places.

The YAML reader (models.plans) and the XLSX reader (models.plan_xlsx) both produce `Located` data
and report `PlanIssue`s, and models.plans validates either; keeping these here lets models.plans
import the XLSX reader without the reader importing it back.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# --- errors -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanIssue:
    """One problem in a plan file. `message` is a locale message id, `params` its fields."""

    where: str  # "line" or "row"
    number: int | None
    field: str
    message: str
    params: tuple[tuple[str, str], ...] = ()
    sheet: str | None = None


class PlanFileError(Exception):
    """A plan file that cannot be imported; holds every problem found."""

    def __init__(self, path: str, issues: list[PlanIssue]) -> None:
        super().__init__(f"{path}: {len(issues)} problem(s)")
        self.path = path
        self.issues = issues

    def render(self, t: Any) -> str:
        """One line per problem in the translator's language."""
        lines = [t("plan-error-header", path=self.path, count=len(self.issues))]
        for issue in self.issues:
            place = ""
            if issue.number is not None:
                place = t(f"plan-error-at-{issue.where}", number=issue.number)
                if issue.sheet:
                    place = t("plan-error-in-sheet", sheet=issue.sheet, place=place)
            lines.append(
                t("plan-error-line", place=place, field=issue.field,
                  message=t(issue.message, **dict(issue.params)))
            )
        return "\n".join(lines)


# --- located raw data -------------------------------------------------------------------------


class Located(dict):
    """A mapping that remembers where it and each of its keys came from."""

    where: str = "line"
    number: int | None = None
    sheet: str | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_numbers: dict[Any, int] = {}

    def place_of(self, key: str | None) -> int | None:
        if key is not None and key in self.key_numbers:
            return self.key_numbers[key]
        return self.number


def megabytes(size: int) -> str:
    """A size as whole megabytes, rounded up (shown in errors: "51")."""
    return str(-(-size // 2**20))
