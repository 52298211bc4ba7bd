"""Opening the SQLite file: version checks, damaged files, pragmas and migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from app.storage.errors import (
    NewerVersionError,
    StorageError,
    describe_os_error,
    describe_sqlite_error,
    is_corruption,
)
from app.storage.schema import SCHEMA_VERSION, migrate
from app.storage.versioned import newer_version_sentence

DATABASE_NAME = "conversations.sqlite3"
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0


class _Damaged(Exception):
    """The file is not a healthy SQLite database (internal: leads to moving it aside)."""


def now() -> str:
    """The timestamp format stored everywhere: UTC, microseconds, sortable as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def newer_version_error(path: Path, version: int) -> NewerVersionError:
    sentence = newer_version_sentence(path, version, SCHEMA_VERSION, "database version")
    return NewerVersionError(
        f"{sentence} Or set MAVERICK_DESK_DATA_DIR to another folder to start a separate one."
    )


def open_database(path: Path, images_dir: Path) -> tuple[sqlite3.Connection, list[str]]:
    """Open (creating or upgrading) the database; returns it with notices for the user.

    A damaged file is renamed with a timestamp and a new database started; the notice
    names where the old file is. A newer version raises NewerVersionError, file untouched.
    """
    path = Path(path)
    folder = path.parent
    notices: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise describe_os_error(exc, "create the data folder", folder) from exc
    for attempt in (1, 2):
        try:
            _check_header(path)
            return _connect(path, images_dir, notices), notices
        except (_Damaged, sqlite3.DatabaseError) as exc:
            damaged = isinstance(exc, _Damaged) or (
                isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc)
            )
            if not damaged or attempt == 2:
                if isinstance(exc, sqlite3.Error):
                    raise describe_sqlite_error(
                        exc, "open the conversation database", folder
                    ) from exc
                raise StorageError(f"Could not start a new conversation database: {exc}") from exc
            kept = _move_aside(path)
            notices.append(
                f"The conversation database was damaged and could not be read ({exc}). "
                f"It was kept as {kept} and a new, empty database was started."
            )
    raise AssertionError("unreachable")


def _check_header(path: Path) -> None:
    """Refuse a newer database without opening it, so that not one byte changes."""
    try:
        with path.open("rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise describe_os_error(exc, "read the conversation database", path) from exc
    if not header:
        return  # an empty file is a new database to SQLite
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise _Damaged("the file is not an SQLite database")
    version = int.from_bytes(header[60:64], "big")
    if version > SCHEMA_VERSION:
        raise newer_version_error(path, version)


def _connect(path: Path, images_dir: Path, notices: list[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:  # the header can lag behind a newer app's WAL
            raise newer_version_error(path, version)
        if version > 0:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise _Damaged("; ".join(str(p) for p in problems[:3]))
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            raise StorageError(
                f"Could not open the conversation database in {path.parent}: the folder does "
                "not support SQLite's write-ahead log (is it a network share?). Set "
                "MAVERICK_DESK_DATA_DIR to a folder on a local disk."
            )
        # FULL: a finished answer survives a power cut, not just a crash of the app.
        conn.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            if version > 0:
                notices.append(_backup_before_upgrade(conn, path, version))
            with transaction(conn):  # foreign keys still off: see schema.py
                migrate(conn, version, images_dir)
        conn.execute("PRAGMA foreign_keys = ON")
        return conn
    except BaseException:
        conn.close()
        raise


def _backup_before_upgrade(conn: sqlite3.Connection, path: Path, version: int) -> str:
    backup = _free_name(path.with_name(f"{path.stem}-version{version}-backup{path.suffix}"))
    target = sqlite3.connect(str(backup))
    try:
        conn.backup(target)
    finally:
        target.close()
    return (
        f"Your conversations were upgraded from database version {version} to "
        f"{SCHEMA_VERSION}. A copy of the old database is kept at {backup}."
    )


def _free_name(candidate: Path) -> Path:
    n = 2
    result = candidate
    while result.exists():
        result = candidate.with_name(f"{candidate.stem}-{n}{candidate.suffix}")
        n += 1
    return result


def _move_aside(path: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    kept = _free_name(path.with_name(f"{path.stem}-damaged-{stamp}{path.suffix}"))
    try:
        path.replace(kept)
        for suffix in ("-wal", "-shm"):
            companion = Path(f"{path}{suffix}")
            if companion.exists():
                companion.replace(Path(f"{kept}{suffix}"))
    except OSError as exc:
        raise describe_os_error(exc, "move the damaged conversation database aside", path) from exc
    return kept
