"""ConversationStore: the one object the window and the command line save through.

Every method either does its whole job or raises StorageError with a sentence for
the user; nothing half-written is left behind. One store per thread (sqlite3
connections stay on the thread that made them).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from app.paths import data_dir
from app.storage.database import DATABASE_NAME, now, open_database, transaction
from app.storage.errors import StorageError, describe_sqlite_error
from app.storage.image_store import ImageStore
from app.storage.process_lock import OwnerLock
from app.storage.records import (
    FINISHED_STATUSES,
    Attachment,
    Conversation,
    ConversationSummary,
    Message,
    MessageStatus,
    Role,
    SearchHit,
)
from app.storage.search import search_messages
from app.storage.titles import clean_title, title_from_question

LOCK_NAME = "conversations.lock"
LAST_OPENED_KEY = "last_opened_conversation"
MESSAGE_COLUMNS = "id, conversation, position, role, text, status, created, updated, stats"


def dump_json(value: dict[str, Any], what: str) -> str:
    """Canonical JSON text for the settings and stats columns."""
    if not isinstance(value, dict):
        raise StorageError(f"Could not save the {what}: expected a JSON object.")
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StorageError(f"Could not save the {what}: {exc}.") from exc


class ConversationStore:
    """Conversations, messages and images in one data folder."""

    # Stored images younger than this survive "empty Trash" (see ImageStore.remove_unreferenced).
    image_grace_s = 600.0

    def __init__(
        self, folder: Path, conn: sqlite3.Connection, lock: OwnerLock, notices: list[str]
    ) -> None:
        self.folder = folder
        self.images = ImageStore(folder / "images")
        self.notices = notices  # sentences to show once: damaged file moved aside, upgrades…
        self._conn = conn
        self._lock = lock

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

    def _require_conversation(self, conn: sqlite3.Connection, conversation_id: int) -> None:
        if conn.execute("SELECT 1 FROM conversations WHERE id = ?", (conversation_id,)).fetchone():
            return
        raise StorageError(
            f"There is no conversation {conversation_id}; list them with "
            "`maverick-desk conversations list`."
        )

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

    def load_conversation(self, conversation_id: int) -> Conversation:
        """A conversation with its messages in order and each image's stored path."""
        with self.reading("load the conversation") as conn:
            head = conn.execute(
                "SELECT id, title, created, updated, deleted_at, settings FROM conversations "
                "WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if head is None:
                self._require_conversation(conn, conversation_id)
            rows = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation = ? ORDER BY position",
                (conversation_id,),
            ).fetchall()
            attachment_rows = conn.execute(
                "SELECT a.message, a.sha256, a.name, a.mime, a.width, a.height, a.bytes "
                "FROM attachments a JOIN messages m ON m.id = a.message "
                "WHERE m.conversation = ? ORDER BY a.id",
                (conversation_id,),
            ).fetchall()
        attachments: dict[int, list[Attachment]] = {}
        for message_id, sha256, name, mime, width, height, size in attachment_rows:
            attachments.setdefault(message_id, []).append(
                Attachment(
                    sha256, name, mime, width, height, size, self.images.path_for(sha256, mime)
                )
            )
        cid, title, created, updated, deleted_at, settings = head
        return Conversation(
            cid,
            title,
            created,
            updated,
            deleted_at,
            json.loads(settings),
            tuple(self._message(row, attachments.get(row[0], [])) for row in rows),
        )

    @staticmethod
    def _message(row: Sequence[Any], attachments: list[Attachment]) -> Message:
        mid, conversation, position, role, text, status, created, updated, stats = row
        return Message(
            mid,
            conversation,
            position,
            Role(role),
            text,
            MessageStatus(status),
            created,
            updated,
            json.loads(stats),
            tuple(attachments),
        )

    def get_message(self, message_id: int) -> Message:
        with self.reading("load the message") as conn:
            row = conn.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
        if row is None:
            raise StorageError(f"There is no message {message_id}.")
        return self._message(row, [])

    # ----------------------------------------------------------------- messages

    def add_user_message(
        self, conversation_id: int, text: str, images: Sequence[Path] = ()
    ) -> Message:
        """Save a question with its images (copied into the store); titles a new conversation."""
        stored = [(Path(p).name, self.images.add_file(Path(p))) for p in images]
        stamp = now()
        with self.writing("save your message") as conn:
            self._require_conversation(conn, conversation_id)
            message_id, position = self._insert_message(
                conn, conversation_id, Role.USER, text, MessageStatus.COMPLETE, stamp
            )
            for name, image in stored:
                conn.execute(
                    "INSERT INTO attachments (message, sha256, name, mime, width, height, bytes) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (
                        message_id,
                        image.sha256,
                        name,
                        image.mime,
                        image.width,
                        image.height,
                        image.bytes,
                    ),
                )
            title = title_from_question(text, [name for name, _ in stored])
            conn.execute(
                "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                (title, conversation_id),
            )
        return Message(
            message_id,
            conversation_id,
            position,
            Role.USER,
            text,
            MessageStatus.COMPLETE,
            stamp,
            stamp,
            {},
            tuple(
                Attachment(
                    i.sha256,
                    name,
                    i.mime,
                    i.width,
                    i.height,
                    i.bytes,
                    self.images.path_for(i.sha256, i.mime),
                )
                for name, i in stored
            ),
        )

    def _insert_message(
        self,
        conn: sqlite3.Connection,
        conversation_id: int,
        role: Role,
        text: str,
        status: MessageStatus,
        stamp: str,
    ) -> tuple[int, int]:
        position = conn.execute(
            "SELECT coalesce(max(position) + 1, 0) FROM messages WHERE conversation = ?",
            (conversation_id,),
        ).fetchone()[0]
        cursor = conn.execute(
            "INSERT INTO messages (conversation, position, role, text, status, created, updated)"
            " VALUES (?,?,?,?,?,?,?)",
            (conversation_id, position, role.value, text, status.value, stamp, stamp),
        )
        conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (stamp, conversation_id))
        return int(cursor.lastrowid or 0), int(position)

    def begin_assistant_message(self, conversation_id: int) -> int:
        """An empty answer with status 'streaming'; returns its message id."""
        with self.writing("start saving the answer") as conn:
            self._require_conversation(conn, conversation_id)
            message_id, _ = self._insert_message(
                conn, conversation_id, Role.ASSISTANT, "", MessageStatus.STREAMING, now()
            )
        return message_id

    def save_streaming_text(self, message_id: int, text: str) -> None:
        """Replace a streaming answer's text: one UPDATE, its own transaction."""
        self._stream_update("text = ?", text, message_id)

    def append_streaming_text(self, message_id: int, chunk: str) -> None:
        """Add text to the end of a streaming answer: one UPDATE, its own transaction."""
        self._stream_update("text = text || ?", chunk, message_id)

    def _stream_update(self, assignment: str, value: str, message_id: int) -> None:
        with self.reading("save the answer so far") as conn:
            count = conn.execute(
                f"UPDATE messages SET {assignment}, updated = ? WHERE id = ? AND status = ?",
                (value, now(), message_id, MessageStatus.STREAMING.value),
            ).rowcount
        if count != 1:
            raise StorageError(f"Message {message_id} is not an answer being written.")

    def finish_assistant_message(
        self,
        message_id: int,
        status: MessageStatus,
        text: str | None = None,
        stats: dict[str, Any] | None = None,
    ) -> None:
        """Mark an answer complete, stopped or failed, with its final text and statistics."""
        if status not in FINISHED_STATUSES:
            raise StorageError(f"An answer cannot finish as {status.value!r}.")
        stamp = now()
        with self.writing("save the answer") as conn:
            row = conn.execute(
                "SELECT conversation FROM messages WHERE id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise StorageError(f"There is no message {message_id}.")
            conn.execute(
                "UPDATE messages SET status = ?, text = coalesce(?, text), stats = ?, "
                "updated = ? WHERE id = ?",
                (
                    status.value,
                    text,
                    dump_json(stats or {}, "answer statistics"),
                    stamp,
                    message_id,
                ),
            )
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (stamp, row[0]))

    def delete_messages_from(self, conversation_id: int, position: int) -> int:
        """Delete the message at `position` and every later one (regenerate, edit and resend).

        Their images stay in the image store until "empty Trash" finds them unused.
        """
        with self.writing("remove the replaced messages") as conn:
            self._require_conversation(conn, conversation_id)
            count = conn.execute(
                "DELETE FROM messages WHERE conversation = ? AND position >= ?",
                (conversation_id, position),
            ).rowcount
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (now(), conversation_id)
            )
        return int(count)

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
        """Delete every conversation in the Trash for good, and images nothing else uses."""
        with self.writing("empty the Trash") as conn:
            count = conn.execute("DELETE FROM conversations WHERE deleted_at IS NOT NULL").rowcount
            referenced = {row[0] for row in conn.execute("SELECT DISTINCT sha256 FROM attachments")}
        self.images.remove_unreferenced(referenced, self.image_grace_s)
        return int(count)

    # ------------------------------------------------------ search, app state

    def search(self, query: str, limit: int = 50, include_trash: bool = False) -> list[SearchHit]:
        with self.reading("search the conversations") as conn:
            return search_messages(conn, query, limit, include_trash)

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
