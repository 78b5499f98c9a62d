"""The scheduler's place among the layers, bot -> scheduler -> handlers -> models: it imports
nothing of bot/ (bot/ hands it Deps and senders), asks the database only through models/, and
nothing below it imports it. Every import counts, also under TYPE_CHECKING or inside a function:
a cycle hidden there is still a cycle."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_by(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).glob("*.py"))


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


@pytest.mark.parametrize("path", modules("scheduler"), ids=lambda p: p.name)
def test_the_scheduler_imports_nothing_of_bot(path: Path) -> None:
    assert not [name for name in imported_by(path) if within(name, "bot")]


@pytest.mark.parametrize("path", modules("scheduler"), ids=lambda p: p.name)
def test_the_scheduler_asks_the_database_only_through_models(path: Path) -> None:
    # Statements are built in models/ (schedule_queries.py); the session's type is models.session's.
    assert not [name for name in imported_by(path) if within(name, "sqlalchemy")]


@pytest.mark.parametrize("path", modules("handlers", "models"), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nothing_below_the_scheduler_imports_it(path: Path) -> None:
    assert not [name for name in imported_by(path) if within(name, "scheduler")]


def test_the_layer_checks_see_imports_hidden_from_the_first_glance(tmp_path: Path) -> None:
    hidden = tmp_path / "hidden.py"
    hidden.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.app import App\n"
                      "def f():\n    import scheduler.tick\n", encoding="utf-8")
    assert {"bot.app", "scheduler.tick"} <= imported_by(hidden)
