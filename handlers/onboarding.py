"""Who is on board (issue 16): every unit with its focal officer, units without one, pending and
expired invites — for `people` on the command line and /canbo in the chat."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from locales import Translator
from models.onboarding import InviteLine, OfficerLine, Onboarding

# How many names a chat answer lists before "… and N more": a province's 600 units would be a
# wall of text; the full list is `people --json` or the spreadsheet.
CHAT_LIST_LIMIT = 40


def _iso(moment: datetime | None, timezone: ZoneInfo) -> str | None:
    return moment.astimezone(timezone).isoformat() if moment else None


def board_json(board: Onboarding, timezone: ZoneInfo) -> dict[str, Any]:
    """`people --json`."""
    return {
        "units": [{"unit": line.unit_code, "name": line.unit_name, "kind": line.kind,
                   "officer": None if line.name is None else {
                       "name": line.name, "channels": list(line.channels),
                       "registered_at": _iso(line.registered_at, timezone),
                       "last_seen": _iso(line.last_seen, timezone),
                       "unreachable": line.unreachable_at is not None,
                       "unreachable_since": _iso(line.unreachable_at, timezone)},
                   "expected": None if line.expected is None else {"name": line.expected,
                                                                    "phone": line.expected_phone}}
                  for line in board.units],
        "without_officer": [line.unit_code for line in board.without_officer],
        "pending_invites": [_invite_json(line, timezone) for line in board.pending],
        "expired_invites": [_invite_json(line, timezone) for line in board.expired],
    }


def _invite_json(line: InviteLine, timezone: ZoneInfo) -> dict[str, Any]:
    return {"unit": line.unit_code, "unit_name": line.unit_name, "role": line.role,
            "issued_at": _iso(line.created_at, timezone), "issued_by": line.issued_by,
            "expires_at": _iso(line.expires_at, timezone)}


def _when(t: Translator, moment: datetime | None, timezone: ZoneInfo) -> str:
    if moment is None:
        return "-"
    local = moment.astimezone(timezone)
    return f"{local:%H:%M} {t.date(local.date())}"


def _expected(t: Translator, line: OfficerLine) -> str:
    """A unit without its officer: the roster's name for them when there is one."""
    if line.expected is None:
        return t("people-unit-none", unit=line.unit_name)
    return t("people-expected", unit=line.unit_name, name=line.expected,
             phone=f", {line.expected_phone}" if line.expected_phone else "")


def officer_line(t: Translator, line: OfficerLine, timezone: ZoneInfo) -> str:
    if line.name is None:
        return _expected(t, line)
    text = t("people-unit-officer", unit=line.unit_name, name=line.name, channels=", ".join(line.channels) or "-",
             registered=_when(t, line.registered_at, timezone), seen=_when(t, line.last_seen, timezone))
    if line.unreachable_at is not None:
        text += " " + t("people-unreachable", since=_when(t, line.unreachable_at, timezone))
    if line.expected is not None:
        text += " " + t("people-expected-instead", name=line.expected)
    return text


def invite_line(t: Translator, line: InviteLine, timezone: ZoneInfo) -> str:
    who = line.unit_name or t(f"role-{line.role}")
    by = line.issued_by or t("people-by-server")
    return t("people-invite", unit=who, by=by, expires=_when(t, line.expires_at, timezone))


def _listed(t: Translator, lines: list[str], limit: int | None) -> list[str]:
    if limit is None or len(lines) <= limit:
        return lines
    return [*lines[:limit], t("people-more", count=t.number(len(lines) - limit))]


def board_text(board: Onboarding, t: Translator, timezone: ZoneInfo, plan_title: str,
               limit: int | None = None) -> str:
    """Everything: the `people` command and /canbo."""
    registered = len(board.units) - len(board.without_officer)
    parts = [t("people-head", plan=plan_title, registered=t.number(registered), units=t.number(len(board.units)),
               pending=t.number(len(board.pending)), expired=t.number(len(board.expired)))]
    with_officer = [officer_line(t, line, timezone) for line in board.units if line.name is not None]
    if with_officer:
        parts += ["", t("people-section-officers"), *_listed(t, with_officer, limit)]
    parts += ["", *without_officer_lines(board, t, limit)]
    parts += ["", *pending_lines(board, t, timezone, limit)]
    if board.expired:
        parts += ["", t("people-section-expired"),
                  *_listed(t, [invite_line(t, line, timezone) for line in board.expired], limit)]
    return "\n".join(parts)


def without_officer_lines(board: Onboarding, t: Translator, limit: int | None = None) -> list[str]:
    """"Đơn vị nào chưa có cán bộ đầu mối?" / "ai chưa đăng ký?"."""
    missing = board.without_officer
    if not missing:
        return [t("people-all-registered", units=t.number(len(board.units)))]
    return [t("people-section-without", count=t.number(len(missing)), units=t.number(len(board.units))),
            *_listed(t, [_expected(t, line) if line.expected else f"• {line.unit_name}" for line in missing], limit)]


def pending_lines(board: Onboarding, t: Translator, timezone: ZoneInfo, limit: int | None = None) -> list[str]:
    """"Mã mời nào chưa dùng?"."""
    if not board.pending:
        return [t("people-no-pending")]
    return [t("people-section-pending", count=t.number(len(board.pending))),
            *_listed(t, [invite_line(t, line, timezone) for line in board.pending], limit)]
