"""Where versions live on disk, and how a version appears there all at once or not at all.

An ingestion works in ``lake/.staging/<ticket>/``; when its files are complete and flushed, the folder is
renamed into ``lake/<org>/<name>/v<number>-<ticket>/`` (one atomic rename on the same file system), and only
then is the version row committed pointing at it. A crash before the commit leaves a folder no row points
at: never served, swept by ``recover``. Published folders are never written again.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
from pathlib import Path

from sluice.errors import Invalid

DATA_FILE = "data.parquet"
QUARANTINE_FILE = "quarantine.parquet"


def staging_folder(staging_dir: Path, ticket: str) -> Path:
    folder = staging_dir / ticket
    folder.mkdir(parents=True, exist_ok=False)
    return folder


def version_folder(lake_dir: Path, code: str, number: int, ticket: str) -> Path:
    org, name = code.split(".", 1)
    return lake_dir / org / name / f"v{number:06d}-{ticket}"


def publish_folder(staged: Path, target: Path) -> None:
    """Flush the staged files and move them into place in one rename."""
    for item in staged.iterdir():
        if item.is_file():
            _fsync(item)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target)
    _fsync_dir(target.parent)


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def disk_error(exc: OSError) -> Invalid | None:
    """A clear error for a full or read-only disk (the operator's problem, said plainly)."""
    if exc.errno == errno.ENOSPC:
        return Invalid(
            "the lake's disk is full: the version was not written and nothing was published; ask the operator to "
            "free space (`sluice lake prune`) and upload again",
            rule="disk_full",
        )
    if exc.errno in (errno.EROFS, errno.EACCES):
        return Invalid(f"the lake cannot be written ({exc.strerror}); ask the operator", rule="lake_unwritable")
    return None


def duckdb_disk_error(exc: Exception) -> Invalid | None:
    """DuckDB reports a full or read-only disk as its own IOException, not an OSError: say it as plainly."""
    for code in (errno.ENOSPC, errno.EROFS):
        if os.strerror(code) in str(exc):
            return disk_error(OSError(code, os.strerror(code)))
    return None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot fsync a directory; the rename is still atomic
        _fsync(path)
