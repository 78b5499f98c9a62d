"""Whether a database error means "not now" (down, restarting, locked past the wait) or "someone
else wrote first", rather than a bug or bad data: work that failed so is worth doing again."""
from __future__ import annotations

import socket
import sqlite3

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, TimeoutError as PoolTimeout


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or written now (down, restarting, a
    dropped connection, SQLite's lock held past the wait), as opposed to a bug or bad data:
    the work is worth doing again later, unchanged."""
    # Refused, reset, timed out, no such host; asyncpg's "Multiple exceptions" when every
    # address failed is a bare OSError. (A missing file is an OSError too, but a bug.)
    if isinstance(exc, (ConnectionError, TimeoutError, socket.gaierror, PoolTimeout)) or type(exc) is OSError:
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc.orig, sqlite3.OperationalError):
            return any(word in str(exc.orig).lower() for word in ("locked", "busy", "unable to open", "disk i/o"))
        return isinstance(exc, (OperationalError, InterfaceError)) or _asyncpg_unavailable(exc.orig)
    return _asyncpg_unavailable(exc)


def _asyncpg_unavailable(exc: BaseException | None) -> bool:
    """PostgreSQL's answers for a server going away or not taking connections (yet): connection
    exceptions (08), operator intervention (57P: shut down, starting up), too many connections
    (53300), a database closed to connections (55000, ALLOW_CONNECTIONS false). They reach us bare
    (connecting) or wrapped (on a connection in use)."""
    while exc is not None:
        state = getattr(exc, "sqlstate", None) or ""
        if state.startswith(("08", "57P")) or state == "53300" or type(exc).__name__ == "ConnectionDoesNotExistError":
            return True
        if state == "55000" and "accepting connections" in str(exc):
            return True
        exc = exc.__cause__
    return False


def write_conflict(exc: BaseException) -> bool:
    """Whether `exc` says another transaction wrote the same thing first (two processes storing the
    next version of one figure, PostgreSQL's serialization failures and deadlocks): the work, done
    again from the start, will see the other's result."""
    if isinstance(exc, IntegrityError):
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return state in ("40001", "40P01")
