"""Log lines for people (the default) or, with LOG_FORMAT=json, one JSON object per line for a log
collector: time, level, logger, message, and the channel, chat and update being handled.

Secrets never reach a log line: the configured tokens and webhook secret, and the code of a
`/start CODE` invite, are masked in every message and traceback. Handlers log no message text nor
figure notes in the first place."""
from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from bot.config import Settings
from bot.log_context import CHANNEL, CHAT, UPDATE

HUMAN_FORMAT = "%(levelname)s %(name)s: %(message)s"
MASK = "***"
_INVITE = re.compile(r"(/start(?:group)?[ =]|[?&]start(?:group)?=)[A-Za-z0-9_-]+")


class Redactor(logging.Filter):
    """Masks the given secrets and invite codes in a record's message and exception text."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _INVITE.sub(lambda m: m.group(1) + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.clean(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self.clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, variable in (("channel", CHANNEL), ("chat", CHAT), ("update", UPDATE)):
            if (value := variable.get()) is not None:
                line[key] = value
        if record.exc_text or record.exc_info:
            line["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Ours, to tell it from handlers others put on the root logger (a test runner's)."""


def configure_logging(settings: Settings | None, level: int = logging.WARNING) -> logging.Handler:
    """Log to stderr in the settings' LOG_FORMAT (human when settings are None: they could not be
    read), replacing the handler an earlier call installed; returns the handler."""
    handler = _Handler()
    if settings is not None and settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(HUMAN_FORMAT))
    if settings is not None:
        secrets = [s.get_secret_value() for s in (settings.bot_token, settings.zalo_bot_token, settings.webhook_secret,
                                                  settings.zalo_webhook_secret) if s is not None]
        handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
