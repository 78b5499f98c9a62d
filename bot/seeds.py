"""Where the five seed plans are: inside the installed package (bot/seed_plans, see pyproject.toml),
or data/plans in a checkout."""
from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def seed_plans() -> Path:
    installed = _HERE / "seed_plans"
    return installed if installed.is_dir() else _HERE.parent / "data" / "plans"
