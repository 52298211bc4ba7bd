"""The database schema as a list of migrations; a fresh database runs them all.

``PRAGMA user_version`` holds the schema version. Version 1 is the first schema
(kept here as history: every database ever written starts from it); each later
version is one function that moves a database up by one, inside the caller's
transaction, with foreign keys off (a table rebuild must not cascade). Never edit a
migration that has shipped; add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from app.storage.image_store import stored_path

SCHEMA_VERSION = 5

V1_SCHEMA = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    UNIQUE (conversation, position)
);
CREATE TABLE attachments (
    id INTEGER PRIMARY KEY,
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL
);
CREATE INDEX attachments_by_message ON attachments(message);
"""

V2_CHANGES = """
ALTER TABLE conversations ADD COLUMN deleted_at TEXT;
ALTER TABLE conversations ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
CREATE INDEX conversations_by_updated ON conversations(deleted_at, updated);
ALTER TABLE messages ADD COLUMN updated TEXT NOT NULL DEFAULT '';
UPDATE messages SET updated = created;
ALTER TABLE messages ADD COLUMN stats TEXT NOT NULL DEFAULT '{}';
ALTER TABLE attachments ADD COLUMN width INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN height INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attachments ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX attachments_by_sha256 ON attachments(sha256);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
"""

# Version 3: messages form a tree. `parent` is the message answered or followed (NULL for
# a first question); siblings (same parent) are versions, oldest first by id. `position`
# becomes the depth (0 for a first question), so UNIQUE (conversation, position) goes,
# which SQLite can only do by rebuilding the table. The version shown at each fork is
# the parent's `shown_child` (the conversation's `shown_root` for first questions);
# NULL there means the shown path ends at that message. Ids are kept, so attachments,
# the search index and the last-opened conversation stay valid.
V3_CHANGES = """
CREATE TABLE messages_v3 (
    id INTEGER PRIMARY KEY,
    conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    parent INTEGER REFERENCES messages(id),
    position INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL DEFAULT '',
    stats TEXT NOT NULL DEFAULT '{}',
    shown_child INTEGER REFERENCES messages(id) ON DELETE SET NULL
);
INSERT INTO messages_v3 (id, conversation, parent, position, role, text, status, created,
                         updated, stats, shown_child)
SELECT m.id, m.conversation,
    (SELECT p.id FROM messages p WHERE p.conversation = m.conversation
        AND p.position < m.position ORDER BY p.position DESC LIMIT 1),
    (SELECT count(*) FROM messages p WHERE p.conversation = m.conversation
        AND p.position < m.position),
    m.role, m.text, m.status, m.created, m.updated, m.stats,
    (SELECT c.id FROM messages c WHERE c.conversation = m.conversation
        AND c.position > m.position ORDER BY c.position LIMIT 1)
FROM messages m ORDER BY m.id;
DROP TABLE messages;
ALTER TABLE messages_v3 RENAME TO messages;
CREATE INDEX messages_by_parent ON messages(conversation, parent);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
ALTER TABLE conversations ADD COLUMN shown_root INTEGER REFERENCES messages(id)
    ON DELETE SET NULL;
UPDATE conversations SET shown_root = (
    SELECT m.id FROM messages m WHERE m.conversation = conversations.id AND m.parent IS NULL
);
"""

# Version 4: an answer keeps the tool calls it made and their results (`tool_turns`, JSON;
# see records.ToolTurn), in order. Their text is indexed too (`tool_text`, a second column
# of the search index). Images a tool returned are attachments of the answer with the id
# of the call that returned them (`tool_call`; '' for the user's own images).
V4_CHANGES = """
ALTER TABLE messages ADD COLUMN tool_turns TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN tool_text TEXT NOT NULL DEFAULT '';
ALTER TABLE attachments ADD COLUMN tool_call TEXT NOT NULL DEFAULT '';
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, tool_text, content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, text, tool_text) VALUES (new.id, new.text, new.tool_text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text, tool_text)
        VALUES ('delete', old.id, old.text, old.tool_text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, tool_text ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text, tool_text)
        VALUES ('delete', old.id, old.text, old.tool_text);
    INSERT INTO messages_fts(rowid, text, tool_text) VALUES (new.id, new.text, new.tool_text);
END;
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
"""

# Version 5: a conversation's documents (whole PDFs, text, Markdown), in the order they
# were attached, by the hash of their bytes; the files live in documents/files/
# (document_files.DocumentFiles), shared by every conversation that has the same bytes.
V5_CHANGES = """
CREATE TABLE conversation_documents (
    conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    added TEXT NOT NULL,
    PRIMARY KEY (conversation, sha256)
);
CREATE INDEX conversation_documents_by_sha256 ON conversation_documents(sha256);
"""


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the caller's transaction; run statement by statement.
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""


def _to_v1(conn: sqlite3.Connection, images_dir: Path) -> None:
    _execute_script(conn, V1_SCHEMA)


def _to_v2(conn: sqlite3.Connection, images_dir: Path) -> None:
    """Trash, settings, stats, image sizes, the key-value table and full-text search."""
    _execute_script(conn, V2_CHANGES)
    rows = conn.execute("SELECT id, sha256, mime FROM attachments").fetchall()
    for attachment_id, sha256, mime in rows:
        width, height, size = _image_size(images_dir, sha256, mime)
        conn.execute(
            "UPDATE attachments SET width = ?, height = ?, bytes = ? WHERE id = ?",
            (width, height, size, attachment_id),
        )


def _to_v3(conn: sqlite3.Connection, images_dir: Path) -> None:
    """Messages become a tree, so that Regenerate and Edit keep every version."""
    _execute_script(conn, V3_CHANGES)


def _to_v4(conn: sqlite3.Connection, images_dir: Path) -> None:
    """Answers keep their tool calls and results, searchable."""
    _execute_script(conn, V4_CHANGES)


def _to_v5(conn: sqlite3.Connection, images_dir: Path) -> None:
    """Conversations keep their documents."""
    _execute_script(conn, V5_CHANGES)


def _image_size(images_dir: Path, sha256: str, mime: str) -> tuple[int, int, int]:
    # Version 1 used the same store layout; a missing or unreadable file keeps zeros.
    path = stored_path(images_dir, sha256, mime)
    try:
        with Image.open(path) as img:
            return img.width, img.height, path.stat().st_size
    except (OSError, UnidentifiedImageError, ValueError):
        return 0, 0, 0


# MIGRATIONS[n] moves a database from version n - 1 to version n.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection, Path], None]] = {
    1: _to_v1,
    2: _to_v2,
    3: _to_v3,
    4: _to_v4,
    5: _to_v5,
}
assert max(MIGRATIONS) == SCHEMA_VERSION


def migrate(conn: sqlite3.Connection, current: int, images_dir: Path) -> None:
    """Bring a database from `current` to SCHEMA_VERSION; the caller holds a transaction."""
    for version in range(current + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](conn, images_dir)
    broken = conn.execute("PRAGMA foreign_key_check").fetchall()
    if broken:  # raised inside the transaction: the database is left as it was
        raise sqlite3.IntegrityError(f"the upgrade left broken references: {broken[:3]}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION:d}")
