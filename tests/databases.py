"""Throwaway PostgreSQL databases, for the test suite and the benchmarks."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def throwaway_postgres(server_url: str, prefix: str = "t") -> AsyncIterator[str]:
    """The URL of a new database on the server `server_url` points at, dropped afterwards."""
    admin_url = make_url(server_url).set(drivername="postgresql+asyncpg")
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()
