"""Fuzzing the conversation (issue 12): 20,000 seeded random and hostile messages from every kind
of sender, through the same handling as the channels (a polled batch's shared transaction). No
message may raise, every private message and group command gets an answer, and the database keeps
its invariants: no value outside its part's measure, no figure in a period not open for its part,
no figure for a unit its sender does not serve."""
from __future__ import annotations

import os
import random
import string
from decimal import Decimal

from sqlalchemy import select

from bot.app import App
from bot.cli import import_plan_file
from handlers.context import Ctx
from handlers.dispatch import route
from handlers.events import Event
from handlers.inbox import Inbound, handle
from locales import translator
from models import people, store
from models.periods import Frequency, Period
from models.tables import Indicator, IndicatorPart, Role, Submission
from tests.test_dialog import SMALL

MESSAGES = int(os.environ.get("FUZZ_MESSAGES", "20000"))
SEED = int(os.environ.get("FUZZ_SEED", "20250417"))
BATCH = 250  # events per transaction, as a polled batch is handled
OFFICERS = {"o-an-sinh": "an-sinh", "o-mao-khe": "mao-khe", "o-vhtt": "vhtt", "o-vp": "vp", "o-vnpt": "vnpt",
            "o-tp": "tp"}
GROUP = "BCĐ"

REFS = ["6", "9", "9a", "9b", "12", "12a", "12b", "15", "22", "10", "99", "ct6", "chỉ tiêu 9", "số 15", "0", "-1", "6a"]
VALUES = ["72,5%", "72.5%", "100%", "0%", "150%", "-5", "-5%", "1.000", "1,000", "120/150", "160/150", "5/0", "0/0",
          "đạt", "xong", "chưa", "hoàn thành", "không phát sinh", "96", "9,99", "3", "1e5", "NaN", "inf", "½",
          "٣", "１２", "~~", "\" OR 1=1 --", "'; DROP TABLE submissions; --", "<b>5</b>", "%", "/", ""]
QUESTIONS = ["chỉ tiêu 6 còn thiếu bao nhiêu?", "tình hình xã An Sinh", "tinh hinh phuong mao khe",
             "đơn vị nào chưa báo cáo?", "chỉ tiêu nào chưa đạt?", "chỉ tiêu 6 các đơn vị", "how is indicator 6?",
             "ct9 thiếu bao nhiêu", "tình hình", "gap 15?"]
COMMANDS = ["/baocao", "/report", "/tinhhinh", "/chuanop", "/huy", "/cancel", "/help", "/kehoach", "/plan",
            "/ngonngu en", "/ngonngu vi", "/ngonngu", "/lich", "/khonglienlac", "/start", "/start ABCDEFGH",
            "/start 12345678", "/kehoach T2025", "/kehoach X", "/tonghop 2025-13", "/chitieu 6"]
FORGED = ["v1:pick:1:2199-12", "v1:pick:1:1900-01", "v1:pick:3:2025-Q1", "v1:pick:999:2025-03", "v1:pick:" + "9" * 60,
          "v1:pick:1:garbage", "v1:yes", "v1:no", "v1:lang:fr", "v1:plan:1", "v1:plan:99", "v2:pick:1:2025-03", ":", "x"]


def _figure(rng: random.Random) -> str:
    value = rng.choice(VALUES) if rng.random() < 0.7 else _number(rng)
    line = f"{rng.choice(REFS)}{rng.choice([': ', ':', ' ', ' đạt ', ' = '])}{value}"
    if rng.random() < 0.15:
        line = f"{rng.choice(['tháng 2', 'tháng 3', 'tháng 4', 'tháng 13', 'quý 1', 'quý 5', 'năm 2024', 'tháng 12/2199'])}: {line}"
    if rng.random() < 0.1:
        line = f"sửa {line}"
    return line


def _number(rng: random.Random) -> str:
    # Now and then a huge number (up to 40 digits): refused as typed, never stored or formatted.
    length = rng.randint(13, 40) if rng.random() < 0.05 else rng.randint(1, 12)
    digits = "".join(rng.choice(string.digits) for _ in range(length))
    if rng.random() < 0.3:
        digits += rng.choice([",", "."]) + "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 4)))
    return digits + rng.choice(["", "%", "", " điểm"])


def _garbage(rng: random.Random) -> str:
    alphabet = string.printable + "ăâđêôơưáàảãạếềểễệ😀\u200b\u0301\x00"
    text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
    return text if text.strip() else "?"


def message(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.40:
        return rng.choice(["; ", "\n", "; "]).join(_figure(rng) for _ in range(rng.randint(1, 3)))
    if kind < 0.50:
        return rng.choice(["có", "không", "ok", "yes", "no", "1", "2", "3", "55", "72,5", "0", "-3", "100"])
    if kind < 0.65:
        return rng.choice(QUESTIONS)
    if kind < 0.85:
        return rng.choice(COMMANDS)
    if kind < 0.998:
        return _garbage(rng)
    return "6: 70%\n" + "x" * 4100 if rng.random() < 0.5 else "/tonghop"


async def _setup(app: App) -> None:
    await import_plan_file(app, SMALL)
    app.deps.admins = frozenset({("console", "admin")})
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        units = {u.code: u for u in await store.plan_units(session, plan)}
        codes = {user: (await people.create_invite(session, role="officer", plan=plan, unit=units[unit], now=app.now())).code
                 for user, unit in OFFICERS.items()}
        codes["leader"] = (await people.create_invite(session, role="leader", plan=plan, unit=None, now=app.now())).code
        group = (await people.create_invite(session, role="group", plan=plan, unit=None, now=app.now())).code
    for user, code in codes.items():
        await handle(app.deps, Inbound(_event(user, f"/start {code}")))
    await handle(app.deps, Inbound(_event("admin", f"/start {group}", group=True)))


def _event(user: str, text: str | None = None, *, choice: str | None = None, group: bool = False) -> Event:
    return Event(channel="console", chat_id=GROUP if group else user, chat_kind="group" if group else "private",
                 sender_id=user, sender_name=user, text=text, choice=choice, chat_title=GROUP if group else None)


async def test_random_and_hostile_messages_break_nothing(app: App) -> None:
    await _setup(app)
    rng = random.Random(SEED)
    senders = [*OFFICERS, "o-an-sinh", "o-mao-khe", "leader", "admin", "stranger"]
    apology = {translator(locale)("error-internal") for locale in ("vi", "en")}
    offered: dict[str, list[str]] = {}  # the buttons each sender was shown last
    sent = 0
    while sent < MESSAGES:
        async with app.unit_of_work() as session:
            for _ in range(min(BATCH, MESSAGES - sent)):
                sent += 1
                user = rng.choice(senders)
                roll = rng.random()
                if roll < 0.08:
                    event = _event(user, choice=rng.choice(offered.get(user) or FORGED))
                elif roll < 0.10:
                    event = _event(user, choice=rng.choice(FORGED))
                elif roll < 0.14:
                    event = _event(user, rng.choice(["/chuanop", "/tinhhinh", "/help", "hello", "/start XYZ"]), group=True)
                else:
                    event = _event(user, message(rng))
                ctx = Ctx(app.deps, session, event, app.now())
                await route(ctx)
                replies = ctx.replies
                texts = [reply.text for reply in replies if reply.to is None]
                answered = event.private or (event.text or "").startswith("/")
                assert bool(texts) == answered, (user, event.text, event.choice, texts)
                assert not apology & set(texts), (user, event.text, event.choice)
                choices = [choice.data for reply in replies for choice in reply.choices]
                if choices:
                    offered[user] = choices
    await _check_invariants(app)


async def _check_invariants(app: App) -> None:
    today = app.now().astimezone(app.deps.timezone).date()
    async with app.unit_of_work() as session:
        plan = await store.get_plan(session, "T2025")
        parts = {part.id: (part, indicator) for part, indicator in await session.execute(
            select(IndicatorPart, Indicator).join(Indicator, IndicatorPart.indicator_id == Indicator.id))}
        serves = {(role.person_id, role.unit_id) for role in await session.scalars(select(Role).where(Role.role == "officer"))}
        rows = list(await session.scalars(select(Submission)))
    assert rows, "the fuzz stored nothing: it does not reach the storing code"
    for row in rows:
        part, indicator = parts[row.part_id]
        where = (row.id, part.code, row.period, row.value, row.numerator, row.denominator)
        assert (row.person_id, row.unit_id) in serves, where
        period = Period.parse(row.period)
        frequency = Frequency(indicator.frequency)
        reporting = Period.of_month(today.year, today.month, frequency)
        assert period.frequency is frequency and period.year == plan.year and period <= reporting, where
        if row.not_applicable:
            continue
        if row.numerator is not None or row.denominator is not None:  # a ratio, or a percentage given as one
            assert part.measure in ("percent", "ratio"), where
            assert row.numerator is not None and row.denominator is not None, where
            assert Decimal(0) <= row.numerator <= row.denominator and row.denominator > 0, where
            continue
        match part.measure:
            case "percent" | "ratio":
                assert row.value is not None and Decimal(0) <= row.value <= Decimal(100), where
            case "count":
                assert row.value is not None and row.value >= 0, where
            case "milestone":
                assert row.done is not None, where
