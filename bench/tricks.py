"""`--tricks`: run a benchmark with the opt-in speed tricks on, as a deployment would with
SQLITE_INLINE=true and AIOGRAM_LEAN_IMPORT=true. Without it a benchmark runs the standard path
(or whatever those variables say in the environment: the benches read settings as the bot does).

Call `use_tricks_if_asked()` before anything imports aiogram; the bot processes some benches start
inherit the environment, so they run the same path."""
from __future__ import annotations

import os
import sys

FLAG = "--tricks"
HELP = "turn the speed tricks on (SQLITE_INLINE=true, AIOGRAM_LEAN_IMPORT=true); default: the standard path"
VARIABLES = ("SQLITE_INLINE", "AIOGRAM_LEAN_IMPORT")


def use_tricks_if_asked(argv: list[str] | None = None) -> str:
    """Set the tricks' variables when FLAG is on the command line, import aiogram as they say,
    and name the path taken (printed by the benches beside their figures)."""
    if FLAG in (sys.argv[1:] if argv is None else argv):
        os.environ.update(dict.fromkeys(VARIABLES, "true"))
    from bot.channels.lean_aiogram import import_aiogram_as_configured

    import_aiogram_as_configured()
    from bot.config import load_settings

    settings = load_settings()
    tricks = [name for name in VARIABLES if getattr(settings, name.lower())]
    return "path: " + (f"with {', '.join(tricks)}" if tricks else "standard (aiosqlite, stock aiogram)")
