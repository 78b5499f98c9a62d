"""The five real plans, transcribed from the seeds, load whole: every raw target parses."""
from __future__ import annotations

from pathlib import Path

import pytest

from models.plans import load_plan_file
from models.targets import Measure

PLANS = Path(__file__).resolve().parent.parent / "data" / "plans"
EXPECTED = {
    "dong-trieu-2025.yaml": "DT2025",
    "dong-trieu-2024.yaml": "DT2024",
    "dong-lac-2025.yaml": "DL2025",
    "bac-giang-2024.yaml": "BG2024",
    "viet-yen-2024.yaml": "VY2024",
}


def test_all_five_seed_plans_are_there() -> None:
    assert sorted(p.name for p in PLANS.glob("*.yaml")) == sorted(EXPECTED)


@pytest.mark.parametrize(("name", "code"), sorted(EXPECTED.items()))
def test_every_target_of_a_seed_plan_parses(name: str, code: str) -> None:
    plan = load_plan_file(PLANS / name)  # raises, naming every problem, if anything does not parse
    assert plan.code == code
    for indicator in plan.indicators:
        assert indicator.target_raw.strip(), indicator.code
        for part in indicator.parts:
            assert part.reporters, part.code
            if part.target.measure is not Measure.MILESTONE:
                assert part.target.value is not None or part.target.low is not None, part.code


def test_dong_trieu_2025_has_its_22_and_5_indicators() -> None:
    plan = load_plan_file(PLANS / "dong-trieu-2025.yaml")
    by_table: dict[str | None, int] = {}
    for indicator in plan.indicators:
        by_table[indicator.table] = by_table.get(indicator.table, 0) + 1
    assert sorted(by_table.values()) == [5, 22]
    assert len([u for u in plan.units if u.kind in ("commune", "ward")]) >= 10
