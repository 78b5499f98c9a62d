"""Plan files: what they express, how they are checked, and how errors are reported."""
from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from locales import translator
from models.periods import Frequency
from models.plans import PlanFileError, derive_reporters, load_plan_file
from models.targets import Comparison, Measure

HERE = Path(__file__).resolve().parent
SMALL = HERE / "data" / "small-plan.yaml"


def write(tmp_path: Path, body: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def parts_by_code(plan):  # type: ignore[no-untyped-def]
    return {part.code: part for part in plan.parts}


def test_a_small_plan_loads_with_every_target_kind() -> None:
    plan = load_plan_file(SMALL)
    parts = parts_by_code(plan)
    assert parts["6"].target.measure is Measure.RATIO
    assert parts["6"].numerator_label == "Số hồ sơ xử lý trực tuyến toàn trình"
    assert parts["9a"].target.value == Decimal(100)
    assert parts["9b"].target.value == Decimal(95)
    assert parts["12a"].target.comparison is Comparison.ABOVE  # "đạt trên 10%" in the text
    assert parts["12b"].target.kind == "range"
    assert (parts["15"].target.measure, parts["15"].target.value) == (Measure.COUNT, Decimal(3))
    assert parts["22"].target.comparison is Comparison.BELOW  # "xuống dưới 10%" in the text
    assert parts["10"].target.kind == "milestone"
    indicators = {i.code: i for i in plan.indicators}
    assert indicators["15"].target_raw == "-"
    assert indicators["12"].frequency is Frequency.YEARLY
    assert indicators["15"].accumulation == "cumulative"
    assert indicators["6"].accumulation == "year_to_date"


def test_reporters_come_from_lead_and_coordinating_filtered_by_kind() -> None:
    parts = parts_by_code(load_plan_file(SMALL))
    assert set(parts["6"].reporters) == {"vhtt", "vp", "an-sinh", "mao-khe"}
    assert set(parts["9a"].reporters) == {"vhtt", "vp"}
    assert set(parts["9b"].reporters) == {"an-sinh", "mao-khe"}
    assert parts["22"].reporters == ("vnpt",)


def test_the_office_of_the_peoples_committee_is_not_also_the_committee() -> None:
    parts = parts_by_code(load_plan_file(SMALL))
    assert parts["10"].reporters == ("vp",)


def test_derivation_reads_names_without_diacritics() -> None:
    units = load_plan_file(SMALL).units
    assert derive_reporters("phong van hoa va thong tin", units) == ("vhtt",)
    assert set(derive_reporters("UBND các xã, phường", units)) == {"an-sinh", "mao-khe"}


def test_reporters_can_be_overridden(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8").replace(
        '    target: "10%"\n',
        '    target: "10%"\n    reporters: {kinds: [commune], units: [vhtt], exclude: []}\n',
    )
    plan = load_plan_file(write(tmp_path, text))
    part = parts_by_code(plan)["22"]
    assert set(part.reporters) == {"an-sinh", "vhtt"}
    assert part.reporters_overridden


def test_the_schedule_has_the_plans_deadlines() -> None:
    schedule = load_plan_file(SMALL).schedule
    assert schedule.deadlines[Frequency.MONTHLY].day == 20
    assert schedule.deadlines[Frequency.YEARLY].before is True
    assert schedule.prompt_days_before == 3


def problems(path: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(path)
    return [(issue.number, issue.field, issue.message) for issue in caught.value.issues]


def test_a_broken_plan_names_every_problem_with_its_line_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, """\
        format: 1
        plan:
          code: X1
          title: Thử
          year: 2025
        units:
          - {code: a, name: "Phòng A", kind: department}
          - {code: b, name: "Phòng B", kind: planet}
        indicators:
          - code: "1"
            title: "Một"
            text: "Chỉ tiêu một"
            lead: "Phòng A"
            target: "nhiều lắm"
          - code: "2"
            title: "Hai"
            text: "Chỉ tiêu hai"
            lead: "Phòng A"
            target: "100%; 95%"
          - code: "1"
            title: "Ba"
            text: "Chỉ tiêu ba"
            target: "50%"
            frequency: weekly
        """)
    found = problems(path)
    assert (8, "units[2].kind", "plan-error-unit-kind") in found
    assert (14, "indicators.1.target", "plan-error-target") in found
    assert (19, "indicators.2.target", "plan-error-compound-needs-parts") in found
    assert (20, "indicators.1.code", "plan-error-duplicate") in found
    assert (24, "indicators.1.frequency", "plan-error-frequency") in found
    assert any(message == "plan-error-no-reporters" for _, _, message in found)


def test_errors_read_in_the_users_language(tmp_path: Path) -> None:
    path = write(tmp_path, "format: 1\nplan: {code: X, title: T, year: 1990}\nunits: []\nindicators: []\n")
    with pytest.raises(PlanFileError) as caught:
        load_plan_file(path)
    vi = caught.value.render(translator("vi"))
    en = caught.value.render(translator("en"))
    assert "dòng 2" in vi and "plan.year" in vi
    assert "line 2" in en and "must be a whole number from 2000 to 2100" in en


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "format: 1\nplan:\n  code: [unclosed\n")
    assert problems(path)[0][2] == "plan-error-yaml"
    assert problems(path)[0][0] is not None


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "format: 1\nformat: 1\n")
    assert problems(path)[0][2] == "plan-error-yaml"


def test_unknown_fields_are_named(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8").replace("  year: 2025\n", "  year: 2025\n  yaer: 2024\n")
    assert (7, "plan.yaer", "plan-error-unknown-field") in problems(write(tmp_path, text))


def test_missing_and_wrong_files_are_explained(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml")[0][2] == "plan-error-no-file"
    assert problems(write(tmp_path, "x", "plan.txt"))[0][2] == "plan-error-file-type"


def test_a_title_too_long_for_a_button_is_refused(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8").replace(
        'title: "Giảm trạm 3G"', 'title: "' + "Giảm trạm 3G " * 6 + '"'
    )
    assert any(message == "plan-error-title-long" for _, _, message in problems(write(tmp_path, text)))


def test_unquoted_clock_times_are_still_read(tmp_path: Path) -> None:
    text = SMALL.read_text(encoding="utf-8").replace(
        "schedule:\n", "schedule:\n  prompt_time: 07:30\n"
    )
    assert load_plan_file(write(tmp_path, text)).schedule.prompt_time.hour == 7
