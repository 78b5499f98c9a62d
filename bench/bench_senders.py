"""Two webhook processes on one PostgreSQL database: together within Telegram's limits, the holder
of the sender turn killed halfway.

    .venv/bin/python bench/bench_senders.py [--officers 100] [--figures 10] [--rate 40] [--seed 13] [--tricks]
                                            [--postgres SERVER_URL]

Two `python -m bot run` processes in webhook mode (the README's province deployment) against a
throwaway database on the PostgreSQL server, and the Telegram emulator with its flood limits on.
Officers (registered beforehand) send their figures at a steady rate, posted to the two processes
in turn as a load balancer would. Halfway, the process that sends (`dtbot_sender_active` in its
/metrics) is killed with SIGKILL and started again at once; posts it cannot take go to the other,
as a load balancer's retry would. When every reply is delivered (the killed process's claimed
messages wait for their 60 s lease), both are stopped with SIGTERM and the run counts figures
stored, replies lost and sent twice, and the 429 answers the bots drew.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tricks import FLAG, HELP, use_tricks_if_asked

PATH = use_tricks_if_asked()  # first: before aiogram is imported

import aiohttp
from sqlalchemy import func, select

from bench.bench_kill import confirms, prepare
from bench.generated import fresh_database
from bot.app import build_app
from bot.config import load_settings
from models.tables import Submission
from tests.telegram_emulator import TelegramEmulator

SECRET = "bench-secret-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Bot:
    """One `run` process in webhook mode, listening on its own port."""

    def __init__(self, url: str, emu: TelegramEmulator, folder: Path, name: str) -> None:
        self.url, self.emu, self.folder, self.name = url, emu, folder, name
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.url, "BOT_TOKEN": self.emu.token,
               "TELEGRAM_API_URL": self.emu.base_url, "PYTHONPATH": str(ROOT),
               "WEBHOOK_URL": "https://bench.invalid/telegram", "WEBHOOK_SECRET": SECRET,
               "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}"}
        with (self.folder / f"{self.name}.log").open("ab") as output:
            self.process = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", cwd=self.folder,
                                                                env=env, stdout=output, stderr=output)

    async def sends(self, http: aiohttp.ClientSession) -> bool | None:
        """Whether it holds the sender turn (None: not answering)."""
        try:
            async with http.get(f"http://127.0.0.1:{self.port}/metrics") as response:
                text = await response.text()
        except aiohttp.ClientError:
            return None
        return 'dtbot_sender_active{channel="telegram"} 1.0' in text

    async def stop(self, sig: int) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        await self.process.wait()

    def tracebacks(self) -> int:
        return (self.folder / f"{self.name}.log").read_text(errors="replace").count("Traceback")


async def main(officers: int, figures: int, rate: float, seed: int, postgres: str) -> None:
    random.seed(seed)
    with tempfile.TemporaryDirectory(prefix="dtbot-senders-") as name:
        folder = Path(name)
        async with fresh_database(postgres) as url:
            users = await prepare(url, officers, figures, folder)
            async with TelegramEmulator(username="dtbot_senders_bot") as emu, aiohttp.ClientSession() as http:
                emu.rate_limit()
                for user in users:
                    emu.add_chat(user)
                bots = [Bot(url, emu, folder, "a"), Bot(url, emu, folder, "b")]
                killed = await run(emu, http, bots, users, figures, rate)
                app = build_app(load_settings(DATABASE_URL=url))
                async with app.unit_of_work() as session:
                    stored = await session.scalar(select(func.count()).select_from(Submission))
                await app.close()
            everything = Counter((record.chat_id, record.text) for record in emu.sent)
            replies = Counter({sent: n for sent, n in everything.items() if confirms(sent[1])})
            expected = officers * figures
            print(f"PostgreSQL, 2 webhook processes: {expected} figures at {rate:.0f}/s, "
                  f"the sending one ({killed}) killed -9 halfway")
            print(f"figures stored: {stored} (stored twice: {max(0, stored - expected)})")
            print(f"replies: {sum(replies.values())} sent, {len(replies)} distinct, "
                  f"lost {expected - len(replies)}, sent twice {sum(n - 1 for n in replies.values())}")
            print(f"other messages (the scheduler's prompts): {sum(everything.values()) - sum(replies.values())} sent, "
                  f"sent twice {sum(n - 1 for sent, n in everything.items() if not confirms(sent[1]))}")
            print(f"429 answers: {emu.too_many_requests}")
            print(f"bot logs: {sum(bot.tracebacks() for bot in bots)} tracebacks")


async def run(emu: TelegramEmulator, http: aiohttp.ClientSession, bots: list[Bot], users: list[int],
              figures: int, rate: float) -> str:
    for bot in bots:
        await bot.start()
    while any([await bot.sends(http) is None for bot in bots]):
        await asyncio.sleep(0.2)
    texts = [(user, f"{n + 1}: {random.randint(50, 99)},5%") for n in range(figures) for user in users]
    posts: list[asyncio.Task[None]] = []

    async def post(update: int, first: Bot) -> None:
        # A load balancer's retry: the other process, then again until one answers 200.
        for attempt in range(600):
            bot = bots[(bots.index(first) + attempt) % 2]
            try:
                if await emu.deliver_webhook(update, bot.webhook, SECRET) == 200:
                    return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"update {update} was never taken")

    killed = ""
    began = time.monotonic()
    for number, (user, text) in enumerate(texts):
        await asyncio.sleep(max(0.0, began + number / rate - time.monotonic()))
        if number == len(texts) // 2:
            holder = [bot for bot in bots if await bot.sends(http)][0]
            killed = holder.name
            await holder.stop(signal.SIGKILL)
            await holder.start()
        posts.append(asyncio.create_task(post(emu.user_message(user, text), bots[number % 2])))
    await asyncio.gather(*posts)
    deadline = time.monotonic() + 180  # a killed process's claimed replies wait for their lease (60 s)
    while time.monotonic() < deadline:
        if len({(r.chat_id, r.text) for r in emu.sent if confirms(r.text)}) >= len(texts):
            break
        await asyncio.sleep(1)
    await asyncio.sleep(2)  # anything still going out twice shows now
    for bot in bots:
        await bot.stop(signal.SIGTERM)
    return killed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--officers", type=int, default=100)
    parser.add_argument("--figures", type=int, default=10)
    parser.add_argument("--rate", type=float, default=40)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(FLAG, action="store_true", help=HELP)
    arguments = parser.parse_args()
    print(PATH)
    asyncio.run(main(arguments.officers, arguments.figures, arguments.rate, arguments.seed, arguments.postgres))
