"""Typed settings from the environment and `.env`, parsed once at start-up (interfaces.md).

A bad value raises ConfigError carrying one line that names the variable; the command line prints
that line and exits, never a traceback.
"""
from __future__ import annotations

import os
import re
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from locales import normalize_locale, translator

CHANNELS = ("telegram", "zalo", "console")
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}

_SWITCH_ON = frozenset({"1", "true", "yes", "on"})
_SWITCH_WORDS = _SWITCH_ON | {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A bad configuration value; str() is the one line to show."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field("sqlite+aiosqlite:///data/bot.db", alias="DATABASE_URL")
    bot_token: SecretStr | None = Field(None, alias="BOT_TOKEN")
    telegram_api_url: str = Field("https://api.telegram.org", alias="TELEGRAM_API_URL")
    zalo_bot_token: SecretStr | None = Field(None, alias="ZALO_BOT_TOKEN")
    zalo_api_url: str = Field("https://bot-api.zaloplatforms.com", alias="ZALO_API_URL")
    zalo_rate_per_second: float = Field(10.0, alias="ZALO_RATE_PER_SECOND")
    zalo_webhook_url: str | None = Field(None, alias="ZALO_WEBHOOK_URL")
    zalo_webhook_secret: SecretStr | None = Field(None, alias="ZALO_WEBHOOK_SECRET")
    public_base_url: str | None = Field(None, alias="PUBLIC_BASE_URL")
    # Evidence files people send (issue 17): the folder their bytes are kept in, by SHA-256.
    file_store_dir: Path = Field(Path("data/files"), alias="FILE_STORE_DIR")
    bot_timezone: str = Field("Asia/Ho_Chi_Minh", alias="BOT_TIMEZONE")
    bot_locale: str = Field("vi", alias="BOT_LOCALE")
    bot_admins: str = Field("", alias="BOT_ADMINS")
    webhook_url: str | None = Field(None, alias="WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(None, alias="WEBHOOK_SECRET")
    webhook_listen: str = Field("0.0.0.0:8080", alias="WEBHOOK_LISTEN")
    # The web desk (issue 23, bot/web/): served by `run` when set, alone by `web`.
    web_listen: str | None = Field(None, alias="WEB_LISTEN")
    # Operations (docs/operations.md): /healthz and /metrics in polling mode too, and log format.
    metrics: bool = Field(False, alias="METRICS")
    log_format: str = Field("text", alias="LOG_FORMAT")
    # Speed tricks, off by default (bench/RESULTS.md measures what each buys): SQLite statements run
    # in the event loop's thread (bot/sqlite_inline.py), and aiogram imported without building its
    # models up front (bot/channels/lean_aiogram.py).
    sqlite_inline: bool = Field(False, alias="SQLITE_INLINE")
    aiogram_lean_import: bool = Field(False, alias="AIOGRAM_LEAN_IMPORT")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value.strip())
        except ArgumentError:
            raise ValueError("config-error-database-url") from None
        driver = _ASYNC_DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError("config-error-database-url")
        url = url.set(drivername=driver)
        return url.render_as_string(hide_password=False)

    @field_validator("bot_token", "zalo_bot_token", "webhook_secret", "zalo_webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics", "sqlite_inline", "aiogram_lean_import", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if not word:  # a blank line in the env file: the default, off for every switch
            return False
        if word not in _SWITCH_WORDS:
            raise ValueError("config-error-switch")
        return word in _SWITCH_ON

    @field_validator("bot_token", "zalo_bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"\d+:[A-Za-z0-9_-]{5,}", value.get_secret_value().strip()):
            raise ValueError("config-error-token")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token (1-256 of these), and at least 16 so it cannot be guessed.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            raise ValueError("config-error-webhook-secret-format")
        return value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Zalo's rule for secret_token: 8-256 characters (kept to ones safe in a header).
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{8,256}", value.get_secret_value()):
            raise ValueError("config-error-zalo-webhook-secret-format")
        return value

    @field_validator("zalo_rate_per_second", mode="before")
    @classmethod
    def _rate(cls, value: object) -> object:
        try:
            rate = float(str(value).strip()) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("config-error-rate") from None
        if not 0 < rate <= 1000:
            raise ValueError("config-error-rate")
        return rate

    @field_validator("telegram_api_url", "zalo_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value.strip()):
            raise ValueError("config-error-url")
        return value.strip().rstrip("/")

    @field_validator("webhook_url", "zalo_webhook_url", "public_base_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^\s/]+", value.strip()):
            raise ValueError("config-error-url")
        return value.strip()

    @field_validator("bot_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("config-error-timezone") from None
        return value.strip()

    @field_validator("bot_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value.strip().lower() not in ("vi", "en"):
            raise ValueError("config-error-locale")
        return value.strip().lower()

    @field_validator("bot_admins")
    @classmethod
    def _admins(cls, value: str) -> str:
        for item in filter(None, (piece.strip() for piece in value.split(","))):
            channel, _, user_id = item.partition(":")
            if channel not in CHANNELS or not user_id.strip():
                raise ValueError("config-error-admins")
        return value

    @field_validator("web_listen")
    @classmethod
    def _web_listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return cls._listen(value)

    @field_validator("webhook_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.strip().rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("config-error-listen")
        return value.strip()

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value.strip().lower() not in ("text", "json"):
            raise ValueError("config-error-log-format")
        return value.strip().lower()

    @cached_property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @cached_property
    def admins(self) -> frozenset[tuple[str, str]]:
        """(channel, user id) pairs from BOT_ADMINS."""
        pairs = (item.strip().partition(":") for item in self.bot_admins.split(",") if item.strip())
        return frozenset((channel, user_id.strip()) for channel, _, user_id in pairs)

    @property
    def database(self) -> URL:
        return make_url(self.database_url)

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        return split_listen(self.webhook_listen)

    @property
    def web_base_url(self) -> str | None:
        """Where people open the web desk: PUBLIC_BASE_URL, else http://WEB_LISTEN; None when
        the desk is not set up (its processes and the bot's share the same settings)."""
        if not self.web_listen:
            return None
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.web_listen}"


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and .env (overrides win); ConfigError on a bad value."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        t = translator(normalize_locale(os.environ.get("BOT_LOCALE")))
        raise ConfigError(t("config-error", variable=".env", reason=t("config-error-env-encoding"))) from None
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]) if error["loc"] else "?"
        message_id = str(error.get("ctx", {}).get("error", "")) or error["msg"]
        locale = normalize_locale(os.environ.get("BOT_LOCALE"))
        t = translator(locale)
        try:
            reason = t(message_id)
        except KeyError:
            reason = t("config-error-generic", problem=error["msg"])
        raise ConfigError(t("config-error", variable=variable, reason=reason)) from None
    if settings.webhook_url and settings.webhook_secret is None:
        t = translator(settings.bot_locale)
        raise ConfigError(t("config-error", variable="WEBHOOK_SECRET", reason=t("config-error-webhook-secret")))
    if settings.zalo_webhook_url and settings.zalo_webhook_secret is None:
        t = translator(settings.bot_locale)
        raise ConfigError(t("config-error", variable="ZALO_WEBHOOK_SECRET",
                            reason=t("config-error-zalo-webhook-secret")))
    return settings


def prepare_sqlite_folder(url: URL) -> None:
    """The default database lives in data/; create the folder so a fresh clone just runs."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
