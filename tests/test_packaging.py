"""`pip install .` gives a working `dtbot` command: the wheel carries the locales, migrations and
seed plans, and runs from any directory. Built and installed offline: the build backend comes from
the test lock, the dependencies from the suite's own environment."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

SOURCES = ["bot", "handlers", "models", "scheduler", "locales", "migrations", "data/plans", "pyproject.toml", "README.md"]


def test_every_package_of_the_repository_is_listed_for_the_wheel() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("bot", "handlers", "models", "scheduler", "locales", "migrations")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway venv with the built wheel in it; returns its bin folder."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"  # a copy, so no stale build/ of the checkout gets into the wheel
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(work / "dist"),
                    str(source)], check=True, capture_output=True)
    wheel = next((work / "dist").glob("dtbot-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    # The dependencies: this environment's packages, appended after the venv's own (a plain path
    # in a .pth file: the checkout's editable install hook there is not run).
    purelib = subprocess.run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def dtbot(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "DATABASE_URL", "BOT_TOKEN", "BOT_LOCALE")}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{cwd}/state/bot.db"
    return subprocess.run([str(bin_dir / "dtbot"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_the_installed_command_runs_outside_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run([installed / "python", "-c", "import bot, locales, migrations; "
                            "print(bot.__file__, locales.__file__, migrations.__file__)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert all(path.startswith(str(installed.parent)) for path in where), where

    plans = dtbot(installed, tmp_path, "plans")
    assert plans.returncode == 0, plans.stderr
    assert "Chưa có kế hoạch" in plans.stdout  # a Vietnamese catalogue, and a migrated database

    seeds = subprocess.run([installed / "python", "-c", "from bot.seeds import seed_plans; print(seed_plans())"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    imported = dtbot(installed, tmp_path, "import-plan", seeds)
    assert imported.returncode == 0, imported.stderr
    assert dtbot(installed, tmp_path, "plans", "--json").stdout.count('"code"') == 5

    demo = dtbot(installed, tmp_path, "demo")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert (tmp_path / "demo-output" / "summary.png").stat().st_size > 0
    assert not (tmp_path / "data").exists()  # the demo's database is a throwaway one
