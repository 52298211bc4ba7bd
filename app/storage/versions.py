"""The tree of a conversation: the shown path, versions, switching forks, branching off.

Regenerate adds a sibling answer (`add_answer_version`), Edit a sibling question
(`add_question_version`, then `begin_assistant_message` answers it). Nothing is deleted:
the fork remembers which version is shown (`show_version`), and each version keeps the
choices made below it, so switching back shows that version exactly as it was left.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from app.storage.database import now
from app.storage.errors import StorageError
from app.storage.message_writes import MessageWrites
from app.storage.records import (
    Conversation,
    ConversationTree,
    Message,
    MessageStatus,
    Role,
    Siblings,
)
from app.storage.titles import clean_title
from app.storage.tree import (
    MESSAGE_SELECT,
    ancestor_ids,
    insert_message,
    load_messages,
    message_from_row,
    other_version_count,
    set_shown,
    shown_children,
    shown_path_ids,
    sibling_ids,
    tree_problems,
)

BRANCH_SUFFIX = " (branch)"


class Versions(MessageWrites):
    """Reading the tree and adding, showing and branching versions."""

    # ------------------------------------------------------------------ reading

    def load_conversation(self, conversation_id: int) -> Conversation:
        """A conversation with its shown path in order and each image's stored path."""
        return self._load(conversation_id, everything=False)[0]

    def load_tree(self, conversation_id: int) -> ConversationTree:
        """Every message of a conversation (by depth, then oldest first), the shown path."""
        conversation, messages = self._load(conversation_id, everything=True)
        with self.reading("load the conversation") as conn:
            choices = shown_children(conn, conversation_id)
        return ConversationTree(conversation, tuple(messages), choices)

    def shown_path(self, conversation_id: int) -> tuple[Message, ...]:
        """The messages shown, first question first: what the window and exports show."""
        return self.load_conversation(conversation_id).messages

    def _load(self, conversation_id: int, everything: bool) -> tuple[Conversation, list[Message]]:
        with self.reading("load the conversation") as conn:
            head = conn.execute(
                "SELECT id, title, created, updated, deleted_at, settings FROM conversations "
                "WHERE id = ?",
                (conversation_id,),
            ).fetchone()
            if head is None:
                self._require_conversation(conn, conversation_id)
            messages: list[Message] = []
            if everything:
                messages = load_messages(conn, self.images, conversation_id, shown_only=False)
                by_id = {m.id: m for m in messages}
                path = [by_id[i] for i in shown_path_ids(conn, conversation_id)]
            else:
                path = load_messages(conn, self.images, conversation_id, shown_only=True)
            others = other_version_count(conn, conversation_id)
        cid, title, created, updated, deleted_at, settings = head
        conversation = Conversation(
            cid, title, created, updated, deleted_at, json.loads(settings), tuple(path), others
        )
        return conversation, messages

    def get_message(self, message_id: int) -> Message:
        """One message, without its attachments."""
        with self.reading("load the message") as conn:
            row = conn.execute(f"{MESSAGE_SELECT} WHERE m.id = ?", (message_id,)).fetchone()
        if row is None:
            raise StorageError(f"There is no message {message_id}.")
        return message_from_row(row, [])

    def check_tree(self, conversation_id: int) -> list[str]:
        """What is wrong with the conversation's tree (for tests and checks); [] if sound."""
        with self.reading("check the conversation") as conn:
            self._require_conversation(conn, conversation_id)
            return tree_problems(conn, conversation_id)

    def siblings(self, message_id: int) -> Siblings:
        """The versions of a message (itself included), oldest first, and its place."""
        with self.reading("read the versions of the message") as conn:
            ids = sibling_ids(conn, message_id)
        if not ids:
            raise StorageError(f"There is no message {message_id}.")
        return Siblings(tuple(ids), ids.index(message_id))

    # ---------------------------------------------------------- adding versions

    def add_answer_version(self, message_id: int) -> int:
        """Regenerate: a new, empty streaming answer beside answer `message_id`, shown."""
        with self.writing("start another version of the answer") as conn:
            conversation_id, parent, role = self._require_message(conn, message_id)
            if role != Role.ASSISTANT.value:
                raise StorageError(f"Message {message_id} is a question, not an answer.")
            new_id, _ = insert_message(
                conn, conversation_id, parent, Role.ASSISTANT, "", MessageStatus.STREAMING, now()
            )
        return new_id

    def add_question_version(
        self, message_id: int, text: str, images: Sequence[Path] = ()
    ) -> Message:
        """Edit: a new question beside question `message_id`, shown (answer it next)."""
        stored = self._store_images(images)
        with self.writing("save the edited question") as conn:
            conversation_id, parent, role = self._require_message(conn, message_id)
            if role != Role.USER.value:
                raise StorageError(f"Message {message_id} is an answer, not a question.")
            return self._insert_question(conn, conversation_id, parent, text, stored)

    # --------------------------------------------------------- choosing versions

    def show_version(self, message_id: int) -> None:
        """Show this version at its fork; below it, the choices it remembers are shown."""
        with self.writing("show the other version") as conn:
            conversation_id, parent, _ = self._require_message(conn, message_id)
            set_shown(conn, conversation_id, parent, message_id)

    def show_message(self, message_id: int) -> int:
        """Show every fork on the way to `message_id` (a search hit); returns its conversation."""
        with self.writing("show the version with the message") as conn:
            conversation_id = self._require_message(conn, message_id)[0]
            path = ancestor_ids(conn, message_id)
            for parent, child in zip([None, *path[:-1]], path, strict=True):
                set_shown(conn, conversation_id, parent, child)
        return conversation_id

    # ---------------------------------------------------------------- branching

    def branch_conversation(self, message_id: int, title: str | None = None) -> int:
        """A new conversation holding copies of the path up to `message_id` (included).

        Its title is the old one with " (branch)" unless `title` is given; settings,
        texts, images, statistics, statuses and the documents are copied (an answer still
        being written is copied as interrupted).
        """
        stamp = now()
        with self.writing("branch into a new conversation") as conn:
            conversation_id = self._require_message(conn, message_id)[0]
            old_title, settings = conn.execute(
                "SELECT title, settings FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            new_title = clean_title(title if title is not None else old_title + BRANCH_SUFFIX)
            new_id = int(
                conn.execute(
                    "INSERT INTO conversations (title, created, updated, settings) "
                    "VALUES (?,?,?,?)",
                    (new_title, stamp, stamp, settings),
                ).lastrowid
                or 0
            )
            parent: int | None = None
            for old_id in ancestor_ids(conn, message_id):
                parent = self._copy_message(conn, old_id, new_id, parent)
            conn.execute(  # the questions copied were asked with these documents
                "INSERT INTO conversation_documents (conversation, position, sha256, name, "
                "bytes, added) SELECT ?, position, sha256, name, bytes, added "
                "FROM conversation_documents WHERE conversation = ?",
                (new_id, conversation_id),
            )
        return new_id

    def _copy_message(
        self, conn: sqlite3.Connection, old_id: int, conversation_id: int, parent: int | None
    ) -> int:
        role, text, status, created, updated, stats, tool_turns, tool_text = conn.execute(
            "SELECT role, text, status, created, updated, stats, tool_turns, tool_text "
            "FROM messages WHERE id = ?",
            (old_id,),
        ).fetchone()
        if status == MessageStatus.STREAMING.value:
            status = MessageStatus.INTERRUPTED.value
        new_id, _ = insert_message(
            conn, conversation_id, parent, Role(role), text, MessageStatus(status), now()
        )
        conn.execute(
            "UPDATE messages SET created = ?, updated = ?, stats = ?, tool_turns = ?, "
            "tool_text = ? WHERE id = ?",
            (created, updated, stats, tool_turns, tool_text, new_id),
        )
        conn.execute(
            "INSERT INTO attachments (message, sha256, name, mime, width, height, bytes, "
            "tool_call) SELECT ?, sha256, name, mime, width, height, bytes, tool_call "
            "FROM attachments "
            "WHERE message = ? ORDER BY id",
            (new_id, old_id),
        )
        return new_id
