"""The domain arithmetic imports neither aiogram nor SQLAlchemy (architecture: pure modules)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Everything in models/ except the tables and the query modules over them.
STORAGE = ("__init__", "tables", "store", "people", "submissions", "outbox", "schedule_queries", "session")
PURE = sorted(p.stem for p in (ROOT / "models").glob("*.py") if p.stem not in STORAGE)
FORBIDDEN = ("aiogram", "sqlalchemy", "aiohttp")


@pytest.mark.parametrize("module", PURE)
def test_domain_module_imports_no_framework(module: str) -> None:
    tree = ast.parse((ROOT / "models" / f"{module}.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if name.split(".")[0] in FORBIDDEN]


def test_no_handler_imports_a_channel_library() -> None:
    for path in (ROOT / "handlers").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "aiogram" not in text, path
