"""Export to JSON, Markdown and HTML, and JSON import, on real stores."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from app.storage import (
    ConversationStore,
    MessageStatus,
    StorageError,
    export_html,
    export_json,
    export_markdown,
    import_json,
)


def test_json_export_import_export_is_byte_identical(
    rich: int, store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = rich
    first = export_json(store, [cid], tmp_path / "first.json")
    with ConversationStore.open(tmp_path / "elsewhere") as other:
        (new_id,) = import_json(other, first)
        second = export_json(other, [new_id], tmp_path / "second.json")
        imported = other.load_conversation(new_id)
        assert all(p.is_file() for p in imported.image_paths())
        assert other.search("yellow circle")[0].conversation_id == new_id
    assert first.read_bytes() == second.read_bytes()
    # Importing into the same store makes a second copy with a new id and the same content.
    (again,) = import_json(store, first)
    assert again != cid
    third = export_json(store, [again], tmp_path / "third.json")
    assert third.read_bytes() == first.read_bytes()
    assert len([p for p in store.images.root.rglob("*") if p.is_file()]) == 2


def test_json_export_embeds_each_image_once_and_carries_no_ids(
    rich: int, store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = rich
    document = json.loads(export_json(store, [cid], tmp_path / "out.json").read_text("utf-8"))
    assert (document["format"], document["version"]) == ("maverick-desk-conversations", 4)
    assert sorted(document["images"]) == sorted(
        hashlib.sha256(images[k].read_bytes()).hexdigest() for k in ("wide", "tall")
    )
    for sha, data in document["images"].items():
        assert hashlib.sha256(base64.b64decode(data)).hexdigest() == sha
    text = json.dumps(document)
    assert '"id"' not in text and '"conversation"' not in text
    statuses = [m["status"] for m in document["conversations"][0]["messages"]]
    assert statuses == ["complete", "complete", "complete", "stopped", "complete", "error"]


def test_an_answer_still_streaming_is_exported_as_interrupted(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create_conversation()
    mid = store.begin_assistant_message(cid)
    store.append_streaming_text(mid, "half")
    out = export_json(store, [cid], tmp_path / "s.json")
    message = json.loads(out.read_text("utf-8"))["conversations"][0]["messages"][0]
    assert (message["status"], message["text"]) == ("interrupted", "half")
    (new_id,) = import_json(store, out)
    assert store.load_conversation(new_id).messages[0].status is MessageStatus.INTERRUPTED


def test_markdown_export_has_every_message_and_image(
    rich: int, store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = rich
    md_file = export_markdown(store, cid, tmp_path / "export-md")
    assert md_file == tmp_path / "export-md" / "conversation.md"
    text = md_file.read_text("utf-8")
    conversation = store.load_conversation(cid)
    assert text.startswith(f"# {conversation.title}\n")
    for message in conversation.messages:
        assert message.text in text
    assert text.count("## You · ") == 3 and text.count("## Maverick · ") == 3
    assert "(stopped)" in text and "(failed)" in text
    links = re.findall(r"!\[([^\]]*)\]\((images/[^)]+)\)", text)
    assert [alt for alt, _ in links] == ["wide.png", "tall.jpg", "wide.png"]
    for _, link in links:
        linked = md_file.parent / link
        assert hashlib.sha256(linked.read_bytes()).hexdigest() == linked.name.split(".")[0]
    assert {p.name for p in (md_file.parent / "images").iterdir()} == {
        a.path.name for m in conversation.messages for a in m.attachments
    }
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_markdown_export_refuses_to_overwrite_a_folder_with_files(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create_conversation("x")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine")
    with pytest.raises(StorageError, match="already exists and is not an empty folder"):
        export_markdown(store, cid, tmp_path / "busy")
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]
    (tmp_path / "empty").mkdir()
    assert export_markdown(store, cid, tmp_path / "empty").is_file()


def test_html_export_is_self_contained_escaped_and_script_free(
    rich: int, store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    from html import escape

    cid = rich
    html = export_html(store, cid, tmp_path / "c.html").read_text("utf-8")
    conversation = store.load_conversation(cid)
    for message in conversation.messages:
        assert escape(message.text) in html
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "url(" not in html and "@import" not in html
    assert "default-src 'none'" in html
    embedded = re.findall(r'src="data:(image/[a-z]+);base64,([A-Za-z0-9+/=]+)"', html)
    assert len(embedded) == 3
    for (mime, data), a in zip(
        embedded, [a for m in conversation.messages for a in m.attachments], strict=True
    ):
        assert mime == a.mime and base64.b64decode(data) == a.path.read_bytes()


def test_exports_fail_clearly_when_a_stored_image_vanished(
    rich: int, store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = rich
    store.load_conversation(cid).image_paths()[1].unlink()
    with pytest.raises(StorageError, match="Could not read the stored image"):
        export_json(store, [cid], tmp_path / "x.json")
    with pytest.raises(StorageError, match="Could not read the stored image"):
        export_html(store, cid, tmp_path / "x.html")
    with pytest.raises(StorageError, match="Could not read the stored image"):
        export_markdown(store, cid, tmp_path / "md")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "data",
        "empty.png",
        "notes.png",
        "tall.jpg",
        "truncated.png",
        "wide.png",
    ]
