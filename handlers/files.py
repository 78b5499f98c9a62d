"""Files people send: photos of signed reports, PDFs, spreadsheets, Word files (issue 17).

Every file goes through `on_file`, the one way in: a file is fetched through its channel
(`fetch_bytes`, reusable by any handler that needs a file's bytes), checked by its content
(models/file_kinds.py), kept once by its SHA-256 in the file store, and attached as evidence to a
unit's figure:
- a caption naming an indicator ("minh chứng ct 6", "6") attaches it to that indicator's figure
  for the period being reported; a caption that is a figure ("6: 80%") stores the figure first;
- a file right after a figure (FOLLOWS) attaches to that figure;
- otherwise the bot asks which indicator it proves, with a choice per indicator of the unit.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from handlers import buttons, paperwork, plan_document, report, state
from handlers.context import Ctx
from handlers.events import Choice, FetchError, FileTooBig, IncomingFile
from handlers.formatting import period_label
from handlers.intents import SubmitFigures
from handlers.refs import resolve
from handlers.understand import understand
from models import evidence
from models.file_kinds import MAX_BYTES, Refusal, check, sniff
from models.file_store import sha256
from models.periods import Period
from models.plan_view import PartView, PlanView
from models.tables import Unit
from models.text import fold

__all__ = ["FOLLOWS", "Kept", "attach_chosen", "fetch_bytes", "on_file"]

FOLLOWS = timedelta(minutes=30)  # a file this soon after a figure proves that figure
STATE = "evidence"
_CAPTION_REF = re.compile(
    r"^(?:(?:minh chung|bang chung|mc|evidence|proof)\s*(?:cho|for)?\s*)?"
    r"(?:(?:chi tieu|ct|so|indicator|no\.?)\s*)?([a-z]{0,4}\.?[0-9]+[a-z]?)\s*[.!]?$")


class Kept:
    """A file received and kept: its row, and how the person named it."""

    def __init__(self, file_id: int, name: str, kind: str) -> None:
        self.file_id, self.name, self.kind = file_id, name, kind

    def to_data(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "name": self.name, "kind": self.kind}


async def fetch_bytes(ctx: Ctx, incoming: IncomingFile, limit: int = MAX_BYTES) -> bytes | Refusal | None:
    """A sent file's bytes through its channel's fetcher; a Refusal when too big, None when the
    channel could not hand it over (both already said to the person)."""
    if check(incoming.size) is not None:
        _refuse(ctx, incoming, Refusal.TOO_BIG)
        return Refusal.TOO_BIG
    fetcher = ctx.deps.fetchers.get(ctx.event.channel)
    if fetcher is None:
        ctx.say("files-channel-cannot")
        return None
    try:
        content = await fetcher.fetch(incoming, limit)
    except FileTooBig:
        _refuse(ctx, incoming, Refusal.TOO_BIG)
        return Refusal.TOO_BIG
    except FetchError:
        ctx.say("files-fetch-failed")
        return None
    if len(content) > limit:
        _refuse(ctx, incoming, Refusal.TOO_BIG)
        return Refusal.TOO_BIG
    return content


async def on_file(ctx: Ctx) -> None:
    """A message carrying files, in a private chat, from anyone (the dispatcher's one call). A
    spreadsheet that is one of the bot's own forms or overviews filled in (issue 18) is read as
    figures (handlers/paperwork.py); a plan's own DOCX or PDF from an admin or the tracking office
    is read as a new plan (handlers/plan_document.py, issue 22); every other file is evidence."""
    e = ctx.event
    if ctx.person is None:
        ctx.say("start-welcome-unregistered")
        return
    fetched: dict[int, bytes] = {}
    evidence_files = []
    for n, incoming in enumerate(e.files):
        taken = await _read_as_more_than_evidence(ctx, incoming)
        if taken is None:
            continue  # read as a plan or as figures, or not handed over: the person was told
        if taken:
            fetched[n] = taken
        evidence_files.append((n, incoming))
    if not evidence_files:
        return
    role = ctx.officer
    if role is None or role.unit_id is None:
        ctx.say("files-not-officer")
        return
    kept = [k for k in [await _receive(ctx, incoming, fetched.get(n)) for n, incoming in evidence_files]
            if k is not None]
    if not kept:
        return
    view = await ctx.plan_view(role.plan_id or 0)
    unit = view.units[role.unit_id]
    caption = (e.text or "").strip()
    if caption and await _by_caption(ctx, view, unit, kept, caption):
        return
    recent = await evidence.recent_figures(ctx.session, person_id=ctx.person.id, unit_id=unit.id,
                                           since=ctx.now - FOLLOWS)
    targets = [(view.parts[row.part_id], Period.parse(row.period)) for row in recent if row.part_id in view.parts]
    if len(targets) == 1:
        await _attach(ctx, view, unit, kept, *targets[0])
        return
    await _ask(ctx, view, unit, kept, targets or None)


async def _read_as_more_than_evidence(ctx: Ctx, incoming: IncomingFile) -> bytes | None:
    """A plan's own DOCX or PDF from an admin or the tracking office (issue 22), or a filled form
    (issue 18), handled here: None (the person was answered). Otherwise the bytes fetched for the
    evidence that follows (b"" when not fetched yet)."""
    if plan_document.is_plan_document(incoming) and await plan_document.may_send_plans(ctx):
        content = await fetch_bytes(ctx, incoming)
        if not isinstance(content, bytes) or await plan_document.receive(ctx, content, incoming):
            return None
        return content
    if _spreadsheet(incoming):
        content = await fetch_bytes(ctx, incoming)
        if not isinstance(content, bytes):
            return None
        if await paperwork.receive_workbook(ctx, content, incoming.name or "bieu-mau.xlsx") is not None:
            return None
        return content
    return b""


def _spreadsheet(incoming: IncomingFile) -> bool:
    name = (incoming.name or "").lower()
    return incoming.kind == "document" and (name.endswith(".xlsx") or "spreadsheetml" in (incoming.mime or ""))


async def _receive(ctx: Ctx, incoming: IncomingFile, content: bytes | Refusal | None = None) -> Kept | None:
    if content is None:
        content = await fetch_bytes(ctx, incoming)
    if not isinstance(content, bytes):
        return None
    sniffed = sniff(content, incoming.name or "")
    if isinstance(sniffed, Refusal):
        _refuse(ctx, incoming, sniffed)
        return None
    store = ctx.deps.file_store
    if store is None:
        ctx.say("files-channel-cannot")
        return None
    digest = sha256(content)
    await store.put(digest, content)  # before the row: a row never names bytes that are not kept
    row = await evidence.keep_file(ctx.session, digest=digest, size=len(content),
                                   content_type=sniffed.content_type, now=ctx.now)
    name = incoming.name or f"{incoming.kind}-{ctx.t.date(ctx.today).replace('/', '-')}.{sniffed.extension}"
    return Kept(row.id, name, incoming.kind)


def _refuse(ctx: Ctx, incoming: IncomingFile, why: Refusal) -> None:
    name = incoming.name or ctx.t("files-a-photo" if incoming.kind == "photo" else "files-a-file")
    ctx.say(f"files-refused-{why.value}", name=name, limit=ctx.t.number(MAX_BYTES // (1024 * 1024)))


async def _by_caption(ctx: Ctx, view: PlanView, unit: Unit, kept: list[Kept], caption: str) -> bool:
    """A caption naming an indicator or carrying figures; False when it does neither."""
    intent = understand(caption, ctx.t.locale)
    if isinstance(intent, SubmitFigures) and intent.lines:
        await report.submit(ctx, intent.lines, intent.period, intent.correction, unreadable=intent.unreadable)
        assert ctx.person is not None
        stored = await evidence.recent_figures(ctx.session, person_id=ctx.person.id, unit_id=unit.id, since=ctx.now)
        targets = [(view.parts[row.part_id], Period.parse(row.period)) for row in stored if row.part_id in view.parts]
        if len(targets) == 1:
            await _attach(ctx, view, unit, kept, *targets[0])
        else:
            await _ask(ctx, view, unit, kept, targets or None)
        return True
    match = _CAPTION_REF.match(fold(caption))
    if match is None:
        return False
    found = resolve(view, match[1], unit.id)
    if found.part is not None:
        await _attach(ctx, view, unit, kept, found.part, view.reporting_period(found.part.frequency, ctx.today))
        return True
    if found.ambiguous:
        await _ask(ctx, view, unit, kept, [(pv, view.reporting_period(pv.frequency, ctx.today))
                                           for pv in found.ambiguous])
        return True
    ctx.say("files-unknown-indicator", ref=match[1])
    await _ask(ctx, view, unit, kept, None)
    return True


async def _ask(ctx: Ctx, view: PlanView, unit: Unit, kept: list[Kept],
               targets: list[tuple[PartView, Period]] | None) -> None:
    """Which indicator these files prove: the figures given, or every indicator of the unit."""
    if targets is None:
        targets = [(pv, view.reporting_period(pv.frequency, ctx.today)) for pv in view.parts_of_unit(unit.id)]
    if not targets:
        ctx.say("report-nothing-assigned", unit=unit.name)
        return
    choices = tuple(
        Choice(f"{pv.code} · {_short(pv.indicator.title)} ({period_label(period, ctx.t)})",
               buttons.encode(buttons.EvidenceFor(pv.part.id, period))) for pv, period in targets)
    names = ", ".join(k.name for k in kept)
    photo = all(k.kind == "photo" for k in kept)
    ctx.say("files-which-indicator-photo" if photo else "files-which-indicator", names=names, choices=choices)
    await state.save(ctx, STATE, state.remember_choices(
        {"files": [k.to_data() for k in kept], **state.owner(ctx)}, choices))


async def attach_chosen(ctx: Ctx, part_id: int, period: Period) -> None:
    """The indicator chosen for the files just sent (a button, or its number typed back)."""
    current = await state.load(ctx)
    role = ctx.officer
    if current is None or current.state != STATE or not state.belongs(ctx, current.data) or role is None \
            or role.unit_id is None:
        ctx.say("report-choice-stale")
        return
    view = await ctx.plan_view(role.plan_id or 0)
    unit = view.units[role.unit_id]
    pv = view.parts.get(part_id)
    if pv is None or part_id not in view.duties.get(unit.id, []) or not view.period_open(pv, period, ctx.today):
        ctx.say("report-choice-stale")
        return
    kept = [Kept(int(f["file_id"]), str(f["name"]), str(f["kind"])) for f in current.data.get("files", [])]
    await state.clear(ctx)
    await _attach(ctx, view, unit, kept, pv, period, edit=bool(ctx.event.choice))


async def _attach(ctx: Ctx, view: PlanView, unit: Unit, kept: list[Kept], pv: PartView, period: Period,
                  *, edit: bool = False) -> None:
    assert ctx.person is not None
    for k in kept:
        row = await evidence.file(ctx.session, k.file_id)
        if row is None:
            continue
        await evidence.attach(ctx.session, kept=row, plan_id=view.plan.id, unit_id=unit.id, part_id=pv.part.id,
                              period=period.id, name=k.name, kind=k.kind, person_id=ctx.person.id,
                              channel=ctx.event.channel, message_ref=ctx.event.message_id, now=ctx.now)
    count = len(await evidence.of_figure(ctx.session, unit.id, pv.part.id, period.id))
    names = ", ".join(k.name for k in kept)
    has_figure = await report.has_figure(ctx, unit.id, pv.part.id, period.id)
    ctx.say("files-attached" if has_figure else "files-attached-no-figure", edit=edit, names=names, code=pv.code,
            period=period_label(period, ctx.t), count=ctx.t.number(count), example=report.example_line(pv))


def _short(title: str, limit: int = 32) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"
