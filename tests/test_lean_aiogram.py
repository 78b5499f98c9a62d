"""aiogram imported the lean way (bot/channels/lean_aiogram.py, opt-in with AIOGRAM_LEAN_IMPORT):
nothing built up front, and every Telegram type and API method still builds, and validates, when
first used; without the setting, aiogram is imported as it imports itself and pydantic is untouched.

Each check runs in a fresh interpreter, where the import really happens first."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


LEAN = "from bot.channels.lean_aiogram import import_aiogram_lean; import_aiogram_lean()"
# What `python -m bot run` and `dtbot run` do: the entry point, then the run command's module.
ENTRY_POINT = """
    import sys
    import bot.__main__
    sys.argv = ["dtbot", "--help"]
    try:
        bot.__main__.main()
    except SystemExit:
        pass
    import bot.run
    from aiogram import methods, types
    from pydantic import BaseModel
    print(types.Update.__pydantic_complete__, types.Message.__pydantic_complete__,
          methods.SendMessage.__pydantic_complete__, BaseModel.__dict__["model_rebuild"].__func__.__module__)
"""


def run_python(code: str, **environment: str) -> str:
    # A folder without a .env, and only the variables given: the developer's settings stay out.
    env = {key: value for key, value in os.environ.items() if key not in ("SQLITE_INLINE", "AIOGRAM_LEAN_IMPORT")}
    env.update(environment, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=folder, capture_output=True,
                                text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_with_the_setting_on_the_bot_imports_aiogram_without_building_its_models() -> None:
    out = run_python(ENTRY_POINT, AIOGRAM_LEAN_IMPORT="true")
    assert out.splitlines()[-1].split() == ["False", "False", "False", "pydantic.main"]  # after --help's text


def test_by_default_the_bot_imports_stock_aiogram_and_leaves_pydantic_alone() -> None:
    out = run_python(ENTRY_POINT)
    # aiogram.types rebuilds every type as it imports: Update and Message complete; model_rebuild is pydantic's own.
    assert out.splitlines()[-1].split() == ["True", "True", "True", "pydantic.main"]


def test_importing_the_telegram_channel_patches_nothing() -> None:
    out = run_python("""
        from pydantic import BaseModel
        from pydantic._internal import _config
        rebuild, defaults = BaseModel.__dict__["model_rebuild"], dict(_config.config_defaults)
        import bot.channels.telegram
        import bot.channels.lean_aiogram
        from aiogram import types
        from aiogram.methods.base import Response
        print(BaseModel.__dict__["model_rebuild"] is rebuild, _config.config_defaults == defaults,
              types.Update.__pydantic_complete__, Response.__dict__.get("__class_getitem__") is None)
    """)
    assert out.split() == ["True", "True", "True", "True"]


def test_every_type_and_method_builds_on_first_use() -> None:
    out = run_python(f"""
        import inspect
        {LEAN}
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
    lean = run_python(code.replace("{import_line}", LEAN))
    eager = run_python(code.replace("{import_line}", "import aiogram"))
    assert lean == eager
    assert '"first_name":"Lan"' in lean
