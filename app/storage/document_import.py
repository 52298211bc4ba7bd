"""Checking the documents of an import file (export version 4): hashes, names, sizes.

Like the images, each document's bytes come base64-encoded under their sha256 and must
match it; a conversation lists the ones it has by hash, with a plain file name.
"""

from __future__ import annotations

from typing import Any

from app.storage.document_files import MAX_DOCUMENT_BYTES
from app.storage.import_checks import (
    check_file_name,
    check_integer,
    check_object,
    decode_hashed,
    fail,
)

DOCUMENT_KEYS = {"sha256", "name", "bytes"}
MAX_DOCUMENTS = 100  # in one conversation


def check_documents(value: Any) -> dict[str, bytes]:
    """The file's documents by hash, decoded and checked."""
    if not isinstance(value, dict):
        fail("documents", f"expected an object, found {type(value).__name__}")
    documents: dict[str, bytes] = {}
    for sha256, encoded in value.items():
        where = f"documents[{sha256[:16]!r}]"
        documents[sha256] = decode_hashed(where, sha256, encoded, "document")
    return documents


def check_conversation_documents(
    value: Any, where: str, documents: dict[str, bytes]
) -> list[tuple[str, str, int]]:
    """A conversation's (sha256, name, bytes), each present in the file's documents."""
    if not isinstance(value, list) or len(value) > MAX_DOCUMENTS:
        fail(where, f"expected a list of at most {MAX_DOCUMENTS} documents")
    rows: list[tuple[str, str, int]] = []
    for i, raw in enumerate(value):
        here = f"{where}[{i}]"
        d = check_object(raw, here, DOCUMENT_KEYS)
        sha256 = d["sha256"]
        if not isinstance(sha256, str) or sha256 not in documents:
            fail(f"{here}.sha256", "no document with this hash in the file's documents")
        if any(row[0] == sha256 for row in rows):
            fail(f"{here}.sha256", "the same document twice")
        name = check_file_name(d["name"], f"{here}.name")
        size = check_integer(d["bytes"], f"{here}.bytes", 0, MAX_DOCUMENT_BYTES)
        if size != len(documents[sha256]):
            fail(f"{here}.bytes", "does not match the document")
        rows.append((sha256, name, size))
    return rows
