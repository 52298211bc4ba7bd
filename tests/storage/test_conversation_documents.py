"""Documents kept with conversations: stored once by hash, listed per conversation,
carried by the JSON export, never removed while another conversation has them."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from app.storage import ConversationStore, StorageError, export_json, import_json
from app.storage.schema import SCHEMA_VERSION

V4_STORE = Path(__file__).parent / "data" / "v4-store"


def _doc(path: Path, text: str) -> tuple[str, str, Path]:
    path.write_text(text, encoding="utf-8")
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.name, path


def test_documents_are_stored_once_and_listed_per_conversation(
    store: ConversationStore, tmp_path: Path
) -> None:
    report = _doc(tmp_path / "report.md", "# Ferries\nThey leave at nine.")
    notes = _doc(tmp_path / "notes.txt", "Tickets cost four pounds.")
    first = store.create_conversation()
    second = store.create_conversation()
    saved = store.set_documents(first, [report, notes])
    store.set_documents(second, [report])
    assert [(d.name, d.bytes) for d in saved] == [("report.md", 29), ("notes.txt", 25)]
    assert saved[0].path.read_bytes() == report[2].read_bytes()
    assert saved[0].path == store.documents(second)[0].path  # one file for both
    report[2].unlink()  # the original goes: the conversation keeps its copy
    with ConversationStore.open(store.folder) as again:
        assert [d.name for d in again.documents(first)] == ["report.md", "notes.txt"]
        assert again.documents(first)[0].path.is_file()
    store.set_documents(first, [notes])  # one removed
    assert [d.name for d in store.documents(first)] == ["notes.txt"]
    question = store.add_user_message(first, "What do tickets cost?")
    branch = store.branch_conversation(question.id)  # asked with the same documents
    assert store.documents(branch) == store.documents(first)


def test_a_file_changed_since_it_was_attached_is_refused_and_nothing_changes(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create_conversation()
    notes = _doc(tmp_path / "notes.txt", "Tickets cost four pounds.")
    store.set_documents(cid, [notes])
    changed = _doc(tmp_path / "report.md", "Before.")
    changed[2].write_text("After: other bytes.", encoding="utf-8")
    with pytest.raises(StorageError, match="report.md changed on disk since it was attached"):
        store.set_documents(cid, [notes, changed])
    assert [d.name for d in store.documents(cid)] == ["notes.txt"]
    assert not list(store.document_files.root.rglob("*.tmp"))


def test_emptying_the_trash_keeps_a_document_another_conversation_has(
    store: ConversationStore, tmp_path: Path
) -> None:
    shared = _doc(tmp_path / "shared.md", "Shared between two conversations.")
    alone = _doc(tmp_path / "alone.md", "Only the deleted conversation had it.")
    kept, deleted = store.create_conversation(), store.create_conversation()
    store.set_documents(kept, [shared])
    store.set_documents(deleted, [shared, alone])
    alone_path = store.documents(deleted)[1].path
    store.move_to_trash(deleted)
    store.image_grace_s = 0.0
    assert store.empty_trash() == 1
    assert store.documents(kept)[0].path.is_file()
    assert not alone_path.exists()


def test_the_json_export_carries_documents_and_imports_them_back(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "When do ferries leave?")
    report = _doc(tmp_path / "report.md", "# Ferries\nThey leave at nine.")
    store.set_documents(cid, [report])
    out = export_json(store, [cid], tmp_path / "export.json")
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["version"] == 4
    assert document["conversations"][0]["documents"] == [
        {"sha256": report[0], "name": "report.md", "bytes": 29}
    ]
    other = tmp_path / "other-data"
    with ConversationStore.open(other) as fresh:
        (new,) = import_json(fresh, out)
        (doc,) = fresh.documents(new)
        assert doc.path.read_bytes() == report[2].read_bytes()
        assert str(doc.path).startswith(str(other))
        again = export_json(fresh, [new], tmp_path / "again.json")
    assert again.read_bytes() == out.read_bytes()
    # A document the file lists without its bytes is refused; nothing is imported.
    document["documents"] = {}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(StorageError, match=r"documents\[0\]\.sha256: no document"):
        import_json(store, bad)


def test_a_version_4_database_opens_and_keeps_documents_from_then_on(
    data_dir: Path, tmp_path: Path
) -> None:
    shutil.copytree(V4_STORE, data_dir)
    with ConversationStore.open(data_dir) as store:
        assert any(f"from database version 4 to {SCHEMA_VERSION}" in n for n in store.notices)
        (summary,) = store.list_conversations()
        messages = store.load_conversation(summary.id).messages
        assert [m.text for m in messages] == [
            "What does the harbour report say about ferries?",
            "They leave at nine.",
        ]
        assert store.documents(summary.id) == []
        store.set_documents(summary.id, [_doc(tmp_path / "report.md", "Ferries.")])
        assert [d.name for d in store.documents(summary.id)] == ["report.md"]
    conn = sqlite3.connect(data_dir / "conversations.sqlite3")
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()
