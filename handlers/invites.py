"""Invites and who is on board, from the chat (issue 16): `/moi <đơn vị>` answers a code and a
message to forward, `/moi tất cả` the spreadsheet and the printable cards for every unit without
an officer; `/canbo` and "ai chưa đăng ký?" say who is on board."""
from __future__ import annotations

import asyncio
import re

from handlers import invite_files, onboarding as board_text, rights
from handlers.context import Ctx
from handlers.events import Attachment, Reply
from models import onboarding, store
from models.kinds import Channel
from models.tables import Plan, Unit
from models.text import fold

# "/moi tất cả", "/moi all", "/moi tat ca cac don vi": every unit without an officer.
_ALL = re.compile(r"^(?:tat ca|toan bo|all|every(?:one)?)\b")  # not a bare "ca": Cà Mau is a unit
# More names than a chat answer should list when a typed unit matches several.
_CANDIDATES = 5


async def may_onboard(ctx: Ctx, plan: Plan) -> bool:
    """Who may issue invites and see who is on board: an admin, or the plan's tracking office
    (handlers/rights.in_tracking_office)."""
    return ctx.is_admin or rights.in_tracking_office(ctx, await ctx.plan_view(plan.id))


async def may_see_board(ctx: Ctx, plan: Plan) -> bool:
    """/canbo and its questions: those who may onboard, and leaders."""
    return ctx.is_leader or await may_onboard(ctx, plan)


async def _plan(ctx: Ctx) -> Plan | None:
    plan_id = await ctx.plan_id()
    return await store.plan_by_id(ctx.session, plan_id) if plan_id is not None else None


def invite_link_of(ctx: Ctx, code: str) -> str | None:
    """The Telegram deep link of an officer's invite code, once the channel has said its name."""
    make = ctx.deps.invite_links.get(Channel.TELEGRAM)
    return make(code) if make is not None else None


def _zalo(ctx: Ctx) -> bool:
    return Channel.ZALO in ctx.deps.invite_links


async def invite_command(ctx: Ctx, argument: str) -> None:
    """/moi <đơn vị> | /moi tất cả."""
    plan = await _plan(ctx)
    if plan is None or not await may_onboard(ctx, plan):
        ctx.say("invite-chat-not-allowed")
        return
    typed = argument.strip()
    if not typed:
        ctx.say("invite-chat-usage")
        return
    if _ALL.match(fold(typed)):
        await _invite_all(ctx, plan)
        return
    view = await ctx.plan_view(plan.id)
    exact = [unit for unit in view.units.values() if unit.in_file and fold(unit.code) == fold(typed)]
    found = exact or view.find_units(typed, limit=_CANDIDATES)
    if not found:
        ctx.say("invite-chat-unknown-unit", unit=typed)
        return
    if len(found) > 1 and fold(found[0].name) != fold(typed):
        ctx.say("invite-chat-which-unit", units="\n".join(f"• {unit.name}" for unit in found))
        return
    unit = found[0]
    if not unit.active:
        ctx.say("invite-chat-inactive-unit", unit=unit.name)
        return
    await _invite_one(ctx, plan, unit)


async def _invite_one(ctx: Ctx, plan: Plan, unit: Unit) -> None:
    current = await onboarding.units_to_invite(ctx.session, plan, replace=True, kinds=None, unit_ids=[unit.id])
    officer = current[0][1] if current else None
    [line] = await onboarding.issue_officer_invites(ctx.session, plan, [(unit, officer)], now=ctx.now,
                                                    created_by=ctx.person.id if ctx.person else None)
    t = ctx.t
    when = invite_files.when(t, line.expires_at.astimezone(ctx.deps.timezone))
    link = invite_link_of(ctx, line.code)
    ctx.say("invite-chat-made", unit=unit.name, code=line.code, expires=when)
    if officer is not None:
        ctx.say("invite-chat-hands-over", unit=unit.name, officer=officer)
    # The message to forward: complete on its own, for a person who has never seen the bot.
    how = t("invite-forward-link", link=link) if link else t("invite-forward-code", code=line.code)
    if _zalo(ctx):
        how += "\n" + t("invite-forward-zalo", code=line.code)
    ctx.say("invite-forward", unit=unit.name, plan=plan.title, how=how, expires=when)


async def _invite_all(ctx: Ctx, plan: Plan) -> None:
    units = await onboarding.units_to_invite(ctx.session, plan)
    if not units:
        ctx.say("invite-chat-all-none")
        return
    lines = onboarding.new_lines(units, now=ctx.now)
    t = ctx.t
    cards = invite_files.cards_of(lines, link=ctx.deps.invite_links.get(Channel.TELEGRAM), zalo=_zalo(ctx),
                                  timezone=ctx.deps.timezone, names=await onboarding.roster_names(ctx.session, plan))
    # Drawn in a worker thread: a province's cards take seconds, and other chats go on meanwhile.
    sheet = await asyncio.to_thread(invite_files.to_xlsx, cards, t, plan.title)
    pdf = await asyncio.to_thread(invite_files.to_pdf, cards, t, plan.title)
    # Stored once drawn: on SQLite the write lock is taken at the first write and held to the
    # commit, and a province's cards take seconds to draw.
    await onboarding.store_invites(ctx.session, plan, lines, now=ctx.now,
                                   created_by=ctx.person.id if ctx.person else None)
    today = ctx.today
    documents = (
        Attachment("document", invite_files.file_name(plan.code, today, ".xlsx"), sheet,
                   t("invite-chat-sheet-caption", count=t.number(len(cards)))),
        Attachment("document", invite_files.file_name(plan.code, today, ".pdf"), pdf,
                   t("invite-chat-cards-caption")),
    )
    ctx.replies.append(Reply(t("invite-chat-all-made", count=t.number(len(cards)), plan=plan.title,
                               expires=invite_files.when(t, cards[0].expires_at)),
                             attachments=documents, locale=t.locale))


async def board_command(ctx: Ctx, argument: str) -> None:
    """/canbo: everything, the lists cut to a chat's length."""
    await _board(ctx, "all")


async def _board(ctx: Ctx, part: str) -> None:
    plan = await _plan(ctx)
    if plan is None or not await may_see_board(ctx, plan):
        ctx.say("people-not-allowed")
        return
    board = await onboarding.onboarding(ctx.session, plan, ctx.now)
    t, zone, limit = ctx.t, ctx.deps.timezone, board_text.CHAT_LIST_LIMIT
    if part == "without":
        ctx.say_text("\n".join(board_text.without_officer_lines(board, t, limit)))
    elif part == "pending":
        ctx.say_text("\n".join(board_text.pending_lines(board, t, zone, limit)))
    else:
        ctx.say_text(board_text.board_text(board, t, zone, plan.title, limit))


# "ai chưa đăng ký?", "đơn vị nào chưa có cán bộ đầu mối?", "mã mời nào chưa dùng?" and English.
_QUESTIONS = (
    ("without", re.compile(r"\b(?:ai|nhung ai|nguoi nao|don vi nao|nhung don vi nao|dv nao)\b.*\bchua\b.*"
                           r"\b(?:dang ky|co can bo|co dau moi|co nguoi)\b")),
    ("without", re.compile(r"\b(?:who|which units?)\b.*\b(?:not|n't|no|without)\b.*"
                           r"\b(?:registered|signed up|joined|officers?|focal)\b")),
    ("pending", re.compile(r"\bma moi\b.*\bchua\b.*\b(?:dung|su dung|kich hoat)\b")),
    ("pending", re.compile(r"\b(?:unused|pending|open)\b.*\binvites?\b|\binvites?\b.*\b(?:unused|not used)\b")),
    ("all", re.compile(r"\b(?:danh sach can bo(?: dau moi)?|ai da dang ky|who is on board|who'?s on board)\b")),
)


def onboarding_question(text: str) -> str | None:
    """Which board question a message asks ("without", "pending", "all"), or None. Short messages
    only: a figure report never reads as one."""
    folded = fold(text)
    if len(folded) > 120 or any(ch.isdigit() for ch in folded):
        return None
    for part, pattern in _QUESTIONS:
        if pattern.search(folded):
            return part
    return None


async def answer_question(ctx: Ctx, part: str) -> bool:
    """The board question answered, if this person may see the board; False: not theirs to ask
    (the message goes on to be understood as anything else)."""
    plan = await _plan(ctx)
    if plan is None or not await may_see_board(ctx, plan):
        return False
    await _board(ctx, part)
    return True
