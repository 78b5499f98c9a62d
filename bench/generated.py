"""Generated plans and officers for the benchmarks: N communes, M monthly indicators, one
registered officer per commune inserted in bulk (registering 5,000 people through /start would
measure registration, not what each benchmark is about)."""
from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.tables import Identity, Person, Role, Unit
from tests.databases import throwaway_postgres


@asynccontextmanager
async def fresh_database(server_url: str | None) -> AsyncIterator[str]:
    """A database for one run: a SQLite file in a temporary folder, or with the URL of a PostgreSQL
    server, a new database on it, dropped afterwards."""
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="dtbot-bench-") as folder:
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    async with throwaway_postgres(server_url, prefix="bench") as url:
        yield url


def plan_yaml(communes: int, indicators: int, *, code: str = "BENCH", year: int = 2025, ratio_every: int = 0) -> str:
    """A plan file: a city, `communes` communes, `indicators` monthly 90% targets reported by every
    commune; every `ratio_every`-th indicator is a ratio (numerator / denominator)."""
    lines = ["format: 1", f"plan: {{code: {code}, title: Kế hoạch thử tải, year: {year}}}", "units:",
             "  - {code: city, name: UBND thành phố, kind: city}"]
    lines += [f"  - {{code: c{i}, name: Xã Số {i}, kind: commune, parent: city}}" for i in range(communes)]
    lines.append("indicators:")
    for n in range(1, indicators + 1):
        lines += [f'  - code: "{n}"', f'    title: "Chỉ tiêu {n}"', f'    text: "Tỷ lệ số {n} đạt 90%"',
                  '    coordinating: "UBND các xã, phường"', '    target: "90%"']
        if ratio_every and n % ratio_every == 0:
            lines.append('    formula: "Số việc làm trực tuyến / Tổng số việc"')
    return "\n".join(lines) + "\n"


async def register_officers(session: AsyncSession, plan_id: int, channel: str, first_chat: int,
                            now: datetime) -> list[int]:
    """One officer per commune of the plan, in bulk; returns their chat ids (in unit order)."""
    units = list(await session.scalars(
        select(Unit.id).where(Unit.plan_id == plan_id, Unit.kind == "commune").order_by(Unit.id)))
    chats = [first_chat + n for n in range(len(units))]
    before = await session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) or 0
    await session.execute(insert(Person), [{"display_name": f"Cán bộ {c}", "created_at": now} for c in chats])
    person_ids = list(await session.scalars(select(Person.id).where(Person.id > before).order_by(Person.id)))
    await session.execute(insert(Identity), [
        {"person_id": pid, "channel": channel, "external_id": str(chat), "chat_id": str(chat), "created_at": now}
        for pid, chat in zip(person_ids, chats, strict=True)])
    await session.execute(insert(Role), [
        {"person_id": pid, "plan_id": plan_id, "role": "officer", "unit_id": uid, "started_at": now}
        for pid, uid in zip(person_ids, units, strict=True)])
    return chats
