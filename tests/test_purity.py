"""The domain arithmetic imports neither aiogram nor SQLAlchemy, and no handler imports a channel
library (architecture: pure modules; channels at the edge).

Two checks, both on imports rather than on text: every import statement in a module's syntax tree
(function-level and TYPE_CHECKING ones included), and what importing the module actually loads in
a fresh interpreter, which catches a framework pulled in through another module. `lint-imports`
enforces the same rules (pyproject.toml); these tests say it in the suite's words.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ("models.targets", "models.gaps", "models.periods", "models.rollups", "models.numbers", "models.text",
        "models.kinds", "models.schedule", "models.plan_view", "models.standing", "models.summary_data",
        "models.due", "models.plan_words", "models.file_kinds", "models.outliers", "models.plan_document")
FRAMEWORKS = frozenset({"aiogram", "aiohttp", "sqlalchemy", "asyncpg", "aiosqlite", "alembic"})
CHANNEL_LIBRARIES = frozenset({"aiogram", "aiohttp"})
HANDLERS = sorted(f"handlers.{path.stem}" for path in (ROOT / "handlers").glob("*.py") if path.stem != "__init__")


def _path(module: str) -> Path:
    return ROOT.joinpath(*module.split(".")).with_suffix(".py")


def imported_modules(module: str) -> set[str]:
    """Absolute names of every module `module`'s source imports, wherever the statement stands."""
    package = module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(_path(module).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # `from .x import y` inside package p is p.x
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
    return names


def loaded_top_level_packages(module: str) -> set[str]:
    """Top-level packages in sys.modules after `import module` in a fresh interpreter."""
    code = f"import json, sys, {module}; print(json.dumps(sorted({{name.split('.')[0] for name in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def _top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("module", PURE)
def test_domain_module_imports_no_framework(module: str) -> None:
    assert not _top(imported_modules(module)) & FRAMEWORKS
    # Through the project's own modules too: a pure module may only import other pure ones.
    assert {name for name in imported_modules(module) if name.startswith("models")} <= set(PURE)


@pytest.mark.parametrize("module", PURE)
def test_importing_a_domain_module_loads_no_framework(module: str) -> None:
    assert not loaded_top_level_packages(module) & FRAMEWORKS


@pytest.mark.parametrize("module", HANDLERS)
def test_no_handler_imports_a_channel_library(module: str) -> None:
    assert not _top(imported_modules(module)) & CHANNEL_LIBRARIES
    assert not {name for name in imported_modules(module) if name == "bot" or name.startswith("bot.")}


def test_importing_every_handler_loads_no_channel_library() -> None:
    assert not loaded_top_level_packages(", ".join(HANDLERS)) & (CHANNEL_LIBRARIES | {"bot"})


def test_the_import_reader_sees_nested_relative_and_type_checking_imports(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # The checks above are only as good as this reader: it must not miss an import hidden in a body.
    source = tmp_path / "pkg" / "sub" / "mod.py"
    source.parent.mkdir(parents=True)
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import sqlalchemy.orm\n"
        "def f():\n    from aiogram import Bot\n    from . import sibling\n    from ..up import thing\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert imported_modules("pkg.sub.mod") == {"typing", "sqlalchemy.orm", "aiogram", "pkg.sub", "pkg.up"}
