"""Writing files so that a crash leaves either the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from app.storage.errors import StorageError, describe_os_error


def fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on folders; the rename itself already happened
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, action: str) -> None:
    """Write `data` to `path` through a temporary file in the same folder and os.replace."""
    path = Path(path)
    tmp_name = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, path)
        tmp_name = ""
        fsync_folder(path.parent)
    except OSError as exc:
        raise describe_os_error(exc, action, path) from exc
    finally:
        if tmp_name:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def atomic_write_text(path: Path, text: str, action: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), action)


def new_staging_folder(final: Path, action: str) -> Path:
    """A temporary folder next to `final`, to be filled and then moved into place."""
    final = Path(final)
    if final.exists() and not (final.is_dir() and not any(final.iterdir())):
        raise StorageError(
            f"Could not {action}: {final} already exists and is not an empty folder. "
            "Choose a new folder name or remove the old one."
        )
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    except OSError as exc:
        raise describe_os_error(exc, action, final.parent) from exc


def commit_staging_folder(staging: Path, final: Path, action: str) -> None:
    """Move a filled staging folder to `final` in one rename (an empty `final` is replaced)."""
    try:
        if final.is_dir():
            final.rmdir()  # only ever empty here; rename cannot replace a folder on Windows
        os.replace(staging, final)
        fsync_folder(final.parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise describe_os_error(exc, action, final) from exc
