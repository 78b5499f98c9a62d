"""models/outliers.py: the review lists' outlier flags, by example and by property (hypothesis)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from models.outliers import FAR, Flag, flags, median, robust_scores
from models.targets import Figure, Measure

D = Decimal
settings.register_profile("outliers", deadline=None, max_examples=150)

amounts = st.integers(min_value=0, max_value=10_000).map(D)
figure_maps = st.dictionaries(st.integers(min_value=1, max_value=40), amounts, min_size=0, max_size=25)


def _values(values: dict[int, Decimal]) -> dict[int, Figure]:
    return {key: Figure(value=value) for key, value in values.items()}


def _kinds(found: dict[int, list]) -> dict[int, set[Flag]]:
    return {key: {o.flag for o in outliers} for key, outliers in found.items()}


def test_each_rule_by_example() -> None:
    now = {1: Figure(value=D(120)), 2: Figure(numerator=D(160), denominator=D(150)), 3: Figure(value=D(40)),
           4: Figure(value=D(90)), 5: Figure(not_applicable=True), 6: Figure(done=True)}
    assert _kinds(flags(now, measure=Measure.PERCENT)) == {1: {Flag.OVER_HUNDRED}, 2: {Flag.OVER_DENOMINATOR}}
    counts = {1: Figure(value=D(10)), 2: Figure(value=D(70)), 3: Figure(value=D(12))}
    before = {1: Figure(value=D(12)), 2: Figure(value=D(12)), 3: Figure(value=D(2))}
    assert _kinds(flags(counts, before, measure=Measure.COUNT, cumulative=True)) == {
        1: {Flag.FELL}, 2: {Flag.JUMP}, 3: {Flag.JUMP}}
    assert _kinds(flags(counts, before, measure=Measure.COUNT)) == {2: {Flag.JUMP}, 3: {Flag.JUMP}}
    [jump] = flags(counts, before, measure=Measure.COUNT)[3]
    assert jump.times == 6 and jump.previous == 2
    # A count over 100 is no percentage; a value far from eight others is.
    units = {n: Figure(value=D(50 + n)) for n in range(1, 9)} | {9: Figure(value=D(400))}
    found = flags(units, measure=Measure.COUNT)
    assert list(found) == [9] and found[9][0].flag is Flag.FAR and found[9][0].median == 55
    # Among four figures nobody is far.
    assert flags({n: units[n] for n in (1, 2, 3, 9)}, measure=Measure.COUNT) == {}


def test_the_robust_scores() -> None:
    assert median([D(3), D(1), D(2)]) == 2 and median([D(1), D(2), D(3), D(10)]) == D("2.5")
    centre, scores = robust_scores({1: D(10), 2: D(10), 3: D(10), 4: D(10), 5: D(12)})  # MAD 0: the mean AD
    assert centre == 10 and scores[1] == 0 and scores[5] > FAR
    assert robust_scores({1: D(7), 2: D(7)}) == (D(7), {1: D(0), 2: D(0)})


@settings(settings.get_profile("outliers"))
@given(figure_maps, st.randoms(use_true_random=False))
def test_flags_do_not_depend_on_the_units_order(values: dict[int, Decimal], rnd: object) -> None:
    keys = list(values)
    rnd.shuffle(keys)  # type: ignore[attr-defined]
    shuffled = {key: values[key] for key in keys}
    original, reordered = flags(_values(values), measure=Measure.COUNT), flags(_values(shuffled), measure=Measure.COUNT)
    assert _kinds(original) == _kinds(reordered)


@settings(settings.get_profile("outliers"))
@given(figure_maps, st.integers(min_value=2, max_value=50))
def test_far_is_scale_free_and_the_median_is_never_far(values: dict[int, Decimal], factor: int) -> None:
    found = _kinds(flags(_values(values), measure=Measure.COUNT))
    scaled = _kinds(flags(_values({k: v * factor for k, v in values.items()}), measure=Measure.COUNT))
    assert {k for k, f in found.items() if Flag.FAR in f} == {k for k, f in scaled.items() if Flag.FAR in f}
    if values:
        centre = median(values.values())
        assert not any(Flag.FAR in found.get(k, set()) for k, v in values.items() if v == centre)


@settings(settings.get_profile("outliers"))
@given(st.lists(amounts, min_size=5, max_size=25))
def test_a_figure_far_beyond_the_others_is_flagged_and_alone(values: list[Decimal]) -> None:
    spread = max(values) - min(values) + 1
    wild = max(values) + spread * 1000
    figures = _values({n: v for n, v in enumerate(values)} | {len(values): wild})
    found = _kinds(flags(figures, measure=Measure.COUNT))
    assert Flag.FAR in found[len(values)]
    # At most the wild one and those as far as it: no figure nearer the median than an unflagged one is flagged.
    centre, scores = robust_scores({n: f.amount for n, f in figures.items() if f.amount is not None})
    flagged = {k for k, f in found.items() if Flag.FAR in f}
    assert all(scores[k] > FAR for k in flagged) and all(scores[k] <= FAR for k in figures if k not in flagged)
    assert centre <= max(values)


@settings(settings.get_profile("outliers"))
@given(st.dictionaries(st.integers(1, 20), st.tuples(amounts, amounts), max_size=15), st.booleans())
def test_fell_and_jump_follow_their_definitions(pairs: dict[int, tuple[Decimal, Decimal]], cumulative: bool) -> None:
    now = _values({k: a for k, (a, _) in pairs.items()})
    before = _values({k: b for k, (_, b) in pairs.items()})
    found = _kinds(flags(now, before, measure=Measure.COUNT, cumulative=cumulative, min_units=1_000))
    for key, (a, b) in pairs.items():
        mine = found.get(key, set())
        assert (Flag.FELL in mine) == (cumulative and a < b)
        assert (Flag.JUMP in mine) == (a > 0 and b > 0 and max(a / b, b / a) > 5)
        assert Flag.OVER_HUNDRED not in mine  # a count is no percentage
    assert not any(Flag.FELL in f or Flag.JUMP in f for f in _kinds(flags(now, measure=Measure.COUNT)).values())


@settings(settings.get_profile("outliers"))
@given(st.dictionaries(st.integers(1, 20), st.integers(0, 300).map(D), max_size=15))
def test_a_percentage_above_a_hundred_is_always_flagged(values: dict[int, Decimal]) -> None:
    found = _kinds(flags(_values(values), measure=Measure.PERCENT, min_units=1_000))
    assert {k for k, f in found.items() if Flag.OVER_HUNDRED in f} == {k for k, v in values.items() if v > 100}
