"""The console channel as a person scripts it: real processes, stdin in, replies out."""
from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import SMALL, run


def invite(cwd: Path, *args: str) -> str:
    result = run("invite", "--plan", "T2025", *args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["telegram_link"] is None and len(data["code"]) == 8
    return data["code"]


def console(cwd: Path, user: str, script: str, *options: str) -> str:
    import os
    import subprocess
    import sys

    from tests.test_cli import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-m", "bot", "console", "--user", user, *options], input=script,
                            capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


def test_a_scripted_console_session(tmp_path: Path) -> None:
    assert run("import-plan", str(SMALL), cwd=tmp_path).returncode == 0
    lan = invite(tmp_path, "--role", "officer", "--unit", "an-sinh")
    minh = invite(tmp_path, "--role", "officer", "--unit", "Phường Mạo Khê")  # by name, too
    out = console(tmp_path, "An", f"/start {lan}\n6: 100/150\n9: 96%\nsửa chỉ tiêu 6: 120/150\nchỉ tiêu 6 còn thiếu bao nhiêu?\n")
    assert "cán bộ đầu mối của Xã An Sinh" in out
    assert "Đã ghi chỉ tiêu 6" in out and "66,67% (100/150)" in out
    assert "66,67% (100/150) → 80% (120/150)" in out
    assert "Còn thiếu 10 điểm %" in out and "Cần thêm 15" in out
    other = console(tmp_path, "Minh", f"/start {minh}\ntình hình xã An Sinh\n/chitieu 6\n")
    assert "chỉ xem được số liệu của đơn vị mình" in other
    assert "80% (120/150)" not in other and "Đơn vị chưa có số liệu" in other


def test_invites_explain_what_is_missing(tmp_path: Path) -> None:
    run("import-plan", str(SMALL), cwd=tmp_path)
    no_unit = run("invite", "--plan", "T2025", "--role", "officer", cwd=tmp_path)
    assert no_unit.returncode == 1 and "--unit" in no_unit.stderr
    bad_unit = run("invite", "--plan", "T2025", "--role", "officer", "--unit", "Sao Hỏa", cwd=tmp_path)
    assert bad_unit.returncode == 1 and "Sao Hỏa" in bad_unit.stderr
    made = run("invite", "--plan", "T2025", "--role", "leader", cwd=tmp_path)
    assert made.returncode == 0 and "/start " in made.stdout


def test_a_conversation_replayed_at_an_instant_with_pasted_paragraphs(tmp_path: Path) -> None:
    """`--now` puts every message at that instant; `--paragraphs` makes a pasted multi-line report
    one message (a blank line ends it)."""
    assert run("import-plan", str(SMALL), cwd=tmp_path).returncode == 0
    lan = invite(tmp_path, "--role", "officer", "--unit", "an-sinh")
    script = f"/start {lan}\n\nBáo cáo:\n6: 100/150\n9: 96%\n\ncảm ơn\n"
    out = console(tmp_path, "An", script, "--now", "2025-06-17T09:00", "--paragraphs")
    assert "[An] Báo cáo:\n6: 100/150\n9: 96%" in out
    assert "Đã ghi chỉ tiêu 6 (tháng 6/2025)" in out and "Đã ghi chỉ tiêu 9b (tháng 6/2025)" in out
    assert "Cảm ơn anh/chị" in out
