"""Checking each field of an import file: types, sizes, names, images, tree indexes.

Import files come from anywhere, so nothing in them is trusted (see json_import).
Every check raises Invalid with where in the file and what is wrong.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from app.storage.errors import StorageError
from app.storage.hashed_files import is_sha256
from app.storage.image_store import MIME_EXTENSION, inspect_image
from app.storage.records import MessageStatus, Role
from app.storage.store_connection import dump_json
from app.storage.tool_turns import checked_turns, encoded_turns

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
MESSAGE_KEYS_V2 = MESSAGE_KEYS_V1 | {"parent", "shown_child"}
MESSAGE_KEYS = MESSAGE_KEYS_V2 | {"tool_turns"}  # version 3: an answer's tool calls and results
MAX_TOOL_TURNS = 200
ATTACHMENT_KEYS = {"sha256", "name", "mime", "width", "height", "bytes"}
IMPORTABLE_STATUSES = {s.value for s in MessageStatus if s is not MessageStatus.STREAMING}


class Invalid(Exception):
    """A problem in the import file: where it is and what is wrong."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)


def fail(where: str, problem: str) -> NoReturn:
    raise Invalid(where, problem)


@dataclass(frozen=True)
class ImportedImage:
    """An image of the file, decoded and checked, ready for the image store."""

    data: bytes
    mime: str
    width: int
    height: int


def check_object(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(where, f"expected an object, found {type(value).__name__}")
    unknown = sorted(set(value) - keys)
    if unknown:
        fail(where, f"unknown field {unknown[0]!r}")
    missing = sorted(keys - set(value))
    if missing:
        fail(where, f"missing field {missing[0]!r}")
    return value


def check_string(value: Any, where: str, limit: int, one_line: bool = False) -> str:
    if not isinstance(value, str):
        fail(where, f"expected text, found {type(value).__name__}")
    if len(value) > limit:
        fail(where, f"{len(value):,} characters, more than the {limit:,} allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        fail(where, "text that is not valid Unicode")
    if one_line and CONTROL.search(value):
        fail(where, "control characters are not allowed here")
    return value


def check_integer(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        fail(where, f"expected a whole number, found {type(value).__name__}")
    if not low <= value <= high:
        fail(where, f"{value} is outside {low}…{high}")
    return value


def check_timestamp(value: Any, where: str) -> str:
    text = check_string(value, where, 40, one_line=True)
    if not TIMESTAMP.fullmatch(text):
        fail(where, f"{text!r} is not a timestamp like 2025-01-31T12:00:00.000000Z")
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        fail(where, f"{text!r} is not a real date and time")
    return text


def check_json_object(value: Any, where: str) -> str:
    if not isinstance(value, dict):
        fail(where, f"expected an object, found {type(value).__name__}")
    try:
        text = dump_json(value, where)
    except StorageError as exc:
        fail(where, str(exc))
    if len(text.encode("utf-8")) > MAX_JSON_OBJECT_BYTES:
        fail(where, f"larger than {MAX_JSON_OBJECT_BYTES // 1024} KiB")
    return text


def check_file_name(value: Any, where: str) -> str:
    name = check_string(value, where, MAX_NAME_CHARS, one_line=True)
    if not name or name in (".", "..") or "/" in name or "\\" in name or ":" in name:
        fail(where, f"{name!r} is not a plain file name (no folders or drive letters allowed)")
    return name


def decode_hashed(where: str, sha256: Any, encoded: Any, what: str) -> bytes:
    """The bytes of a file carried as base64 under its sha256, checked against the hash."""
    if not isinstance(sha256, str) or not is_sha256(sha256):
        fail(where, "the key must be a lower-case sha256 hash")
    if not isinstance(encoded, str):
        fail(where, f"expected base64 text, found {type(encoded).__name__}")
    try:
        data = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        fail(where, "not valid base64")
    if hashlib.sha256(data).hexdigest() != sha256:
        fail(where, f"the {what}'s sha256 does not match its name (damaged or altered)")
    return data


def check_images(value: Any) -> dict[str, ImportedImage]:
    if not isinstance(value, dict):
        fail("images", f"expected an object, found {type(value).__name__}")
    images: dict[str, ImportedImage] = {}
    for sha256, encoded in value.items():
        where = f"images[{sha256[:16]!r}]"
        data = decode_hashed(where, sha256, encoded, "image")
        try:
            mime, width, height = inspect_image(data, "the image")
        except StorageError as exc:
            fail(where, str(exc).rstrip("."))
        images[sha256] = ImportedImage(data, mime, width, height)
    return images


def check_attachment(value: Any, where: str, images: dict[str, ImportedImage]) -> tuple[Any, ...]:
    a = check_object(value, where, ATTACHMENT_KEYS)
    sha256 = a["sha256"]
    if not isinstance(sha256, str) or not is_sha256(sha256):
        fail(f"{where}.sha256", "expected a lower-case sha256 hash")
    image = images.get(sha256)
    if image is None:
        fail(f"{where}.sha256", "no image with this hash in the file's images")
    name = check_file_name(a["name"], f"{where}.name")
    if a["mime"] not in MIME_EXTENSION or a["mime"] != image.mime:
        fail(f"{where}.mime", f"{a['mime']!r} does not match the image ({image.mime})")
    width = check_integer(a["width"], f"{where}.width", 1, MAX_SIDE)
    height = check_integer(a["height"], f"{where}.height", 1, MAX_SIDE)
    size = check_integer(a["bytes"], f"{where}.bytes", 1, MAX_FILE_BYTES)
    if (width, height, size) != (image.width, image.height, len(image.data)):
        fail(where, "width, height or bytes do not match the image")
    return (sha256, name, image.mime, width, height, size)


def check_index(value: Any, where: str, below: int) -> int | None:
    """A message index (or null) that must be smaller than `below`."""
    if value is None:
        return None
    if below <= 0:
        fail(where, "expected null: there is no message it could point to")
    return check_integer(value, where, 0, below - 1)


def check_message(
    value: Any, where: str, images: dict[str, ImportedImage], version: int
) -> dict[str, Any]:
    keys = MESSAGE_KEYS if version >= 3 else MESSAGE_KEYS_V2 if version >= 2 else MESSAGE_KEYS_V1
    m = check_object(value, where, keys)
    if m["role"] not in {r.value for r in Role}:
        fail(f"{where}.role", f"{m['role']!r} is not 'user' or 'assistant'")
    if m["status"] not in IMPORTABLE_STATUSES:
        fail(f"{where}.status", f"{m['status']!r} is not one of {sorted(IMPORTABLE_STATUSES)}")
    attachments = m["attachments"]
    if not isinstance(attachments, list) or len(attachments) > MAX_ATTACHMENTS:
        fail(f"{where}.attachments", f"expected a list of at most {MAX_ATTACHMENTS}")
    return {
        "parent": m.get("parent"),
        "shown_child": m.get("shown_child"),
        "role": m["role"],
        "text": check_string(m["text"], f"{where}.text", MAX_TEXT_CHARS),
        "status": m["status"],
        "created": check_timestamp(m["created"], f"{where}.created"),
        "updated": check_timestamp(m["updated"], f"{where}.updated"),
        "stats": check_json_object(m["stats"], f"{where}.stats"),
        "attachments": [
            check_attachment(a, f"{where}.attachments[{i}]", images)
            for i, a in enumerate(attachments)
        ],
        "tool_turns": check_tool_turns(m.get("tool_turns", []), f"{where}.tool_turns", images),
    }


def check_tool_turns(
    value: Any, where: str, images: dict[str, ImportedImage]
) -> tuple[str, str, list[tuple[Any, ...]]]:
    """(tool_turns JSON, tool_text, attachment rows with their call id) of an answer."""
    if not isinstance(value, list) or len(value) > MAX_TOOL_TURNS:
        fail(where, f"expected a list of at most {MAX_TOOL_TURNS} turns")
    kept: list[dict[str, Any]] = []
    rows: list[tuple[Any, ...]] = []
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            fail(f"{where}[{i}]", f"expected an object, found {type(raw).__name__}")
        pictures = raw.get("images", [])
        if not isinstance(pictures, list) or len(pictures) > MAX_ATTACHMENTS:
            fail(f"{where}[{i}].images", f"expected a list of at most {MAX_ATTACHMENTS}")
        try:
            (turn,) = checked_turns([{**raw, "images": []}])
        except StorageError as exc:
            fail(f"{where}[{i}]", str(exc).split(": ", 1)[-1].rstrip("."))
        check_string(turn["text"], f"{where}[{i}].text", MAX_TEXT_CHARS)
        attached = [
            check_attachment(a, f"{where}[{i}].images[{j}]", images) for j, a in enumerate(pictures)
        ]
        rows.extend((turn["tool_call_id"] or "tool", *a) for a in attached)
        kept.append({**turn, "images": [a[0] for a in attached]})
    text, searchable = encoded_turns(kept)
    return text, searchable, rows
