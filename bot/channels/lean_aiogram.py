"""Import aiogram without building every Telegram type's validator up front.

aiogram declares its ~400 types with pydantic's ``defer_build``, then ``aiogram.types`` calls
``model_rebuild`` on every one of them at import time to resolve their forward references, and its
~190 API methods are built as they are defined. That is every validator and serializer at once:
about 140 MiB resident (aiogram issue #1513), mostly for types and methods this bot never uses
(stickers, payments, business accounts, ...).

While aiogram is imported here, that loop does only what the rebuild needs from it: the names
each type's annotations use but its module imports only for type checkers are put in that
module's namespace. pydantic then builds a type the first time it validates one, as
``defer_build`` intends (the first Update builds Update and what it contains). Same classes, same
validation. Models defined during that import (the methods) are deferred the same way: pydantic
builds SendMessage when the bot first sends one. If aiogram was imported before this module, it
is left as it is.

One consequence is handled here too: aiogram parametrizes its generic ``Response`` model per call
(``Response[Message]`` for every sendMessage). pydantic caches parametrized models weakly, and
with Message not built on its own, a collected ``Response[Message]`` takes about 60 ms to make
again (it builds Message's whole validator): this module keeps each one it is asked for (a few
dozen at most, one per result type).

This is opt-in (the AIOGRAM_LEAN_IMPORT setting): it leans on pydantic's private parts, so it is
trusted only with the versions the lock file pins. Importing this module changes nothing; the entry
point (bot/__main__.py) calls `import_aiogram_as_configured()` before anything imports aiogram.
"""
from __future__ import annotations

import re
import sys
from typing import Any

from pydantic import BaseModel
from pydantic._internal import _config

_NAME = re.compile(r"[A-Za-z_]\w*")


def import_aiogram_as_configured() -> bool:
    """Import aiogram the lean way when the AIOGRAM_LEAN_IMPORT setting is on; whether it was.
    A bad configuration is left for the command line to report, with the rest."""
    from bot.config import ConfigError, load_settings

    try:
        lean = load_settings().aiogram_lean_import
    except ConfigError:
        return False
    if lean:
        import_aiogram_lean()
    return lean


def import_aiogram_lean() -> None:
    """Import aiogram with its models' building deferred to first use. If aiogram was imported
    already, it is left as it is."""
    if "aiogram" in sys.modules:
        return
    eager = BaseModel.__dict__["model_rebuild"]

    def deferred(cls: type[BaseModel], *, force: bool = False, raise_errors: bool = True,
                 _parent_namespace_depth: int = 2, _types_namespace: Any = None) -> bool | None:
        if _types_namespace is not None and not force and cls.__module__.startswith("aiogram.types."):
            # Inherited fields are resolved in the subclass's module too.
            module = vars(sys.modules[cls.__module__])
            for base in cls.__mro__:
                for annotation in base.__dict__.get("__annotations__", {}).values():
                    for name in _NAME.findall(str(annotation)):
                        if name in _types_namespace and name not in module:
                            module[name] = _types_namespace[name]
            return None
        return eager.__func__(cls, force=force, raise_errors=raise_errors,
                              _parent_namespace_depth=_parent_namespace_depth + 1,
                              _types_namespace=_types_namespace)

    # pydantic's default for models that do not say; a private table, hence the care.
    defaults: dict[str, Any] = getattr(_config, "config_defaults", {})
    defer_by_default = defaults.get("defer_build")
    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[method-assign,assignment]
    if defer_by_default is False:
        defaults["defer_build"] = True
    try:
        import aiogram  # noqa: F401
        import aiogram.types  # noqa: F401
    finally:
        BaseModel.model_rebuild = eager  # type: ignore[method-assign]
        if defer_by_default is False:
            defaults["defer_build"] = False
    _keep_response_models()


_kept_responses: set[type[BaseModel]] = set()


def _keep_response_models() -> None:
    from aiogram.methods.base import Response

    parametrize = Response.__class_getitem__

    def kept(cls: type[BaseModel], params: Any) -> Any:
        model = parametrize(params)
        _kept_responses.add(model)
        return model

    Response.__class_getitem__ = classmethod(kept)  # type: ignore[method-assign,assignment]
