"""The five transcribed plans against their own rows: every number a row's text states is a target
part, the province's figure, another statement of the target (a conflict), or deliberately ignored
here with the reason; every part says who reports it and why."""
from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from models.numbers import NUMBER_PATTERN, NumberError, parse_number
from models.plans import IndicatorSpec, PlanSpec, load_plan_file
from models.targets import Target, TargetParseError, parse_target, split_target
from tests.conftest import PLANS

# Numbers that are never targets: dates, document numbers, network generations, years, "VR360".
NOT_TARGETS = re.compile(
    r"\d{1,2}/\d{1,2}/\d{4}|\d+/\d{4}/[\w-]+|\b\d+/[A-ZĐ][\w-]*|\b[2-5]G\b|\b(?:19|20)\d\d\b|VR360")

# (plan, indicator, number as printed) -> why it is not a target.
IGNORED: dict[tuple[str, str, str], str] = {
    ("BG2024", "17", "1.0"): "the version of the smart-city ICT framework (khung kiến trúc ICT 1.0)",
    ("BG2024", "18", "2"): "a project phase (giai đoạn 2)",
    ("BG2024", "3", "100"): "the scope of the same target (đối với 100% các TTHC yêu cầu xác thực), stated twice",
    ("BG2024", "25", "15"): "an age (từ 15 tuổi trở lên)",
    ("BG2024", "V.4", "1"): "the definition of the target (1 hộ gia đình), whose measure is the milestone",
    ("BG2024", "V.4", "01"): "the definition of the target (ít nhất 01 tài khoản per household)",
    ("DT2024", "III.5", "3"): "a rating (OCOP từ 3 sao), part of the target's wording",
    ("DT2024", "IV.1", "100"): "the unit of measure (thuê bao/100 dân)",
    ("DT2024", "IV.6", "15"): "an age (từ 15 tuổi trở lên)",
    ("DT2024", "IV.6", "2"): "a level of electronic identification (mức độ 2)",
    ("DT2025", "4", "24"): "the recovery time that defines the solution (trong vòng 24 tiếng), not a figure to report",
    ("DT2025", "PL2.5", "2"): "a project phase (giai đoạn 2)",
    ("VY2024", "III.3", "15"): "an age (từ 15 tuổi trở lên)",
}

PLAN_FILES = sorted(PLANS.glob("*.yaml"))


def numbers_of(targets: list[Target]) -> Counter[Decimal]:
    return Counter(n for t in targets for n in {t.value, t.low, t.high} if n is not None)


def stated_numbers(indicator: IndicatorSpec) -> Counter[Decimal]:
    """How many times the file records each number as a target of the row: in its parts and the
    other statements of its targets, or else in the province's column or the target cell."""
    held = numbers_of([part.target for part in indicator.parts] + [c.target for c in indicator.conflicts])
    for raw in (indicator.province_target or "", indicator.target_raw):
        cell: list[Target] = []
        for piece in split_target(raw):
            try:
                cell.append(parse_target(piece))
            except TargetParseError:  # the province's cell may be words ("100% địa phương cấp huyện có …")
                continue
        cell_numbers = numbers_of(cell)
        for match in re.finditer(NUMBER_PATTERN, NOT_TARGETS.sub(" ", raw)):  # "Phấn đấu 07 xã phường 33,33%"
            cell_numbers[parse_number(match.group(0))] = max(1, cell_numbers[parse_number(match.group(0))])
        held |= cell_numbers  # the larger count of each
    return held


def unexplained(plan: PlanSpec) -> list[tuple[str, str, str]]:
    """(indicator, number, context) for each number of a row's text that the file does not hold,
    counting repeats: a text stating "đạt 100%, … đạt 100%" needs two targets of 100%."""
    missing = []
    for indicator in plan.indicators:
        known = stated_numbers(indicator)
        text = NOT_TARGETS.sub(" ", indicator.text)
        for match in re.finditer(NUMBER_PATTERN, text):
            try:
                number = parse_number(match.group(0))
            except NumberError:
                continue
            if known[number] > 0:
                known[number] -= 1
            elif (plan.code, indicator.code, match.group(0)) not in IGNORED:
                missing.append((indicator.code, match.group(0), text[max(0, match.start() - 40):match.end() + 20]))
    return missing


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_every_number_in_a_rows_text_is_a_target_part_or_ignored_with_a_reason(path: Path) -> None:
    assert unexplained(load_plan_file(path)) == []


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_every_ignored_number_is_still_in_its_row(path: Path) -> None:
    """The ignore list cannot rot: an entry whose number left the row's text fails."""
    plan = load_plan_file(path)
    texts = {indicator.code: NOT_TARGETS.sub(" ", indicator.text) for indicator in plan.indicators}
    for (code, indicator, number), _reason in IGNORED.items():
        if code == plan.code:
            assert number in re.findall(NUMBER_PATTERN, texts[indicator]), (indicator, number)


@pytest.mark.parametrize("path", PLAN_FILES, ids=lambda p: p.stem)
def test_every_indicator_says_why_its_units_report_it(path: Path) -> None:
    plan = load_plan_file(path)
    assert [i.code for i in plan.indicators if not i.reporters_reason] == []
    assert [p.code for p in plan.parts if not p.reporters] == []


def test_the_check_fails_on_a_target_left_in_a_rows_text(tmp_path: Path) -> None:
    text = (PLANS / "dong-trieu-2024.yaml").read_text(encoding="utf-8")
    # Indicator II.1 without its second part: the 30% of its text is no longer a part.
    start = text.index('      - code: "II.1b"')
    end = text.index('        reporters: {units: [hcc]}\n', start) + len('        reporters: {units: [hcc]}\n')
    broken = tmp_path / "dt2024.yaml"
    broken.write_text(text[:start] + text[end:], encoding="utf-8")
    assert [(code, number) for code, number, _ in unexplained(load_plan_file(broken))] == [("II.1", "30")]
    # Đông Triều 2025's row 1 states 100% twice (approval, then carrying out the plan): one part is not enough.
    text = (PLANS / "dong-trieu-2025.yaml").read_text(encoding="utf-8")
    start = text.index('      - code: "1b"')
    end = text.index("theo cấp độ đạt 100%\"\n", start) + len("theo cấp độ đạt 100%\"\n")
    broken.write_text(text[:start] + text[end:], encoding="utf-8")
    assert [(code, number) for code, number, _ in unexplained(load_plan_file(broken))] == [("1", "100")]


# What the rows state inside their text, for the Đông Triều 2024 rows issue 20 names.
def test_targets_stated_inside_rows_are_parts() -> None:
    plan = load_plan_file(PLANS / "dong-trieu-2024.yaml")
    parts = {part.code: part.target for part in plan.parts}
    assert (parts["II.1b"].comparison.value, parts["II.1b"].value) == ("at_least", Decimal(30))
    assert (parts["III.3c"].comparison.value, parts["III.3c"].value) == ("at_least", Decimal(80))
    assert [(parts[c].kind, parts[c].comparison.value, parts[c].value) for c in ("IV.7", "IV.7b", "IV.7c", "IV.7d")] == [
        ("milestone", "done", None), ("percent", "below", Decimal(10)), ("percent", "above", Decimal(70)),
        ("percent", "at_least", Decimal(20))]
    assert parts["IV.7d"].condition and parts["IV.7d"].condition.startswith("sau khi Bộ Thông tin và Truyền thông")
    assert (parts["B.3b"].kind, parts["B.3b"].value, parts["B.3b"].unit) == ("count", Decimal(14), "điểm di tích")


def test_the_command_line_lists_every_target_and_warns_of_each_conflict(tmp_path: Path) -> None:
    from tests.test_cli import run

    imported = run("import-plan", str(PLANS), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    warnings = [line for line in imported.stderr.splitlines() if line.startswith("⚠")]
    # One line per conflict: Bắc Giang's body against its appendix (7a, 7b, 20, 23, 25, 26) and
    # Đông Triều 2024's III.1, whose text says 10% and whose target column says 12%.
    assert [line.split(" · ")[0] + " " + line.split("chỉ tiêu ")[1].split(":")[0] for line in warnings] == [
        "⚠ BG2024 7a", "⚠ BG2024 7b", "⚠ BG2024 20", "⚠ BG2024 23", "⚠ BG2024 25", "⚠ BG2024 26", "⚠ DT2024 III.1"]
    twenty = next(line for line in warnings if " 20:" in line)
    assert "Thân kế hoạch, mục II. Mục tiêu ghi «trên 50%»" in twenty and "đang dùng «trên 15%»" in twenty
    for path in PLAN_FILES:
        spec = load_plan_file(path)
        listed = json.loads(run("indicators", "--plan", spec.code, "--json", cwd=tmp_path).stdout)
        assert [(t["part"], t["raw"]) for row in listed for t in row["targets"]] == [
            (part.code, part.target.raw) for part in spec.parts]
        assert all(row["reporters_reason"] for row in listed)
        assert [(c["part"], c["target"]) for row in listed for c in row["conflicts"]] == [
            (c.part, c.target.raw) for indicator in spec.indicators for c in indicator.conflicts]
    bac_giang = json.loads(run("indicators", "--plan", "BG2024", "--json", cwd=tmp_path).stdout)
    assert next(row for row in bac_giang if row["code"] == "20")["conflicts"] == [{
        "part": "20", "source": "Thân kế hoạch, mục II. Mục tiêu", "target": "trên 50%",
        "chosen_source": "Phụ lục (Danh mục nhiệm vụ tỉnh giao), TT 10", "chosen_target": "trên 15%", "rule": None}]


@pytest.mark.parametrize(("plan_file", "city_wide"), [
    ("dong-trieu-2025.yaml", {"12a", "12b", "12c", "12d", "13", "14", "15", "22a", "22b", "22c", "PL2.1"}),
    ("dong-trieu-2024.yaml", {"III.1", "IV.1", "IV.2", "IV.7", "IV.7b", "IV.7c", "IV.7d"}),
    ("bac-giang-2024.yaml", {"20", "23", "24", "25", "26"}),
    ("viet-yen-2024.yaml", {"II.1", "II.2", "II.3", "III.1", "III.2"}),
])
def test_a_city_wide_measure_is_reported_by_one_office_not_by_communes_or_operators(
        plan_file: str, city_wide: set[str]) -> None:
    plan = load_plan_file(PLANS / plan_file)
    kinds = {unit.code: unit.kind for unit in plan.units}
    reporters = {part.code: part.reporters for part in plan.parts if part.code in city_wide}
    assert set(reporters) == city_wide
    assert {code: len(units) for code, units in reporters.items()} == {code: 1 for code in city_wide}
    assert {kinds[unit] for units in reporters.values() for unit in units} <= {"department", "agency", "organization"}
