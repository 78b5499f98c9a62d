"""Every figure stored is the one the words say (issue 10): a table of real-style messages sent by
officers of the Đông Triều 2025 plan through the console channel at 17/04/2025 09:00, each with
the exact (indicator part, period, value) it must store, checked in the database, or "asks"
(nothing stored, a question with choices). A figure stored under any other part or period, or a
line dropped without a word, fails the case.

Messages for a part the unit does not report (who reports what may change with the plan file)
expect nothing stored for that part: the point here is that nothing lands anywhere else."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.console import ConsoleChannel
from bot.cli import import_plan_file
from models import people, store
from models.store import load_plan_view
from models.tables import IndicatorPart, Submission

PLAN = Path(__file__).resolve().parent.parent / "data" / "plans" / "dong-trieu-2025.yaml"
NOW = datetime(2025, 4, 17, 2, 0, tzinfo=UTC)  # Thursday 09:00 in Hanoi
REGISTERED_LATE = datetime(2025, 2, 25, 2, 0, tzinfo=UTC)  # before March's deadline (20/3)
ASKS = "asks"

Stored = tuple[str, str, str]  # part code, period id, value ("72.5", "120/150", "done", "na")


@dataclass(frozen=True)
class Case:
    text: str
    expect: list[Stored] | str  # what is stored, or ASKS
    user: str = "Lan"
    quoted: str | None = None  # a line the reply must quote back as unreadable


MONTHLY = ("6", "9b", "2", "3", "1", "8")


def band(i: int) -> str:
    """Values within 30 points of each other, so no case trips the far-from-previous question."""
    return f"{60 + i % 29},5" if i % 3 == 0 else str(60 + i % 29)


def dec(text: str) -> str:
    return text.replace(",", ".")


def single_line_cases() -> list[Case]:
    cases: list[Case] = []
    i = 0
    for r in MONTHLY:
        def v() -> str:
            nonlocal i
            i += 1
            return band(i)
        templates: list[tuple[str, str | None]] = [
            ("{r}: {v}%", "2025-04"),
            ("ct {r} tháng 2: {v}%", "2025-02"),
            ("ct {r} thang 3: {v}%", "2025-03"),
            ("{r}: {v}% (tháng 2)", "2025-02"),
            ("T3 {r}: {v}%", "2025-03"),
            ("tháng trước chỉ tiêu {r} đạt {v}%", "2025-03"),
            ("bổ sung tháng 3: {r} {v}%", "2025-03"),
            ("chi tieu {r} dat {v} %", "2025-04"),
            ("chỉ tiêu {r} sửa lại là {v}%", "2025-04"),
            ("xin loi chi tieu {r} em nhap nham, dung la {v}%", "2025-04"),
            ("anh oi em gui bo sung chi tieu {r} la {v}% nhe", "2025-04"),
            ("{r}: {v} phần trăm", "2025-04"),
            ("- CT{r} dat {v}%", "2025-04"),
            ("gửi lại chỉ tiêu {r}: {v}%", "2025-04"),
            ("Tháng 2/2025: {r}: {v}%", "2025-02"),
            ("{r} = {v}%", "2025-04"),
            ("ct{r} tháng 1 đạt {v}%", "2025-01"),
            # Right after January's figure: which month it corrects is asked, not guessed.
            ("xin sửa ct {r} thành {v}%", ASKS),
            ("Chỉ tiêu {r} (T2): {v}%", "2025-02"),
            ("chi tieu so {r} thang truoc: {v}%", "2025-03"),
        ]
        for template, period in templates:
            value = v()
            expect = ASKS if period == ASKS else [(r, period, dec(value))] if period else []
            cases.append(Case(template.format(r=r, v=value), expect))
        cases += [
            Case(f"{r}: không phát sinh", [(r, "2025-04", "na")]),
            Case(f"ct {r} thang 2: ko phat sinh", [(r, "2025-02", "na")]),
            Case(f"chi tieu {r} dat 7O%", [(r, "2025-04", "70")]),
            Case(f"{r}: 0/0", [(r, "2025-04", "na")]),
            Case(f"{r}: 1{v()}%", []),  # above 100%: refused
            Case(f"tháng 5: {r}: {v()}%", []),  # a period not open yet: refused
            Case(f"{r}: {v()}% tháng 2 tháng 3", []),  # two periods: asked to send again
            Case(f"{r}: 6{i % 10}%", [(r, "2025-04", f"6{i % 10}")]),
            Case(f"{r}: N/A", [(r, "2025-04", "na")]),
        ]
    return cases


def other_cases() -> list[Case]:
    return [
        Case("Báo cáo tháng 3:\n- CT1: 81%\n- CT2 đạt 82%\n- CT9b dat 83 %\n- ct 8: 84 phần trăm",
             [("1", "2025-03", "81"), ("2", "2025-03", "82"), ("9b", "2025-03", "83"), ("8", "2025-03", "84")]),
        Case("Tháng 2\n6: 71%\n9b: 72%\nT3: 8: 73%",
             [("6", "2025-02", "71"), ("9b", "2025-02", "72"), ("8", "2025-03", "73")]),
        Case("6: 74%\n9b: 75% (tháng 2)\n8: 76%",
             [("6", "2025-04", "74"), ("9b", "2025-02", "75"), ("8", "2025-04", "76")]),
        Case("6: 77%; 9b: 78%", [("6", "2025-04", "77"), ("9b", "2025-04", "78")]),
        Case("6: 79%\nxyz 12 abc", [("6", "2025-04", "79")], quoted="xyz 12 abc"),
        Case("6: 79,5%\nkhi nào hết hạn tháng này ạ?", [("6", "2025-04", "79.5")], quoted="khi nào hết hạn tháng này ạ?"),
        Case("9b: 80%\nchi tieu nay tinh the nao?", [("9b", "2025-04", "80")], quoted="chi tieu nay tinh the nao?"),
        Case("6: 78%\nchi tieu 9 con thieu bao nhieu?", [("6", "2025-04", "78")],
             quoted="chi tieu 9 con thieu bao nhieu?"),
        Case("Em gửi số liệu tháng 3 ạ:\n1: 80%\n2: 81%\n3: 82%",
             [("1", "2025-03", "80"), ("2", "2025-03", "81"), ("3", "2025-03", "82")]),
        Case("Kính gửi phòng VHTT, xã An Sinh báo cáo:\n1. Chỉ tiêu 1: 87%\n2. Chỉ tiêu 2: 86%\n3) ct 3: 85,5%",
             [("1", "2025-04", "87"), ("2", "2025-04", "86"), ("3", "2025-04", "85.5")]),
        Case("CT 11a,11b: 83%", [("11a", "2025-04", "83"), ("11b", "2025-04", "83")], user="Tuan"),
        Case("11a-11b: 84%", [("11a", "2025-04", "84"), ("11b", "2025-04", "84")], user="Tuan"),
        Case("ct 11a, b: 85%", [("11a", "2025-04", "85"), ("11b", "2025-04", "85")], user="Tuan"),
        Case("bo sung thang 3: 11a 86%", [("11a", "2025-03", "86")], user="Tuan"),
        Case("CT 12a, 12b và 12c: 10%", [("12a", "2025", "10"), ("12b", "2025", "10"), ("12c", "2025", "10")], user="Mai"),
        Case("quý I: 4: 87%", [("4", "2025-Q1", "87")]),
        Case("4: 88%", [("4", "2025-Q1", "88")]),
        Case("quy 1 ct 5 dat 89%", [("5", "2025-Q1", "89")]),
        Case("9: 150/200", [("9b", "2025-04", "150/200")]),
        Case("chỉ tiêu 9 tháng 3: 160/200", [("9b", "2025-03", "160/200")]),
        Case("9: 170/160", []),  # numerator above its denominator
        Case("10: xong", [("10", "2025-Q1", "done")], user="Tuan"),
        Case("PL2.5: 1200", [("PL2.5", "2025-04", "1200")], user="Hoa"),
        Case("PL2.5: 20000", ASKS, user="Hoa"),  # twenty times the target: asked first
        Case("PL2.5: 99999999999999999999999999", [], user="Hoa"),
        Case("PL2.5: 1.000.000.000.000", [], user="Hoa"),
        Case('6: " OR 1=1 --', []),
        Case("tháng 2: -1: 150/150", []),
        Case("6: ~~", []),
        Case("Phường Mạo Khê 6: 81%", []),
        Case("Xã An Sinh 6: 82%", [("6", "2025-04", "82")]),
        Case("6: -5%", []),
        Case("tháng 1,2: 6: 80%", []),  # two months, one figure: asked to send each
        Case("thang 3, 6: 71%", [("6", "2025-03", "71")]),
        Case("8: không có", [("8", "2025-04", "na")]),
        Case("9: kps", [("9b", "2025-04", "na")]),
    ]


def late_cases() -> list[Case]:
    """Binh's unit never sent March: a figure without a period is asked about, March first."""
    return [
        Case("6: 70%", ASKS, user="Binh"),
        Case("1", [("6", "2025-03", "70")], user="Binh"),
        Case("6: 72%", [("6", "2025-04", "72")], user="Binh"),
        Case("tháng 4 9: 73%", [("9b", "2025-04", "73")], user="Binh"),
        Case("9: 74%", ASKS, user="Binh"),
        Case("2", [("9b", "2025-04", "74")], user="Binh"),
        Case("8: 75%\n2: 76%", ASKS, user="Binh"),
        Case("1", [("8", "2025-03", "75"), ("2", "2025-03", "76")], user="Binh"),
        Case("tháng 3: 3: 77%", [("3", "2025-03", "77")], user="Binh"),
        Case("3: 78%", [("3", "2025-04", "78")], user="Binh"),
        # A late figure and one far from the previous: the period is asked first, then the other.
        Case("6: 20%\n1: 70%", ASKS, user="Binh"),
        Case("2", [("1", "2025-04", "70")], user="Binh"),
        Case("có", [("6", "2025-04", "20")], user="Binh"),
        # A correction naming no period after a late March figure: which month it corrects is asked.
        Case("xin loi chi tieu 8 em nhap nham, dung la 82%", ASKS, user="Binh"),  # March's was sent last
        Case("1", [("8", "2025-03", "82")], user="Binh"),  # the month just sent: March, corrected
        Case("sửa lại chỉ tiêu 8 là 83%", ASKS, user="Binh"),
        Case("2", [("8", "2025-04", "83")], user="Binh"),  # the month being reported: April
        Case("sửa lại chỉ tiêu 8 là 84%", [("8", "2025-04", "84")], user="Binh"),  # April's was the last
    ]


CASES = single_line_cases() + other_cases() + late_cases()


def test_the_table_is_large() -> None:
    assert len(CASES) >= 200


class Officers:
    def __init__(self, app: App) -> None:
        self.app = app
        self.channel = ConsoleChannel(app.deps, write=lambda _text: None)

    async def register(self, user: str, unit_code: str, at: datetime) -> None:
        self.app.deps.clock.set(at)  # type: ignore[attr-defined]
        async with self.app.unit_of_work() as session:
            plan = await store.get_plan(session, "DT2025")
            unit = next(u for u in await store.plan_units(session, plan) if u.code == unit_code)
            invite = await people.create_invite(session, role="officer", plan=plan, unit=unit, now=at)
        await self.channel.send(user, f"/start {invite.code}")


async def stored_rows(app: App) -> dict[int, Stored]:
    async with app.unit_of_work() as session:
        rows = (await session.execute(
            select(Submission, IndicatorPart.code).join(IndicatorPart, IndicatorPart.id == Submission.part_id))).all()
    return {row.id: (code, row.period, _value(row)) for row, code in rows}


def _value(row: Submission) -> str:
    if row.not_applicable:
        return "na"
    if row.numerator is not None and row.denominator is not None:
        return f"{row.numerator.normalize():f}/{row.denominator.normalize():f}"
    if row.done is not None and row.value is None:
        return "done" if row.done else "not done"
    assert row.value is not None
    return f"{row.value.normalize():f}"


async def duties(app: App, unit_code: str) -> set[str]:
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "DT2025")
        view = await load_plan_view(session, plan.id, {})
    unit = next(u for u in view.units.values() if u.code == unit_code)
    return {view.parts[part_id].code for part_id in view.duties.get(unit.id, [])}


@pytest.fixture
async def officers(app: App) -> Officers:
    await import_plan_file(app, PLAN)
    found = Officers(app)
    await found.register("Binh", "mao-khe", REGISTERED_LATE)
    await found.register("Lan", "an-sinh", NOW)
    await found.register("Hoa", "vhtt", NOW)  # the culture office: the plan's counts (PL2.5)
    await found.register("Tuan", "vp-hdnd-ubnd", NOW)  # the city office: 10, 11a, 11b
    await found.register("Mai", "tc-kh", NOW)  # finance and planning: 12a-12d
    return found


async def test_every_message_stores_exactly_what_its_words_say(app: App, officers: Officers) -> None:
    reports = {"Lan": await duties(app, "an-sinh"), "Binh": await duties(app, "mao-khe"),
               "Hoa": await duties(app, "vhtt"), "Tuan": await duties(app, "vp-hdnd-ubnd"),
               "Mai": await duties(app, "tc-kh")}
    failures: list[str] = []
    seen = set(await stored_rows(app))
    for case in CASES:
        replies = await officers.channel.send(case.user, case.text)
        text = "\n".join(reply.text for reply in replies)
        rows = await stored_rows(app)
        new = sorted(value for key, value in rows.items() if key not in seen)
        seen = set(rows)
        if case.expect == ASKS:
            if new or not any(reply.choices for reply in replies):
                failures.append(f"{case.text!r}: expected a question, stored {new}: {text}")
            continue
        assert isinstance(case.expect, list)
        expected = sorted((code, period, value) for code, period, value in case.expect if code in reports[case.user])
        if len(expected) != len(case.expect):  # the plan moved a part away: the case would check nothing
            failures.append(f"{case.text!r}: {case.user}'s unit does not report every part expected; change the case")
        if new != expected:
            failures.append(f"{case.text!r}: expected {expected}, stored {new}: {text}")
        if not text.strip():
            failures.append(f"{case.text!r}: no answer")
        if case.quoted and f"«{case.quoted}»" not in text:
            failures.append(f"{case.text!r}: the unreadable line is not quoted back: {text}")
    assert not failures, "\n".join(failures)



async def test_thanks_english_and_the_comparison_with_last_month(app: App, officers: Officers) -> None:
    send = officers.channel.send
    assert "Cảm ơn" in (await send("Lan", "cảm ơn"))[0].text
    await send("Lan", "tháng 3: 6: 70%")
    await send("Lan", "6: 75%")
    compared = (await send("Lan", "so với tháng trước thế nào?"))[0].text
    assert "6: 70% (tháng 3/2025) → 75% (tháng 4/2025)" in compared and "tăng 5 điểm %" in compared
    # Written in English: answered in English, and the language stays.
    english = (await send("Lan", "how does my unit compare with last month?"))[0].text
    assert "compared with the previous period" in english and "6: 70% (March 2025)" in english
    assert "Stored indicator 8" in (await send("Lan", "8: 80%"))[0].text


async def test_a_plan_can_forbid_not_applicable_for_a_part(app: App, tmp_path: Path) -> None:
    small = Path(__file__).resolve().parent / "data" / "small-plan.yaml"
    text = small.read_text(encoding="utf-8")
    part = '{code: 9b, label: "Cấp xã, phường", applies_to: [commune, ward]}'
    assert part in text
    plan = tmp_path / "plan.yaml"
    plan.write_text(text.replace(part, part[:-1] + ", allow_not_applicable: false}"), encoding="utf-8")
    await import_plan_file(app, plan)
    async with app.unit_of_work() as session:
        found = await store.get_plan(session, "T2025")
        unit = next(u for u in await store.plan_units(session, found) if u.code == "an-sinh")
        invite = await people.create_invite(session, role="officer", plan=found, unit=unit, now=app.now())
    channel = ConsoleChannel(app.deps, write=lambda _text: None)
    await channel.send("Lan", f"/start {invite.code}")
    refused = (await channel.send("Lan", "9: không phát sinh"))[0].text
    assert "không cho phép" in refused and "9b" in refused
    assert "không phát sinh" in (await channel.send("Lan", "6: không phát sinh"))[0].text
    assert sorted((await stored_rows(app)).values()) == [("6", "2025-03", "na")]


@pytest.mark.parametrize(("value", "printed"), [
    ("1111111111111111111111111111", "1.111.111.111.111.111.111.111.111.111"),
    ("99999999999999999999999999.5", "99.999.999.999.999.999.999.999.999,5"),
    ("1E+40", "10" + ".000" * 13),
    ("72.5", "72,5"),
])
def test_no_number_is_too_large_to_print(value: str, printed: str) -> None:
    """A figure stored before the ceiling existed must not break every view that prints it."""
    from locales import translator

    assert translator("vi").number(Decimal(value)) == printed


async def test_a_period_question_belongs_to_the_unit_it_was_asked_for(app: App, officers: Officers) -> None:
    await officers.register("Chi", "hong-phong", REGISTERED_LATE)
    officers.app.deps.clock.set(NOW)  # type: ignore[attr-defined]
    asked = await officers.channel.send("Chi", "6: 70%")
    assert asked[0].choices and not await stored_rows(app)
    await officers.register("Chi", "yen-tho", NOW)  # the same person now serves another unit
    answer = await officers.channel.send("Chi", "1")
    assert "Lựa chọn này đã cũ" in answer[0].text and not await stored_rows(app)
