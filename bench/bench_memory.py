"""Resident memory of the running bot with 5,000 registered officers.

    .venv/bin/python bench/bench_memory.py [--officers 5000] [--messages 300] [--tricks]

Builds a SQLite database with a plan of 5,000 communes × 10 indicators and one registered
officer per commune, starts `python -m bot run` as its own process against the Bot API emulator
(served by this process), has random officers report figures and ask questions, then prints the
bot process's resident memory (VmRSS) and its peak (VmHWM) from /proc.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from bench.bench_telegram import Replies
from bench.generated import plan_yaml, register_officers
from bot.app import build_app
from bot.config import load_settings
from models import store
from models.plans import load_plan_file
from tests.telegram_emulator import TelegramEmulator

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN = "123456:BENCH-token"


def memory(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) // 1024  # MiB
    return values


async def prepare(url: str, folder: Path, officers: int) -> list[int]:
    now = datetime.now(ZONE)
    app = build_app(load_settings(DATABASE_URL=url))
    await app.migrate()
    plan_path = folder / "plan.yaml"
    plan_path.write_text(plan_yaml(officers, 10, year=now.year), encoding="utf-8")
    async with app.unit_of_work() as session:
        await store.import_plan(session, load_plan_file(plan_path), "bench", now)
        plan = await store.get_plan(session, "BENCH")
        users = await register_officers(session, plan.id, "telegram", 700_000, now)
    await app.close()
    return users


async def main(officers: int, messages: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dtbot-mem-"))
    url = f"sqlite+aiosqlite:///{folder}/bot.db"
    started = time.perf_counter()
    users = await prepare(url, folder, officers)
    print(f"database: {officers} officers, {officers} units × 10 indicators, in {time.perf_counter() - started:.1f} s")
    async with TelegramEmulator(token=TOKEN, username="dtbot_mem_bot") as emu:
        for user in users:
            emu.add_chat(user)
        env = {**os.environ, "DATABASE_URL": url, "BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url,
               "PYTHONPATH": str(ROOT)}
        bot = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=folder, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            await emu.wait_for_call("getUpdates", timeout=60)
            print(f"bot started: {memory(bot.pid)['VmRSS']} MiB resident")
            replies = Replies(emu)
            watcher = asyncio.create_task(replies.watch())
            rng = random.Random(3)
            counts: dict[int, int] = {}
            for number in range(messages):
                user = rng.choice(users)
                text = f"{rng.randint(1, 10)}: {rng.randint(50, 99)}%" if number % 3 else "/tinhhinh"
                emu.user_message(user, text)
                counts[user] = counts.get(user, 0) + 1
                await asyncio.wait_for(replies.until(user, counts[user]), timeout=60)
                if number + 1 in (1, 3, 30):
                    print(f"after {number + 1} message(s): {memory(bot.pid)['VmRSS']} MiB")
            watcher.cancel()
            figures = memory(bot.pid)
            print(f"after {messages} messages from random officers: VmRSS {figures['VmRSS']} MiB, "
                  f"peak VmHWM {figures['VmHWM']} MiB (aim: under 150 MiB)")
        finally:
            bot.terminate()
            try:
                bot.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.kill()
            err = bot.stderr.read().decode() if bot.stderr else ""
            if "Traceback" in err:
                print(err[-2000:])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--officers", type=int, default=5000)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument(FLAG, action="store_true", help=HELP)
    args = parser.parse_args()
    print(PATH)
    asyncio.run(main(args.officers, args.messages))
