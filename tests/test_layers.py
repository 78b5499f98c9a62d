"""Handlers hold no SQL: they call the session-first query functions of models/ (issue 11, item 2).
Read from the modules' syntax trees, so a comment or a message naming SQLAlchemy does not count."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Being moved by other branches (summary, charts and export split; dispatch's one transaction path).
NOT_YET: set[str] = set()
HANDLERS = sorted(p.stem for p in (ROOT / "handlers").glob("*.py") if p.stem not in NOT_YET)
# What only a session does: a query, a write, or a lookup by primary key.
SESSION_CALLS = {"execute", "scalar", "scalars", "get", "add", "add_all", "delete", "flush", "merge", "refresh",
                 "stream", "stream_scalars", "connection"}


def _tree(module: str) -> ast.Module:
    return ast.parse((ROOT / "handlers" / f"{module}.py").read_text(encoding="utf-8"))


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module an import statement names, at any depth (a function's own imports too)."""
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def session_calls(tree: ast.AST) -> list[str]:
    """Calls such as `ctx.session.execute(...)` or `session.get(...)`: a query run in place."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        named = owner.attr if isinstance(owner, ast.Attribute) else owner.id if isinstance(owner, ast.Name) else ""
        if named == "session" and node.func.attr in SESSION_CALLS:
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}")
    return found


@pytest.mark.parametrize("module", HANDLERS)
def test_a_handler_imports_no_sqlalchemy(module: str) -> None:
    assert not [name for name in imported_modules(_tree(module)) if name.split(".")[0] == "sqlalchemy"]


@pytest.mark.parametrize("module", HANDLERS)
def test_a_handler_runs_no_query_on_the_session(module: str) -> None:
    assert session_calls(_tree(module)) == []


def test_the_checks_see_what_they_look_for() -> None:
    # The handler code moved out (handlers/misc.py's list of unreachable people) would fail both.
    tree = ast.parse("async def f(ctx):\n    from sqlalchemy import select\n"
                     "    return await ctx.session.execute(select(1))\n")
    assert imported_modules(tree) == {"sqlalchemy"}
    assert session_calls(tree) == ["line 3: ctx.session.execute"]
    assert session_calls(ast.parse("await people.unreachable(ctx.session)")) == []


def test_the_plan_view_is_read_from_models() -> None:
    # Handlers import the view from models/, not from the old place handlers.context re-exports it.
    for module in HANDLERS:
        for node in ast.walk(_tree(module)):
            if isinstance(node, ast.ImportFrom) and node.module == "handlers.context":
                assert not {alias.name for alias in node.names} & {"PlanView", "PartView", "load_plan_view"}, module
