"""deploy/: the systemd units pass `systemd-analyze verify` (where the tool is installed; the
settings that matter are checked either way), the environment example names every variable the
bot reads, the nginx snippet sends only the bot's paths to it."""
from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

from bot.config import Settings
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ["dtbot.service", "dtbot-backup.service", "dtbot-backup.timer"]


def unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text())
    return parser


def test_the_units_are_confined_restart_on_failure_and_verify(tmp_path: Path) -> None:
    service = unit("dtbot.service")["Service"]
    assert service["ExecStart"] == "/opt/dtbot/venv/bin/dtbot run"
    assert service["Restart"] == "on-failure"
    assert service["DynamicUser"] == "yes" and service["User"] == "dtbot"
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert service["StateDirectory"] == "dtbot" and service["WorkingDirectory"] == "/var/lib/dtbot"
    assert "ReadWritePaths" not in service  # the state and cache directories are the only writable ones
    assert service["EnvironmentFile"] == "/etc/dtbot/dtbot.env"
    backup = unit("dtbot-backup.service")["Service"]
    assert backup["Type"] == "oneshot" and backup["User"] == "dtbot" and backup["StateDirectory"] == "dtbot"
    assert "dtbot backup --out" in backup["ExecStart"]
    timer = unit("dtbot-backup.timer")["Timer"]
    assert timer["OnCalendar"].endswith("01:30:00") and timer["Persistent"] == "true"

    if shutil.which("systemd-analyze") is None:
        return  # the settings above are what can be checked without systemd
    # The units name /opt/dtbot/venv/bin/dtbot; verify them against this environment's command.
    command = Path(sys.executable).parent / "dtbot"
    assert command.exists(), "make install (the dtbot console script)"
    for name in UNITS:
        text = (DEPLOY / name).read_text().replace("/opt/dtbot/venv/bin/dtbot", str(command))
        (tmp_path / name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
                            capture_output=True, text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines() if "dtbot" in line]
    assert result.returncode == 0 and not problems, result.stderr


def test_the_environment_example_names_every_variable() -> None:
    text = (DEPLOY / "dtbot.env.example").read_text()
    named = {line.split("=", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    variables = {str(field.alias) for field in Settings.model_fields.values()}
    assert named == variables


def test_the_nginx_snippet_forwards_only_the_bots_paths() -> None:
    text = (DEPLOY / "nginx-dtbot.conf").read_text()
    assert "listen 443 ssl;" in text and "server 127.0.0.1:8080;" in text
    assert "location = /telegram {" in text and "location / {\n        return 404;" in text
    health = text[text.index("location ~ ^/(healthz|metrics)$"):]
    assert "deny all;" in health[:health.index("}")]
