"""Invite links: one builder for the command line and every channel."""
from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import pytest

from bot import cli
from bot.app import App
from bot.channels.links import invite_link
from models.kinds import Channel, RoleKind

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"


@pytest.mark.parametrize("role", ["officer", "leader", "admin"])
def test_a_person_invite_opens_a_private_chat_that_starts_with_the_code(role: str) -> None:
    assert invite_link("telegram", "dtbot", "ABCD2345", role) == "https://t.me/dtbot?start=ABCD2345"


def test_a_group_invite_asks_which_group_to_add_the_bot_to() -> None:
    assert invite_link(Channel.TELEGRAM, "dtbot", "ABCD2345", RoleKind.GROUP) == \
        "https://t.me/dtbot?startgroup=ABCD2345"


def test_the_bots_name_may_be_given_with_its_at_sign() -> None:
    assert invite_link("telegram", "@dtbot", "ABCD2345", "officer") == "https://t.me/dtbot?start=ABCD2345"


@pytest.mark.parametrize(("channel", "username"), [
    ("telegram", None),  # getMe failed or no token: the code alone still works
    ("telegram", ""),
    ("zalo", "dtbot"),  # no deep links on Zalo yet
    ("console", "dtbot"),
])
def test_no_link_where_none_can_be_made(channel: str, username: str | None) -> None:
    assert invite_link(channel, username, "ABCD2345", "officer") is None


@pytest.mark.parametrize(("channel", "code", "role"), [
    ("viber", "ABCD2345", "officer"),
    ("telegram", "ABCD 2345", "officer"),  # Telegram drops a start parameter it cannot carry
    ("telegram", "A" * 65, "officer"),
    ("telegram", "ABCD2345", "chairman"),
])
def test_a_link_is_never_made_from_what_it_cannot_carry(channel: str, code: str, role: str) -> None:
    with pytest.raises(ValueError):
        invite_link(channel, "dtbot", code, role)


async def test_the_invite_command_prints_the_link_for_its_role(
        app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    async def username(_app: object) -> str:
        return "dtbot"

    monkeypatch.setattr(cli, "telegram_username", username)
    await cli.import_plan_file(app, SMALL)
    capsys.readouterr()
    for role, start in (("group", "startgroup"), ("leader", "start")):
        await cli.cmd_invite(app, Namespace(role=role, plan="T2025", unit=None, days=14, json=True))
        made = json.loads(capsys.readouterr().out)
        assert (made["role"], made["telegram_link"]) == (role, f"https://t.me/dtbot?{start}={made['code']}")
