"""Exactly once under pressure: two schedulers ticking at once on the same database (PostgreSQL
when TEST_DATABASE_URL is set, SQLite always), and a process killed in the middle of a fan-out."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.channels.sender import OutboxSender, SendResult
from models import store
from models.outbox import LEASE
from models.plans import load_plan_file
from models.tables import Identity, OutboxMessage, Person, Role, Unit
from scheduler.tick import tick
from tests.conftest import Clock
from tests.test_scheduler_tick import Recorder, console_sender, local

COMMUNES = 130  # more than one claim batch (50)


def plan_yaml(communes: int, code: str = "GEN") -> str:
    lines = ["format: 1", f"plan: {{code: {code}, title: Kế hoạch sinh tự động, year: 2025}}", "units:",
             "  - {code: city, name: UBND thành phố, kind: city}"]
    lines += [f"  - {{code: c{i}, name: Xã Số {i}, kind: commune, parent: city}}" for i in range(communes)]
    lines += ["indicators:",
              '  - {code: "1", title: "Hồ sơ trực tuyến", text: "Tỷ lệ hồ sơ trực tuyến đạt 90%",'
              ' coordinating: "UBND các xã, phường", target: "90%"}',
              '  - {code: "2", title: "Văn bản điện tử", text: "Tỷ lệ văn bản điện tử đạt 95%",'
              ' coordinating: "UBND các xã, phường", target: "95%"}']
    return "\n".join(lines) + "\n"


async def generated_plan(app: App, folder: Path, communes: int, channel: str = "console") -> list[str]:
    """Import a plan of `communes` communes and register one officer per commune directly in the
    database; returns the officers' chat ids."""
    path = folder / "generated.yaml"
    path.write_text(plan_yaml(communes), encoding="utf-8")
    now = app.now()
    async with app.unit_of_work() as session:
        await store.import_plan(session, load_plan_file(path), "generated", now)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "GEN")
        units = list(await session.scalars(select(Unit).where(Unit.plan_id == plan.id, Unit.kind == "commune")
                                           .order_by(Unit.id)))
        chats = []
        for number, unit in enumerate(units, start=1):
            person = Person(display_name=f"Cán bộ {number}", created_at=now)
            session.add(person)
            await session.flush()
            chat = str(700_000 + number)
            session.add(Identity(person_id=person.id, channel=channel, external_id=chat, chat_id=chat, created_at=now))
            session.add(Role(person_id=person.id, plan_id=plan.id, role="officer", unit_id=unit.id, started_at=now))
            chats.append(chat)
    return chats


async def test_two_schedulers_at_once_deliver_each_message_once(app: App, clock: Clock, tmp_path: Path) -> None:
    clock.set(local(2025, 1, 2, 9))
    chats = await generated_plan(app, tmp_path, COMMUNES)
    now = local(2025, 1, 15, 8)
    clock.set(now)
    first, second = build_app(app.settings, clock=clock), build_app(app.settings, clock=clock)
    recorder = Recorder(clock)
    try:
        reports = await asyncio.gather(
            tick(first.deps, now, senders={"console": console_sender(first, recorder, "process-1")}),
            tick(second.deps, now, senders={"console": console_sender(second, recorder, "process-2")}),
        )
    finally:
        await first.close()
        await second.close()
    per_key = Counter(d.key for d in recorder.sent)
    assert len(per_key) == COMMUNES and set(per_key.values()) == {1}
    assert sorted(d.chat for d in recorder.sent) == sorted(chats)
    # Each key was made by exactly one of them.
    made = [m.key for report in reports for m in report.queued]
    assert len(made) == len(set(made)) == COMMUNES
    assert sum(report.delivered for report in reports) == COMMUNES
    async with app.unit_of_work() as session:
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
        unsent = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))
    assert (rows, unsent) == (COMMUNES, 0)


class Dies:
    """A transport whose process dies (SystemExit, or a cancelled task) before its n+1-th send."""

    def __init__(self, recorder: Recorder, sends: int, death: type[BaseException]) -> None:
        self.recorder = recorder
        self.left = sends
        self.death = death

    async def __call__(self, row: OutboxMessage) -> SendResult:
        if self.left == 0:
            raise self.death()
        self.left -= 1
        return await self.recorder(row)


@pytest.mark.parametrize("death", [SystemExit, asyncio.CancelledError])
async def test_a_process_killed_mid_fan_out_leaves_the_rest_to_the_next(
        app: App, clock: Clock, tmp_path: Path, death: type[BaseException]) -> None:
    clock.set(local(2025, 1, 2, 9))
    chats = await generated_plan(app, tmp_path, COMMUNES)
    now = local(2025, 1, 15, 8)
    clock.set(now)
    recorder = Recorder(clock)

    dying = build_app(app.settings, clock=clock)
    with pytest.raises(death):
        await tick(dying.deps, now, senders={"console": console_sender(dying, Dies(recorder, 10, death), "dying")})
    await dying.close()
    assert len(recorder.sent) == 10
    async with app.unit_of_work() as session:  # what it had claimed and not sent: its leases hold them
        held = await session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.claimed_by.like("dying/%")))
    assert held and held <= OutboxSender.IN_FLIGHT

    # The restarted process, at the same instant: makes nothing new, sends what nobody holds.
    restarted = build_app(app.settings, clock=clock)
    try:
        again = await tick(restarted.deps, now, senders={"console": console_sender(restarted, recorder, "restarted")})
        assert again.queued == [] and again.delivered == COMMUNES - 10 - held
        # A minute later the dead process's leases have expired: the rest goes out.
        clock.set(now + LEASE + timedelta(seconds=1))
        later = await tick(restarted.deps, clock(),
                           senders={"console": console_sender(restarted, recorder, "restarted")})
        assert later.queued == [] and later.delivered == held
    finally:
        await restarted.close()
    per_key = Counter(d.key for d in recorder.sent)
    assert set(per_key.values()) == {1} and len(per_key) == COMMUNES
    assert sorted(d.chat for d in recorder.sent) == sorted(chats)
