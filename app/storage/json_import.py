"""Importing the JSON export: check everything first, then write it in one transaction.

Import files come from anywhere, so nothing in them is trusted: every field is
type-checked and size-limited, unknown fields are refused, image names must be
plain file names (they are only ever displayed; files are stored by hash), and
each image must decode and match its sha256. Any problem stops the import before
a single byte is written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from app.storage.errors import ImportFileError, StorageError
from app.storage.image_store import MIME_EXTENSION, inspect_image, is_sha256
from app.storage.json_export import EXPORT_FORMAT, EXPORT_VERSION
from app.storage.records import MessageStatus, Role
from app.storage.store import ConversationStore
from app.storage.store_connection import dump_json
from app.storage.titles import MAX_TITLE_LENGTH

MAX_FILE_BYTES = 1024 * 1024 * 1024
MAX_CONVERSATIONS = 10_000
MAX_MESSAGES = 100_000
MAX_TEXT_CHARS = 5_000_000
MAX_ATTACHMENTS = 100
MAX_JSON_OBJECT_BYTES = 64 * 1024
MAX_NAME_CHARS = 255
MAX_SIDE = 100_000
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# Version 1 (before versions) has no tree fields: its messages are one path.
CONVERSATION_KEYS_V1 = {"title", "created", "updated", "settings", "messages"}
MESSAGE_KEYS_V1 = {"role", "text", "status", "created", "updated", "stats", "attachments"}
CONVERSATION_KEYS = CONVERSATION_KEYS_V1 | {"shown_root"}
MESSAGE_KEYS = MESSAGE_KEYS_V1 | {"parent", "shown_child"}
ATTACHMENT_KEYS = {"sha256", "name", "mime", "width", "height", "bytes"}
IMPORTABLE_STATUSES = {s.value for s in MessageStatus if s is not MessageStatus.STREAMING}


class _Invalid(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)


def _fail(where: str, problem: str) -> NoReturn:
    raise _Invalid(where, problem)


@dataclass(frozen=True)
class _Image:
    data: bytes
    mime: str
    width: int
    height: int


def _object(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(where, f"expected an object, found {type(value).__name__}")
    unknown = sorted(set(value) - keys)
    if unknown:
        _fail(where, f"unknown field {unknown[0]!r}")
    missing = sorted(keys - set(value))
    if missing:
        _fail(where, f"missing field {missing[0]!r}")
    return value


def _string(value: Any, where: str, limit: int, one_line: bool = False) -> str:
    if not isinstance(value, str):
        _fail(where, f"expected text, found {type(value).__name__}")
    if len(value) > limit:
        _fail(where, f"{len(value):,} characters, more than the {limit:,} allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        _fail(where, "text that is not valid Unicode")
    if one_line and CONTROL.search(value):
        _fail(where, "control characters are not allowed here")
    return value


def _integer(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(where, f"expected a whole number, found {type(value).__name__}")
    if not low <= value <= high:
        _fail(where, f"{value} is outside {low}…{high}")
    return value


def _timestamp(value: Any, where: str) -> str:
    text = _string(value, where, 40, one_line=True)
    if not TIMESTAMP.fullmatch(text):
        _fail(where, f"{text!r} is not a timestamp like 2025-01-31T12:00:00.000000Z")
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        _fail(where, f"{text!r} is not a real date and time")
    return text


def _json_object(value: Any, where: str) -> str:
    if not isinstance(value, dict):
        _fail(where, f"expected an object, found {type(value).__name__}")
    try:
        text = dump_json(value, where)
    except StorageError as exc:
        _fail(where, str(exc))
    if len(text.encode("utf-8")) > MAX_JSON_OBJECT_BYTES:
        _fail(where, f"larger than {MAX_JSON_OBJECT_BYTES // 1024} KiB")
    return text


def _file_name(value: Any, where: str) -> str:
    name = _string(value, where, MAX_NAME_CHARS, one_line=True)
    if not name or name in (".", "..") or "/" in name or "\\" in name or ":" in name:
        _fail(where, f"{name!r} is not a plain file name (no folders or drive letters allowed)")
    return name


def _images(value: Any) -> dict[str, _Image]:
    if not isinstance(value, dict):
        _fail("images", f"expected an object, found {type(value).__name__}")
    images: dict[str, _Image] = {}
    for sha256, encoded in value.items():
        where = f"images[{sha256[:16]!r}]"
        if not is_sha256(sha256):
            _fail(where, "the key must be a lower-case sha256 hash")
        if not isinstance(encoded, str):
            _fail(where, f"expected base64 text, found {type(encoded).__name__}")
        try:
            data = base64.b64decode(encoded.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            _fail(where, "not valid base64")
        if hashlib.sha256(data).hexdigest() != sha256:
            _fail(where, "the image's sha256 does not match its name (damaged or altered)")
        try:
            mime, width, height = inspect_image(data, "the image")
        except StorageError as exc:
            _fail(where, str(exc).rstrip("."))
        images[sha256] = _Image(data, mime, width, height)
    return images


def _attachment(value: Any, where: str, images: dict[str, _Image]) -> tuple[Any, ...]:
    a = _object(value, where, ATTACHMENT_KEYS)
    sha256 = a["sha256"]
    if not isinstance(sha256, str) or not is_sha256(sha256):
        _fail(f"{where}.sha256", "expected a lower-case sha256 hash")
    image = images.get(sha256)
    if image is None:
        _fail(f"{where}.sha256", "no image with this hash in the file's images")
    name = _file_name(a["name"], f"{where}.name")
    if a["mime"] not in MIME_EXTENSION or a["mime"] != image.mime:
        _fail(f"{where}.mime", f"{a['mime']!r} does not match the image ({image.mime})")
    width = _integer(a["width"], f"{where}.width", 1, MAX_SIDE)
    height = _integer(a["height"], f"{where}.height", 1, MAX_SIDE)
    size = _integer(a["bytes"], f"{where}.bytes", 1, MAX_FILE_BYTES)
    if (width, height, size) != (image.width, image.height, len(image.data)):
        _fail(where, "width, height or bytes do not match the image")
    return (sha256, name, image.mime, width, height, size)


def _index(value: Any, where: str, below: int) -> int | None:
    """A message index (or null) that must be smaller than `below`."""
    if value is None:
        return None
    if below <= 0:
        _fail(where, "expected null: there is no message it could point to")
    return _integer(value, where, 0, below - 1)


def _message(value: Any, where: str, images: dict[str, _Image], version: int) -> dict[str, Any]:
    m = _object(value, where, MESSAGE_KEYS if version >= 2 else MESSAGE_KEYS_V1)
    if m["role"] not in {r.value for r in Role}:
        _fail(f"{where}.role", f"{m['role']!r} is not 'user' or 'assistant'")
    if m["status"] not in IMPORTABLE_STATUSES:
        _fail(f"{where}.status", f"{m['status']!r} is not one of {sorted(IMPORTABLE_STATUSES)}")
    attachments = m["attachments"]
    if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
        _fail(f"{where}.attachments", f"expected a list of at most {MAX_ATTACHMENTS}")
    return {
        "parent": m.get("parent"),
        "shown_child": m.get("shown_child"),
        "role": m["role"],
        "text": _string(m["text"], f"{where}.text", MAX_TEXT_CHARS),
        "status": m["status"],
        "created": _timestamp(m["created"], f"{where}.created"),
        "updated": _timestamp(m["updated"], f"{where}.updated"),
        "stats": _json_object(m["stats"], f"{where}.stats"),
        "attachments": [
            _attachment(a, f"{where}.attachments[{i}]", images) for i, a in enumerate(attachments)
        ],
    }


def _conversation(
    value: Any, where: str, images: dict[str, _Image], version: int
) -> dict[str, Any]:
    c = _object(value, where, CONVERSATION_KEYS if version >= 2 else CONVERSATION_KEYS_V1)
    messages = c["messages"]
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        _fail(f"{where}.messages", f"expected a list of at most {MAX_MESSAGES:,} messages")
    checked = [
        _message(m, f"{where}.messages[{i}]", images, version) for i, m in enumerate(messages)
    ]
    if version >= 2:
        shown_root = _tree(checked, c["shown_root"], f"{where}.messages")
    else:  # one path: each message follows the one before it
        for i, m in enumerate(checked):
            m["parent"] = i - 1 if i else None
            m["shown_child"] = i + 1 if i + 1 < len(checked) else None
        shown_root = 0 if checked else None
    return {
        "title": _string(c["title"], f"{where}.title", MAX_TITLE_LENGTH, one_line=True),
        "created": _timestamp(c["created"], f"{where}.created"),
        "updated": _timestamp(c["updated"], f"{where}.updated"),
        "settings": _json_object(c["settings"], f"{where}.settings"),
        "shown_root": shown_root,
        "messages": checked,
    }


def _tree(messages: list[dict[str, Any]], shown_root: Any, where: str) -> int | None:
    """Check the parents and shown versions; returns the shown first question's index."""
    for i, m in enumerate(messages):
        m["parent"] = _index(m["parent"], f"{where}[{i}].parent", i)
    for i, m in enumerate(messages):
        child = _index(m["shown_child"], f"{where}[{i}].shown_child", len(messages))
        if child is not None and messages[child]["parent"] != i:
            _fail(f"{where}[{i}].shown_child", f"message {child} does not follow this message")
        m["shown_child"] = child
    root = _index(shown_root, where.rsplit(".", 1)[0] + ".shown_root", len(messages))
    if root is not None and messages[root]["parent"] is not None:
        _fail(where.rsplit(".", 1)[0] + ".shown_root", f"message {root} is not a first question")
    return root


def _reject_constant(name: str) -> NoReturn:
    _fail("", f"{name} is not a number JSON allows")


def parse_import(raw: bytes) -> tuple[list[dict[str, Any]], dict[str, _Image]]:
    """Check a whole import file; raises _Invalid with where and what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        _fail("", "the file is not UTF-8 text, so it is not a conversation export")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        _fail("", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except RecursionError:
        _fail("", "the JSON is nested too deeply")
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        _fail(
            "", f'this is not a Maverick Desk conversation export (no "format": "{EXPORT_FORMAT}")'
        )
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail("version", f"{version!r} is not a known export format version")
    if version > EXPORT_VERSION:
        raise _Newer(version)
    _object(document, "", {"format", "version", "conversations", "images"})
    images = _images(document["images"])
    conversations = document["conversations"]
    if not isinstance(conversations, list) or not 1 <= len(conversations) <= MAX_CONVERSATIONS:
        _fail("conversations", f"expected a list of 1 to {MAX_CONVERSATIONS:,} conversations")
    checked = [
        _conversation(c, f"conversations[{i}]", images, version)
        for i, c in enumerate(conversations)
    ]
    used = {a[0] for c in checked for m in c["messages"] for a in m["attachments"]}
    unused = sorted(set(images) - used)
    if unused:
        _fail(f"images[{unused[0][:16]!r}]", "no message uses this image")
    return checked, images


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
        conversations, images = parse_import(raw)
    except _Newer as exc:
        raise ImportFileError(
            f"{prefix}: it was written by a newer Maverick Desk (export format version "
            f"{exc.version}; this version reads up to {EXPORT_VERSION}). Nothing was imported; "
            "update Maverick Desk to import it."
        ) from None
    except _Invalid as exc:
        raise ImportFileError(f"{prefix}: {exc}. Nothing was imported.") from None
    return _write(store, conversations, images)


def _write(
    store: ConversationStore, conversations: list[dict[str, Any]], images: dict[str, _Image]
) -> list[int]:
    made: list[Path] = []
    try:
        with store.writing("import the conversations") as conn:
            for image in images.values():
                stored, created = store.images.add_bytes(
                    image.data, image.mime, image.width, image.height
                )
                if created:
                    made.append(store.images.path_for(stored.sha256, stored.mime))
            ids = [_insert_conversation(conn, c) for c in conversations]
    except BaseException:
        store.images.remove(made)
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
            "created, updated, stats) VALUES (?,?,?,?,?,?,?,?,?)",
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
    return cid
