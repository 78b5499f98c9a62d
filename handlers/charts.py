"""The summary's two pictures, as PNG bytes to send as photos.

- bullet_chart: each indicator part's plan-wide figure (a bar coloured by met / on track / off
  track) against its target (a black tick; the zone that meets the target shaded green). Every
  row has its own scale: 0-100% for percentages, ratios and milestones (the share of units done),
  0 to 1.2 × the larger of the target and the figure for counts; the numbers are written beside.
- grid_chart: units × indicator parts, each cell met / reported but not met / missing / not
  reported by that unit. A large plan shows the units with the most missing reports (then the
  most not met), at most MAX_GRID_UNITS, and says so in its title.

matplotlib with the Agg canvas set explicitly on each figure (no pyplot, no display, no global
state, so rendering may run in a worker thread) and the DejaVu Sans font that ships with
matplotlib and has every Vietnamese glyph. Sizes suit a phone: about 1,000-1,400 pixels wide.
"""
from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any

from handlers.formatting import describe_amount, describe_target, period_label
from locales import Translator
from models.gaps import Status
from models.rollups import Standing
from models.summary_data import IndicatorRow, Summary, UnitRow
from models.targets import Comparison, Measure

if TYPE_CHECKING:
    from matplotlib.figure import Figure as MplFigure

__all__ = ["DPI", "MAX_BULLETS", "MAX_GRID_PARTS", "MAX_GRID_UNITS", "bullet_chart", "bullet_size",
           "grid_chart", "grid_size"]

FONT = "DejaVu Sans"
DPI = 100
MAX_BULLETS = 40
MAX_GRID_UNITS = 40
MAX_GRID_PARTS = 40

COLORS = {
    Standing.MET: "#2e7d32",
    Standing.ON_TRACK: "#f9a825",
    Standing.OFF_TRACK: "#c62828",
    Standing.THIN: "#bdbdbd",
    Standing.NO_DATA: "#9e9e9e",
}
_BAND = "#eeeeee"
_ZONE = "#c8e6c9"

# Bullet chart layout, in inches.
BULLET_WIDTH = 10.8
BULLET_TOP = 1.2
BULLET_ROW = 0.42
BULLET_BOTTOM = 0.9
BULLET_LEFT = 3.6
BULLET_RIGHT = 2.5

# Grid layout, in inches.
GRID_LEFT = 3.3
GRID_RIGHT = 0.3
GRID_TOP = 1.3
GRID_BOTTOM = 0.8
GRID_CELL = 0.3
GRID_MIN_WIDTH = 6.6

# Grid cell states, the colour map's indices.
_NOT_REPORTING, _MET, _NOT_MET, _MISSING, _NOT_APPLICABLE = 0, 1, 2, 3, 4
_GRID_COLORS = ["#f5f5f5", "#2e7d32", "#f9a825", "#c62828", "#90caf9"]

_RC = {"font.family": [FONT], "font.size": 10, "axes.unicode_minus": False}
# rc_context sets matplotlib's global settings for the duration: one chart at a time.
_LOCK = threading.Lock()


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _matplotlib() -> tuple[ModuleType, Any, Any, Any, Any]:
    """matplotlib, loaded when the first chart is drawn rather than when the bot starts (about
    50 MiB that a process which never draws, a webhook worker or the tick, does not pay for)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    return matplotlib, FigureCanvasAgg, ListedColormap, Figure, Patch


def _png(figure: MplFigure) -> bytes:
    _, FigureCanvasAgg, *_ = _matplotlib()
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _inches(value: float) -> float:
    """A size whose pixel count at DPI is a whole number, so the PNG's size is exact."""
    return round(value * DPI) / DPI


def bullet_size(rows: int) -> tuple[int, int]:
    """The bullet chart's size in pixels for `rows` bars (at most MAX_BULLETS are drawn)."""
    rows = max(1, min(rows, MAX_BULLETS))
    height = _inches(BULLET_TOP + BULLET_ROW * rows + BULLET_BOTTOM)
    return round(BULLET_WIDTH * DPI), round(height * DPI)


def grid_size(units: int, parts: int) -> tuple[int, int]:
    """The grid's size in pixels for `units` rows and `parts` columns (capped)."""
    units = max(1, min(units, MAX_GRID_UNITS))
    parts = max(1, min(parts, MAX_GRID_PARTS))
    width = _inches(max(GRID_MIN_WIDTH, GRID_LEFT + GRID_CELL * parts + GRID_RIGHT))
    height = _inches(GRID_TOP + GRID_CELL * units + GRID_BOTTOM)
    return round(width * DPI), round(height * DPI)


def _bullet_rows(summary: Summary) -> list[IndicatorRow]:
    rows = summary.rows
    if len(rows) <= MAX_BULLETS:
        return list(rows)
    order = {row.part_id: index for index, row in enumerate(rows)}
    worst = sorted(rows, key=lambda r: (r.relative_gap is None, -(r.relative_gap or Decimal(0)), order[r.part_id]))
    keep = {row.part_id for row in worst[:MAX_BULLETS]}
    return [row for row in rows if row.part_id in keep]


def _scale(row: IndicatorRow) -> Decimal:
    """The amount that spans the whole row."""
    target = row.target
    if target.is_percentage or target.measure is Measure.MILESTONE or target.comparison is Comparison.DONE:
        return Decimal(100)
    reference = max((v for v in (target.value, target.high, row.amount) if v is not None), default=Decimal(1))
    return max(reference * Decimal("1.2"), Decimal(1))


def _target_marks(row: IndicatorRow) -> tuple[list[Decimal], tuple[Decimal, Decimal]]:
    """Where the target's tick(s) go and the zone that meets it, in the row's amounts."""
    target = row.target
    scale = _scale(row)
    if target.comparison is Comparison.DONE or target.measure is Measure.MILESTONE:
        return [Decimal(100)], (Decimal(100), Decimal(100))
    if target.comparison is Comparison.BETWEEN:
        assert target.low is not None and target.high is not None
        return [target.low, target.high], (target.low, target.high)
    assert target.value is not None
    if target.comparison in (Comparison.AT_MOST, Comparison.BELOW):
        return [target.value], (Decimal(0), target.value)
    return [target.value], (target.value, scale)


def _value_text(row: IndicatorRow, t: Translator) -> str:
    """The figure, the target and the coverage ("3/32"), as the summary's text gives them."""
    target = describe_target(row.target, t)
    coverage = f"{t.number(row.rollup.units_reporting)}/{t.number(row.rollup.units_counted)}"
    if row.amount is None:
        return f"— / {target} · {coverage}"
    if row.target.measure is Measure.MILESTONE or row.target.comparison is Comparison.DONE:
        done = f"{t.number(row.rollup.units_done or 0)}/{t.number(row.rollup.units_counted)}"
        return f"{done} / {target}"
    return f"{describe_amount(row.amount, row.target, t)} / {target} · {coverage}"


def bullet_chart(summary: Summary, t: Translator) -> bytes:
    """Each indicator part's plan-wide figure against its target, as a PNG."""
    rows = _bullet_rows(summary)
    width_px, height_px = bullet_size(len(rows))
    width, height = width_px / DPI, height_px / DPI
    matplotlib, _, _, MplFigure, Patch = _matplotlib()
    with _LOCK, matplotlib.rc_context(_RC):
        figure = MplFigure(figsize=(width, height), dpi=DPI)
        axes = figure.add_axes((BULLET_LEFT / width, BULLET_BOTTOM / height,
                                1 - (BULLET_LEFT + BULLET_RIGHT) / width,
                                1 - (BULLET_TOP + BULLET_BOTTOM) / height))
        count = max(len(rows), 1)
        positions = [count - 1 - index for index in range(len(rows))]
        axes.barh(positions, [1.0] * len(rows), height=0.78, color=_BAND, zorder=1)
        zone_left, zone_width, bars, colors, ticks_x, ticks_y = [], [], [], [], [], []
        for y, row in zip(positions, rows, strict=True):
            scale = _scale(row)
            marks, (low, high) = _target_marks(row)
            zone_left.append(float(min(low, scale) / scale))
            zone_width.append(float((min(high, scale) - min(low, scale)) / scale))
            bars.append(float(min(row.amount, scale) / scale) if row.amount is not None else 0.0)
            colors.append(COLORS[row.standing])
            for mark in marks:
                ticks_x.append(float(min(mark, scale) / scale))
                ticks_y.append(y)
            axes.text(1.05, y, _value_text(row, t), va="center", ha="left", fontsize=9,
                      transform=axes.transData, clip_on=False)
        if rows:
            axes.barh(positions, zone_width, left=zone_left, height=0.78, color=_ZONE, zorder=2)
            axes.barh(positions, bars, height=0.36, color=colors, zorder=3)
            axes.vlines(ticks_x, [y - 0.36 for y in ticks_y], [y + 0.36 for y in ticks_y],
                        colors="#212121", linewidth=2.5, zorder=4)
        else:
            axes.text(0.5, 0, t("chart-nothing"), ha="center", va="center")
        axes.set_xlim(0, 1.03)
        axes.set_ylim(-0.6, count - 0.4)
        axes.set_yticks(positions)
        axes.set_yticklabels([_short(f"{row.code} · {_label(row)}", 44) for row in rows], fontsize=9)
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        axes.set_xticklabels(["0", "25%", "50%", "75%", "100%"], fontsize=8)
        axes.set_xlabel(t("chart-bullet-axis"), fontsize=8)
        for side in ("top", "right", "left"):
            axes.spines[side].set_visible(False)
        axes.tick_params(axis="y", length=0)
        title = t("chart-bullet-title", period=period_label(summary.period, t))
        if len(rows) < len(summary.rows):
            title += "\n" + t("chart-bullet-subset", shown=len(rows), total=len(summary.rows))
        figure.suptitle(title, x=0.02, y=1 - 0.15 / height, ha="left", va="top", fontsize=13, fontweight="bold")
        figure.text(0.02, 1 - (0.75 if len(rows) == len(summary.rows) else 0.95) / height,
                    _short(summary.plan_title, 110), ha="left", va="top", fontsize=9, color="#555555")
        handles = [Patch(color=COLORS[s], label=t(f"summary-standing-{s.value}")) for s in Standing]
        handles.append(Patch(color=_ZONE, label=t("chart-bullet-zone")))
        figure.legend(handles=handles, loc="lower center", ncol=5, frameon=False, fontsize=8,
                      bbox_to_anchor=(0.5, 0.05 / height))
        return _png(figure)


def _label(row: IndicatorRow) -> str:
    return row.full_title


def _grid_units(summary: Summary) -> list[UnitRow]:
    units = summary.units
    if len(units) <= MAX_GRID_UNITS:
        return list(units)
    not_met: dict[int, int] = {}
    for row in summary.rows:
        if row.target.measure is Measure.MILESTONE:
            continue
        for unit_id, figure in summary.figures.get(row.part_id, {}).items():
            amount = figure.amount
            if amount is None:
                continue
            cell = summary.cell(row.part_id, unit_id)
            if cell is not None and cell.gap.status is Status.NOT_MET:
                not_met[unit_id] = not_met.get(unit_id, 0) + 1
    ranked = sorted(units, key=lambda u: (-u.reports.missing, -not_met.get(u.unit_id, 0), u.unit_id))
    keep = {unit.unit_id for unit in ranked[:MAX_GRID_UNITS]}
    return [unit for unit in units if unit.unit_id in keep]


def _grid_rows(summary: Summary) -> list[IndicatorRow]:
    return list(summary.rows[:MAX_GRID_PARTS])


def grid_matrix(summary: Summary, units: Sequence[UnitRow], rows: Sequence[IndicatorRow]) -> list[list[int]]:
    """Cell states (0 not reported by that unit, 1 met, 2 reported not met, 3 missing, 4 nothing
    to report)."""
    matrix = []
    for unit in units:
        line = []
        for row in rows:
            cell = summary.cell(row.part_id, unit.unit_id)
            if cell is None:
                line.append(_NOT_REPORTING)
            elif not cell.received:
                line.append(_MISSING)
            elif cell.figure is not None and cell.figure.not_applicable:
                line.append(_NOT_APPLICABLE)
            elif cell.gap.status is Status.MET:
                line.append(_MET)
            else:
                line.append(_NOT_MET)
        matrix.append(line)
    return matrix


def grid_chart(summary: Summary, t: Translator) -> bytes:
    """Units × indicator parts: met / reported but not met / missing / not theirs, as a PNG."""
    units = _grid_units(summary)
    rows = _grid_rows(summary)
    width_px, height_px = grid_size(len(units), len(rows))
    width, height = width_px / DPI, height_px / DPI
    matrix = grid_matrix(summary, units, rows) or [[_NOT_REPORTING]]
    matplotlib, _, ListedColormap, MplFigure, Patch = _matplotlib()
    with _LOCK, matplotlib.rc_context(_RC):
        figure = MplFigure(figsize=(width, height), dpi=DPI)
        plot_width = GRID_CELL * max(len(rows), 1)
        axes = figure.add_axes((GRID_LEFT / width, GRID_BOTTOM / height, plot_width / width,
                                GRID_CELL * max(len(units), 1) / height))
        axes.imshow(matrix, cmap=ListedColormap(_GRID_COLORS), vmin=0, vmax=4, aspect="auto",
                    interpolation="nearest")
        axes.set_xticks(range(len(rows)))
        axes.set_xticklabels([row.code for row in rows], rotation=90, fontsize=8)
        axes.xaxis.tick_top()
        axes.set_yticks(range(len(units)))
        axes.set_yticklabels([_short(unit.name, 36) for unit in units], fontsize=8)
        axes.set_xticks([x - 0.5 for x in range(1, len(rows))], minor=True)
        axes.set_yticks([y - 0.5 for y in range(1, len(units))], minor=True)
        axes.grid(which="minor", color="white", linewidth=1)
        axes.tick_params(which="both", length=0)
        for spine in axes.spines.values():
            spine.set_visible(False)
        title = t("chart-grid-title", period=period_label(summary.period, t))
        if len(units) < len(summary.units):
            title += "\n" + t("chart-grid-subset", shown=len(units), total=t.number(len(summary.units)))
        figure.suptitle(title, x=0.02, y=1 - 0.12 / height, ha="left", va="top", fontsize=12, fontweight="bold")
        labels = ("chart-grid-not-reporting", "chart-grid-met", "chart-grid-not-met", "chart-grid-missing",
                  "rollup-chart-grid-not-applicable")
        handles = [Patch(color=color, label=t(label)) for color, label in zip(_GRID_COLORS, labels, strict=True)]
        handles[0].set_edgecolor("#bdbdbd")
        figure.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=8,
                      bbox_to_anchor=(0.5, 0.05 / height))
        return _png(figure)
