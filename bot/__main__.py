"""`python -m bot <command>` and the `dtbot` command: see bot/cli.py and interfaces.md."""
from __future__ import annotations

import sys

from bot.channels.lean_aiogram import import_aiogram_as_configured


def main() -> int:
    # Before bot.cli, which imports aiogram: with AIOGRAM_LEAN_IMPORT on, that import must be the lean one.
    import_aiogram_as_configured()
    from bot.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
