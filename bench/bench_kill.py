"""kill -9 under load: figures stored once, replies lost never and sent twice at most once per kill.

    .venv/bin/python bench/bench_kill.py [--officers 100] [--figures 10] [--rate 40] [--kills 5] [--seed 13] [--tricks]
                                         [--postgres SERVER_URL]

`python -m bot run` polls the Telegram emulator (flood limits on) as its own process. Officers
(registered in the database beforehand) send their figures at a steady rate, each officer's in
order; meanwhile the bot is killed with SIGKILL at random moments and started again at once.
When every update is confirmed and every reply delivered (a killed process's held replies wait
for their 60 s lease), the bot is stopped with SIGTERM and the run counts: figures stored (each
update exactly once), replies lost, replies sent twice, and 429 answers the bot drew. SQLite in
a temp folder, or a throwaway database on the PostgreSQL server given.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

from sqlalchemy import func, select

from bench.generated import fresh_database, plan_yaml, register_officers
from bot.app import build_app
from bot.config import load_settings
from models import store
from models.plans import load_plan_file
from models.tables import ProcessedUpdate, Submission
from tests.telegram_emulator import TelegramEmulator

FIRST_CHAT = 700_000


def confirms(text: str | None) -> bool:
    return text is not None and "Đã ghi chỉ tiêu" in text


async def prepare(url: str, officers: int, figures: int, folder: Path) -> list[int]:
    now = datetime.now(UTC)
    app = build_app(load_settings(DATABASE_URL=url))
    await app.migrate()
    path = folder / "plan.yaml"
    path.write_text(plan_yaml(officers, figures, year=now.year), encoding="utf-8")
    async with app.unit_of_work() as session:
        await store.import_plan(session, load_plan_file(path), "bench", now)
        plan = await store.get_plan(session, "BENCH")
        users = await register_officers(session, plan.id, "telegram", FIRST_CHAT, now)
    await app.close()
    return users


async def start_bot(url: str, emu: TelegramEmulator, folder: Path, log: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "DATABASE_URL": url, "BOT_TOKEN": emu.token, "TELEGRAM_API_URL": emu.base_url,
           "PYTHONPATH": str(ROOT)}
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=folder, env=env,
                                                    stdout=output, stderr=output)


async def main(officers: int, figures: int, rate: float, kills: int, seed: int, postgres: str | None) -> None:
    random.seed(seed)  # the figures and the moments of the kills
    with tempfile.TemporaryDirectory(prefix="dtbot-kill-") as name:
        folder = Path(name)
        async with fresh_database(postgres) as url:
            users = await prepare(url, officers, figures, folder)
            async with TelegramEmulator(username="dtbot_kill_bot") as emu:
                emu.rate_limit()
                for user in users:
                    emu.add_chat(user)
                await run(url, emu, users, figures, rate, kills, folder)
                app = build_app(load_settings(DATABASE_URL=url))
                async with app.unit_of_work() as session:
                    stored = await session.scalar(select(func.count()).select_from(Submission))
                    handled = await session.scalar(select(func.count()).select_from(ProcessedUpdate))
                await app.close()
                everything = Counter((record.chat_id, record.text) for record in emu.sent)
                replies = Counter({sent: n for sent, n in everything.items() if confirms(sent[1])})
                expected = officers * figures
                print(f"{'PostgreSQL' if postgres else 'SQLite'}: {expected} figures at {rate:.0f}/s, "
                      f"{kills} × kill -9")
                print(f"figures stored: {stored} (updates handled: {handled}; "
                      f"stored twice: {max(0, stored - expected)})")
                print(f"replies: {sum(replies.values())} sent, {len(replies)} distinct, "
                      f"lost {expected - len(replies)}, sent twice {sum(n - 1 for n in replies.values())}")
                others = sum(everything.values()) - sum(replies.values())
                print(f"other messages (the scheduler's prompts): {others} sent, "
                      f"sent twice {sum(n - 1 for sent, n in everything.items() if not confirms(sent[1]))}")
                print(f"429 answers: {emu.too_many_requests}")
                print(f"bot log: {(folder / 'bot.log').read_text(errors='replace').count('Traceback')} tracebacks")


async def run(url: str, emu: TelegramEmulator, users: list[int], figures: int, rate: float, kills: int,
              folder: Path) -> None:
    log = folder / "bot.log"
    bot = await start_bot(url, emu, folder, log)
    texts = [(user, f"{n + 1}: {random.randint(50, 99)},5%") for n in range(figures) for user in users]
    duration = len(texts) / rate
    moments = sorted(random.uniform(0.1 * duration, 0.9 * duration) for _ in range(kills))

    async def killer() -> None:
        nonlocal bot
        began = time.monotonic()
        for moment in moments:
            await asyncio.sleep(max(0.0, began + moment - time.monotonic()))
            bot.send_signal(signal.SIGKILL)
            await bot.wait()
            bot = await start_bot(url, emu, folder, log)

    killing = asyncio.create_task(killer())
    began = time.monotonic()
    for number, (user, text) in enumerate(texts):
        await asyncio.sleep(max(0.0, began + number / rate - time.monotonic()))
        emu.user_message(user, text)
    await killing
    expected = len(texts)
    deadline = time.monotonic() + 180  # a killed process's replies wait for their lease (60 s)
    while time.monotonic() < deadline:
        delivered = len({(r.chat_id, r.text) for r in emu.sent if confirms(r.text)})
        if not emu.pending_updates and delivered >= expected:
            break
        await asyncio.sleep(1)
    await asyncio.sleep(2)  # anything still going out twice shows now
    bot.send_signal(signal.SIGTERM)
    await bot.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officers", type=int, default=100)
    parser.add_argument("--figures", type=int, default=10)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--postgres", default=None)
    parser.add_argument(FLAG, action="store_true", help=HELP)
    arguments = parser.parse_args()
    print(PATH)
    asyncio.run(main(arguments.officers, arguments.figures, arguments.rate, arguments.kills, arguments.seed,
                     arguments.postgres))
