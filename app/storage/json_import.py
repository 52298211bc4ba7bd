"""Importing the JSON export: check everything first, then write it in one transaction.

Import files come from anywhere, so nothing in them is trusted: every field is
type-checked and size-limited, unknown fields are refused, image names must be
plain file names (they are only ever displayed; files are stored by hash), and
each image must decode and match its sha256. Any problem stops the import before
a single byte is written.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, NoReturn

from app.storage.document_files import document_suffix
from app.storage.document_import import check_conversation_documents, check_documents
from app.storage.errors import ImportFileError
from app.storage.import_checks import (
    CONVERSATION_KEYS,
    CONVERSATION_KEYS_V1,
    MAX_CONVERSATIONS,
    MAX_FILE_BYTES,
    MAX_MESSAGES,
    ImportedImage,
    Invalid,
    check_images,
    check_index,
    check_json_object,
    check_message,
    check_object,
    check_string,
    check_timestamp,
    fail,
)
from app.storage.json_export import EXPORT_FORMAT, EXPORT_VERSION
from app.storage.store import ConversationStore
from app.storage.titles import MAX_TITLE_LENGTH
from app.storage.versioned import newer_version_sentence


def _conversation(
    value: Any,
    where: str,
    images: dict[str, ImportedImage],
    version: int,
    documents: dict[str, bytes],
) -> dict[str, Any]:
    keys = CONVERSATION_KEYS if version >= 2 else CONVERSATION_KEYS_V1
    c = check_object(value, where, keys | {"documents"} if version >= 4 else keys)
    messages = c["messages"]
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        fail(f"{where}.messages", f"expected a list of at most {MAX_MESSAGES:,} messages")
    checked = [
        check_message(m, f"{where}.messages[{i}]", images, version) for i, m in enumerate(messages)
    ]
    if version >= 2:
        shown_root = _tree(checked, c["shown_root"], f"{where}.messages")
    else:  # one path: each message follows the one before it
        for i, m in enumerate(checked):
            m["parent"] = i - 1 if i else None
            m["shown_child"] = i + 1 if i + 1 < len(checked) else None
        shown_root = 0 if checked else None
    return {
        "title": check_string(c["title"], f"{where}.title", MAX_TITLE_LENGTH, one_line=True),
        "created": check_timestamp(c["created"], f"{where}.created"),
        "updated": check_timestamp(c["updated"], f"{where}.updated"),
        "settings": check_json_object(c["settings"], f"{where}.settings"),
        "shown_root": shown_root,
        "messages": checked,
        "documents": check_conversation_documents(
            c.get("documents", []), f"{where}.documents", documents
        ),
    }


def _tree(messages: list[dict[str, Any]], shown_root: Any, where: str) -> int | None:
    """Check the parents and shown versions; returns the shown first question's index."""
    for i, m in enumerate(messages):
        m["parent"] = check_index(m["parent"], f"{where}[{i}].parent", i)
    for i, m in enumerate(messages):
        child = check_index(m["shown_child"], f"{where}[{i}].shown_child", len(messages))
        if child is not None and messages[child]["parent"] != i:
            fail(f"{where}[{i}].shown_child", f"message {child} does not follow this message")
        m["shown_child"] = child
    root = check_index(shown_root, where.rsplit(".", 1)[0] + ".shown_root", len(messages))
    if root is not None and messages[root]["parent"] is not None:
        fail(where.rsplit(".", 1)[0] + ".shown_root", f"message {root} is not a first question")
    return root


def _reject_constant(name: str) -> NoReturn:
    fail("", f"{name} is not a number JSON allows")


def parse_import(
    raw: bytes,
) -> tuple[list[dict[str, Any]], dict[str, ImportedImage], dict[str, bytes]]:
    """Check a whole import file; raises Invalid with where and what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        fail("", "the file is not UTF-8 text, so it is not a conversation export")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        fail("", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except RecursionError:
        fail("", "the JSON is nested too deeply")
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        fail(
            "", f'this is not a Maverick Desk conversation export (no "format": "{EXPORT_FORMAT}")'
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        fail("version", f"{version!r} is not a known export format version")
    if version > EXPORT_VERSION:
        raise _Newer(version)
    keys = {"format", "version", "conversations", "images"}
    check_object(document, "", keys | {"documents"} if version >= 4 else keys)
    images = check_images(document["images"])
    documents = check_documents(document.get("documents", {}))
    conversations = document["conversations"]
    if not isinstance(conversations, list) or not 1 <= len(conversations) <= MAX_CONVERSATIONS:
        fail("conversations", f"expected a list of 1 to {MAX_CONVERSATIONS:,} conversations")
    checked = [
        _conversation(c, f"conversations[{i}]", images, version, documents)
        for i, c in enumerate(conversations)
    ]
    used = {a[0] for c in checked for m in c["messages"] for a in m["attachments"]}
    used |= {r[1] for c in checked for m in c["messages"] for r in m["tool_turns"][2]}
    unused = sorted(set(images) - used)
    if unused:
        fail(f"images[{unused[0][:16]!r}]", "no message uses this image")
    unused = sorted(set(documents) - {d[0] for c in checked for d in c["documents"]})
    if unused:
        fail(f"documents[{unused[0][:16]!r}]", "no conversation has this document")
    return checked, images, documents


class _Newer(Exception):
    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def import_json(store: ConversationStore, path: Path) -> list[int]:
    """Import an export file; returns the new conversation ids. All or nothing."""
    path = Path(path)
    prefix = f"{path.name} cannot be imported"
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ImportFileError(
                f"{prefix}: it is {size // (1024 * 1024)} MiB, more than the "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MiB allowed."
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{prefix}: {exc.strerror or exc}.") from exc
    try:
        conversations, images, documents = parse_import(raw)
    except _Newer as exc:
        sentence = newer_version_sentence("it", exc.version, EXPORT_VERSION, "export format")
        raise ImportFileError(f"{prefix}: {sentence} Nothing was imported.") from None
    except Invalid as exc:
        raise ImportFileError(f"{prefix}: {exc}. Nothing was imported.") from None
    return _write(store, conversations, images, documents)


def _write(
    store: ConversationStore,
    conversations: list[dict[str, Any]],
    images: dict[str, ImportedImage],
    documents: dict[str, bytes],
) -> list[int]:
    made: list[Path] = []
    made_documents: list[Path] = []
    # One file per hash and suffix (the same bytes may be named report.pdf and copy.pdf).
    kept = {(d[0], document_suffix(d[1])): d[1] for c in conversations for d in c["documents"]}
    try:
        with store.writing("import the conversations") as conn:
            for image in images.values():
                stored, created = store.images.add_bytes(
                    image.data, image.mime, image.width, image.height
                )
                if created:
                    made.append(store.images.path_for(stored.sha256, stored.mime))
            for (sha256, _), name in kept.items():
                path, created = store.document_files.add_bytes(documents[sha256], sha256, name)
                if created:
                    made_documents.append(path)
            ids = [_insert_conversation(conn, c) for c in conversations]
    except BaseException:
        store.images.remove(made)
        store.document_files.remove(made_documents)
        raise
    return ids


def _insert_conversation(conn: sqlite3.Connection, c: dict[str, Any]) -> int:
    cid = int(
        conn.execute(
            "INSERT INTO conversations (title, created, updated, settings) VALUES (?,?,?,?)",
            (c["title"], c["created"], c["updated"], c["settings"]),
        ).lastrowid
        or 0
    )
    ids: list[int] = []
    depths: list[int] = []
    for m in c["messages"]:
        parent = None if m["parent"] is None else ids[m["parent"]]
        depth = 0 if m["parent"] is None else depths[m["parent"]] + 1
        mid = conn.execute(
            "INSERT INTO messages (conversation, parent, position, role, text, status, "
            "created, updated, stats, tool_turns, tool_text) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                cid,
                parent,
                depth,
                m["role"],
                m["text"],
                m["status"],
                m["created"],
                m["updated"],
                m["stats"],
                m["tool_turns"][0],
                m["tool_turns"][1],
            ),
        ).lastrowid
        ids.append(int(mid or 0))
        depths.append(depth)
        conn.executemany(
            "INSERT INTO attachments (message, sha256, name, mime, width, height, "
            "bytes) VALUES (?,?,?,?,?,?,?)",
            [(mid, *a) for a in m["attachments"]],
        )
        conn.executemany(
            "INSERT INTO attachments (message, tool_call, sha256, name, mime, width, height, "
            "bytes) VALUES (?,?,?,?,?,?,?,?)",
            [(mid, *row) for row in m["tool_turns"][2]],
        )
    conn.executemany(
        "UPDATE messages SET shown_child = ? WHERE id = ?",
        [
            (ids[m["shown_child"]], ids[i])
            for i, m in enumerate(c["messages"])
            if m["shown_child"] is not None
        ],
    )
    if c["shown_root"] is not None:
        conn.execute(
            "UPDATE conversations SET shown_root = ? WHERE id = ?", (ids[c["shown_root"]], cid)
        )
    conn.executemany(
        "INSERT INTO conversation_documents (conversation, position, sha256, name, bytes, "
        "added) VALUES (?,?,?,?,?,?)",
        [
            (cid, i, sha, name, size, c["created"])
            for i, (sha, name, size) in enumerate(c["documents"])
        ],
    )
    return cid
