"""Plan files (YAML, XLSX) -> a validated PlanSpec.

Pure: imports neither aiogram nor SQLAlchemy. The format is documented in docs/plan-format.md.
A file is either wholly valid or rejected with every problem found, each naming the file, the
line (YAML) or row (XLSX) and the field, so the person fixing it can fix everything in one pass.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import yaml

from models.numbers import NUMBER_PATTERN, parse_number
from models.periods import DEFAULT_DEADLINES, DeadlineRule, Frequency, Period, PeriodError
from models.plan_source import Located, PlanFileError, PlanIssue, megabytes
from models.plan_words import (
    ACCUMULATION_WORDS,
    COMPARISON_WORDS,
    FREQUENCY_WORDS,
    KIND_WORDS,
    MEASURE_WORDS,
    allowed_text,
    key_of,
    kinds_of,
)
from models.plan_xlsx import read_xlsx_plan
from models.schedule import DEFAULT_TIMES, ScheduleTimes, format_quiet_hours
from models.targets import (
    Comparison,
    Measure,
    Target,
    TargetParseError,
    parse_target_detail,
    split_target,
    stated_comparisons,
)
from models.text import fold

FORMAT_VERSION = 1
UNIT_KINDS = (
    "province", "city", "department", "agency", "commune", "ward", "township",
    "enterprise", "organization", "other",
)
LOCAL_KINDS = ("commune", "ward", "township")
OFFICE_KINDS = ("department", "agency")
ACCUMULATIONS = ("year_to_date", "cumulative", "per_period")
DEACTIVATION_REASONS = ("merged", "dissolved")
TITLE_MAX = 60
# The target column of the appendix is what the tracking office reports against, so where the
# document states a target twice the appendix's is chosen unless the file says otherwise.
DEFAULT_TARGET_SOURCE = "Phụ lục"
_PLAN_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_UNIT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_INDICATOR_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,23}$")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# --- the validated plan ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitSpec:
    code: str
    name: str
    kind: str
    parent: str | None = None
    aliases: tuple[str, ...] = ()
    named_in_plan: bool = True
    active: bool = True
    deactivated_on: date | None = None
    deactivation_reason: str | None = None
    merged_into: str | None = None


@dataclass(frozen=True, slots=True)
class TableSpec:
    code: str
    title: str


@dataclass(frozen=True, slots=True)
class GroupSpec:
    code: str
    title: str
    table: str | None = None


@dataclass(frozen=True, slots=True)
class PartSpec:
    code: str
    target: Target
    label: str | None = None
    applies_to: tuple[str, ...] = ()
    numerator_label: str | None = None
    denominator_label: str | None = None
    reporters: tuple[str, ...] = ()  # unit codes, derived or overridden
    reporters_overridden: bool = False
    allow_not_applicable: bool = True  # "không phát sinh" accepted as this part's answer


@dataclass(frozen=True, slots=True)
class ConflictSpec:
    """Another statement of a part's target elsewhere in the document (the plan's body, the
    province's column). The part keeps the chosen target; this one is shown beside it."""

    part: str  # the part's code
    source: str  # where the other statement is: "Thân kế hoạch, mục I.2"
    target: Target  # as it reads there


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    code: str
    number: str
    title: str
    text: str
    target_raw: str
    parts: tuple[PartSpec, ...]
    table: str | None = None
    group: str | None = None
    lead: str | None = None
    coordinating: str | None = None
    tracking: str | None = None
    province_target: str | None = None
    baseline_raw: str | None = None
    baseline: Decimal | None = None
    level_raw: str | None = None
    level: str | None = None  # new | raised | synced
    frequency: Frequency = Frequency.MONTHLY
    accumulation: str = "year_to_date"
    formula: str | None = None
    basis: str | None = None
    reporters_reason: str | None = None  # why these units report it (plan-format.md, Assignments)
    target_source: str = DEFAULT_TARGET_SOURCE  # where the chosen target is stated
    conflicts: tuple[ConflictSpec, ...] = ()
    conflict_rule: str | None = None  # why the chosen target wins, when not the default rule
    evidence_required: bool = False  # `evidence: required`: approvable only with a file proving it


@dataclass(frozen=True, slots=True)
class ScheduleSpec(ScheduleTimes):
    """A plan's deadlines, and the times of `ScheduleTimes` (keyword-only, defaults there)."""

    deadlines: dict[Frequency, DeadlineRule]
    source: str | None = None


@dataclass(frozen=True, slots=True)
class PlanSpec:
    code: str
    title: str
    year: int
    schedule: ScheduleSpec
    units: tuple[UnitSpec, ...]
    indicators: tuple[IndicatorSpec, ...]
    tables: tuple[TableSpec, ...] = ()
    groups: tuple[GroupSpec, ...] = ()
    issuer: str | None = None
    document: str | None = None
    issued_on: date | None = None
    source: str | None = None
    salutation: str | None = None
    coverage_threshold: int | None = None  # percent of units with a figure before a verdict
    tracking_unit: str | None = None
    notes: str | None = None
    collect_from: Period | None = None  # the first month the bot collects (periods.collects)

    @property
    def parts(self) -> list[PartSpec]:
        return [part for indicator in self.indicators for part in indicator.parts]


# --- YAML with places ------------------------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that builds Located mappings and refuses duplicate keys."""


# libyaml's parser, where PyYAML was built with it: the same constructor and resolver on a C
# scanner and parser, about ten times faster on a province's plan (10,000 units). Its error
# messages are worded differently, so a file it refuses is read again by the Python loader, whose
# wording (and line) the person is shown.
_FastLoader: type | None = None
if getattr(yaml, "__with_libyaml__", False):
    class _CLineLoader(yaml.CSafeLoader):  # type: ignore[name-defined,misc]
        """CSafeLoader building Located mappings, as _LineLoader."""

    _FastLoader = _CLineLoader


def _construct_located(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    result = Located()
    result.number = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, bool):
            # YAML 1.1 reads the key `on:` (deactivated: {on: ...}) as True; keys are names here.
            key = key_node.value
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_numbers[key] = key_node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_located)
if _FastLoader is not None:
    _FastLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_located)


# --- entry points -----------------------------------------------------------------------------


def load_plan_file(path: str | Path) -> PlanSpec:
    """Read and validate a YAML or XLSX plan; raises PlanFileError listing every problem."""
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise PlanFileError(shown, [PlanIssue("line", None, "-", "plan-error-no-file")])
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw = read_xlsx_plan(path)
    elif path.suffix.lower() in (".yaml", ".yml"):
        raw = _read_yaml(path)
    else:
        raise PlanFileError(
            shown, [PlanIssue("line", None, "-", "plan-error-file-type",
                              (("suffix", path.suffix or "-"),))]
        )
    return build_plan(raw, shown)


# Limits checked before a YAML plan is loaded. The real plans are 20-40 KB, at most 6 levels deep,
# without aliases; a province with thousands of units stays far below these.
MAX_YAML_BYTES = 5 * 2**20
MAX_YAML_DEPTH = 32
MAX_YAML_ALIASES = 100  # each may stand for a whole subtree: many would multiply the work


def _read_yaml(path: Path) -> Located:
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise PlanFileError(str(path), [PlanIssue("line", None, "-", "plan-error-too-large", (
            ("size", megabytes(size)), ("limit", megabytes(MAX_YAML_BYTES))))])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PlanFileError(str(path), [PlanIssue("line", None, "-", "plan-error-encoding")]) from None
    data = _load_fast(path, text)
    try:
        if data is None:
            _check_yaml_shape(path, text, yaml.SafeLoader)
            data = yaml.load(text, Loader=_LineLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or exc.context or "").strip()
        raise PlanFileError(
            str(path), [PlanIssue("line", line, "-", "plan-error-yaml", (("problem", problem),))]
        ) from None
    except yaml.YAMLError as exc:
        raise PlanFileError(
            str(path), [PlanIssue("line", None, "-", "plan-error-yaml", (("problem", str(exc)),))]
        ) from None
    if not isinstance(data, Located):
        raise PlanFileError(str(path), [PlanIssue("line", 1, "-", "plan-error-not-mapping")])
    return data


def _load_fast(path: Path, text: str) -> Any:
    """The document through libyaml, or None when it is not there or finds a problem (the Python
    loader then reads the file and words the problem)."""
    if _FastLoader is None:
        return None
    try:
        _check_yaml_shape(path, text, yaml.CSafeLoader)  # type: ignore[attr-defined]
        return yaml.load(text, Loader=_FastLoader)
    except yaml.YAMLError:
        return None


def _check_yaml_shape(path: Path, text: str, loader: type) -> None:
    """Nesting depth and aliases, from the parser's events: its state machine keeps an explicit
    stack, so a document nested 100,000 deep is refused here instead of overflowing the
    recursive loader."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise PlanFileError(str(path), [PlanIssue("line", event.start_mark.line + 1, "-", "plan-error-too-deep",
                                                          (("limit", str(MAX_YAML_DEPTH)),))])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise PlanFileError(str(path), [PlanIssue("line", event.start_mark.line + 1, "-", "plan-error-aliases",
                                                          (("limit", str(MAX_YAML_ALIASES)),))])


def build_plan(raw: Located, shown_path: str) -> PlanSpec:
    """Validate raw located data (from YAML or XLSX) into a PlanSpec."""
    builder = _Builder(raw)
    plan = builder.build()
    if builder.issues or plan is None:
        raise PlanFileError(shown_path, builder.issues)
    return plan


# --- validation -------------------------------------------------------------------------------


_Choice = TypeVar("_Choice", bound=enum.Enum)


@dataclass(slots=True)
class _PartsOf:
    """What each part of one indicator is read against."""

    node: Located  # the indicator
    label: str
    code: str
    target_raw: str  # the indicator's target cell
    pieces: list[str]  # its pieces, when it is compound ("10%; 47-50%")
    stated: list[tuple[Decimal, Comparison | None]]  # percentages the indicator's text states
    reporters: Located | None  # the indicator's `reporters`, for parts without their own
    named_in: str  # lead and coordinating units: reporters are derived from them otherwise
    units: list[UnitSpec]
    formula_labels: tuple[str | None, str | None]
    single: bool  # the indicator has one part
    used: set[int] = field(default_factory=set)  # positions in `stated` already given to a part

    def take_stated(self, target: Target) -> Target:
        """A bare percentage takes the comparison the text states for the same value, each
        statement going to one part, in order ("trên 10% ... tối thiểu 10%")."""
        for position, (value, comparison) in enumerate(self.stated):
            if position not in self.used and value == target.value:
                self.used.add(position)
                return target if comparison is None else _with_comparison(target, comparison)
        return target


class _Builder:
    def __init__(self, raw: Located) -> None:
        self.raw = raw
        self.issues: list[PlanIssue] = []

    # reporting

    def error(self, node: Any, key: str | None, field_name: str, message: str, **params: Any) -> None:
        where, number, sheet = "line", None, None
        if isinstance(node, Located):
            where, number, sheet = node.where, node.place_of(key), node.sheet
        self.issues.append(
            PlanIssue(where, number, field_name, message,
                      tuple((k, str(v)) for k, v in params.items()), sheet)
        )

    # typed getters: each records an issue and returns None on a bad value

    def text(self, node: Located, key: str, label: str, required: bool = False) -> str | None:
        value = node.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(node, key, label, "plan-error-required")
            return None
        if isinstance(value, (int, float, Decimal, date)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.error(node, key, label, "plan-error-not-text")
            return None
        return re.sub(r"[ \t]+", " ", value.strip())

    def integer(self, node: Located, key: str, label: str, low: int, high: int,
                default: int | None = None, required: bool = False) -> int | None:
        value = node.get(key)
        if value is None:
            if required:
                self.error(node, key, label, "plan-error-required")
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.error(node, key, label, "plan-error-integer", low=low, high=high, value=value)
            return default
        return value

    def boolean(self, node: Located, key: str, label: str, default: bool) -> bool:
        value = node.get(key)
        if value is None:
            return default
        if isinstance(value, str) and fold(value) in ("true", "yes", "co", "1", "false", "no", "khong", "0"):
            return fold(value) in ("true", "yes", "co", "1")
        if not isinstance(value, bool):
            self.error(node, key, label, "plan-error-boolean", value=value)
            return default
        return value

    def day(self, node: Located, key: str, label: str) -> date | None:
        value = node.get(key)
        if value is None or isinstance(value, date):
            return value if not isinstance(value, datetime) else value.date()
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", value)
            try:
                if match:
                    d, m, y = (int(g) for g in match.groups())
                    return date(y, m, d)
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(node, key, label, "plan-error-date", value=value)
        return None

    def month(self, node: Located, key: str, label: str) -> Period | None:
        """A calendar month: 2025-04 (or a date, whose month is taken)."""
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, date):
            return Period(value.year, Frequency.MONTHLY, value.month)
        try:
            period = Period.parse(str(value))
        except PeriodError:
            period = None
        if period is None or period.frequency is not Frequency.MONTHLY:
            self.error(node, key, label, "plan-error-month", value=value)
            return None
        return period

    def clock(self, node: Located, key: str, label: str, default: time) -> time:
        value = node.get(key)
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            # YAML 1.1 reads an unquoted 08:00 as sexagesimal 480.
            value = f"{value // 60:02d}:{value % 60:02d}"
        match = _CLOCK.match(str(value).strip())
        if not match:
            self.error(node, key, label, "plan-error-clock", value=value)
            return default
        return time(int(match.group(1)), int(match.group(2)))

    def mapping(self, node: Located, key: str, label: str) -> Located | None:
        value = node.get(key)
        if value is None:
            return None
        if not isinstance(value, Located):
            self.error(node, key, label, "plan-error-not-mapping-field")
            return None
        return value

    def items(self, node: Located, key: str, label: str, required: bool = False) -> list[Located]:
        value = node.get(key)
        if value is None:
            if required:
                self.error(node, key, label, "plan-error-required")
            return []
        if not isinstance(value, list):
            self.error(node, key, label, "plan-error-not-list")
            return []
        result = []
        for index, item in enumerate(value, start=1):
            if isinstance(item, Located):
                result.append(item)
            else:
                self.error(node, key, f"{label}[{index}]", "plan-error-not-mapping-field")
        return result

    def kind_list(self, node: Located, key: str, label: str) -> tuple[str, ...]:
        """Unit kinds as keys: a list, or a cell's text in Vietnamese ("Xã, phường") or English
        ("commune, ward"); a word that names no kind is kept as written, for the error."""
        value = node.get(key)
        if isinstance(value, str):
            kinds, unknown = kinds_of(value)
            return (*kinds, *unknown)
        return tuple(key_of(kind, KIND_WORDS) or kind for kind in self.strings(node, key, label))

    def strings(self, node: Located, key: str, label: str) -> tuple[str, ...]:
        value = node.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            # "a; b" (as export writes), or "a, b" typed by hand when no name holds a comma.
            value = value.split(";") if ";" in value else value.split(",")
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.error(node, key, label, "plan-error-not-list")
            return ()
        return tuple(str(v).strip() for v in value if str(v).strip())

    def unknown_keys(self, node: Located, allowed: set[str], label: str) -> None:
        for key in node:
            if key not in allowed:
                self.error(node, key, f"{label}.{key}", "plan-error-unknown-field",
                           allowed=", ".join(sorted(allowed)))

    # the plan

    def build(self) -> PlanSpec | None:
        raw = self.raw
        self.unknown_keys(raw, {"format", "plan", "schedule", "units", "tables", "groups", "indicators"}, "")
        version = raw.get("format")
        if version != FORMAT_VERSION:
            self.error(raw, "format", "format", "plan-error-format", version=FORMAT_VERSION)
        head = self.mapping(raw, "plan", "plan")
        if head is None:
            self.error(raw, "plan", "plan", "plan-error-required")
            head = Located()
        self.unknown_keys(head, {"code", "title", "year", "issuer", "document", "issued_on", "source",
                                 "salutation", "coverage_threshold", "tracking_unit", "notes",
                                 "collect_from"}, "plan")
        code = self.text(head, "code", "plan.code", required=True)
        if code and not _PLAN_CODE.match(code):
            self.error(head, "code", "plan.code", "plan-error-code", value=code)
        title = self.text(head, "title", "plan.title", required=True)
        year = self.integer(head, "year", "plan.year", 2000, 2100, required=True)
        schedule = self.schedule(self.mapping(raw, "schedule", "schedule") or Located())
        units = self.units(self.items(raw, "units", "units", required=True))
        unit_codes = {unit.code for unit in units}
        tracking_unit = self.text(head, "tracking_unit", "plan.tracking_unit")
        if tracking_unit and tracking_unit not in unit_codes:
            self.error(head, "tracking_unit", "plan.tracking_unit", "plan-error-unknown-unit", code=tracking_unit)
        tables = self.tables(self.items(raw, "tables", "tables"))
        groups = self.groups(self.items(raw, "groups", "groups"), {t.code for t in tables})
        indicators = self.indicators(
            self.items(raw, "indicators", "indicators", required=True), units,
            {t.code for t in tables}, {g.code for g in groups},
        )
        if self.issues or not (code and title and year):
            return None
        return PlanSpec(
            code=code, title=title, year=year, schedule=schedule, units=tuple(units),
            indicators=tuple(indicators), tables=tuple(tables), groups=tuple(groups),
            issuer=self.text(head, "issuer", "plan.issuer"),
            document=self.text(head, "document", "plan.document"),
            issued_on=self.day(head, "issued_on", "plan.issued_on"),
            source=self.text(head, "source", "plan.source"),
            salutation=self.text(head, "salutation", "plan.salutation"),
            coverage_threshold=self.integer(head, "coverage_threshold", "plan.coverage_threshold", 1, 100),
            tracking_unit=tracking_unit, notes=self.text(head, "notes", "plan.notes"),
            collect_from=self.month(head, "collect_from", "plan.collect_from"),
        )

    def schedule(self, node: Located) -> ScheduleSpec:
        self.unknown_keys(node, {"source", "deadlines", "prompt_days_before", "prompt_time",
                                 "reminder_time", "overdue_time", "escalate_after_days",
                                 "summary_time", "quiet_hours"}, "schedule")
        deadlines = dict(DEFAULT_DEADLINES)
        given = self.mapping(node, "deadlines", "schedule.deadlines") or Located()
        for key, value in given.items():
            label = f"schedule.deadlines.{key}"
            try:
                frequency = Frequency(key_of(key, FREQUENCY_WORDS) or key)
            except ValueError:
                self.error(given, key, label, "plan-error-frequency", value=key,
                           allowed=allowed_text(FREQUENCY_WORDS))
                continue
            if not isinstance(value, Located):
                self.error(given, key, label, "plan-error-not-mapping-field")
                continue
            self.unknown_keys(value, {"day", "month", "before"}, label)
            day = self.integer(value, "day", f"{label}.day", 1, 31, required=True)
            month: str | int = value.get("month", "last")
            if isinstance(month, str) and month.strip().isdigit():
                month = int(month)
            before = self.boolean(value, "before", f"{label}.before", False)
            if day is None:
                continue
            try:
                rule = DeadlineRule(day=day, month=month, before=before)
                rule.validate_for(frequency)
                deadlines[frequency] = rule
            except ValueError as exc:
                self.error(value, "month", f"{label}.month", "plan-error-deadline", problem=str(exc))
        quiet = self.text(node, "quiet_hours", "schedule.quiet_hours") or format_quiet_hours(
            DEFAULT_TIMES.quiet_start, DEFAULT_TIMES.quiet_end)
        quiet_match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", quiet)
        quiet_start, quiet_end = DEFAULT_TIMES.quiet_start, DEFAULT_TIMES.quiet_end
        if quiet_match and int(quiet_match.group(1)) < 24 and int(quiet_match.group(3)) < 24 \
                and int(quiet_match.group(2)) < 60 and int(quiet_match.group(4)) < 60:
            quiet_start = time(int(quiet_match.group(1)), int(quiet_match.group(2)))
            quiet_end = time(int(quiet_match.group(3)), int(quiet_match.group(4)))
        else:
            self.error(node, "quiet_hours", "schedule.quiet_hours", "plan-error-quiet-hours", value=quiet)
        return ScheduleSpec(
            deadlines=deadlines,
            source=self.text(node, "source", "schedule.source"),
            prompt_days_before=self.integer(node, "prompt_days_before", "schedule.prompt_days_before", 0, 30,
                                            default=DEFAULT_TIMES.prompt_days_before) or 0,
            prompt_time=self.clock(node, "prompt_time", "schedule.prompt_time", DEFAULT_TIMES.prompt_time),
            reminder_time=self.clock(node, "reminder_time", "schedule.reminder_time", DEFAULT_TIMES.reminder_time),
            overdue_time=self.clock(node, "overdue_time", "schedule.overdue_time", DEFAULT_TIMES.overdue_time),
            escalate_after_days=self.integer(node, "escalate_after_days", "schedule.escalate_after_days", 0, 30,
                                             default=DEFAULT_TIMES.escalate_after_days) or 0,
            summary_time=self.clock(node, "summary_time", "schedule.summary_time", DEFAULT_TIMES.summary_time),
            quiet_start=quiet_start, quiet_end=quiet_end,
        )

    def units(self, nodes: list[Located]) -> list[UnitSpec]:
        units: list[UnitSpec] = []
        seen: dict[str, Located] = {}
        for index, node in enumerate(nodes, start=1):
            label = f"units[{index}]"
            self.unknown_keys(node, {"code", "name", "kind", "parent", "aliases", "named_in_plan",
                                     "active", "deactivated"}, label)
            code = self.text(node, "code", f"{label}.code", required=True)
            name = self.text(node, "name", f"{label}.name", required=True)
            kind = self.text(node, "kind", f"{label}.kind", required=True)
            kind = key_of(kind, KIND_WORDS) or kind  # "Phòng, ban" as well as "department"
            if code and not _UNIT_CODE.match(code):
                self.error(node, "code", f"{label}.code", "plan-error-code", value=code)
            if code in seen:
                self.error(node, "code", f"{label}.code", "plan-error-duplicate", value=code)
            if kind and kind not in UNIT_KINDS:
                self.error(node, "kind", f"{label}.kind", "plan-error-unit-kind", value=kind,
                           allowed=allowed_text(KIND_WORDS))
            deactivated, on, reason, into = self.deactivation(node, label)
            if code and name and kind:
                seen[code] = node
                units.append(UnitSpec(
                    code=code, name=name, kind=kind, parent=self.text(node, "parent", f"{label}.parent"),
                    aliases=self.strings(node, "aliases", f"{label}.aliases"),
                    named_in_plan=self.boolean(node, "named_in_plan", f"{label}.named_in_plan", True),
                    active=self.boolean(node, "active", f"{label}.active", not deactivated) and not deactivated,
                    deactivated_on=on, deactivation_reason=reason, merged_into=into,
                ))
        self.unit_links(units, seen, nodes)
        return units

    def deactivation(self, node: Located, label: str) -> tuple[bool, date | None, str | None, str | None]:
        """Whether the unit has a `deactivated` entry, and its day, reason and successor."""
        deactivated = self.mapping(node, "deactivated", f"{label}.deactivated")
        if deactivated is None:
            return False, None, None, None
        label = f"{label}.deactivated"
        self.unknown_keys(deactivated, {"on", "reason", "into"}, label)
        on = self.day(deactivated, "on", f"{label}.on")
        if on is None:
            self.error(deactivated, "on", f"{label}.on", "plan-error-required")
        reason = self.text(deactivated, "reason", f"{label}.reason")
        if reason and reason not in DEACTIVATION_REASONS:
            self.error(deactivated, "reason", f"{label}.reason", "plan-error-choice",
                       value=reason, allowed=", ".join(DEACTIVATION_REASONS))
        return True, on, reason, self.text(deactivated, "into", f"{label}.into")

    def unit_links(self, units: list[UnitSpec], seen: dict[str, Located], nodes: list[Located]) -> None:
        """Parents and successors name units of the plan, and no unit is its own ancestor."""
        codes = {unit.code for unit in units}
        # By identity: list.index would compare the mappings by value, 10,000 by 10,000.
        positions = {id(node): index for index, node in enumerate(nodes, start=1)}
        for unit in units:
            node = seen[unit.code]
            index = positions[id(node)]
            if unit.parent and unit.parent not in codes:
                self.error(node, "parent", f"units[{index}].parent", "plan-error-unknown-unit", code=unit.parent)
            if unit.merged_into and unit.merged_into not in codes:
                self.error(node, "deactivated", f"units[{index}].deactivated.into", "plan-error-unknown-unit",
                           code=unit.merged_into)
        parents = {unit.code: unit.parent for unit in units}
        for unit in units:
            walk, steps = unit.parent, 0
            while walk and steps <= len(units):
                if walk == unit.code:
                    self.error(seen[unit.code], "parent", f"units.{unit.code}.parent", "plan-error-cycle")
                    break
                walk, steps = parents.get(walk), steps + 1

    def tables(self, nodes: list[Located]) -> list[TableSpec]:
        tables = []
        for index, node in enumerate(nodes, start=1):
            self.unknown_keys(node, {"code", "title"}, f"tables[{index}]")
            code = self.text(node, "code", f"tables[{index}].code", required=True)
            title = self.text(node, "title", f"tables[{index}].title", required=True)
            if code and any(t.code == code for t in tables):
                self.error(node, "code", f"tables[{index}].code", "plan-error-duplicate", value=code)
            elif code and title:
                tables.append(TableSpec(code, title))
        return tables

    def groups(self, nodes: list[Located], tables: set[str]) -> list[GroupSpec]:
        groups = []
        for index, node in enumerate(nodes, start=1):
            label = f"groups[{index}]"
            self.unknown_keys(node, {"code", "title", "table"}, label)
            code = self.text(node, "code", f"{label}.code", required=True)
            title = self.text(node, "title", f"{label}.title", required=True)
            table = self.text(node, "table", f"{label}.table")
            if table and table not in tables:
                self.error(node, "table", f"{label}.table", "plan-error-unknown-table", code=table)
            if code and any(g.code == code and g.table == table for g in groups):
                self.error(node, "code", f"{label}.code", "plan-error-duplicate", value=code)
            elif code and title:
                groups.append(GroupSpec(code, title, table))
        return groups

    def indicators(self, nodes: list[Located], units: list[UnitSpec], tables: set[str],
                   groups: set[str]) -> list[IndicatorSpec]:
        indicators: list[IndicatorSpec] = []
        codes: set[str] = set()
        part_codes: set[str] = set()
        for index, node in enumerate(nodes, start=1):
            label = f"indicators[{index}]"
            self.unknown_keys(node, {"code", "number", "table", "group", "title", "text", "lead",
                                     "coordinating", "tracking", "province_target", "target",
                                     "baseline", "level", "frequency", "accumulation", "formula",
                                     "basis", "parts", "reporters", "reporters_reason",
                                     "target_source", "conflicts", "conflict_rule", "evidence"}, label)
            code = self.text(node, "code", f"{label}.code", required=True)
            if code:
                label = f"indicators.{code}"
                self.indicator_code(node, label, code, codes)
            title = self.text(node, "title", f"{label}.title", required=True)
            if title and len(title) > TITLE_MAX:
                self.error(node, "title", f"{label}.title", "plan-error-title-long", max=TITLE_MAX, length=len(title))
            text = self.text(node, "text", f"{label}.text", required=True)
            target_raw = self.text(node, "target", f"{label}.target", required=True)
            table = self.text(node, "table", f"{label}.table")
            if table and table not in tables:
                self.error(node, "table", f"{label}.table", "plan-error-unknown-table", code=table)
            group = self.text(node, "group", f"{label}.group")
            if group and group not in groups:
                self.error(node, "group", f"{label}.group", "plan-error-unknown-group", code=group)
            frequency = self.frequency(node, label)
            lead = self.text(node, "lead", f"{label}.lead")
            coordinating = self.text(node, "coordinating", f"{label}.coordinating")
            formula = self.text(node, "formula", f"{label}.formula")
            if not (code and title and text and target_raw):
                continue
            parts = self.parts(node, label, code, text, target_raw, formula, lead, coordinating, units)
            for part in parts:
                if part.code in part_codes or (part.code != code and part.code in codes):
                    self.error(node, "parts", f"{label}.parts.{part.code}", "plan-error-duplicate", value=part.code)
                part_codes.add(part.code)
            accumulation = self.accumulation(node, label, parts)
            level_raw = self.text(node, "level", f"{label}.level")
            baseline_raw = self.text(node, "baseline", f"{label}.baseline")
            indicators.append(IndicatorSpec(
                code=code, number=self.text(node, "number", f"{label}.number") or code,
                title=title, text=text, target_raw=target_raw, parts=tuple(parts), table=table,
                group=group, lead=lead, coordinating=coordinating,
                tracking=self.text(node, "tracking", f"{label}.tracking"),
                province_target=self.text(node, "province_target", f"{label}.province_target"),
                baseline_raw=baseline_raw, baseline=_first_number(baseline_raw),
                level_raw=level_raw, level=_level(level_raw), frequency=frequency,
                accumulation=accumulation, formula=formula,
                basis=self.text(node, "basis", f"{label}.basis"),
                reporters_reason=self.text(node, "reporters_reason", f"{label}.reporters_reason"),
                target_source=self.text(node, "target_source", f"{label}.target_source")
                or DEFAULT_TARGET_SOURCE,
                conflicts=tuple(self.conflicts(node, label, parts)),
                conflict_rule=self.text(node, "conflict_rule", f"{label}.conflict_rule"),
                evidence_required=self.evidence(node, label),
            ))
        return indicators

    def parts(self, node: Located, label: str, code: str, text: str, target_raw: str,
              formula: str | None, lead: str | None, coordinating: str | None,
              units: list[UnitSpec]) -> list[PartSpec]:
        pieces = split_target(target_raw)
        if target_raw.strip() in ("-", "") or not pieces:
            pieces = []
        part_nodes = self.part_nodes(node, label, code, target_raw, pieces)
        if part_nodes is None:
            return []
        of = _PartsOf(
            node=node, label=label, code=code, target_raw=target_raw, pieces=pieces,
            stated=stated_comparisons(text), reporters=self.mapping(node, "reporters", f"{label}.reporters"),
            named_in=" ; ".join(filter(None, [lead, coordinating])), units=units,
            formula_labels=_formula_labels(formula), single=len(part_nodes) == 1,
        )
        read = [self.part(of, index, part_node) for index, part_node in enumerate(part_nodes)]
        return [part for part in read if part is not None]

    def indicator_code(self, node: Located, label: str, code: str, codes: set[str]) -> None:
        """Check an indicator's code and note it among `codes`."""
        if not _INDICATOR_CODE.match(code):
            self.error(node, "code", f"{label}.code", "plan-error-code", value=code)
        if code in codes:
            self.error(node, "code", f"{label}.code", "plan-error-duplicate", value=code)
        codes.add(code)

    def frequency(self, node: Located, label: str) -> Frequency:
        raw = self.text(node, "frequency", f"{label}.frequency")
        if not raw:
            return Frequency.MONTHLY
        try:
            return Frequency(key_of(raw, FREQUENCY_WORDS) or raw)  # "Tháng", "Quý", "6 tháng", "Năm"
        except ValueError:
            self.error(node, "frequency", f"{label}.frequency", "plan-error-frequency",
                       value=raw, allowed=allowed_text(FREQUENCY_WORDS))
            return Frequency.MONTHLY

    def evidence(self, node: Located, label: str) -> bool:
        """`evidence: required` or `optional` (the default)."""
        evidence = self.text(node, "evidence", f"{label}.evidence")
        if evidence not in (None, "required", "optional"):
            self.error(node, "evidence", f"{label}.evidence", "plan-error-choice", value=evidence,
                       allowed="required, optional")
        return evidence == "required"

    def accumulation(self, node: Located, label: str, parts: list[PartSpec]) -> str:
        """How figures add up over the year; counts accumulate unless the plan says otherwise."""
        accumulation = self.text(node, "accumulation", f"{label}.accumulation")
        if accumulation is None:
            measures = {part.target.measure for part in parts}
            return "cumulative" if measures == {Measure.COUNT} else "year_to_date"
        accumulation = key_of(accumulation, ACCUMULATION_WORDS) or accumulation  # "Lũy kế từ đầu năm"
        if accumulation not in ACCUMULATIONS:
            self.error(node, "accumulation", f"{label}.accumulation", "plan-error-choice",
                       value=accumulation, allowed=allowed_text(ACCUMULATION_WORDS))
        return accumulation

    def part_nodes(self, node: Located, label: str, code: str, target_raw: str,
                   pieces: list[str]) -> list[Located] | None:
        """The indicator's parts as written, or the indicator itself as its only part; None (the
        problem noted) when its target and its parts do not fit together."""
        part_nodes = self.items(node, "parts", f"{label}.parts")
        if not part_nodes:
            if not pieces:
                self.error(node, "target", f"{label}.target", "plan-error-target-needs-parts", raw=target_raw)
                return None
            if len(pieces) > 1:
                self.error(node, "target", f"{label}.target", "plan-error-compound-needs-parts",
                           raw=target_raw, count=len(pieces))
                return None
            whole = Located(code=code)
            whole.where, whole.number, whole.sheet = node.where, node.place_of("target"), node.sheet
            return [whole]
        if len(pieces) > 1 and len(part_nodes) != len(pieces) and not all("target" in p for p in part_nodes):
            self.error(node, "parts", f"{label}.parts", "plan-error-parts-count",
                       pieces=len(pieces), parts=len(part_nodes))
            return None
        return part_nodes

    def part(self, of: _PartsOf, index: int, node: Located) -> PartSpec | None:
        """The indicator's `index`-th part (from 0), or None when it cannot be read."""
        label = f"{of.label}.parts[{index + 1}]"
        self.unknown_keys(node, {"code", "label", "applies_to", "target", "comparison", "measure", "numerator",
                                 "denominator", "unit", "reporters", "allow_not_applicable", "condition"}, label)
        code = self.part_code(of, node, label)
        if code is None:
            return None
        target = self.part_target(of, index, node, label)
        if target is None:
            return None
        target, numerator, denominator = self.ratio_labels(of, node, label, target)
        unit_label = self.text(node, "unit", f"{label}.unit")
        if unit_label:
            target = _replace(target, unit=unit_label)
        condition = self.text(node, "condition", f"{label}.condition")
        if condition:
            target = _replace(target, condition=condition)
        applies_to = self.unit_kinds(node, "applies_to", f"{label}.applies_to")
        own = self.mapping(node, "reporters", f"{label}.reporters")
        chosen = own if own is not None else of.reporters
        if chosen is not None:
            reporters = self.reporters(chosen, f"{label}.reporters", of.units, applies_to)
        else:
            reporters = derive_reporters(of.named_in, of.units, applies_to)
            if not reporters:
                self.error(of.node, "coordinating", f"{label}.reporters", "plan-error-no-reporters", part=code)
        return PartSpec(
            code=code, target=target, label=self.text(node, "label", f"{label}.label"),
            applies_to=applies_to, numerator_label=numerator, denominator_label=denominator,
            reporters=reporters, reporters_overridden=chosen is not None,
            allow_not_applicable=self.boolean(node, "allow_not_applicable", f"{label}.allow_not_applicable", True),
        )

    def part_code(self, of: _PartsOf, node: Located, label: str) -> str | None:
        code = self.text(node, "code", f"{label}.code")
        if code is None:
            if not of.single:
                self.error(node, "code", f"{label}.code", "plan-error-required")
                return None
            code = of.code  # an indicator's only part may go without a code: it has the indicator's
        if not _INDICATOR_CODE.match(code):
            self.error(node, "code", f"{label}.code", "plan-error-code", value=code)
        return code

    def part_target(self, of: _PartsOf, index: int, node: Located, label: str) -> Target | None:
        """The part's own target, else its piece of the indicator's compound target; with the
        comparison the part states, else the one the indicator's text states for that value."""
        own_raw = self.text(node, "target", f"{label}.target")
        raw = own_raw or (of.pieces[index] if index < len(of.pieces) else None)
        if raw is None:
            self.error(node, "target", f"{label}.target", "plan-error-part-target", raw=of.target_raw)
            return None
        measure = self.choice(node, "measure", f"{label}.measure", Measure, MEASURE_WORDS)
        try:
            target, explicit = parse_target_detail(raw, measure)
        except (TargetParseError, ValueError):
            where, where_label = (node, label) if own_raw else (of.node, of.label)
            self.error(where, "target", f"{where_label}.target", "plan-error-target", raw=raw)
            return None
        comparison_raw = self.text(node, "comparison", f"{label}.comparison")
        if comparison_raw:
            try:
                comparison = key_of(comparison_raw, COMPARISON_WORDS) or comparison_raw  # "≥" or "at_least"
                return _with_comparison(target, Comparison(comparison))
            except ValueError:
                self.error(node, "comparison", f"{label}.comparison", "plan-error-choice",
                           value=comparison_raw, allowed=allowed_text(COMPARISON_WORDS))
                return None
        if not explicit and target.value is not None and target.is_percentage:
            return of.take_stated(target)
        return target

    def ratio_labels(self, of: _PartsOf, node: Located, label: str,
                     target: Target) -> tuple[Target, str | None, str | None]:
        """A percentage with numerator and denominator labels is a ratio (an only part takes the
        labels from the indicator's formula); a ratio needs both."""
        numerator = self.text(node, "numerator", f"{label}.numerator")
        denominator = self.text(node, "denominator", f"{label}.denominator")
        if target.measure is Measure.PERCENT and of.single and not (numerator or denominator):
            numerator, denominator = of.formula_labels
        if (numerator or denominator) and target.measure is Measure.PERCENT:
            target = _replace(target, measure=Measure.RATIO)
        if target.measure is Measure.RATIO and not (numerator and denominator):
            self.error(node, "numerator", f"{label}.numerator", "plan-error-ratio-labels")
        return target, numerator, denominator

    def choice(self, node: Located, key: str, label: str, kind: type[_Choice],
               words: dict[str, tuple[str, ...]] | None = None) -> _Choice | None:
        """One of an enum's values (or a Vietnamese word for it), or None (absent, or not one of
        them: the problem noted)."""
        raw = self.text(node, key, label)
        if not raw:
            return None
        try:
            return kind((key_of(raw, words) if words else None) or raw)
        except ValueError:
            allowed = allowed_text(words) if words else ", ".join(m.value for m in kind)
            self.error(node, key, label, "plan-error-choice", value=raw, allowed=allowed)
            return None

    def unit_kinds(self, node: Located, key: str, label: str) -> tuple[str, ...]:
        kinds = self.kind_list(node, key, label)
        for kind in kinds:
            if kind not in UNIT_KINDS:
                self.error(node, key, label, "plan-error-unit-kind", value=kind, allowed=allowed_text(KIND_WORDS))
        return kinds

    def conflicts(self, node: Located, label: str, parts: list[PartSpec]) -> list[ConflictSpec]:
        found = []
        for index, item in enumerate(self.items(node, "conflicts", f"{label}.conflicts"), start=1):
            clabel = f"{label}.conflicts[{index}]"
            self.unknown_keys(item, {"part", "source", "target"}, clabel)
            source = self.text(item, "source", f"{clabel}.source", required=True)
            raw = self.text(item, "target", f"{clabel}.target", required=True)
            part = self.text(item, "part", f"{clabel}.part")
            if part is None and len(parts) == 1:
                part = parts[0].code
            if part is None or part not in {p.code for p in parts}:
                self.error(item, "part", f"{clabel}.part", "plan-error-conflict-part",
                           value=part or "-", allowed=", ".join(p.code for p in parts))
                continue
            if not (source and raw):
                continue
            try:
                target = parse_target_detail(raw)[0]
            except TargetParseError:
                self.error(item, "target", f"{clabel}.target", "plan-error-target", raw=raw)
                continue
            found.append(ConflictSpec(part=part, source=source, target=target))
        return found

    def reporters(self, node: Located, label: str, units: list[UnitSpec],
                  applies_to: tuple[str, ...]) -> tuple[str, ...]:
        self.unknown_keys(node, {"kinds", "units", "exclude"}, label)
        kinds = self.kind_list(node, "kinds", f"{label}.kinds")
        named = self.strings(node, "units", f"{label}.units")
        exclude = set(self.strings(node, "exclude", f"{label}.exclude"))
        codes = {unit.code for unit in units}
        for kind in kinds:
            if kind not in UNIT_KINDS:
                self.error(node, "kinds", f"{label}.kinds", "plan-error-unit-kind", value=kind,
                           allowed=allowed_text(KIND_WORDS))
        for code in [*named, *exclude]:
            if code not in codes:
                self.error(node, "units", f"{label}.units", "plan-error-unknown-unit", code=code)
        result = tuple(u.code for u in units
                       if (u.kind in kinds or u.code in named) and u.code not in exclude
                       and (not applies_to or u.kind in applies_to or u.code in named))
        if not result:
            self.error(node, None, label, "plan-error-no-reporters", part=label)
        return result


# --- derivations ------------------------------------------------------------------------------

_LOCAL_PATTERN = re.compile(
    r"\bxa\s*[,/-]?\s*(?:phuong|thi tran)|\bphuong\s*[,/-]?\s*(?:xa|thi tran)\b"
    r"|\bdia phuong\b|\bcac xa\b|\bcac phuong\b|\bcap xa\b"
)
_OFFICE_PATTERN = re.compile(
    r"\bcac co quan\s*[,;]?\s*(?:don vi|chuyen mon)|\bco quan\s*,\s*don vi\b|\bcac phong\s*,?\s*ban\b"
    r"|\bcac don vi\b"
)
# Only telecom operators as a class: "các doanh nghiệp" alone may mean any firm in the area.
_ENTERPRISE_PATTERN = re.compile(r"\b(?:doanh nghiep|dn) vien thong\b|\bnha mang\b")


def derive_reporters(text: str, units: list[UnitSpec] | tuple[UnitSpec, ...],
                     applies_to: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Unit codes that a lead/coordinating text names, filtered to the part's unit kinds.

    Names are matched longest first and consumed, so "Văn phòng HĐND và UBND thành phố" is the
    office, not also the city's People's Committee.
    """
    chosen, folded = _named(text, units)
    kinds: set[str] = set()
    if _LOCAL_PATTERN.search(folded):
        kinds.update(LOCAL_KINDS)
    if _OFFICE_PATTERN.search(folded):
        kinds.update(OFFICE_KINDS)
    if _ENTERPRISE_PATTERN.search(folded):
        kinds.add("enterprise")
    chosen.update(unit.code for unit in units if unit.kind in kinds)
    return tuple(unit.code for unit in units
                 if unit.code in chosen and (not applies_to or unit.kind in applies_to))


def named_units(text: str, units: Any) -> set[str]:
    """Codes of the units a text names (by name or alias, without diacritics); no classes of
    units. `units`: objects with code, name and aliases (UnitSpec or the stored Unit)."""
    return _named(text, units)[0]


def _named(text: str, units: Any) -> tuple[set[str], str]:
    """The codes of units named in `text`, and the folded text left once their names are taken
    out. Longest names first, so "Văn phòng HĐND và UBND thành phố" is the office, not also the
    city's People's Committee."""
    folded = f" {fold(text)} "
    chosen: set[str] = set()
    for name, code in _names_longest_first(units):
        # A name that is not even a substring cannot match: most of a province's thousands are
        # skipped here, without compiling a pattern for each.
        if name not in folded:
            continue
        pattern = re.compile(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])")
        if pattern.search(folded):
            chosen.add(code)
            folded = pattern.sub(" ", folded)
    return chosen, folded


# The last few unit lists' names (see _names_longest_first): id -> (the list, its length, names).
_NAMES: dict[int, tuple[Any, int, list[tuple[str, str]]]] = {}
_NAMES_KEPT = 4


def _names_longest_first(units: Any) -> list[tuple[str, str]]:
    """(folded name or alias, unit code), longest first. Kept for the last few lists asked about,
    by identity (a plan being validated asks with the same list for every indicator; a tick, for
    every office it looks for), so 10,000 names are folded and sorted once, not once per
    indicator. The list is held, so its id cannot be reused while it is kept."""
    kept = _NAMES.get(id(units))
    if kept is not None and kept[0] is units and kept[1] == len(units):
        return kept[2]
    names = sorted(
        ((fold(name), unit.code) for unit in units for name in (unit.name, *(unit.aliases or ())) if name.strip()),
        key=lambda pair: len(pair[0]), reverse=True,
    )
    if len(_NAMES) >= _NAMES_KEPT:
        _NAMES.pop(next(iter(_NAMES)))
    _NAMES[id(units)] = (units, len(units), names)
    return names


def _formula_labels(formula: str | None) -> tuple[str | None, str | None]:
    if not formula or "/" not in formula:
        return None, None
    numerator, _, denominator = formula.partition("/")
    numerator, denominator = numerator.strip(), denominator.strip()
    return (numerator, denominator) if numerator and denominator else (None, None)


def _level(raw: str | None) -> str | None:
    if not raw:
        return None
    folded = fold(raw)
    if "moi" in folded:
        return "new"
    if "nang cao" in folded:
        return "raised"
    if "dong bo" in folded or "tinh" in folded:
        return "synced"
    return None


def _first_number(raw: str | None) -> Decimal | None:
    """The number a baseline states: its percentage if it has one ("100.757 tài khoản (đạt
    101,1%)"), else a leading figure ("500 điểm"); years and phase numbers are not results."""
    if not raw:
        return None
    percent = re.search(rf"({NUMBER_PATTERN})\s*%", raw)
    leading = re.match(rf"\s*({NUMBER_PATTERN})(\s*[:/])?", raw)
    match = percent or leading
    if not match or (match is leading and (match.group(2) or re.fullmatch(r"(19|20)\d\d", match.group(1)))):
        return None
    try:
        return parse_number(match.group(1))
    except ValueError:
        return None


def _replace(target: Target, **changes: Any) -> Target:
    return replace(target, **changes)


def _with_comparison(target: Target, comparison: Comparison) -> Target:
    if comparison is Comparison.DONE:
        return _replace(target, measure=Measure.MILESTONE, comparison=comparison)
    if comparison is Comparison.BETWEEN and (target.low is None or target.high is None):
        raise ValueError("between needs a range")
    if comparison is not Comparison.BETWEEN and target.value is None:
        raise ValueError("needs a value")
    return _replace(target, comparison=comparison)


__all__ = [
    "ConflictSpec",
    "IndicatorSpec",
    "Located",
    "PartSpec",
    "PlanFileError",
    "PlanIssue",
    "PlanSpec",
    "ScheduleSpec",
    "UnitSpec",
    "build_plan",
    "derive_reporters",
    "load_plan_file",
    "named_units",
]
