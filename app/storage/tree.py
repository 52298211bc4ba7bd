"""The message tree in SQL: the shown path, subtrees, ancestors, versions, shown choices.

Functions on an open connection, used inside the store's transactions. A message's
`position` is its depth, one more than its parent's, so every walk below also requires
the depth to grow along each step: it ends even on a hand-edited database with a loop.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from app.storage.image_store import ImageStore
from app.storage.records import Attachment, Message, MessageStatus, Role
from app.storage.tool_turns import loaded_turns

SHOWN_PATH = """
WITH RECURSIVE path(id, next, depth) AS (
    SELECT m.id, m.shown_child, m.position FROM conversations c
    JOIN messages m ON m.id = c.shown_root AND m.conversation = c.id AND m.parent IS NULL
    WHERE c.id = ?
    UNION ALL
    SELECT m.id, m.shown_child, m.position FROM path
    JOIN messages m ON m.id = path.next AND m.parent = path.id AND m.position > path.depth
)
"""

# The message columns, then its parent and its place among its versions.
MESSAGE_SELECT = """
SELECT m.id, m.conversation, m.position, m.role, m.text, m.status, m.created, m.updated,
    m.stats, m.parent,
    (SELECT count(*) FROM messages s
        WHERE s.conversation = m.conversation AND s.parent IS m.parent AND s.id <= m.id),
    (SELECT count(*) FROM messages s
        WHERE s.conversation = m.conversation AND s.parent IS m.parent),
    m.tool_turns
FROM messages m
"""


def shown_path_ids(conn: sqlite3.Connection, conversation_id: int) -> list[int]:
    """The ids of the shown path, first question first."""
    rows = conn.execute(f"{SHOWN_PATH} SELECT id FROM path", (conversation_id,)).fetchall()
    return [int(row[0]) for row in rows]


def shown_children(conn: sqlite3.Connection, conversation_id: int) -> dict[int, int]:
    """Every remembered choice of the conversation: message id -> id of the child shown."""
    rows = conn.execute(
        "SELECT p.id, c.id FROM messages p JOIN messages c ON c.id = p.shown_child "
        "AND c.parent = p.id WHERE p.conversation = ?",
        (conversation_id,),
    ).fetchall()
    return {int(parent): int(child) for parent, child in rows}


def ancestor_ids(conn: sqlite3.Connection, message_id: int) -> list[int]:
    """The path from the first question down to `message_id`, both included."""
    rows = conn.execute(
        """
        WITH RECURSIVE up(id, parent, depth) AS (
            SELECT id, parent, position FROM messages WHERE id = ?
            UNION ALL
            SELECT m.id, m.parent, m.position FROM up
            JOIN messages m ON m.id = up.parent AND m.position < up.depth
        )
        SELECT id FROM up
        """,
        (message_id,),
    ).fetchall()
    return [int(row[0]) for row in reversed(rows)]


def subtree_ids(conn: sqlite3.Connection, message_id: int) -> list[int]:
    """`message_id` and everything under it, in every version."""
    rows = conn.execute(
        """
        WITH RECURSIVE down(id, depth) AS (
            SELECT id, position FROM messages WHERE id = ?
            UNION ALL
            SELECT m.id, m.position FROM down
            JOIN messages m ON m.parent = down.id AND m.position > down.depth
        )
        SELECT id FROM down
        """,
        (message_id,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def sibling_ids(conn: sqlite3.Connection, message_id: int) -> list[int]:
    """The versions of `message_id` (itself included), oldest first; [] if there is none."""
    rows = conn.execute(
        "SELECT s.id FROM messages m JOIN messages s ON s.conversation = m.conversation "
        "AND s.parent IS m.parent WHERE m.id = ? ORDER BY s.id",
        (message_id,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def set_shown(
    conn: sqlite3.Connection, conversation_id: int, parent: int | None, child: int
) -> None:
    """Show `child` at its fork (the remembered choices below it stay as they were)."""
    if parent is None:
        conn.execute(
            "UPDATE conversations SET shown_root = ? WHERE id = ?", (child, conversation_id)
        )
    else:
        conn.execute("UPDATE messages SET shown_child = ? WHERE id = ?", (child, parent))


def insert_message(
    conn: sqlite3.Connection,
    conversation_id: int,
    parent: int | None,
    role: Role,
    text: str,
    status: MessageStatus,
    stamp: str,
) -> tuple[int, int]:
    """Add a message under `parent` and show it there; returns (id, depth)."""
    depth = 0
    if parent is not None:
        depth = int(
            conn.execute("SELECT position + 1 FROM messages WHERE id = ?", (parent,)).fetchone()[0]
        )
    cursor = conn.execute(
        "INSERT INTO messages (conversation, parent, position, role, text, status, created, "
        "updated) VALUES (?,?,?,?,?,?,?,?)",
        (conversation_id, parent, depth, role.value, text, status.value, stamp, stamp),
    )
    message_id = int(cursor.lastrowid or 0)
    set_shown(conn, conversation_id, parent, message_id)
    conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (stamp, conversation_id))
    return message_id, depth


def other_version_count(conn: sqlite3.Connection, conversation_id: int) -> int:
    """How many versions Regenerate and Edit added: messages minus forks (sibling groups)."""
    row = conn.execute(
        "SELECT count(*) - count(DISTINCT coalesce(parent, 0)) FROM messages "
        "WHERE conversation = ?",
        (conversation_id,),
    ).fetchone()
    return int(row[0])


def load_messages(
    conn: sqlite3.Connection, images: ImageStore, conversation_id: int, shown_only: bool
) -> list[Message]:
    """A conversation's messages with attachments.

    The shown path in order, or all of them by depth, then oldest first (so that a
    parent always comes before its children).
    """
    if shown_only:
        sql = f"{SHOWN_PATH} {MESSAGE_SELECT} JOIN path ON path.id = m.id ORDER BY m.position"
        rows = conn.execute(sql, (conversation_id,)).fetchall()
    else:
        sql = f"{MESSAGE_SELECT} WHERE m.conversation = ? ORDER BY m.position, m.id"
        rows = conn.execute(sql, (conversation_id,)).fetchall()
    wanted = {int(row[0]) for row in rows}
    attachment_rows = conn.execute(
        "SELECT a.message, a.sha256, a.name, a.mime, a.width, a.height, a.bytes, a.tool_call "
        "FROM attachments a JOIN messages m ON m.id = a.message "
        "WHERE m.conversation = ? ORDER BY a.id",
        (conversation_id,),
    ).fetchall()
    attachments: dict[int, list[Attachment]] = {}
    tool_images: dict[int, list[Attachment]] = {}
    for message_id, sha256, name, mime, width, height, size, tool_call in attachment_rows:
        if message_id in wanted:
            kept = tool_images if tool_call else attachments
            kept.setdefault(message_id, []).append(
                Attachment(sha256, name, mime, width, height, size, images.path_for(sha256, mime))
            )
    return [
        message_from_row(row, attachments.get(row[0], []), tool_images.get(row[0], []))
        for row in rows
    ]


def message_from_row(
    row: Sequence[Any], attachments: list[Attachment], tool_images: Sequence[Attachment] = ()
) -> Message:
    """A Message from a MESSAGE_SELECT row; `tool_images` are the images its tools returned."""
    mid, conversation, depth, role, text, status, created, updated, stats = row[:9]
    parent, version, count = row[9:12]
    return Message(
        mid,
        conversation,
        depth,
        Role(role),
        text,
        MessageStatus(status),
        created,
        updated,
        json.loads(stats),
        tuple(attachments),
        parent,
        int(version),
        int(count),
        loaded_turns(row[12], tool_images),
    )


TREE_PROBLEMS = """
SELECT 'message ' || m.id || ' follows a message of another conversation'
    FROM messages m JOIN messages p ON p.id = m.parent
    WHERE m.conversation = ?1 AND p.conversation != m.conversation
UNION ALL
SELECT 'message ' || m.id || ' is at depth ' || m.position || ', not '
        || coalesce(p.position + 1, 0)
    FROM messages m LEFT JOIN messages p ON p.id = m.parent
    WHERE m.conversation = ?1 AND m.position != coalesce(p.position + 1, 0)
UNION ALL
SELECT 'message ' || p.id || ' shows message ' || p.shown_child || ', which does not follow it'
    FROM messages p LEFT JOIN messages c ON c.id = p.shown_child
    WHERE p.conversation = ?1 AND p.shown_child IS NOT NULL AND c.parent IS NOT p.id
UNION ALL
SELECT 'the conversation shows message ' || c.shown_root || ', not one of its first questions'
    FROM conversations c LEFT JOIN messages m ON m.id = c.shown_root
    WHERE c.id = ?1 AND c.shown_root IS NOT NULL
        AND (m.conversation IS NOT c.id OR m.parent IS NOT NULL)
"""


def tree_problems(conn: sqlite3.Connection, conversation_id: int) -> list[str]:
    """What is wrong with a conversation's tree and shown choices; [] when it is sound."""
    return [str(row[0]) for row in conn.execute(TREE_PROBLEMS, (conversation_id,)).fetchall()]
