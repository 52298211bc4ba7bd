"""A database and an export written by the version-2 code open and import with nothing lost.

The files in tests/storage/data were written by the schema-2 store itself (see
data/make_v2_fixture.py), not rebuilt here from SQL, so the test reads what users have.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

from app.storage import ConversationStore, MessageStatus, export_json, import_json
from app.storage.schema import SCHEMA_VERSION

DATA = Path(__file__).parent / "data"
V2_STORE = DATA / "v2-store"
V2_EXPORT = DATA / "v2-export.json"

MESSAGE_FIELDS = "id, conversation, role, text, status, created, updated, stats"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _copy_v2(data_dir: Path) -> Path:
    shutil.copytree(V2_STORE, data_dir)
    return data_dir / "conversations.sqlite3"


def test_the_fixture_is_a_version_2_database() -> None:
    db = V2_STORE / "conversations.sqlite3"
    assert _rows(db, "PRAGMA user_version") == [(2,)]
    assert _rows(db, "SELECT count(*) FROM messages")[0][0] == 9


def test_a_version_2_database_is_upgraded_keeping_everything(data_dir: Path) -> None:
    db = _copy_v2(data_dir)
    old = V2_STORE / "conversations.sqlite3"
    old_messages = _rows(old, f"SELECT {MESSAGE_FIELDS} FROM messages ORDER BY id")
    old_order = _rows(old, "SELECT conversation, id FROM messages ORDER BY conversation, position")
    old_attachments = _rows(old, "SELECT * FROM attachments ORDER BY id")
    old_conversations = _rows(
        old, "SELECT id, title, created, updated, deleted_at, settings FROM conversations"
    )
    old_state = _rows(old, "SELECT * FROM state")

    with ConversationStore.open(data_dir) as store:
        assert any(
            f"upgraded from database version 2 to {SCHEMA_VERSION}" in n for n in store.notices
        )
        assert any("1 answer(s) were being written" in n for n in store.notices)
        new_messages = _rows(db, f"SELECT {MESSAGE_FIELDS} FROM messages ORDER BY id")
        streaming = [m for m in old_messages if m[4] == "streaming"]
        assert len(streaming) == 1
        expected = [
            (*m[:4], "interrupted", *m[5:]) if m[4] == "streaming" else m for m in old_messages
        ]
        assert new_messages == expected
        attachments = _rows(db, "SELECT * FROM attachments ORDER BY id")
        assert [a[:-1] for a in attachments] == old_attachments  # version 4 adds tool_call
        assert {a[-1] for a in attachments} == {""}
        assert (
            _rows(db, "SELECT id, title, created, updated, deleted_at, settings FROM conversations")
            == old_conversations
        )
        assert _rows(db, "SELECT * FROM state") == old_state
        for (cid,) in _rows(db, "SELECT id FROM conversations"):
            path = store.shown_path(cid)
            assert [m.id for m in path] == [mid for c, mid in old_order if c == cid]
            assert [m.position for m in path] == list(range(len(path)))
            assert [m.parent_id for m in path] == [None, *(m.id for m in path)][: len(path)]
            assert all(m.version_count == 1 for m in path)
            assert store.check_tree(cid) == []
        assert store.last_opened_conversation() == 1
        conversation = store.load_conversation(1)
        assert conversation.settings == {"system": "Be brief.", "temperature": 0.7}
        statuses = [m.status.value for m in conversation.messages]
        assert statuses == ["complete", "complete", "complete", "stopped", "complete", "error"]
        first = conversation.messages[0]
        assert [(a.width, a.height) for a in first.attachments] == [(64, 36), (15, 50)]
        assert all(a.path.is_file() for a in first.attachments)
        assert conversation.messages[1].stats == {"seconds": 0.8125, "tokens": 12}
        assert {h.conversation_id for h in store.search("zeppelin", include_trash=True)} == {1, 2}
        assert store.search("first try") == []  # deleted by version 2's regenerate
        # The upgraded tree takes new versions like any other.
        answer = conversation.messages[1].id
        again = store.add_answer_version(answer)
        store.finish_assistant_message(again, MessageStatus.COMPLETE, text="another look")
        assert store.siblings(answer).count == 2
        assert store.shown_path(1)[-1].text == "another look"
        with store.reading("check") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    backup = data_dir / "conversations-version2-backup.sqlite3"
    assert _rows(backup, "PRAGMA user_version") == [(2,)]
    assert _rows(backup, f"SELECT {MESSAGE_FIELDS} FROM messages ORDER BY id") == old_messages


def test_a_version_1_export_still_imports_as_one_path(
    store: ConversationStore, tmp_path: Path
) -> None:
    ids = import_json(store, V2_EXPORT)
    assert len(ids) == 2
    rich, crashed = (store.load_conversation(cid) for cid in ids)
    assert [m.text for m in crashed.messages] == ["Tell me about airships", "Airships are"]
    assert crashed.messages[1].status is MessageStatus.INTERRUPTED
    statuses = [m.status.value for m in rich.messages]
    assert statuses == ["complete", "complete", "complete", "stopped", "complete", "error"]
    assert rich.messages[0].attachments[1].name == "tall.jpg"
    assert rich.messages[3].stats == {"tokens": 4}
    assert [m.position for m in rich.messages] == list(range(6))
    assert all(store.check_tree(cid) == [] for cid in ids)
    # Exported again it is a version-2 file that round-trips exactly.
    first = export_json(store, ids, tmp_path / "first.json")
    again_ids = import_json(store, first)
    second = export_json(store, again_ids, tmp_path / "second.json")
    assert first.read_bytes() == second.read_bytes()


def test_an_upgraded_tree_follows_positions_even_where_ids_disagree(
    data_dir: Path, tmp_path: Path
) -> None:
    """A hand-edited version-2 file whose ids are not in message order upgrades too."""
    db = _copy_v2(data_dir)
    conn = sqlite3.connect(db)
    (first, second) = [
        row[0]
        for row in conn.execute("SELECT id FROM messages WHERE conversation = 4 ORDER BY position")
    ]
    conn.execute("UPDATE messages SET id = 1000 WHERE id = ?", (first,))
    conn.commit()
    conn.close()
    with ConversationStore.open(data_dir) as store:
        assert [m.id for m in store.shown_path(4)] == [1000, second]
        assert [m.text for m in store.shown_path(4)] == ["Tell me about airships", "Airships are"]
        assert store.check_tree(4) == []
        assert {h.message_id for h in store.search("airships")} == {1000, second}
        exported = export_json(store, [4], tmp_path / "odd.json")
        (copy,) = import_json(store, exported)
        assert [m.text for m in store.shown_path(copy)] == [
            "Tell me about airships",
            "Airships are",
        ]
        assert export_json(store, [copy], tmp_path / "again.json").read_bytes() == (
            exported.read_bytes()
        )
