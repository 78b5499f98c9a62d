"""The command table (handlers/commands.py): every command of the contract is read, the menus are
the ones the bot always offered, and help names every command."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from bot.app import App
from bot.cli import import_plan_file
from handlers.commands import COMMANDS, Audience, Command, Route, Scope, _index, find, lookup, menu, split
from handlers.intents import (
    AskCharts,
    AskExport,
    AskGap,
    AskIndicatorAcrossUnits,
    AskMissing,
    AskOfficialReport,
    AskOffTrack,
    AskSchedule,
    AskStatus,
    AskSummary,
    AskTemplate,
    Cancel,
    Help,
    Intent,
    PeriodHint,
    SetLanguage,
    ShowReport,
    Start,
    SubmitFigures,
    Unknown,
)
from handlers.misc import help_text
from handlers.understand import understand
from locales import LOCALES, catalog, translator
from models.periods import Frequency
from tests.test_dialog import SMALL, Chat

# The "Chat" section of the interface contract (/work/shared/design/interfaces.md), command by
# command, with what each is read as.
CONTRACT: dict[str, type[Intent] | Route] = {
    "start": Start, "bieudo": AskCharts, "xuat": AskExport, "lich": AskSchedule,
    "khonglienlac": Route.UNREACHABLE, "baocao": ShowReport, "report": ShowReport, "chitieu": AskGap,
    "gap": AskGap, "tinhhinh": AskStatus, "status": AskStatus, "chuanop": AskMissing, "missing": AskMissing,
    "tonghop": AskSummary, "summary": AskSummary, "ngonngu": SetLanguage, "language": SetLanguage,
    "huy": Cancel, "cancel": Cancel, "help": Help,
    # README.md and the help text name these too.
    "web": Route.WEB,
    "kehoach": Route.PLAN, "plan": Route.PLAN, "unreachable": Route.UNREACHABLE, "schedule": AskSchedule,
    "chuadat": AskOffTrack, "offtrack": AskOffTrack, "charts": AskCharts, "export": AskExport,
    "lienket": Route.LINK, "link": Route.LINK, "kenh": Route.CHANNEL, "channel": Route.CHANNEL,
    "moi": Route.INVITE, "invite": Route.INVITE, "canbo": Route.BOARD, "people": Route.BOARD,
    "bangiao": Route.HANDOVER, "handover": Route.HANDOVER,
    "baocaovanban": AskOfficialReport, "officialreport": AskOfficialReport,
    "bieumau": AskTemplate, "template": AskTemplate, "thuchanh": Route.PRACTICE, "practice": Route.PRACTICE,
}


@pytest.mark.parametrize(("name", "means"), CONTRACT.items())
def test_every_command_of_the_contract_is_in_the_table(name: str, means: type[Intent] | Route) -> None:
    for text in (f"/{name}", f"/{name}@DongTrieuBot", f"/{name.upper()}", f"  /{name}  "):
        command = lookup(text)
        assert command is not None and command.means is means, text


def test_the_readme_names_commands_of_the_table_only() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    paragraph = readme[readme.index("In chat ("):]
    paragraph = paragraph[: paragraph.index("\n\n")]
    named = re.findall(r"`/(\w+)", paragraph)
    assert len(named) > 10 and [name for name in named if find(name) is None] == []


@pytest.mark.parametrize(("command", "name"),
                         [(command, name) for command in COMMANDS for name in command.names],
                         ids=lambda value: value if isinstance(value, str) else value.vi)
def test_every_name_reads_as_its_command(command: Command, name: str) -> None:
    for text in (f"/{name}", f"/{name}@MyBot"):
        intent = understand(text)
        if isinstance(command.means, Route):
            assert intent == Unknown(text)  # the dispatcher answers it, before understanding
        else:
            assert type(intent) is command.means


@pytest.mark.parametrize(("text", "intent"), [
    ("/chitieu 6", AskGap("6")),
    ("/gap 12b", AskGap("12b")),
    ("/chitieu abc", AskGap("abc")),
    ("/gap 6 across units", AskIndicatorAcrossUnits("6")),
    ("/tinhhinh xã An Sinh", AskStatus("xã an sinh")),
    ("/status", AskStatus(None)),
    ("/chuanop tháng 3", AskMissing(PeriodHint(Frequency.MONTHLY, 3))),
    ("/missing abc", AskMissing(unknown_period="abc")),
    ("/tonghop 2025-Q1", AskSummary(PeriodHint(Frequency.QUARTERLY, 1, 2025))),
    ("/summary 2025", AskSummary(PeriodHint(Frequency.YEARLY, 1, 2025))),
    ("/bieudo 2025-13", AskCharts(unknown_period="2025-13")),
    ("/xuat 2025-03", AskExport(PeriodHint(Frequency.MONTHLY, 3, 2025))),
    ("/ngonngu en", SetLanguage("en")),
    ("/language tiếng Việt", SetLanguage("vi")),
    ("/start AbC9xZ", Start("AbC9xZ")),
    ("/start", Start(None)),
    ("/huy now", Cancel()),
    ("/lich 2025", AskSchedule()),
])
def test_arguments_are_read_by_the_commands_intent(text: str, intent: Intent) -> None:
    assert understand(text) == intent


def test_a_report_command_with_figures_submits_them() -> None:
    assert isinstance(understand("/baocao 6: 72,5%"), SubmitFigures)


def test_a_typo_one_edit_away_from_a_long_name_is_read_as_it() -> None:
    assert find("baocoa") is find("baocao")
    assert find("khonglienlc") is find("khonglienlac")
    assert find("tinhinh") is find("tinhhinh")
    assert find("hy") is None  # short names are read only as typed
    assert lookup("/foo") is None and lookup("hello /baocao") is None and lookup("/") is None


def test_split_gives_the_argument_as_typed() -> None:
    found = split("/KeHoach@DongTrieuBot   T2025 ")
    assert found is not None
    command, argument = found
    assert command.means is Route.PLAN and argument == "T2025"
    assert split("/khonglienlac") == (find("khonglienlac"), "")


def test_no_name_is_claimed_by_two_commands() -> None:
    for a, b in itertools.combinations(COMMANDS, 2):
        assert not set(a.names) & set(b.names), (a.vi, b.vi)
    with pytest.raises(ValueError, match="duplicate name"):
        _index((COMMANDS[0], Command("batdau", "begin", Start, "menu-start")))


def test_names_are_folded_words() -> None:
    with pytest.raises(ValueError, match="unfolded name"):
        _index((Command("BáoCáo", "report", ShowReport, "menu-report"),))


# The menus telegram.py set before the table (bot/channels/telegram.py, _private_commands,
# _group_commands, _admin_commands). One change: the English admin menu offered /khonglienlac and
# /lich by their Vietnamese names; from the table it offers them by their English ones.
PRIVATE_VI = [("baocao", "menu-report"), ("chitieu", "menu-gap"), ("tinhhinh", "menu-status"),
              ("chuanop", "menu-missing"), ("tonghop", "menu-summary"), ("ngonngu", "menu-language"),
              ("huy", "menu-cancel"), ("help", "menu-help")]
PRIVATE_EN = [("report", "menu-report"), ("gap", "menu-gap"), ("status", "menu-status"),
              ("missing", "menu-missing"), ("summary", "menu-summary"), ("language", "menu-language"),
              ("cancel", "menu-cancel"), ("help", "menu-help")]
MENUS = {
    ("vi", Scope.PRIVATE): PRIVATE_VI,
    ("en", Scope.PRIVATE): PRIVATE_EN,
    ("vi", Scope.GROUP): [("tonghop", "menu-summary"), ("chuanop", "menu-missing"), ("tinhhinh", "menu-status"),
                          ("help", "menu-help")],
    ("en", Scope.GROUP): [("summary", "menu-summary"), ("missing", "menu-missing"), ("status", "menu-status"),
                          ("help", "menu-help")],
    ("vi", Scope.ADMIN): [*PRIVATE_VI, ("khonglienlac", "menu-unreachable"), ("lich", "menu-schedule"),
                          ("moi", "menu-invite"), ("canbo", "menu-board")],
    ("en", Scope.ADMIN): [*PRIVATE_EN, ("unreachable", "menu-unreachable"), ("schedule", "menu-schedule"),
                          ("invite", "menu-invite"), ("people", "menu-board")],
}


@pytest.mark.parametrize(("locale", "scope"), list(MENUS))
def test_menus_are_the_ones_the_bot_offered(locale: str, scope: Scope) -> None:
    assert menu(locale, scope) == MENUS[locale, scope]


def test_menu_positions_are_distinct() -> None:
    for position in ("private", "group", "admin"):
        taken = [getattr(c, position) for c in COMMANDS if getattr(c, position) is not None]
        assert len(taken) == len(set(taken)), position


@pytest.mark.parametrize("locale", LOCALES)
def test_every_description_is_a_message(locale: str) -> None:
    messages = catalog(locale)
    assert [c.description for c in COMMANDS if c.description not in messages] == []


def _offered(command: Command, locale: str) -> bool:
    return any(command.name(locale) in dict(menu(locale, scope)) for scope in Scope)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_command_is_in_a_menu_or_in_help(locale: str) -> None:
    assert [c.vi for c in COMMANDS if not c.help and not _offered(c, locale)] == []


@pytest.mark.parametrize(("locale", "audience"), list(itertools.product(LOCALES, Audience)))
def test_help_names_every_command_of_its_audience(locale: str, audience: Audience) -> None:
    text = help_text(translator(locale), [audience])
    for command in COMMANDS:
        if audience in command.help:
            assert f"/{command.name(locale)}" in text, (command.vi, audience)


def test_help_keeps_its_paragraphs_and_names_a_command_once() -> None:
    t = translator("vi")
    text = help_text(t, [Audience.OFFICER, Audience.LEADER], header="help-header")
    assert text.startswith(t("help-header") + "\n\n" + t("help-officer"))
    assert t("help-leader") in text
    assert text.count("/tinhhinh") == 2  # in both paragraphs, as written; never added again
    assert text.count("/lich") == 1
    assert "• /bieudo — biểu đồ tổng hợp" in text
    group = help_text(translator("en"), [Audience.GROUP])
    assert group.startswith(translator("en")("help-group")) and "/charts" in group


@pytest.fixture
async def chat(app: App) -> Chat:
    await import_plan_file(app, SMALL)
    return Chat(app)


async def test_help_shows_each_person_the_commands_of_their_roles(chat: Chat) -> None:
    await chat.register("Lan", "officer", "an-sinh")
    officer = await chat.say("Lan", "/help")
    assert "/baocao" in officer and "/lich" in officer and "/ngonngu" in officer
    assert "/tonghop" not in officer and "/xuat" not in officer and "/khonglienlac" not in officer
    await chat.register("Boss", "admin")
    await chat.say("Boss", "/language en")
    admin = await chat.say("Boss", "/help")
    for name in ("status", "missing", "summary", "charts", "offtrack", "schedule", "export", "unreachable",
                 "language", "cancel"):
        assert f"/{name}" in admin, name
    assert "/report" not in admin
