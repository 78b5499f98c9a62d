"""Backups, restores and copies between databases: `backup --out FILE`, `restore FILE [--force]`,
`copy-database --from URL --to URL [--force]` (docs/operations.md).

A backup is consistent while the bot runs. On SQLite it is SQLite's online backup of the file:
a database file itself. On PostgreSQL it is a portable dump read in one REPEATABLE READ
transaction: gzipped JSON lines, a header (format, schema revision, tables) then one line per
row, every table of the schema. Either kind restores into SQLite or PostgreSQL.

Evidence files people sent live outside the database (models/file_store.py): a backup copies them
into FILE.files.zip beside it (each under its SHA-256), after the database, so every file a backed-up
row names is in it (a file is stored before its row is written). A restore puts them back into the
file store, checking each against its hash.

A restore (and a copy) fills an empty database: the target is migrated to the schema's head, its
tables are checked empty (or emptied, with --force), every row is inserted table by table in
dependency order, and PostgreSQL's id sequences are moved past the restored ids.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from alembic.script import ScriptDirectory
from sqlalchemy import Date, DateTime, Integer, Table, Time, delete, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import _ASYNC_DRIVERS
from bot.db import alembic_config, current_revision, make_engine, upgrade
from locales import Translator
from models.file_store import FileStore, sha256
from models.tables import Base

DUMP_FORMAT = "dtbot-dump"
DUMP_VERSION = 1
SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH = 1000  # rows per INSERT


class BackupError(Exception):
    """A failure to explain in one line; str() is the explanation."""


@dataclass
class Copied:
    tables: int
    rows: int


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def async_url(url: str, t: Translator) -> str:
    """A database URL as the bot's engines take it (plain postgresql:// and sqlite:// accepted)."""
    try:
        parsed = make_url(url.strip())
    except Exception:
        raise BackupError(t("backup-error-url")) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise BackupError(t("backup-error-url"))
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


# --- reading --------------------------------------------------------------------------------------


def sqlite_online_backup(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while other connections write."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


@asynccontextmanager
async def snapshot(url: str) -> AsyncIterator[AsyncConnection]:
    """A connection that sees one consistent state of the database at `url` for as long as it is
    open. SQLite: an online backup in a temporary folder, then that copy. PostgreSQL: a
    REPEATABLE READ, read-only transaction."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dtbot-snapshot-") as folder:
            copy = Path(folder) / "snapshot.db"
            await asyncio.to_thread(sqlite_online_backup, Path(parsed.database or ""), copy)
            engine = make_engine(f"sqlite+aiosqlite:///{copy}")
            try:
                async with engine.connect() as connection:
                    yield connection
            finally:
                await engine.dispose()
        return
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                await connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield connection
    finally:
        await engine.dispose()


async def rows_of(connection: AsyncConnection, table: Table) -> AsyncIterator[list[dict[str, Any]]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = await connection.stream(select(table).order_by(*order))
    async for partition in result.mappings().partitions(BATCH):
        yield [dict(row) for row in partition]


async def _check_revision(connection: AsyncConnection, t: Translator) -> str:
    revision = await current_revision(connection)
    if revision != head_revision():
        raise BackupError(t("backup-error-revision", found=revision or "-", expected=head_revision()))
    return revision


# --- writing --------------------------------------------------------------------------------------


async def _prepare_target(engine: AsyncEngine, force: bool, t: Translator) -> None:
    """Migrate the target to head and make sure it is empty (emptying it with force)."""
    await upgrade(engine)
    async with engine.begin() as connection:
        filled = [table.name for table in tables()
                  if await connection.scalar(select(func.count()).select_from(table))]
        if filled and not force:
            raise BackupError(t("restore-error-not-empty", tables=", ".join(filled)))
        for table in reversed(tables()):
            await connection.execute(delete(table))


async def _insert(connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        await connection.execute(insert(table), rows)


async def _reset_sequences(connection: AsyncConnection) -> None:
    """PostgreSQL hands out ids from sequences the inserted rows did not move."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables():
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                await connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) FROM {table.name}"))


async def copy_database(source_url: str, target_url: str, t: Translator, *, force: bool = False) -> Copied:
    """Every row of the source (a consistent snapshot of it) into the empty target."""
    source_engine = make_engine(source_url)
    try:
        await upgrade(source_engine)  # as every command does: the copy is of the current schema
    finally:
        await source_engine.dispose()
    target = make_engine(target_url)
    try:
        await _prepare_target(target, force, t)
        copied = Copied(0, 0)
        async with snapshot(source_url) as source, target.begin() as destination:
            await _check_revision(source, t)
            for table in tables():
                async for batch in rows_of(source, table):
                    await _insert(destination, table, batch)
                    copied.rows += len(batch)
                copied.tables += 1
            await _reset_sequences(destination)
        return copied
    finally:
        await target.dispose()


# --- backup files ---------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot write {type(value).__name__}")


def _decoder(table: Table) -> Any:
    """Turns a dumped row back into the values its columns take (JSON has no dates)."""
    parsers = {}
    for column in table.columns:
        kind = getattr(column.type, "impl", column.type)
        if isinstance(kind, DateTime):
            parsers[column.name] = datetime.fromisoformat
        elif isinstance(kind, Date):
            parsers[column.name] = date.fromisoformat
        elif isinstance(kind, Time):
            parsers[column.name] = time.fromisoformat

    def decode(row: dict[str, Any]) -> dict[str, Any]:
        for name, parse in parsers.items():
            if row.get(name) is not None:
                row[name] = parse(row[name])
        return row
    return decode


async def write_dump(connection: AsyncConnection, out: IO[str], revision: str) -> Copied:
    header = {"format": DUMP_FORMAT, "version": DUMP_VERSION, "revision": revision,
              "tables": [table.name for table in tables()]}
    out.write(json.dumps(header) + "\n")
    copied = Copied(0, 0)
    for table in tables():
        async for batch in rows_of(connection, table):
            for row in batch:
                out.write(json.dumps({"t": table.name, "r": row}, default=_encode, ensure_ascii=False) + "\n")
            copied.rows += len(batch)
        copied.tables += 1
    return copied


def files_beside(path: Path) -> Path:
    """Where a backup's evidence files go: FILE.files.zip."""
    return path.with_name(path.name + ".files.zip")


async def backup_files(store: FileStore, out: Path) -> int:
    """Copy every file of the store into a zip beside the backup; how many."""
    target = files_beside(out)
    partial = target.with_name(target.name + ".partial")
    count = 0
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
            for digest in store.digests():
                content = await store.get(digest)
                if content is not None:
                    archive.writestr(digest, content)
                    count += 1
        if count:
            partial.replace(target)
        return count
    finally:
        partial.unlink(missing_ok=True)


async def restore_files(store: FileStore, path: Path, t: Translator) -> int:
    """Put the files kept beside a backup back into the store; how many."""
    source = files_beside(path)
    if not source.is_file():
        return 0
    count = 0
    try:
        with zipfile.ZipFile(source) as archive:
            for name in archive.namelist():
                content = archive.read(name)
                if sha256(content) != name:
                    raise BackupError(t("restore-error-file", path=str(source)))
                await store.put(name, content)
                count += 1
    except (zipfile.BadZipFile, OSError):
        raise BackupError(t("restore-error-file", path=str(source))) from None
    return count


async def backup(database_url: str, out: Path, t: Translator, files: FileStore | None = None) -> Copied:
    """Write a consistent backup of the database to `out` (written aside, then moved in place),
    and the evidence files of `files` beside it."""
    partial = out.with_name(out.name + ".partial")
    parsed = make_url(database_url)
    try:
        if parsed.get_backend_name() == "sqlite":
            await asyncio.to_thread(sqlite_online_backup, Path(parsed.database or ""), partial)
            engine = make_engine(f"sqlite+aiosqlite:///{partial}")
            try:
                async with engine.connect() as connection:
                    await _check_revision(connection, t)
                    counted = Copied(len(tables()), 0)
                    for table in tables():
                        counted.rows += await connection.scalar(select(func.count()).select_from(table)) or 0
            finally:
                await engine.dispose()
        else:
            async with snapshot(database_url) as connection:
                revision = await _check_revision(connection, t)
                with gzip.open(partial, "wt", encoding="utf-8") as handle:
                    counted = await write_dump(connection, handle, revision)
        partial.replace(out)
        if files is not None:
            await backup_files(files, out)
        return counted
    finally:
        partial.unlink(missing_ok=True)


@contextmanager
def _opened_dump(path: Path, t: Translator) -> Iterator[tuple[dict[str, Any], Iterator[str]]]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if not isinstance(header, dict) or header.get("format") != DUMP_FORMAT:
                raise BackupError(t("restore-error-file", path=str(path)))
            yield header, handle
    except (OSError, EOFError, ValueError, gzip.BadGzipFile):
        raise BackupError(t("restore-error-file", path=str(path))) from None


async def restore(path: Path, database_url: str, t: Translator, *, force: bool = False,
                  files: FileStore | None = None) -> Copied:
    """Fill the (empty) database at `database_url` from a backup file of either kind, and the file
    store from the files beside it."""
    if not path.is_file():
        raise BackupError(t("restore-error-file", path=str(path)))
    if files is not None:
        await restore_files(files, path, t)  # first: a restored row never names a missing file
    with path.open("rb") as handle:
        is_sqlite = handle.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    if is_sqlite:
        with tempfile.TemporaryDirectory(prefix="dtbot-restore-") as folder:
            # A copy: migrating an older backup to this schema must not change the file itself.
            copy = Path(folder) / "backup.db"
            shutil.copyfile(path, copy)
            return await copy_database(f"sqlite+aiosqlite:///{copy}", database_url, t, force=force)
    target = make_engine(database_url)
    try:
        with _opened_dump(path, t) as (header, lines):
            if header.get("revision") != head_revision():
                raise BackupError(t("backup-error-revision", found=header.get("revision") or "-",
                                    expected=head_revision()))
            await _prepare_target(target, force, t)
            by_name = {table.name: table for table in tables()}
            decoders = {name: _decoder(table) for name, table in by_name.items()}
            copied = Copied(len(header.get("tables", [])), 0)
            async with target.begin() as connection:
                pending: list[dict[str, Any]] = []
                current: str | None = None
                for line in lines:
                    item = json.loads(line)
                    if item["t"] != current or len(pending) >= BATCH:
                        if current is not None:
                            await _insert(connection, by_name[current], pending)
                        pending, current = [], item["t"]
                    pending.append(decoders[current](item["r"]))
                    copied.rows += 1
                if current is not None:
                    await _insert(connection, by_name[current], pending)
                await _reset_sequences(connection)
            return copied
    finally:
        await target.dispose()


# --- the command line -----------------------------------------------------------------------------


def add_backup_parsers(commands: Any, t: Translator) -> None:
    backup_parser = commands.add_parser("backup", help=t("cli-help-backup"))
    backup_parser.add_argument("--out", required=True, metavar="FILE", help=t("cli-help-backup-out"))
    restore_parser = commands.add_parser("restore", help=t("cli-help-restore"))
    restore_parser.add_argument("file", metavar="FILE")
    restore_parser.add_argument("--force", action="store_true", help=t("cli-help-restore-force"))
    copy_parser = commands.add_parser("copy-database", help=t("cli-help-copy-database"))
    copy_parser.add_argument("--from", dest="source", required=True, metavar="URL")
    copy_parser.add_argument("--to", dest="target", required=True, metavar="URL")
    copy_parser.add_argument("--force", action="store_true", help=t("cli-help-restore-force"))


async def backup_command(database_url: str, args: argparse.Namespace, t: Translator,
                         files: FileStore | None = None) -> str:
    copied = await backup(database_url, Path(args.out), t, files)
    return t("backup-written", path=args.out, tables=copied.tables, rows=copied.rows)


async def restore_command(database_url: str, args: argparse.Namespace, t: Translator,
                          files: FileStore | None = None) -> str:
    copied = await restore(Path(args.file), database_url, t, force=args.force, files=files)
    return t("restore-done", path=args.file, tables=copied.tables, rows=copied.rows)


async def copy_command(args: argparse.Namespace, t: Translator) -> str:
    source, target = async_url(args.source, t), async_url(args.target, t)
    copied = await copy_database(source, target, t, force=args.force)
    return t("copy-database-done", tables=copied.tables, rows=copied.rows)
