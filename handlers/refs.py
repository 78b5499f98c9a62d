"""Which indicator part a typed reference means, for a unit or for the whole plan."""
from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from models.plan_view import PartView, PlanView


@dataclass
class Resolved:
    parts: list[PartView] = field(default_factory=list)  # exactly one when resolved
    ambiguous: list[PartView] = field(default_factory=list)  # ask which one
    not_reported: bool = False  # the plan has it, this unit does not report it
    suggestions: list[str] = field(default_factory=list)  # closest codes when unknown

    @property
    def part(self) -> PartView | None:
        return self.parts[0] if len(self.parts) == 1 else None


def resolve(view: PlanView, ref: str, unit_id: int | None = None) -> Resolved:
    """Resolve "6", "9", "9b", "pl2.3", "ii.6" against the plan; with a unit, against its duties.

    A bare indicator number means the part that applies to the unit ("9" is 9b for a commune).
    A number that two tables share is asked about unless only one of them concerns the unit.
    """
    ref = ref.strip().lower()
    allowed = set(view.duties.get(unit_id, [])) if unit_id is not None else set(view.parts)

    def mine(parts: list[PartView]) -> list[PartView]:
        return [p for p in parts if p.part.id in allowed]

    by_part = [p for p in view.parts.values() if p.code.lower() == ref]
    if by_part:
        chosen = mine(by_part)
        return Resolved(parts=chosen) if chosen else Resolved(not_reported=True)

    by_code = [p for p in view.parts.values() if p.indicator.code.lower() == ref]
    by_number = [
        p for p in view.parts.values()
        if (p.indicator.number.lower() == ref and p.indicator.code.lower() != ref)
        or (p.indicator.code.lower().endswith(f".{ref}") and p.indicator.number.lower() == ref)
    ]
    candidates = by_code + [p for p in by_number if p not in by_code]
    if not candidates:
        return Resolved(suggestions=_suggest(view, ref, allowed))
    chosen = mine(candidates)
    if not chosen:
        return Resolved(not_reported=True)
    indicators = {p.indicator.id for p in chosen}
    if len(chosen) == 1:
        return Resolved(parts=chosen)
    if len(indicators) == 1 and unit_id is None:
        return Resolved(parts=chosen)  # the whole indicator, every part (plan-wide questions)
    return Resolved(ambiguous=chosen)


def _suggest(view: PlanView, ref: str, allowed: set[int]) -> list[str]:
    codes = sorted({view.parts[pid].code for pid in allowed} | {view.parts[pid].indicator.code for pid in allowed})
    found = process.extract(ref, codes, scorer=fuzz.ratio, limit=3, score_cutoff=40)
    return [code for code, _, _ in found]
