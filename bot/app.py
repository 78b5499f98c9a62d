"""The composition root: build_app(settings, clock) wires everything; tests call the same factory."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import Settings
from bot.db import make_engine, make_sessionmaker, upgrade
from handlers.context import Deps, SessionFactory
from locales import Translator, translator
from models.file_store import LocalFileStore
from models.periods import WorkCalendar

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    clock: Clock = system_clock
    t: Translator = field(init=False)
    deps: Deps = field(init=False)

    def __post_init__(self) -> None:
        self.t = translator(self.settings.bot_locale)
        self.deps = Deps(
            sessions=self.sessions, clock=self.clock, timezone=self.settings.timezone,
            default_locale=self.settings.bot_locale, admins=self.settings.admins, calendar=WorkCalendar(),
            web_base=self.settings.web_base_url,
            file_store=LocalFileStore(self.settings.file_store_dir),
        )

    def now(self) -> datetime:
        return self.clock()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One session, committed once on success, rolled back on any exception."""
        async with self.sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def migrate(self) -> None:
        await upgrade(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


def build_app(settings: Settings, clock: Clock = system_clock) -> App:
    engine = make_engine(settings.database_url, sqlite_inline=settings.sqlite_inline)
    return App(settings=settings, engine=engine, sessions=make_sessionmaker(engine, serialized=settings.sqlite_inline),
               clock=clock)
