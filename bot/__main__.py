"""`python -m bot <command>`: see bot/cli.py and interfaces.md."""
import sys

from bot.cli import main

sys.exit(main())
