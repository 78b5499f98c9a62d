"""A new plan sent to the bot as its own DOCX or PDF (issue 22).

An admin or the tracking office sends the Kế hoạch: the bot answers with what it read (counts,
the plan's head, the reporting days) and the doubts, attaches the draft plan file, and imports it
on "Xác nhận" (a button on Telegram, a numbered choice on Zalo and the console). The draft the
person confirms is the one imported: it is kept with the question, not read again.

Reached from handlers/files.py's `on_file`, the one way in for files, before evidence: an
officer's PDF with a caption, or one that holds no plan, stays evidence.
"""
from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path
from typing import Any

from handlers import buttons, rights, state
from handlers.context import Ctx
from handlers.events import Attachment, Choice, IncomingFile, Reply
from models import store
from models.plan_document import DocumentError, summary_lines
from models.plan_document_files import DOCUMENT_SUFFIXES, read_plan_document
from models.plans import PlanFileError, load_plan_file

__all__ = ["DRAFT_KEY", "confirm", "is_plan_document", "receive"]

DRAFT_KEY = "plan_draft"
DOUBTS_SHOWN = 12


def is_plan_document(incoming: IncomingFile) -> bool:
    name = (incoming.name or "").lower()
    mime = incoming.mime or ""
    return incoming.kind == "document" and (name.endswith(DOCUMENT_SUFFIXES) or mime == "application/pdf"
                                             or "wordprocessingml" in mime)


async def may_send_plans(ctx: Ctx) -> bool:
    """Admins, and the tracking office of the plan the person works in."""
    if ctx.is_admin:
        return True
    plan_id = await ctx.plan_id()
    if plan_id is None:
        return False
    return rights.in_tracking_office(ctx, await ctx.plan_view(plan_id))


async def receive(ctx: Ctx, content: bytes, incoming: IncomingFile) -> bool:
    """A DOCX or PDF from someone who may send plans: read as a plan, the summary, doubts and
    draft sent, the question asked. False when it is not for this (it is evidence then): the
    sender may not send plans, or is an officer whose file holds no plan or has a caption."""
    if not await may_send_plans(ctx):
        return False
    officer = ctx.officer is not None and ctx.officer.unit_id is not None
    if officer and (ctx.event.text or "").strip():
        return False  # a caption names what the file proves
    name = Path(incoming.name or "ke-hoach.pdf").name
    t = ctx.t
    try:
        draft, text = await asyncio.to_thread(read_plan_document, content, name, t)
    except DocumentError as exc:
        if officer:
            return False
        ctx.say_text(f"{name}: {t(exc.message, **exc.params)}")
        return True
    lines = [f"- {doubt.render(t)}" for doubt in draft.doubts[:DOUBTS_SHOWN]]
    if len(draft.doubts) > DOUBTS_SHOWN:
        lines.append(t("docplan-chat-doubts-more", count=len(draft.doubts) - DOUBTS_SHOWN))
    summary, head, *schedule = summary_lines(draft, name, t)
    said = t("docplan-chat-summary", summary=summary, head=head,
             schedule="".join(f"\n{line}" for line in schedule), doubts="\n".join(lines))
    choices = (Choice(t("docplan-chat-confirm"), buttons.encode(buttons.Answer(True))),
               Choice(t("docplan-chat-cancel"), buttons.encode(buttons.Answer(False))))
    draft_name = f"{Path(name).stem}.yaml"
    ctx.replies.append(Reply(said, choices=choices, locale=t.locale, attachments=(
        Attachment("document", draft_name, text.encode("utf-8")),)))
    await state.save(ctx, "confirm", state.remember_choices(
        {DRAFT_KEY: text, "name": draft_name, "person_id": ctx.person.id if ctx.person else None}, choices))
    return True


async def confirm(ctx: Ctx, yes: bool, data: dict[str, Any]) -> None:
    """"Xác nhận" (or "Hủy") to a plan read from its document: the draft shown is imported."""
    await state.clear(ctx)
    if ctx.person is None or ctx.person.id != data.get("person_id") or not await may_send_plans(ctx):
        ctx.say("confirm-other-role")
        return
    if not yes:
        ctx.say("docplan-chat-cancelled")
        return
    text = str(data.get(DRAFT_KEY) or "")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / str(data.get("name") or "ke-hoach.yaml")
        path.write_text(text, encoding="utf-8")
        try:
            spec = load_plan_file(path)
        except PlanFileError as exc:
            ctx.say("docplan-chat-failed", problem=exc.render(ctx.t))
            return
    result = await store.import_plan(ctx.session, spec, hashlib.sha256(text.encode("utf-8")).hexdigest(), ctx.now)
    ctx.deps.plan_views.clear()
    ctx.say("docplan-chat-imported", code=result.plan_code, indicators=len(spec.indicators), units=len(spec.units))
