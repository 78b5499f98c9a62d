"""Backups, restores and copies: every plan, person, identity, figure version, outbox row and invite
hash comes back equal, on SQLite and PostgreSQL, also when the backup is taken while messages are
being handled; a non-empty target is refused unless forced; SQLite copies into PostgreSQL."""
from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.backup import BackupError, backup, copy_database, restore, tables
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from bot.config import load_settings
from bot.db import make_engine
from handlers.events import Reply
from locales import translator
from models import outbox, people, store
from models.tables import Submission
from tests.conftest import BACKENDS, Clock
from tests.databases import throwaway_postgres
from tests.test_cli import SMALL, run

T = translator("en")


async def contents(url: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as typed values, in primary-key order."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return {table.name: [dict(row) for row in (await connection.execute(
                select(table).order_by(*table.primary_key.columns))).mappings()] for table in tables()}
    finally:
        await engine.dispose()


async def fill(app: App, clock: Clock) -> ConsoleChannel:
    """A plan, an officer registered by invite with a figure and its correction, a spare invite,
    queued and sent outbox rows."""
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
        code = (await people.create_invite(session, role="officer", plan=plan, unit=unit, now=clock())).code
        await people.create_invite(session, role="leader", plan=plan, unit=None, now=clock())
        for n in range(3):
            await outbox.enqueue(session, key=f"test:{n}", channel="telegram", chat_id=str(100 + n),
                                 payload=Reply(f"tin {n}").to_payload(), now=clock(),
                                 not_before=clock() + timedelta(hours=n))
    console = ConsoleChannel(app.deps, write=lambda _: None)
    await console.send("Lan", f"/start {code}")
    await console.send("Lan", "6: 120/150")
    await console.send("Lan", "6: 121/150 ghi chú riêng")
    async with app.unit_of_work() as session:
        row = (await outbox.claim(session, channel="telegram", worker="w", now=clock(), limit=1))[0]
        assert await outbox.mark_sent(session, row.id, row.claimed_by, "555", 1, clock())
    return console


@pytest.fixture(params=BACKENDS)
async def second_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Another empty database, to restore or copy into."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/restored/bot.db"
        return
    async with throwaway_postgres(os.environ["TEST_DATABASE_URL"]) as url:
        yield url


async def test_backup_and_restore_give_back_every_row(app: App, clock: Clock, second_database: str,
                                                      tmp_path: Path) -> None:
    await fill(app, clock)
    source = app.settings.database_url
    before = await contents(source)
    # the outbox: three queued for Telegram, and the console's three replies (sent)
    assert len(before["submissions"]) == 2 and len(before["invites"]) == 2 and len(before["outbox"]) == 6
    assert before["identities"] and before["people"] and before["plans"]

    made = await backup(source, tmp_path / "bot.backup", T)
    assert made.rows == sum(len(rows) for rows in before.values())
    restored = await restore(tmp_path / "bot.backup", second_database, T)
    assert restored.rows == made.rows
    assert await contents(second_database) == before

    # The restored database goes on: new rows get new ids.
    target = build_app(load_settings(DATABASE_URL=second_database), clock=clock)
    try:
        await target.migrate()
        await ConsoleChannel(target.deps, write=lambda _: None).send("Lan", "6: 130/150")
        async with target.unit_of_work() as session:
            versions = list(await session.scalars(select(Submission.version).order_by(Submission.id)))
        assert versions == [1, 2, 3]
    finally:
        await target.close()

    with pytest.raises(BackupError, match="not empty"):
        await restore(tmp_path / "bot.backup", second_database, T)
    await restore(tmp_path / "bot.backup", second_database, T, force=True)
    assert await contents(second_database) == before


async def test_a_backup_taken_while_figures_arrive_is_consistent(app: App, clock: Clock, second_database: str,
                                                                 tmp_path: Path) -> None:
    console = await fill(app, clock)

    async def officer_keeps_correcting() -> None:
        for n in range(30):
            await console.send("Lan", f"6: {n + 1}/150")

    writer = asyncio.create_task(officer_keeps_correcting())
    made = await backup(app.settings.database_url, tmp_path / "during.backup", T)
    await writer
    await restore(tmp_path / "during.backup", second_database, T)
    restored, final = await contents(second_database), await contents(app.settings.database_url)
    # A moment of the source: some prefix of the figure versions, each with everything it refers to.
    versions = restored["submissions"]
    assert versions == final["submissions"][:len(versions)]
    assert [row["version"] for row in versions] == list(range(1, len(versions) + 1))
    assert made.rows == sum(len(rows) for rows in restored.values())
    for name in ("plans", "units", "indicators", "indicator_parts", "people", "identities", "invites"):
        assert restored[name] == final[name]


async def test_copy_database_from_sqlite(clock: Clock, second_database: str, tmp_path: Path) -> None:
    source = build_app(load_settings(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/source.db"), clock=clock)
    try:
        await source.migrate()
        await fill(source, clock)
    finally:
        await source.close()
    copied = await copy_database(f"sqlite+aiosqlite:///{tmp_path}/source.db", second_database, T)
    assert copied.tables == len(tables())
    assert await contents(second_database) == await contents(f"sqlite+aiosqlite:///{tmp_path}/source.db")


def test_backup_restore_and_copy_on_the_command_line(tmp_path: Path) -> None:
    live = {"DATABASE_URL": f"sqlite:///{tmp_path}/live.db"}
    assert run("import-plan", str(SMALL), cwd=tmp_path, env=live).returncode == 0
    made = run("backup", "--out", "nightly.backup", cwd=tmp_path, env=live)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("Đã sao lưu vào nightly.backup")

    other = {"DATABASE_URL": f"sqlite:///{tmp_path}/other.db"}
    assert run("restore", "nightly.backup", cwd=tmp_path, env=other).returncode == 0
    refused = run("restore", "nightly.backup", cwd=tmp_path, env=other)
    assert refused.returncode == 1 and "--force" in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert run("restore", "nightly.backup", "--force", cwd=tmp_path, env=other).returncode == 0
    assert "T2025" in run("plans", cwd=tmp_path, env=other).stdout

    garbage = tmp_path / "garbage.backup"
    garbage.write_text("not a backup")
    bad = run("restore", str(garbage), cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{tmp_path}/third.db"})
    assert bad.returncode == 1 and "garbage.backup" in bad.stderr and "Traceback" not in bad.stderr

    copied = run("copy-database", "--from", f"sqlite:///{tmp_path}/live.db", "--to", f"sqlite:///{tmp_path}/copy.db",
                 cwd=tmp_path)
    assert copied.returncode == 0, copied.stderr
    assert not (tmp_path / "data" / "bot.db").exists()  # copy-database leaves DATABASE_URL alone
