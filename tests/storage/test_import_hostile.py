"""Every bad import file gets its own sentence, and nothing is written."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.storage import ConversationStore, ImportFileError, StorageError, export_json, import_json
from app.storage.import_checks import MAX_TEXT_CHARS

Doc = dict[str, Any]


@pytest.fixture
def valid(images: dict[str, Path], tmp_path: Path) -> Doc:
    """A real export with one conversation: a question with an image and an answer."""
    with ConversationStore.open(tmp_path / "source") as source:
        cid = source.create_conversation()
        source.add_user_message(cid, "what is this?", [images["wide"]])
        mid = source.begin_assistant_message(cid)
        source.finish_assistant_message(mid, _complete(), text="a circle", stats={"tokens": 2})
        text = export_json(source, [cid], tmp_path / "valid.json").read_text("utf-8")
    document: Doc = json.loads(text)
    return document


def _complete() -> Any:
    from app.storage import MessageStatus

    return MessageStatus.COMPLETE


def _png(color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="PNG")
    return out.getvalue()


def _attachment(d: Doc) -> Doc:
    attachment: Doc = d["conversations"][0]["messages"][0]["attachments"][0]
    return attachment


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def mutate(d: Doc) -> None:
        target: Any = d
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        last = keys[-1]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _drop(path: str) -> Callable[[Doc], None]:
    def mutate(d: Doc) -> None:
        target: Any = d
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[keys[-1]]

    return mutate


def _swap_image_data(d: Doc) -> None:
    sha = next(iter(d["images"]))
    d["images"][sha] = base64.b64encode(_png((1, 2, 3))).decode()


def _not_an_image(d: Doc) -> None:
    data = b"hello, I am text pretending to be a picture"
    sha = hashlib.sha256(data).hexdigest()
    old = next(iter(d["images"]))
    d["images"] = {sha: base64.b64encode(data).decode()}
    _attachment(d)["sha256"] = sha
    assert old != sha


def _unused_image(d: Doc) -> None:
    data = _png((9, 9, 9))
    d["images"][hashlib.sha256(data).hexdigest()] = base64.b64encode(data).decode()


M0 = "conversations.0.messages.0"
CASES: list[tuple[str, Callable[[Doc], None] | bytes, str]] = [
    ("not json", b"{this is not json", "not valid JSON (line 1, column 2"),
    ("not utf-8", b"\xff\xfe\x00garbage", "not UTF-8 text"),
    ("nested too deeply", b"[" * 200_000, "nested too deeply"),
    ("other format", _set("format", "chatgpt-export"), "not a Maverick Desk conversation export"),
    ("not an object", b"[1, 2, 3]", "not a Maverick Desk conversation export"),
    ("newer version", _set("version", 5), "newer version of Maverick Desk (export format 5"),
    ("version as text", _set("version", "1"), "version: '1' is not a known export format"),
    ("version zero", _set("version", 0), "is not a known export format version"),
    ("unknown top field", _set("extra", 1), "unknown field 'extra'"),
    ("no conversations", _set("conversations", []), "expected a list of 1 to"),
    (
        "title not text",
        _set("conversations.0.title", 42),
        "conversations[0].title: expected text, found int",
    ),
    ("huge title", _set("conversations.0.title", "t" * 10_000), "10,000 characters"),
    ("title with newline", _set("conversations.0.title", "a\nb"), "control characters"),
    ("messages not a list", _set("conversations.0.messages", {"0": {}}), "expected a list"),
    ("huge text", _set(f"{M0}.text", "x" * (MAX_TEXT_CHARS + 1)), "5,000,001 characters"),
    ("lone surrogate", _set(f"{M0}.text", "\ud800"), "not valid Unicode"),
    ("bad role", _set(f"{M0}.role", "system"), "'system' is not 'user' or 'assistant'"),
    ("streaming status", _set(f"{M0}.status", "streaming"), "'streaming' is not one of"),
    ("bad timestamp", _set(f"{M0}.created", "yesterday"), "'yesterday' is not a timestamp"),
    ("impossible date", _set(f"{M0}.created", "2024-02-30T10:00:00.000000Z"), "not a real date"),
    ("stats not object", _set(f"{M0}.stats", [1, 2]), "stats: expected an object, found list"),
    ("huge stats", _set(f"{M0}.stats", {"k": "v" * 70_000}), "larger than 64 KiB"),
    ("NaN in stats", b"", "NaN is not a number JSON allows"),
    (
        "parent path name",
        _set(f"{M0}.attachments.0.name", "../../etc/passwd"),
        "'../../etc/passwd' is not a plain file name",
    ),
    (
        "absolute path name",
        _set(f"{M0}.attachments.0.name", "/etc/passwd"),
        "not a plain file name",
    ),
    (
        "windows path name",
        _set(f"{M0}.attachments.0.name", "C:\\Windows\\win.ini"),
        "not a plain file name",
    ),
    ("dot-dot name", _set(f"{M0}.attachments.0.name", ".."), "not a plain file name"),
    ("parent of itself", _set(f"{M0}.parent", 0), "messages[0].parent: expected null"),
    (
        "parent after it",
        _set("conversations.0.messages.1.parent", 1),
        "messages[1].parent: 1 is outside 0…0",
    ),
    ("parent as text", _set("conversations.0.messages.1.parent", "0"), "expected a whole number"),
    (
        "shown child not a child",
        _set("conversations.0.messages.1.shown_child", 0),
        "messages[1].shown_child: message 0 does not follow this message",
    ),
    (
        "shown child out of range",
        _set(f"{M0}.shown_child", 7),
        "messages[0].shown_child: 7 is outside 0…1",
    ),
    (
        "shown root not a first question",
        _set("conversations.0.shown_root", 1),
        "conversations[0].shown_root: message 1 is not a first question",
    ),
    ("tree fields missing", _drop("conversations.0.shown_root"), "missing field 'shown_root'"),
    ("path field", _set(f"{M0}.attachments.0.path", "../../etc/passwd"), "unknown field 'path'"),
    ("width as bool", _set(f"{M0}.attachments.0.width", True), "expected a whole number"),
    ("width mismatch", _set(f"{M0}.attachments.0.width", 641), "do not match the image"),
    ("mime mismatch", _set(f"{M0}.attachments.0.mime", "image/gif"), "does not match the image"),
    ("missing image", _set(f"{M0}.attachments.0.sha256", "a" * 64), "no image with this hash"),
    ("bad sha", _set(f"{M0}.attachments.0.sha256", "../x"), "expected a lower-case sha256"),
    (
        "bad base64",
        lambda d: d["images"].update({k: "!!not base64!!" for k in d["images"]}),
        "not valid base64",
    ),
    ("sha256 mismatch", _swap_image_data, "sha256 does not match"),
    ("not an image", _not_an_image, "not a readable image"),
    ("unused image", _unused_image, "no message uses this image"),
]


@pytest.fixture
def target(data_dir: Path, images: dict[str, Path]) -> ConversationStore:
    store = ConversationStore.open(data_dir)
    cid = store.create_conversation("already here")
    store.add_user_message(cid, "existing", [images["tall"]])
    return store


def _snapshot(store: ConversationStore) -> tuple[Any, ...]:
    with store.reading("snapshot") as conn:
        counts = tuple(
            conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("conversations", "messages", "attachments")
        )
    files = sorted(
        str(p)
        for p in store.folder.rglob("*")
        if p.is_file() and "-wal" not in p.name and "-shm" not in p.name
    )
    return counts, files, store.list_conversations()


@pytest.mark.parametrize(("case", "mutation", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_import_is_refused_and_writes_nothing(
    case: str,
    mutation: Callable[[Doc], None] | bytes,
    expected: str,
    valid: Doc,
    target: ConversationStore,
    tmp_path: Path,
) -> None:
    path = tmp_path / "hostile.json"
    if isinstance(mutation, bytes):
        if case == "NaN in stats":
            text = json.dumps(valid).replace('"tokens": 2', '"tokens": NaN')
            assert "NaN" in text
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(mutation)
    else:
        document = copy.deepcopy(valid)
        mutation(document)
        path.write_text(json.dumps(document), encoding="utf-8")
    before = _snapshot(target)
    try:
        with pytest.raises(ImportFileError) as caught:
            import_json(target, path)
    finally:
        after = _snapshot(target)
        target.close()
    message = str(caught.value)
    assert message.startswith("hostile.json cannot be imported: ")
    assert expected in message
    assert "Nothing was imported" in message
    assert "\n" not in message
    assert after == before


def test_the_valid_file_does_import(valid: Doc, target: ConversationStore, tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(valid), encoding="utf-8")
    (cid,) = import_json(target, path)
    assert target.load_conversation(cid).messages[1].text == "a circle"
    target.close()


def test_a_database_failure_during_import_removes_the_images_it_stored(
    valid: Doc, target: ConversationStore, tmp_path: Path
) -> None:
    path = tmp_path / "big.json"
    valid["conversations"][0]["messages"][1]["text"] = "z" * 400_000
    path.write_text(json.dumps(valid), encoding="utf-8")
    before = _snapshot(target)
    with target.reading("cap") as conn:
        conn.execute(f"PRAGMA max_page_count = {conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(StorageError, match="Could not import the conversations: the disk"):
        import_json(target, path)
    assert _snapshot(target) == before
    target.close()


def test_a_missing_import_file_is_a_sentence(target: ConversationStore, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="nope.json cannot be imported: No such file"):
        import_json(target, tmp_path / "nope.json")
    target.close()
