"""One plan as handlers and the scheduler read it: plain data, no ORM instances and no I/O, so it
can be cached between events and shared by every session (models/store.py loads and caches it)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from models.periods import DeadlineRule, Frequency, Period, collects, period_containing
from models.rollups import DEFAULT_COVERAGE_THRESHOLD
from models.targets import Target
from models.text import fold


@dataclass(frozen=True, eq=False)
class PartView:
    part: Any  # PartData
    indicator: Any  # IndicatorData
    target: Target

    @property
    def code(self) -> str:
        return self.part.code

    @property
    def frequency(self) -> Frequency:
        return Frequency(self.indicator.frequency)


@lru_cache(maxsize=256)
def _reporting_period(year: int, frequency: Frequency, today: date) -> Period:
    period = period_containing(today, frequency).previous()
    if period.year < year:
        return Period(year, frequency, 1)
    if period.year > year:
        return Period(year, frequency, frequency.periods_per_year)
    return period


@dataclass
class PlanView:
    """One plan as handlers read it, as plain data (no ORM instances): cached between events."""

    plan: Any  # PlanData
    indicators: list[Any]  # IndicatorData
    parts: dict[int, PartView]
    units: dict[int, Any]  # UnitData
    rules: dict[Frequency, DeadlineRule]
    reporters: dict[int, list[int]]  # part id -> unit ids
    duties: dict[int, list[int]]  # unit id -> part ids
    collect_from: Period | None = None  # the plan's first collected month
    overridden: frozenset[int] = frozenset()  # part ids whose reporters the plan file set

    @property
    def coverage_threshold(self) -> Decimal:
        """Percent of the units expected that must have a figure before a plan-wide verdict."""
        own = self.plan.coverage_threshold
        return DEFAULT_COVERAGE_THRESHOLD if own is None else Decimal(own)

    def parts_of_unit(self, unit_id: int) -> list[PartView]:
        return [self.parts[part_id] for part_id in self.duties.get(unit_id, [])]

    def reporting_period(self, frequency: Frequency, today: date) -> Period:
        """The period units report now: the latest one whose data cut-off has passed (on 17/3
        that is March for a monthly indicator and Q1 for a quarterly one; on 2/3 it is February,
        reported late). Kept within the plan's year, and never one the plan does not collect
        (with collect_from 2025-04, on 2/4 it is April, not March)."""
        period = _reporting_period(self.plan.year, frequency, today)
        while not self.collects(period) and period.index < frequency.periods_per_year:
            period = period.next()
        return period

    def collecting(self, frequency: Frequency, today: date) -> Period | None:
        """The period of this frequency being collected now (its data cut-off has passed; its
        deadline is next, or passed and it is overdue); None before the first cut-off of the
        plan's year, when reporting_period would name a period not yet reportable."""
        period = self.reporting_period(frequency, today)
        return period if period.cutoff_window()[1] < today else None

    def period_open(self, pv: PartView, period: Period, today: date) -> bool:
        """Whether a figure for this part may be given for `period` now: one of the part's own
        frequency, in the plan's year, not after the period being reported (as text reports)."""
        return (period.frequency is pv.frequency and period.year == self.plan.year
                and period <= self.reporting_period(pv.frequency, today))

    def deadline(self, period: Period) -> date:
        return self.rules[period.frequency].deadline(period)

    def collects(self, period: Period) -> bool:
        """Whether the bot collects this period: none that ended before the plan's `collect_from`."""
        return collects(self.collect_from, period)

    def active_unit(self, unit: Any, period: Period) -> bool:
        """Whether the unit owes figures for the period: no one does for a period the plan does
        not collect, and a deactivated (merged, dissolved) unit counts in no period that starts
        after it ended. Every "who owes what" (prompts, reminders, escalations, missing lists,
        summaries) asks this."""
        if not self.collects(period):
            return False
        if unit.active or unit.deactivated_on is None:
            return unit.active
        return period.cutoff_window()[0] < unit.deactivated_on

    def find_units(self, typed: str, limit: int = 3) -> list[Any]:
        """Units whose name matches what was typed, best first; without diacritics, with typos.

        "mao khe" finds "Phường Mạo Khê": names are also compared without their kind word, but
        whole, so "Sao Hỏa" does not find "Phòng Văn hóa và Thông tin"."""
        wanted = fold(typed)
        candidates: dict[int, float] = {}
        for unit in self.units.values():
            if not unit.in_file:
                continue
            for name in (unit.name, *(unit.aliases or [])):
                folded = fold(name)
                if folded == wanted:
                    return [unit]
                score = max(fuzz.ratio(wanted, folded), fuzz.ratio(_bare(wanted), _bare(folded)))
                if score >= 80:
                    candidates[unit.id] = max(score, candidates.get(unit.id, 0))
        ranked = sorted(candidates, key=lambda uid: -candidates[uid])
        return [self.units[uid] for uid in ranked[:limit]]


_KIND_WORDS = re.compile(r"^(?:ubnd |uy ban nhan dan )?(?:xa|phuong|thi tran|phong|ban|trung tam|chi nhanh|so) ")


def _bare(folded: str) -> str:
    return _KIND_WORDS.sub("", folded)
