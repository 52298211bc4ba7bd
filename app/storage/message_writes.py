"""Saving messages: questions with images, streamed answers, and cutting the shown path."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.storage.database import now
from app.storage.errors import StorageError
from app.storage.image_store import StoredImage
from app.storage.records import FINISHED_STATUSES, Attachment, Message, MessageStatus, Role
from app.storage.store_connection import StoreConnection, dump_json
from app.storage.titles import title_from_question
from app.storage.tool_turns import checked_turns, stored_turns
from app.storage.tree import insert_message, shown_path_ids, subtree_ids


class MessageWrites(StoreConnection):
    """Questions and answers added at the end of the shown path, or under a given message."""

    def add_user_message(
        self,
        conversation_id: int,
        text: str,
        images: Sequence[Path] = (),
        after: int | None = None,
    ) -> Message:
        """Save a question with its images (copied into the store); titles a new conversation.

        It goes under `after` if given, else at the end of the shown path, and is shown.
        """
        stored = self._store_images(images)
        with self.writing("save your message") as conn:
            self._require_conversation(conn, conversation_id)
            parent = self._parent_for(conn, conversation_id, after)
            return self._insert_question(conn, conversation_id, parent, text, stored)

    def _store_images(self, images: Sequence[Path]) -> list[tuple[str, StoredImage]]:
        return [(Path(p).name, self.images.add_file(Path(p))) for p in images]

    def _parent_for(
        self, conn: sqlite3.Connection, conversation_id: int, after: int | None
    ) -> int | None:
        """The message a new one goes under: `after`, or the end of the shown path."""
        if after is None:
            path = shown_path_ids(conn, conversation_id)
            return path[-1] if path else None
        if self._require_message(conn, after)[0] != conversation_id:
            raise StorageError(
                f"Message {after} belongs to another conversation than {conversation_id}."
            )
        return after

    def _insert_question(
        self,
        conn: sqlite3.Connection,
        conversation_id: int,
        parent: int | None,
        text: str,
        stored: list[tuple[str, StoredImage]],
    ) -> Message:
        stamp = now()
        message_id, depth = insert_message(
            conn, conversation_id, parent, Role.USER, text, MessageStatus.COMPLETE, stamp
        )
        conn.executemany(
            "INSERT INTO attachments (message, sha256, name, mime, width, height, bytes) "
            "VALUES (?,?,?,?,?,?,?)",
            [
                (message_id, i.sha256, name, i.mime, i.width, i.height, i.bytes)
                for name, i in stored
            ],
        )
        title = title_from_question(text, [name for name, _ in stored])
        conn.execute(
            "UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
            (title, conversation_id),
        )
        version, count = _version_of(conn, conversation_id, parent, message_id)
        attachments = tuple(
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
        )
        return Message(
            message_id,
            conversation_id,
            depth,
            Role.USER,
            text,
            MessageStatus.COMPLETE,
            stamp,
            stamp,
            {},
            attachments,
            parent,
            version,
            count,
        )

    def begin_assistant_message(self, conversation_id: int, after: int | None = None) -> int:
        """An empty answer with status 'streaming', shown; returns its message id.

        It goes under `after` if given (an answer to that question, or another version
        of its answers), else at the end of the shown path.
        """
        with self.writing("start saving the answer") as conn:
            self._require_conversation(conn, conversation_id)
            parent = self._parent_for(conn, conversation_id, after)
            message_id, _ = insert_message(
                conn, conversation_id, parent, Role.ASSISTANT, "", MessageStatus.STREAMING, now()
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
        tool_turns: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Mark an answer complete, stopped or failed, with its final text and statistics.

        `tool_turns` are the calls the answer made and their results (tool_turns.py),
        their images copied into the store; an answer keeps its earlier ones if none given.
        """
        if status not in FINISHED_STATUSES:
            raise StorageError(f"An answer cannot finish as {status.value!r}.")
        turns = checked_turns(tool_turns)
        stored = stored_turns(turns, self.images.add_file) if turns else None
        stamp = now()
        with self.writing("save the answer") as conn:
            conversation_id = self._require_message(conn, message_id)[0]
            if stored is not None:
                turns_json, tool_text, image_rows = stored
                conn.execute(
                    "DELETE FROM attachments WHERE message = ? AND tool_call != ''", (message_id,)
                )
                conn.executemany(
                    "INSERT INTO attachments (message, sha256, name, mime, width, height, bytes, "
                    "tool_call) VALUES (?,?,?,?,?,?,?,?)",
                    [
                        (message_id, i.sha256, name, i.mime, i.width, i.height, i.bytes, call)
                        for call, name, i in image_rows
                    ],
                )
                conn.execute(
                    "UPDATE messages SET tool_turns = ?, tool_text = ? WHERE id = ?",
                    (turns_json, tool_text, message_id),
                )
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
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (stamp, conversation_id)
            )

    def delete_messages_from(self, conversation_id: int, position: int) -> int:
        """Delete the shown message at `position` and everything under it, in every version.

        The shown path then ends just above it; the versions beside it are kept. Their
        images stay in the image store until "empty Trash" finds them unused.
        """
        with self.writing("remove the replaced messages") as conn:
            self._require_conversation(conn, conversation_id)
            path = shown_path_ids(conn, conversation_id)
            if not 0 <= position < len(path):
                return 0
            doomed = subtree_ids(conn, path[position])
            # One statement: the parent references are checked at its end, with the
            # whole subtree gone (deleting a parent first would break its children's).
            count = conn.execute(
                "DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(doomed),),
            ).rowcount
            conn.execute(
                "UPDATE conversations SET updated = ? WHERE id = ?", (now(), conversation_id)
            )
        return int(count)


def _version_of(
    conn: sqlite3.Connection, conversation_id: int, parent: int | None, message_id: int
) -> tuple[int, int]:
    row = conn.execute(
        "SELECT sum(id <= ?), count(*) FROM messages WHERE conversation = ? AND parent IS ?",
        (message_id, conversation_id, parent),
    ).fetchone()
    return int(row[0]), int(row[1])
