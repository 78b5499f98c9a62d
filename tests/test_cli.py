"""The command line as an operator uses it: real processes, a real database file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small-plan.yaml"


def run(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_"))}
    full_env["PYTHONPATH"] = str(ROOT)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


def test_an_empty_database_says_where_the_sample_plans_are(tmp_path: Path) -> None:
    said = run("plans", cwd=tmp_path).stdout
    shown = said.rsplit("dtbot import-plan ", 1)[1].rstrip(")\n")
    assert "Chưa có kế hoạch nào" in said and (Path(shown) / "dong-trieu-2025.yaml").is_file()


def test_import_list_and_reimport(tmp_path: Path) -> None:
    first = run("import-plan", str(SMALL), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "T2025" in first.stdout
    assert (tmp_path / "data" / "bot.db").exists()  # the default database, its folder created
    again = run("import-plan", str(SMALL), cwd=tmp_path)
    assert "không có gì thay đổi" in again.stdout
    plans = json.loads(run("plans", "--json", cwd=tmp_path).stdout)
    assert plans == [{"code": "T2025", "title": "Kế hoạch thử", "year": 2025, "indicators": 6, "units": 6}]
    units = json.loads(run("units", "--plan", "T2025", "--json", cwd=tmp_path).stdout)
    assert {"code": "an-sinh", "name": "Xã An Sinh", "kind": "commune", "parent": "tp"}.items() <= units[3].items()
    indicators = json.loads(run("indicators", "--plan", "T2025", "--json", cwd=tmp_path).stdout)
    nine = next(i for i in indicators if i["code"] == "9")
    assert [t["part"] for t in nine["targets"]] == ["9a", "9b"]
    assert nine["targets"][1]["value"] == 95 and nine["targets"][1]["kind"] == "percent"


def test_a_broken_file_is_explained_in_one_place_per_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SMALL.read_text(encoding="utf-8").replace('target: "90%"', 'target: "rất cao"'), encoding="utf-8")
    result = run("import-plan", str(broken), cwd=tmp_path, env={"BOT_LOCALE": "en"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "broken.yaml" in result.stderr and "line 31" in result.stderr and "indicators.6.target" in result.stderr and "rất cao" in result.stderr


def test_an_unknown_plan_code_lists_the_known_ones(tmp_path: Path) -> None:
    run("import-plan", str(SMALL), cwd=tmp_path)
    result = run("units", "--plan", "NOPE", cwd=tmp_path)
    assert result.returncode == 1
    assert "NOPE" in result.stderr and "T2025" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [("BOT_TIMEZONE", "Mars/Olympus"), ("DATABASE_URL", "mysql://x/y"), ("BOT_LOCALE", "fr"),
     ("BOT_ADMINS", "telegram"), ("BOT_TOKEN", "not-a-token"), ("WEBHOOK_LISTEN", "nowhere")],
)
def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path, variable: str, value: str) -> None:
    result = run("plans", cwd=tmp_path, env={variable: value})
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert variable in result.stderr and "Traceback" not in result.stderr


def test_settings_are_read_from_a_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_TIMEZONE=Nowhere/Land\n", encoding="utf-8")
    result = run("plans", cwd=tmp_path)
    assert result.returncode == 2 and "BOT_TIMEZONE" in result.stderr


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = run("plans", cwd=tmp_path, env={"DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none"})
    assert result.returncode == 1
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
