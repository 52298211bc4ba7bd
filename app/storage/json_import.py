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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from app.storage.errors import ImportFileError, StorageError
from app.storage.image_store import MIME_EXTENSION, inspect_image, is_sha256
from app.storage.json_export import EXPORT_FORMAT, EXPORT_VERSION
from app.storage.records import MessageStatus, Role
from app.storage.store import ConversationStore, dump_json
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

CONVERSATION_KEYS = {"title", "created", "updated", "settings", "messages"}
MESSAGE_KEYS = {"role", "text", "status", "created", "updated", "stats", "attachments"}
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


def _message(value: Any, where: str, images: dict[str, _Image]) -> dict[str, Any]:
    m = _object(value, where, MESSAGE_KEYS)
    if m["role"] not in {r.value for r in Role}:
        _fail(f"{where}.role", f"{m['role']!r} is not 'user' or 'assistant'")
    if m["status"] not in IMPORTABLE_STATUSES:
        _fail(f"{where}.status", f"{m['status']!r} is not one of {sorted(IMPORTABLE_STATUSES)}")
    attachments = m["attachments"]
    if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
        _fail(f"{where}.attachments", f"expected a list of at most {MAX_ATTACHMENTS}")
    return {
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


def _conversation(value: Any, where: str, images: dict[str, _Image]) -> dict[str, Any]:
    c = _object(value, where, CONVERSATION_KEYS)
    messages = c["messages"]
    if not isinstance(messages, list) or len(messages) > MAX_MESSAGES:
        _fail(f"{where}.messages", f"expected a list of at most {MAX_MESSAGES:,} messages")
    return {
        "title": _string(c["title"], f"{where}.title", MAX_TITLE_LENGTH, one_line=True),
        "created": _timestamp(c["created"], f"{where}.created"),
        "updated": _timestamp(c["updated"], f"{where}.updated"),
        "settings": _json_object(c["settings"], f"{where}.settings"),
        "messages": [_message(m, f"{where}.messages[{i}]", images) for i, m in enumerate(messages)],
    }


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
    checked = [_conversation(c, f"conversations[{i}]", images) for i, c in enumerate(conversations)]
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
            ids = []
            for c in conversations:
                cursor = conn.execute(
                    "INSERT INTO conversations (title, created, updated, settings) "
                    "VALUES (?,?,?,?)",
                    (c["title"], c["created"], c["updated"], c["settings"]),
                )
                cid = int(cursor.lastrowid or 0)
                ids.append(cid)
                for position, m in enumerate(c["messages"]):
                    mid = conn.execute(
                        "INSERT INTO messages (conversation, position, role, text, status, "
                        "created, updated, stats) VALUES (?,?,?,?,?,?,?,?)",
                        (
                            cid,
                            position,
                            m["role"],
                            m["text"],
                            m["status"],
                            m["created"],
                            m["updated"],
                            m["stats"],
                        ),
                    ).lastrowid
                    conn.executemany(
                        "INSERT INTO attachments (message, sha256, name, mime, width, height, "
                        "bytes) VALUES (?,?,?,?,?,?,?)",
                        [(mid, *a) for a in m["attachments"]],
                    )
    except BaseException:
        store.images.remove(made)
        raise
    return ids
