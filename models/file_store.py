"""Where evidence files' bytes live: outside the database, addressed by their SHA-256 (issue 17).

The database keeps what a file is (models/evidence.py: name, type, size, hash, who sent it for
which figure); the bytes go to a FileStore. The local folder (FILE_STORE_DIR) is the default; an
S3-compatible store implements the same three calls. Content addressing makes a file sent twice
stored once, a write idempotent, and a backup a plain copy of what is missing on the other side.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

__all__ = ["FileStore", "LocalFileStore", "sha256"]

_SHA = re.compile(r"[0-9a-f]{64}")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class FileStore(Protocol):
    async def put(self, digest: str, content: bytes) -> None:
        """Keep these bytes under their SHA-256; nothing happens when they are there already."""

    async def get(self, digest: str) -> bytes | None:
        """The bytes kept under this SHA-256, or None."""

    def digests(self) -> Iterator[str]:
        """Every SHA-256 kept (backups)."""


class LocalFileStore:
    """A folder: <root>/ab/abcdef… (two levels, so no folder holds millions of files)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        if not _SHA.fullmatch(digest):
            raise ValueError("not a SHA-256")
        return self.root / digest[:2] / digest

    async def put(self, digest: str, content: bytes) -> None:
        if sha256(content) != digest:
            raise ValueError("content does not match its SHA-256")
        await asyncio.to_thread(self._write, digest, content)

    def _write(self, digest: str, content: bytes) -> None:
        target = self.path(digest)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a crash never leaves half a file under a good name.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get(self, digest: str) -> bytes | None:
        target = self.path(digest)
        return await asyncio.to_thread(lambda: target.read_bytes() if target.exists() else None)

    def digests(self) -> Iterator[str]:
        if not self.root.exists():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for item in sorted(folder.iterdir()):
                    if _SHA.fullmatch(item.name):
                        yield item.name
