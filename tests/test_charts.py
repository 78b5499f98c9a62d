"""The summary's charts: valid PNGs of the expected size, drawn with a font that has every
Vietnamese glyph (a missing glyph would be a warning, and warnings fail the suite), the grid
capped for large plans."""
from __future__ import annotations

import dataclasses
import struct
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from bot.app import App
from bot.cli import import_plan_file
from handlers.charts import (
    FONT,
    MAX_GRID_UNITS,
    _grid_units,
    bullet_chart,
    bullet_size,
    grid_chart,
    grid_matrix,
    grid_size,
)
from handlers.summary import Summary, build_summary
from locales import translator
from models import store
from models.periods import Period
from models.store import load_plan_view
from models.targets import Figure
from tests.figures import store_figures

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
PNG = b"\x89PNG\r\n\x1a\n"
VIETNAMESE = (
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
)
VIETNAMESE += VIETNAMESE.upper()


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG), "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def summary_of(app: App, code: str, figures: list[tuple[str, str, Figure]], period: str = "2025-03") -> Summary:
    at = datetime(2025, 3, 18, 9, tzinfo=ZONE)
    await store_figures(app, code, [(unit, part, period if part != "10" else "2025-Q1", figure, at)
                                    for unit, part, figure in figures])
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, code)
        assert plan is not None
        view = await load_plan_view(session, plan.id)
        return await build_summary(session, view, Period.parse(period), date(2025, 3, 25), ZONE)


FIGURES = [
    ("vhtt", "6", Figure(numerator=Decimal(120), denominator=Decimal(150))),
    ("an-sinh", "6", Figure(numerator=Decimal(45), denominator=Decimal(50))),
    ("vhtt", "9a", Figure(value=Decimal(100))),
    ("vhtt", "15", Figure(value=Decimal(4))),
    ("vnpt", "22", Figure(value=Decimal(12))),
    ("vp", "10", Figure(done=True)),
]


@pytest.fixture
async def small(app: App) -> Summary:
    await import_plan_file(app, SMALL)
    return await summary_of(app, "T2025", FIGURES)


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_bullet_chart_is_a_png_of_the_expected_size(small: Summary, locale: str) -> None:
    data = bullet_chart(small, translator(locale))
    assert png_size(data) == bullet_size(len(small.rows)) == (1080, round((1.2 + 0.42 * 6 + 0.9) * 100))


@pytest.mark.parametrize("locale", ["vi", "en"])
async def test_grid_chart_is_a_png_of_the_expected_size(small: Summary, locale: str) -> None:
    data = grid_chart(small, translator(locale))
    assert png_size(data) == grid_size(len(small.units), len(small.rows))
    assert grid_size(5, 6) == (660, round((1.3 + 0.3 * 5 + 0.8) * 100))


async def test_grid_cells_say_met_not_met_missing_or_not_theirs(small: Summary) -> None:
    units = {u.code: u for u in small.units}
    rows = small.rows
    matrix = grid_matrix(small, [units["vhtt"], units["an-sinh"], units["mao-khe"], units["vnpt"]], rows)
    codes = [row.code for row in rows]
    assert codes == ["6", "9a", "9b", "15", "22", "10"]
    assert matrix == [  # 0 not theirs, 1 reported and met, 2 reported not met, 3 missing
        [2, 1, 0, 1, 0, 0],  # vhtt: 80% < 90%; 9a 100%; 15: 4 ≥ 3
        [1, 0, 3, 0, 0, 0],  # an-sinh: 45/50 = 90%; 9b missing
        [3, 0, 3, 0, 0, 0],  # mao-khe: both missing
        [0, 0, 0, 0, 2, 0],  # vnpt: 12% is not below 10%
    ]


async def test_the_font_has_every_vietnamese_glyph() -> None:
    path = font_manager.findfont(font_manager.FontProperties(family=FONT), fallback_to_default=False)
    assert Path(path).name == "DejaVuSans.ttf"
    charmap = FT2Font(path).get_charmap()
    assert [c for c in VIETNAMESE if ord(c) not in charmap] == []


async def test_vietnamese_text_renders_without_missing_glyphs(small: Summary) -> None:
    # A missing glyph is a UserWarning, which pytest's filterwarnings=error turns into a failure.
    small.plan_title = VIETNAMESE[:60]
    small.rows = [dataclasses.replace(row, title=VIETNAMESE[i * 20:i * 20 + 40]) for i, row in enumerate(small.rows)]
    assert bullet_chart(small, translator("vi")).startswith(PNG)
    assert grid_chart(small, translator("vi")).startswith(PNG)


async def test_a_period_without_indicators_still_draws(app: App) -> None:
    await import_plan_file(app, SMALL)
    summary = await summary_of(app, "T2025", [], period="2025-H1")
    assert summary.rows == []
    assert png_size(bullet_chart(summary, translator("vi"))) == bullet_size(0)
    assert png_size(grid_chart(summary, translator("vi"))) == grid_size(0, 0)


def many_units_plan(path: Path, units: int) -> Path:
    lines = ["format: 1", "plan: {code: BIG, title: Kế hoạch lớn, year: 2025}", "units:",
             "  - {code: tp, name: UBND thành phố, kind: city}"]
    lines += [f"  - {{code: x{i}, name: Xã Số {i}, kind: commune, parent: tp}}" for i in range(units)]
    lines += ["indicators:"]
    for n in (1, 2, 3):
        lines += [f'  - code: "{n}"', f'    title: "Chỉ tiêu {n}"', f'    text: "Tỷ lệ {n} đạt 90%"',
                  '    coordinating: "UBND các xã, phường"', '    target: "90%"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_a_large_plan_shows_the_units_with_most_missing(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, many_units_plan(tmp_path / "big.yaml", 60))
    # Every unit reports indicators 1 and 2 except x7 and x42 (nothing) and x13 (only 1).
    figures = [(f"x{i}", code, Figure(value=Decimal(95)))
               for i in range(60) for code in ("1", "2", "3") if i not in (7, 42) and not (i == 13 and code != "1")]
    summary = await summary_of(app, "BIG", figures)
    assert len(summary.units) == 60
    shown = _grid_units(summary)
    assert len(shown) == MAX_GRID_UNITS
    assert {"x7", "x42", "x13"} <= {u.code for u in shown}
    data = grid_chart(summary, translator("vi"))
    assert png_size(data) == grid_size(MAX_GRID_UNITS, 3) == grid_size(60, 3)
