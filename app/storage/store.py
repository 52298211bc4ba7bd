"""ConversationStore: the one object the window and the command line save through.

Every method either does its whole job or raises StorageError with a sentence for
the user; nothing half-written is left behind. One store per thread (sqlite3
connections stay on the thread that made them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from app.paths import data_dir
from app.storage.conversation_documents import ConversationDocuments
from app.storage.database import DATABASE_NAME, now, open_database
from app.storage.process_lock import OwnerLock
from app.storage.records import ConversationSummary, MessageStatus, SearchHit
from app.storage.search import search_messages
from app.storage.store_connection import dump_json
from app.storage.titles import clean_title
from app.storage.tree import shown_path_ids
from app.storage.versions import Versions

LOCK_NAME = "conversations.lock"
LAST_OPENED_KEY = "last_opened_conversation"

__all__ = ["ConversationStore", "dump_json"]


class ConversationStore(Versions, ConversationDocuments):
    """Conversations, messages, images and documents in one data folder."""

    # Stored images younger than this survive "empty Trash" (see ImageStore.remove_unreferenced).
    image_grace_s = 600.0

    @classmethod
    def open(cls, folder: Path | None = None) -> ConversationStore:
        """Open the store in `folder` (default: the app's data directory)."""
        folder = Path(folder) if folder is not None else data_dir()
        conn, notices = open_database(folder / DATABASE_NAME, folder / "images")
        lock = OwnerLock(folder / LOCK_NAME)
        store = cls(folder, conn, lock, notices)
        if lock.try_acquire():
            store._mark_interrupted()
        return store

    def close(self) -> None:
        self._conn.close()
        self._lock.release()

    def __enter__(self) -> ConversationStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def database_path(self) -> Path:
        return self.folder / DATABASE_NAME

    def _mark_interrupted(self) -> None:
        with self.writing("mark unfinished answers as interrupted") as conn:
            count = conn.execute(
                "UPDATE messages SET status = ? WHERE status = ?",
                (MessageStatus.INTERRUPTED.value, MessageStatus.STREAMING.value),
            ).rowcount
        if count:
            self.notices.append(
                f"{count} answer(s) were being written when Maverick Desk stopped; what was "
                "saved is kept and marked as interrupted."
            )

    # ------------------------------------------------------------ conversations

    def create_conversation(self, title: str = "", settings: dict[str, Any] | None = None) -> int:
        stamp = now()
        with self.writing("create a conversation") as conn:
            cursor = conn.execute(
                "INSERT INTO conversations (title, created, updated, settings) VALUES (?,?,?,?)",
                (clean_title(title), stamp, stamp, dump_json(settings or {}, "settings")),
            )
        return int(cursor.lastrowid or 0)

    def rename(self, conversation_id: int, title: str) -> None:
        with self.writing("rename the conversation") as conn:
            self._require_conversation(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ?",
                (clean_title(title), conversation_id),
            )

    def update_settings(self, conversation_id: int, settings: dict[str, Any]) -> None:
        text = dump_json(settings, "conversation settings")
        with self.writing("save the conversation settings") as conn:
            self._require_conversation(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET settings = ? WHERE id = ?", (text, conversation_id)
            )

    def list_conversations(self, trash: bool = False) -> list[ConversationSummary]:
        """The sidebar (newest first) or, with `trash`, the Trash (last deleted first)."""
        where, order = ("IS NOT NULL", "deleted_at DESC") if trash else ("IS NULL", "updated DESC")
        with self.reading("list the conversations") as conn:
            rows = conn.execute(
                "SELECT id, title, created, updated, deleted_at, "
                "(SELECT count(*) FROM messages m WHERE m.conversation = c.id) "
                f"FROM conversations c WHERE deleted_at {where} ORDER BY {order}, id DESC"
            ).fetchall()
        return [ConversationSummary(*row) for row in rows]

    # -------------------------------------------------------------------- trash

    def move_to_trash(self, conversation_id: int) -> None:
        with self.writing("move the conversation to the Trash") as conn:
            self._require_conversation(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET deleted_at = ? WHERE id = ?", (now(), conversation_id)
            )

    def restore(self, conversation_id: int) -> None:
        """Take a conversation out of the Trash (this is also Undo for a delete)."""
        with self.writing("restore the conversation") as conn:
            self._require_conversation(conn, conversation_id)
            conn.execute(
                "UPDATE conversations SET deleted_at = NULL WHERE id = ?", (conversation_id,)
            )

    def empty_trash(self) -> int:
        """Delete the Trash's conversations for good, and images and documents no other uses."""
        with self.writing("empty the Trash") as conn:
            count = conn.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount
            referenced = {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM attachments")}
        self.images.remove_unreferenced(referenced, self.image_grace_s)
        self._remove_unused_documents(self.image_grace_s)
        return int(count)

    # ------------------------------------------------------ search, app state

    def search(self, query: str, limit: int = 50, include_trash: bool = False) -> list[SearchHit]:
        """Hits in every version; `shown` tells whether a hit's version is the one shown."""
        with self.reading("search the conversations") as conn:
            hits = search_messages(conn, query, limit, include_trash)
            shown: dict[int, set[int]] = {}
            for hit in hits:
                if hit.conversation_id not in shown:
                    shown[hit.conversation_id] = set(shown_path_ids(conn, hit.conversation_id))
        return [replace(h, shown=h.message_id in shown[h.conversation_id]) for h in hits]

    def last_opened_conversation(self) -> int | None:
        """The conversation to reopen at start, if it still exists outside the Trash."""
        with self.reading("read the last opened conversation") as conn:
            row = conn.execute(
                "SELECT c.id FROM state s JOIN conversations c ON c.id = CAST(s.value AS INTEGER)"
                " WHERE s.key = ? AND c.deleted_at IS NULL",
                (LAST_OPENED_KEY,),
            ).fetchone()
        return None if row is None else int(row[0])

    def set_last_opened_conversation(self, conversation_id: int | None) -> None:
        with self.writing("remember the open conversation") as conn:
            if conversation_id is None:
                conn.execute("DELETE FROM state WHERE key = ?", (LAST_OPENED_KEY,))
            else:
                conn.execute(
                    "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)",
                    (LAST_OPENED_KEY, str(conversation_id)),
                )
