"""Which documents each conversation has: rows by hash, files in `DocumentFiles`.

A conversation's documents are saved whole as a list (`set_documents`): the files are
copied into the store first (outside the transaction: a large PDF takes a moment), then
the rows are replaced in one transaction. A file another conversation uses is never
removed; `empty_trash` removes only files no conversation refers to any more.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from app.storage.database import now
from app.storage.records import StoredDocument
from app.storage.store_connection import StoreConnection


class ConversationDocuments(StoreConnection):
    """The documents of each conversation (the store's part for them)."""

    def documents(self, conversation_id: int) -> list[StoredDocument]:
        """The conversation's documents in the order they were attached."""
        with self.reading("read the conversation's documents") as conn:
            return self._documents(conn, conversation_id)

    def _documents(self, conn: sqlite3.Connection, conversation_id: int) -> list[StoredDocument]:
        rows = conn.execute(
            "SELECT sha256, name, bytes FROM conversation_documents WHERE conversation = ? "
            "ORDER BY position",
            (conversation_id,),
        ).fetchall()
        return [
            StoredDocument(sha, name, size, self.document_files.path_for(sha, name))
            for sha, name, size in rows
        ]

    def set_documents(
        self, conversation_id: int, documents: Sequence[tuple[str, str, Path]]
    ) -> list[StoredDocument]:
        """Make `documents` ((sha256, name, file holding those bytes)) the conversation's.

        Raises StorageError with a sentence (a file gone or changed since it was
        attached); then the saved list is as it was.
        """
        rows = []
        for position, (sha256, name, source) in enumerate(documents):
            path, _ = self.document_files.add_file(source, sha256, name)
            rows.append((conversation_id, position, sha256, name, path.stat().st_size, now()))
        with self.writing("save the conversation's documents") as conn:
            self._require_conversation(conn, conversation_id)
            conn.execute(
                "DELETE FROM conversation_documents WHERE conversation = ?", (conversation_id,)
            )
            conn.executemany(
                "INSERT INTO conversation_documents (conversation, position, sha256, name, "
                "bytes, added) VALUES (?,?,?,?,?,?)",
                rows,
            )
            return self._documents(conn, conversation_id)

    def _remove_unused_documents(self, grace_s: float) -> int:
        with self.reading("list the documents in use") as conn:
            used = {
                r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM conversation_documents")
            }
        return self.document_files.remove_unreferenced(used, grace_s)
