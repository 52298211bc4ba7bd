"""The one exception storage raises, with a sentence the user can act on."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class StorageError(Exception):
    """Saving, loading, importing or exporting failed; ``str(exc)`` is shown to the user."""


class NewerVersionError(StorageError):
    """A database or file written by a newer Maverick Desk; it is left untouched."""


class ImportFileError(StorageError):
    """An import file that is not a valid conversation export; nothing was written."""


# SQLite primary result codes (sqlite3.h). Stable across SQLite versions.
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

CORRUPTION_CODES = frozenset({SQLITE_CORRUPT, SQLITE_NOTADB})


def sqlite_code(exc: sqlite3.Error) -> int:
    """The primary result code of a sqlite3 exception (extended codes folded), or -1."""
    code = getattr(exc, "sqlite_errorcode", None)
    return -1 if code is None else int(code) & 0xFF


def is_corruption(exc: sqlite3.Error) -> bool:
    return sqlite_code(exc) in CORRUPTION_CODES


def describe_sqlite_error(exc: sqlite3.Error, action: str, folder: Path) -> StorageError:
    """Turn a sqlite3 exception into a StorageError saying what happened and what to do."""
    code = sqlite_code(exc)
    if code == SQLITE_FULL:
        why = (
            f"the disk holding {folder} is full. Free some space and try again; "
            "nothing already saved was lost"
        )
    elif code in (SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN):
        why = (
            f"the data folder {folder} is read-only or cannot be written ({exc}). Fix its "
            "permissions, or move the data folder with MAVERICK_DESK_DATA_DIR"
        )
    elif code in (SQLITE_BUSY, SQLITE_LOCKED):
        why = (
            "another program kept the conversation database busy for too long. Close other "
            "Maverick Desk windows or commands and try again"
        )
    elif code in CORRUPTION_CODES:
        why = (
            "the conversation database is damaged. Restart Maverick Desk: it moves the damaged "
            "file aside and starts a new one"
        )
    elif code == SQLITE_IOERR:
        why = f"the disk reported an error ({exc}). Check the disk holding {folder}"
    else:
        why = f"SQLite reported: {exc}"
    return StorageError(f"Could not {action}: {why}.")


def describe_os_error(exc: OSError, action: str, path: Path) -> StorageError:
    """Turn an OSError into a StorageError naming the path and what to do."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = f"the disk holding {path} is full. Free some space and try again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        why = (
            f"{path} is read-only or not writable ({exc.strerror}). Fix its permissions or "
            "choose another place"
        )
    elif exc.errno == errno.EFBIG:
        why = f"the file {path} became larger than the system allows ({exc.strerror})"
    else:
        why = f"{exc.strerror or exc} ({path})"
    return StorageError(f"Could not {action}: {why}.")
