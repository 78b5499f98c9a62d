"""aiogram imported the lean way (bot/channels/lean_aiogram.py): nothing built up front, and
every Telegram type and API method still builds, and validates, when first used.

Each check runs in a fresh interpreter, where the import really happens first."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_bot_imports_aiogram_without_building_its_models() -> None:
    out = run_python("""
        import bot.run  # what `python -m bot run` imports
        from aiogram import methods, types
        print(types.Update.__pydantic_complete__, types.Message.__pydantic_complete__,
              methods.SendMessage.__pydantic_complete__)
    """)
    assert out.split() == ["False", "False", "False"]


def test_every_type_and_method_builds_on_first_use() -> None:
    out = run_python("""
        import inspect
        import bot.channels.telegram
        from pydantic import BaseModel
        from aiogram import methods, types

        count = 0
        for module in (types, methods):
            for name in dir(module):
                cls = getattr(module, name)
                if inspect.isclass(cls) and issubclass(cls, BaseModel) and cls.__module__.startswith("aiogram."):
                    # What pydantic does on first use: the mock validator rebuilds the model.
                    def first_use():
                        cls.__pydantic_validator__.validate_python
                        cls.__pydantic_serializer__.to_python
                    first_use()
                    assert cls.__pydantic_complete__, name
                    count += 1
        print(count)
    """)
    assert int(out) > 500


def test_an_update_validates_the_same_as_with_eager_aiogram() -> None:
    update = {
        "update_id": 7,
        "message": {
            "message_id": 3, "date": 1700000000, "text": "6: 72,5%",
            "chat": {"id": -100123, "type": "supergroup", "title": "BCĐ"},
            "from": {"id": 42, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
            "reply_to_message": {"message_id": 2, "date": 1700000000, "chat": {"id": -100123, "type": "supergroup"},
                                 "from": {"id": 9, "is_bot": True, "first_name": "bot", "username": "dt_bot"}},
            "entities": [{"type": "bot_command", "offset": 0, "length": 2}],
        },
    }
    code = f"""
        {{import_line}}
        from aiogram.types import Update
        update = Update.model_validate({update!r})
        print(update.model_dump_json(exclude_none=True))
    """
    lean = run_python(code.replace("{import_line}", "import bot.channels.lean_aiogram"))
    eager = run_python(code.replace("{import_line}", "import aiogram"))
    assert lean == eager
    assert '"first_name":"Lan"' in lean
