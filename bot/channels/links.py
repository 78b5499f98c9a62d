"""Links that open a chat with the bot and start it with an invite code: built here only, for the
command line (`invite`) and every channel."""
from __future__ import annotations

import re

from models.kinds import Channel, RoleKind

__all__ = ["invite_link"]

# Telegram's rule for a deep link's start parameter.
_TELEGRAM_START = re.compile(r"[A-Za-z0-9_-]{1,64}")


def invite_link(channel: Channel | str, username: str | None, code: str, role: RoleKind | str) -> str | None:
    """The link that opens `channel` on the bot named `username` and sends `/start CODE`; None when
    the channel has no such links (Zalo, the console) or the bot's name is not known.

    Telegram: https://t.me/<bot>?start=CODE opens a private chat; a group invite uses
    ?startgroup=CODE, which asks which group to add the bot to."""
    channel, role = Channel(channel), RoleKind(role)
    if channel is not Channel.TELEGRAM or not username:
        return None
    if not _TELEGRAM_START.fullmatch(code):
        raise ValueError(f"not a code a Telegram link can carry: {code!r}")
    start = "startgroup" if role is RoleKind.GROUP else "start"
    return f"https://t.me/{username.removeprefix('@')}?{start}={code}"
