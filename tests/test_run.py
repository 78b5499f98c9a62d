"""`python -m bot run` as an operator starts it: a real process polling the Bot API emulator,
answering, and stopping cleanly on SIGTERM."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.telegram_emulator import TelegramEmulator
from tests.test_cli import ROOT, SMALL, run

TOKEN = "123456:RUN-token"


async def test_run_polls_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    assert run("import-plan", str(SMALL), cwd=tmp_path).returncode == 0
    code = run("invite", "--plan", "T2025", "--role", "officer", "--unit", "an-sinh", cwd=tmp_path).stdout.split()[2]
    async with TelegramEmulator(token=TOKEN, username="dtbot_run_bot") as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_URL", "WEBHOOK_"))}
        env.update(PYTHONPATH=str(ROOT), BOT_TOKEN=TOKEN, TELEGRAM_API_URL=emu.base_url)
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = b""
        try:
            await emu.wait_for_call("getUpdates", timeout=60)
            assert any(c.method == "setMyCommands" for c in emu.calls)
            emu.user_message(4242, f"/start {code}")
            await emu.wait_for_sent(1, timeout=30)
            assert "Xã An Sinh" in (emu.sent[0].text or "")
            bot.send_signal(signal.SIGTERM)
            _, err = await asyncio.to_thread(bot.communicate, None, 30)
        finally:
            if bot.poll() is None:
                bot.kill()
                bot.communicate()
        stderr = err.decode()
        assert bot.returncode == 0, stderr[-2000:]
        assert "Traceback" not in stderr
        assert TOKEN not in stderr  # the token is never logged
