"""On/off settings (SQLITE_INLINE, AIOGRAM_LEAN_IMPORT, METRICS): off unless set, the usual
spellings accepted, anything else refused with one line naming the variable."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

SWITCHES = ("SQLITE_INLINE", "AIOGRAM_LEAN_IMPORT", "METRICS")


def test_the_speed_tricks_are_off_by_default() -> None:
    settings = load_settings()
    assert (settings.sqlite_inline, settings.aiogram_lean_import, settings.metrics) == (False, False, False)


@pytest.mark.parametrize("variable", SWITCHES)
@pytest.mark.parametrize(("written", "meant"), [
    ("true", True), ("1", True), (" Yes ", True), ("ON", True),
    ("false", False), ("0", False), ("no", False), ("off", False), ("", False),
])
def test_a_switch_reads_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, variable: str, written: str,
                                            meant: bool) -> None:
    monkeypatch.setenv(variable, written)
    settings = load_settings()
    assert getattr(settings, variable.lower()) is meant


@pytest.mark.parametrize("variable", SWITCHES)
def test_a_switch_refuses_anything_else_naming_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "maybe")
    monkeypatch.setenv("BOT_LOCALE", "en")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == f"Bad configuration: {variable}: write true or false (1/0, yes/no and on/off work too)."


def test_the_env_file_sets_a_switch() -> None:
    # The suite runs in a fresh folder (conftest): a .env there is what the bot would read.
    with open(".env", "w", encoding="utf-8") as env:
        env.write("SQLITE_INLINE=true\nAIOGRAM_LEAN_IMPORT=false\n")
    settings = load_settings()
    assert (settings.sqlite_inline, settings.aiogram_lean_import) == (True, False)
