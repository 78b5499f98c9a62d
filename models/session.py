"""The session type the layers above pass around: handlers and the scheduler name it from here
and call the query functions of models/, so none of them imports SQLAlchemy."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

# One unit of work: queries and writes go through models/ functions, committed by its opener.
Session = AsyncSession

# Opens one session as a context manager (an async_sessionmaker, or SQLite's serialized one).
SessionFactory = Callable[[], AbstractAsyncContextManager[AsyncSession]]
