"""What every part of the store shares: the folder, the connection, transactions."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.storage.database import transaction
from app.storage.document_files import DocumentFiles
from app.storage.errors import StorageError, describe_sqlite_error
from app.storage.image_store import ImageStore
from app.storage.process_lock import OwnerLock


def dump_json(value: dict[str, Any], what: str) -> str:
    """Canonical JSON text for the settings and stats columns."""
    if not isinstance(value, dict):
        raise StorageError(f"Could not save the {what}: expected a JSON object.")
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"Could not save the {what}: {exc}.") from exc


class StoreConnection:
    """The data folder, its image store and its one SQLite connection (one thread)."""

    def __init__(
        self, folder: Path, conn: sqlite3.Connection, lock: OwnerLock, notices: list[str]
    ) -> None:
        self.folder = folder
        self.images = ImageStore(folder / "images")
        self.document_files = DocumentFiles(folder / "documents" / "files")
        self.notices = notices  # sentences to show once: damaged file moved aside, upgrades…
        self._conn = conn
        self._lock = lock

    @contextmanager
    def writing(self, action: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; any SQLite failure becomes StorageError("Could not …")."""
        try:
            with transaction(self._conn) as conn:
                yield conn
        except sqlite3.Error as exc:
            raise describe_sqlite_error(exc, action, self.folder) from exc

    @contextmanager
    def reading(self, action: str) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn
        except sqlite3.Error as exc:
            raise describe_sqlite_error(exc, action, self.folder) from exc

    def _require_conversation(self, conn: sqlite3.Connection, conversation_id: int) -> None:
        if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone():
            return
        raise StorageError(
            f"There is no conversation {conversation_id}; list them with "
            "`maverick-desk conversations list`."
        )

    def _require_message(
        self, conn: sqlite3.Connection, message_id: int
    ) -> tuple[int, int | None, str]:
        """(conversation, parent, role) of a message, or StorageError."""
        row = conn.execute(
            "SELECT conversation, parent, role FROM messages WHERE id = ?", (message_id,)
        ).fetchone()
        if row is None:
            raise StorageError(f"There is no message {message_id}.")
        return int(row[0]), row[1], str(row[2])
