"""Imports in bulk and plan views off the request path (issue 19, item 4): a re-import writes only
what changed and says so; a warmed plan view answers while the warmer builds the new one; a tick
whose messages were all made before reads no one's duties; libyaml's reading matches PyYAML's."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

import models.plans as plans_module
import scheduler.tick as tick_module
from bot.app import App, build_app
from bot.cli import import_plan_file, import_rows_line
from bot.config import load_settings
from models import store
from models.plans import PlanFileError, load_plan_file
from models.store import ViewCache, load_plan_view, refresh_plan_views
from models.tables import Unit
from scheduler.tick import tick
from tests.conftest import Clock
from tests.test_scheduler_tick import DT2025, Office, local

SMALL = Path(__file__).resolve().parent / "data" / "small-plan.yaml"


def renamed(tmp_path: Path, old: str, new: str, name: str = "renamed.yaml") -> Path:
    text = SMALL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


async def test_a_reimport_writes_only_the_rows_that_changed(app: App, tmp_path: Path) -> None:
    first = await import_plan_file(app, SMALL)
    assert first.created and first.rows_written > 0
    added = sum(first.tally(what)[0] for what in ("units", "indicators", "parts", "assignments"))
    assert first.rows_written >= added + 1 and first.tally("assignments")[0] == 13
    again = await import_plan_file(app, SMALL)
    assert again.rows_written == 0 and not again.changed
    assert again.unchanged["units"] == 6 and again.unchanged["assignments"] == first.tally("assignments")[0]
    one = await import_plan_file(app, renamed(tmp_path, '"Xã An Sinh"', '"Xã An Sinh mới"'))
    # The unit's row, and the plan's row (its file digest): nothing else.
    assert one.rows_written == 2 and one.changes["units-updated"] == 1
    assert one.unchanged["units"] == 5 and one.tally("assignments")[:3] == (0, 0, 0)
    line = import_rows_line(app.t, one)
    assert "1" in line and str(one.unchanged["assignments"]) in line


async def test_rows_loaded_before_an_import_in_the_same_session_show_what_it_wrote(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, SMALL)
    spec = load_plan_file(renamed(tmp_path, '"Xã An Sinh"', '"Xã An Sinh mới"'))
    async with app.unit_of_work() as session:
        unit = await session.scalar(select(Unit).where(Unit.code == "an-sinh"))
        assert unit is not None and unit.name == "Xã An Sinh"
        await store.import_plan(session, spec, "other", app.now())
        again = await session.scalar(select(Unit).where(Unit.code == "an-sinh"))
        assert again is unit and again.name == "Xã An Sinh mới"


async def test_a_warmed_view_answers_while_the_warmer_builds_the_new_one(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, SMALL)
    cache = ViewCache()
    async with app.sessions() as session:
        [plan_id] = await refresh_plan_views(session, cache)
        old = await load_plan_view(session, plan_id, cache)
    assert cache.warm()
    await import_plan_file(app, renamed(tmp_path, '"Xã An Sinh"', '"Xã An Sinh mới"'))
    for entry in list(cache):  # as when VIEW_RECHECK_SECONDS have passed: the stamp is asked
        stamp, view, _ = cache[entry]
        cache[entry] = (stamp, view, 0.0)
    async with app.sessions() as session:
        assert await load_plan_view(session, plan_id, cache) is old  # no rebuild on the request path
        assert await refresh_plan_views(session, cache) == [plan_id]
        new = await load_plan_view(session, plan_id, cache)
        assert await refresh_plan_views(session, cache) == []  # nothing moved since
    assert new is not old
    assert {u.name for u in new.units.values()} - {u.name for u in old.units.values()} == {"Xã An Sinh mới"}


async def test_without_a_warmer_the_request_builds_the_new_view(app: App, tmp_path: Path) -> None:
    await import_plan_file(app, SMALL)
    cache = ViewCache()
    async with app.sessions() as session:
        plan = await store.get_plan(session, "T2025")
        old = await load_plan_view(session, plan.id, cache)
    await import_plan_file(app, renamed(tmp_path, '"Xã An Sinh"', '"Xã An Sinh mới"'))
    cache[plan.id] = (cache[plan.id][0], old, 0.0)
    async with app.sessions() as session:
        new = await load_plan_view(session, plan.id, cache)
    assert new is not old and "Xã An Sinh mới" in {u.name for u in new.units.values()}


async def test_a_plan_imported_by_another_process_reaches_the_warmer(app: App, database_url: str,
                                                                     tmp_path: Path) -> None:
    other = build_app(load_settings(DATABASE_URL=database_url), clock=app.clock)
    try:
        cache = ViewCache()
        async with app.sessions() as session:
            assert await refresh_plan_views(session, cache) == []
        await import_plan_file(other, SMALL)
        async with app.sessions() as session:
            [plan_id] = await refresh_plan_views(session, cache)
        await import_plan_file(other, renamed(tmp_path, '"Xã An Sinh"', '"Xã An Sinh mới"'))
        async with app.sessions() as session:
            assert await refresh_plan_views(session, cache) == [plan_id]
        assert "Xã An Sinh mới" in {u.name for u in cache[plan_id][1].units.values()}
    finally:
        await other.close()


async def test_a_tick_whose_messages_were_all_made_reads_no_duties(app: App, clock: Clock,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(local(2025, 1, 2, 9))
    await import_plan_file(app, DT2025)
    office = Office(app, "DT2025")
    await office.register("Lan", "officer", "an-sinh")
    await office.register("Hoa", "officer", "vhtt")
    await office.register("ChuTich", "leader")
    calls: list[object] = []
    real = tick_module.situation

    async def counted(*args: object, **kwargs: object) -> object:
        calls.append(args[2])
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tick_module, "situation", counted)
    instant = local(2025, 3, 24, 10)  # February's overdue notices and escalation are due
    first = await tick(app.deps, instant)
    assert first.queued and calls
    calls.clear()
    second = await tick(app.deps, instant)
    assert second.due and not second.queued
    assert calls == []  # who could be told was read, and every message of theirs was made before


def test_libyaml_reads_a_plan_as_pyyaml_does(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = load_plan_file(DT2025)
    monkeypatch.setattr(plans_module, "_FastLoader", None)
    assert load_plan_file(DT2025) == fast


@pytest.mark.parametrize("broken", ['  - code: "6"\n    title: [unclosed\n', "key: value\nkey: again\n",
                                    "a: b\n\t- c\n"])
def test_a_broken_yaml_file_is_explained_in_pyyamls_words(broken: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(SMALL.read_text(encoding="utf-8") + broken, encoding="utf-8")
    with pytest.raises(PlanFileError) as fast:
        load_plan_file(path)
    monkeypatch.setattr(plans_module, "_FastLoader", None)
    with pytest.raises(PlanFileError) as slow:
        load_plan_file(path)
    assert fast.value.issues == slow.value.issues


def test_many_units_are_named_as_few_are() -> None:
    from models.plans import UnitSpec, derive_reporters

    units = [UnitSpec("tp", "UBND thành phố", "city"), UnitSpec("vhtt", "Phòng Văn hóa và Thông tin", "department")]
    units += [UnitSpec(f"x{n}", f"Xã Số {n}", "commune", parent="tp") for n in range(3000)]
    assert derive_reporters("Xã Số 12; Phòng Văn hóa và Thông tin", units) == ("vhtt", "x12")
    assert len(derive_reporters("UBND các xã", units)) == 3000
    assert derive_reporters("Xã Số 12", units, ("department",)) == ()
