"""Opening real database files: old versions, newer versions, damaged files, no space."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.storage import ConversationStore, MessageStatus, NewerVersionError, StorageError
from app.storage.schema import SCHEMA_VERSION

# The first schema exactly as version 1 shipped it; written here, not imported, so that
# the test keeps describing real old files even if the code's copy were edited.
V1_DDL = """
CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY,
    conversation INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, status TEXT NOT NULL,
    created TEXT NOT NULL, UNIQUE (conversation, position));
CREATE TABLE attachments (id INTEGER PRIMARY KEY,
    message INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    sha256 TEXT NOT NULL, name TEXT NOT NULL, mime TEXT NOT NULL);
CREATE INDEX attachments_by_message ON attachments(message);
PRAGMA user_version = 1;
"""


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_version_1_database_is_upgraded_with_a_backup(
    data_dir: Path, images: dict[str, Path]
) -> None:
    import hashlib

    data_dir.mkdir()
    png = images["wide"].read_bytes()
    sha = hashlib.sha256(png).hexdigest()
    (data_dir / "images" / sha[:2]).mkdir(parents=True)
    (data_dir / "images" / sha[:2] / f"{sha}.png").write_bytes(png)
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    db.executescript(V1_DDL)
    t = "2024-05-01T10:00:00.000000Z"
    db.execute("INSERT INTO conversations VALUES (1, 'Old chat', ?, ?)", (t, t))
    db.execute(
        "INSERT INTO messages VALUES (1, 1, 0, 'user', 'what about zeppelins', 'complete', ?)", (t,)
    )
    db.execute(
        "INSERT INTO messages VALUES (2, 1, 1, 'assistant', 'Zeppelins are airships', "
        "'streaming', ?)",
        (t,),
    )
    db.execute("INSERT INTO attachments VALUES (1, 1, ?, 'photo.png', 'image/png')", (sha,))
    db.commit()
    db.close()

    with ConversationStore.open(data_dir) as store:
        assert any(
            f"upgraded from database version 1 to {SCHEMA_VERSION}" in n for n in store.notices
        )
        conversation = store.load_conversation(1)
        assert conversation.title == "Old chat"
        assert conversation.settings == {}
        first, second = conversation.messages
        assert first.updated == t
        attachment = first.attachments[0]
        assert (attachment.width, attachment.height, attachment.bytes) == (640, 360, len(png))
        assert attachment.path.read_bytes() == png
        assert second.status is MessageStatus.INTERRUPTED  # left streaming by the old app
        assert {h.message_id for h in store.search("zeppelins")} == {1, 2}  # index rebuilt
        store.add_user_message(1, "a new question after the upgrade")
        store.move_to_trash(1)
        assert store.list_conversations(trash=True)[0].id == 1
        with store.reading("check") as conn:
            assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    backup = data_dir / "conversations-version1-backup.sqlite3"
    old = sqlite3.connect(backup)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 1
    assert old.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
    old.close()


def test_a_fresh_database_has_the_same_schema_as_an_upgraded_one(
    data_dir: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / "conversations.sqlite3")
    db.executescript(V1_DDL)
    db.close()
    ConversationStore.open(old).close()
    ConversationStore.open(data_dir).close()

    def schema(folder: Path) -> list[tuple[str, str]]:
        db = sqlite3.connect(folder / "conversations.sqlite3")
        rows = db.execute("SELECT name, sql FROM sqlite_schema ORDER BY name").fetchall()
        db.close()
        # Same tables, columns, indexes and triggers; only line breaks may differ.
        return [(name, "".join((sql or "").split())) for name, sql in rows]

    assert schema(old) == schema(data_dir)


def test_a_newer_database_is_refused_and_left_byte_identical(data_dir: Path) -> None:
    with ConversationStore.open(data_dir) as store:
        store.add_user_message(store.create_conversation(), "from the future")
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    db.execute("PRAGMA user_version = 7")
    db.close()
    before = _folder_state(data_dir)
    assert "conversations.sqlite3-wal" not in before
    with pytest.raises(NewerVersionError) as caught:
        ConversationStore.open(data_dir)
    message = str(caught.value)
    assert "newer version of Maverick Desk" in message
    assert "database version 7" in message and "left untouched" in message
    assert _folder_state(data_dir) == before


def test_a_file_that_is_not_a_database_is_kept_aside_and_a_new_one_started(
    data_dir: Path,
) -> None:
    data_dir.mkdir()
    garbage = b"this was never a database\n" * 200
    (data_dir / "conversations.sqlite3").write_bytes(garbage)
    with ConversationStore.open(data_dir) as store:
        assert len(store.notices) == 1
        notice = store.notices[0]
        kept = [p for p in data_dir.iterdir() if "damaged" in p.name]
        assert len(kept) == 1 and str(kept[0]) in notice
        assert kept[0].name.startswith("conversations-damaged-2")  # timestamped
        assert kept[0].read_bytes() == garbage
        assert store.list_conversations() == []
        store.create_conversation("fresh start")
    with ConversationStore.open(data_dir) as store:
        assert store.notices == []
        assert [c.title for c in store.list_conversations()] == ["fresh start"]


def test_a_database_with_damaged_pages_is_kept_aside(data_dir: Path) -> None:
    import random

    with ConversationStore.open(data_dir) as store:
        for i in range(40):
            store.add_user_message(store.create_conversation(), f"message {i} " * 40)
    path = data_dir / "conversations.sqlite3"
    data = bytearray(path.read_bytes())
    rng = random.Random(4)
    data[4096 : 4096 * 3] = bytes(rng.randrange(256) for _ in range(8192))
    path.write_bytes(bytes(data))
    with ConversationStore.open(data_dir) as store:
        assert "damaged" in store.notices[0] and "new, empty database" in store.notices[0]
        assert store.list_conversations() == []
        kept = next(p for p in data_dir.iterdir() if "damaged" in p.name)
        assert kept.read_bytes() == bytes(data)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[None]:
    """Make `folder` truly read-only, even for root.

    chmod is enough for a normal user. Root ignores permission bits, so as root the
    folder also gets the immutable attribute (chattr +i, needs CAP_LINUX_IMMUTABLE),
    which stops root too. If neither works the test fails rather than pretending.
    """
    folder.chmod(0o555)
    immutable = False
    try:
        if _can_create_in(folder):
            subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
            immutable = True
        if _can_create_in(folder):
            pytest.fail(f"could not make {folder} read-only on this system")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True, capture_output=True)
        folder.chmod(0o755)


def _can_create_in(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return False
    probe.unlink()
    return True


def test_a_read_only_data_folder_gives_a_clear_error(data_dir: Path) -> None:
    data_dir.mkdir()
    with read_only_folder(data_dir), pytest.raises(StorageError) as caught:
        ConversationStore.open(data_dir)
    message = str(caught.value)
    assert message.startswith("Could not open the conversation database")
    assert "read-only" in message and str(data_dir) in message
    assert not (data_dir / "conversations.sqlite3").exists()


def test_an_existing_database_in_a_read_only_folder_gives_a_clear_error(data_dir: Path) -> None:
    with ConversationStore.open(data_dir) as store:
        store.add_user_message(store.create_conversation(), "saved before")
    before = _folder_state(data_dir)
    with read_only_folder(data_dir), pytest.raises(StorageError) as caught:
        ConversationStore.open(data_dir)
    assert "read-only" in str(caught.value) and str(data_dir) in str(caught.value)
    assert _folder_state(data_dir) == before


def test_a_full_disk_gives_a_clear_error_and_keeps_what_was_saved(
    store: ConversationStore,
) -> None:
    # SQLite reports a full disk and a database at its page limit with the same error
    # (SQLITE_FULL); capping the page count makes that real error without filling a disk.
    cid = store.create_conversation()
    store.add_user_message(cid, "saved before the disk filled up")
    mid = store.begin_assistant_message(cid)
    with store.reading("cap the size") as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError) as caught:
        store.save_streaming_text(mid, "x" * 200_000)
    assert str(caught.value).startswith("Could not save the answer so far: the disk holding")
    assert "is full" in str(caught.value)
    with pytest.raises(StorageError, match="is full"):
        store.add_user_message(cid, "y" * 200_000)
    conversation = store.load_conversation(cid)
    assert conversation.messages[0].text == "saved before the disk filled up"
    assert len(conversation.messages) == 2
