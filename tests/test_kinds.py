"""Roles, chat kinds, channels and outcomes are StrEnums whose values are the strings the database,
the payloads and the translation keys held before: adopting them needs no migration and no data
change (tests/test_migrations.py checks that the schema still matches the migrations)."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from bot.app import App
from bot.cli import import_plan_file
from models import people, store
from models.kinds import Channel, ChatKind, Delivery, RoleKind, StoreOutcome
from models.submissions import store_figure
from models.tables import IndicatorPart, Invite, Role
from models.targets import Figure

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
NOW = datetime(2025, 3, 17, 2, 0, tzinfo=UTC)


def test_each_member_is_the_string_stored_before() -> None:
    assert [*map(str, RoleKind)] == ["admin", "leader", "officer", "group"]
    assert [*map(str, ChatKind)] == ["private", "group"]
    assert [*map(str, Channel)] == ["telegram", "zalo", "console"]
    assert [*map(str, StoreOutcome)] == ["new", "corrected", "duplicate"]
    assert [*map(str, Delivery)] == ["sent", "failed", "pending"]


def test_a_member_reads_as_its_string_in_keys_json_and_text() -> None:
    assert RoleKind.OFFICER == "officer" and {"officer": 1}[RoleKind.OFFICER] == 1
    assert json.dumps({"role": RoleKind.GROUP}) == '{"role": "group"}'
    assert f"role-{RoleKind.LEADER}" == "role-leader"


def test_a_person_holds_every_role_but_the_group_one() -> None:
    assert set(RoleKind.held()) == set(RoleKind) - {RoleKind.GROUP}


@pytest.mark.parametrize(("sent_at", "failed_at", "state"), [
    (NOW, None, Delivery.SENT), (None, NOW, Delivery.FAILED), (None, None, Delivery.PENDING),
])
def test_a_messages_delivery_follows_its_marks(sent_at: datetime | None, failed_at: datetime | None,
                                               state: Delivery) -> None:
    assert Delivery.of(sent_at, failed_at) is state


async def _officer_role(app: App) -> tuple[int, int]:
    """An officer registered through an invite: (role id, invite id)."""
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        assert plan is not None
        unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
        issued = await people.create_invite(session, role="officer", plan=plan, unit=unit, now=app.now())
        person = await people.ensure_person(session, Channel.CONSOLE, "lan", "Lan", "lan", app.now())
        role, _ = await people.grant_role(session, person=person, role=issued.invite.role, plan_id=plan.id,
                                          unit_id=unit.id, now=app.now(), invite_id=issued.invite.id)
        return role.id, issued.invite.id


async def test_roles_are_stored_as_plain_strings_and_read_back_as_members(app: App) -> None:
    role_id, invite_id = await _officer_role(app)
    async with app.sessions() as session:
        raw = (await session.execute(text("SELECT role FROM roles WHERE id = :id"), {"id": role_id})).scalar_one()
        raw_invite = (await session.execute(text("SELECT role FROM invites WHERE id = :id"),
                                            {"id": invite_id})).scalar_one()
        assert (type(raw), raw, type(raw_invite), raw_invite) == (str, "officer", str, "officer")
        role = await session.get(Role, role_id)
        invite = await session.get(Invite, invite_id)
        assert role is not None and role.role is RoleKind.OFFICER
        assert invite is not None and invite.role is RoleKind.OFFICER
        # A row written before the enums, as plain text, reads back as its member; queries take either.
        await session.execute(text("UPDATE roles SET role = 'leader' WHERE id = :id"), {"id": role_id})
        found = await session.scalar(select(Role.role).where(Role.id == role_id, Role.role == "leader"))
        assert found is RoleKind.LEADER


async def test_a_role_outside_the_set_is_refused_before_it_reaches_the_database(app: App) -> None:
    role_id, _ = await _officer_role(app)
    async with app.unit_of_work() as session:
        role = await session.get(Role, role_id)
        assert role is not None
        role.role = "chairman"  # type: ignore[assignment]
        with pytest.raises(StatementError):
            await session.flush()
        await session.rollback()
    async with app.unit_of_work() as session:
        with pytest.raises(ValueError):
            await people.create_invite(session, role="chairman", plan=None, unit=None, now=app.now())


async def test_a_group_invite_is_no_persons_role(app: App) -> None:
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        person = await people.ensure_person(session, Channel.CONSOLE, "lan", "Lan", "lan", app.now())
        with pytest.raises(ValueError):
            await people.grant_role(session, person=person, role=RoleKind.GROUP, plan_id=None, unit_id=None,
                                    now=app.now())


async def test_storing_a_figure_says_what_it_did(app: App) -> None:
    await import_plan_file(app, SMALL)
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        assert plan is not None
        unit = next(u for u in await store.plan_units(session, plan) if u.code == "an-sinh")
        part = await session.scalar(select(IndicatorPart).order_by(IndicatorPart.id).limit(1))
        assert part is not None
        outcomes = []
        for value in ("5", "5", "6"):
            stored = await store_figure(session, plan_id=plan.id, part_id=part.id, unit_id=unit.id,
                                        period="2025-03", figure=Figure(value=Decimal(value)), person_id=None,
                                        channel=Channel.CONSOLE, now=app.now())
            outcomes.append(stored.outcome)
    assert outcomes == [StoreOutcome.NEW, StoreOutcome.DUPLICATE, StoreOutcome.CORRECTED]
