"""Conversations as one JSON file that imports back exactly, every version included.

Format (``"format": "maverick-desk-conversations"``, ``"version": 4``)::

    {"format": …, "version": 4,
     "conversations": [{"title", "created", "updated", "settings", "shown_root",
                        "documents": [{"sha256", "name", "bytes"}],
                        "messages": [{"parent", "shown_child", "role", "text", "status",
                                      "created", "updated", "stats",
                                      "attachments": [{"sha256", "name", "mime", "width",
                                                       "height", "bytes"}],
                                      "tool_turns": [{"role", "text", "tool_calls",
                                                      "tool_call_id", "tool_name", "server",
                                                      "is_error", "decision", "reason",
                                                      "images": [<as attachments>]}]}]}],
     "images": {"<sha256>": "<base64 of the file>"},
     "documents": {"<sha256>": "<base64 of the file>"}}

`messages` holds the whole tree by depth, then oldest first; `parent` is the index in
that list of the message it follows (null for a first question), always smaller than
its own; messages with the same parent are versions of each other, in list order.
`shown_child` (and the conversation's `shown_root`) is the index of the version shown
below it, or null where the shown path ends. Version 1 files (before versions) have
neither: their messages are one path, and they still import. Version 3 added
`tool_turns`: the tool calls an answer made, how each was approved, and the results,
with the images tools returned (records.ToolTurn); version 2 files import without them.
Version 4 added each conversation's `documents` (whole PDFs, text, Markdown attached as
documents), their bytes under `documents` by hash; version 3 files import without them.

The file carries no database ids: messages are ordered by their place in the list and
images are named by hash, so export → import → export gives byte-identical files.
Two things are not carried: whether a conversation was in the Trash (imports land in
the sidebar) and the 'streaming' status (an answer still being written is exported as
'interrupted', which is what it becomes if the app stops).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.storage.atomic import atomic_write_text
from app.storage.errors import StorageError
from app.storage.records import Attachment, ConversationTree, MessageStatus, StoredDocument
from app.storage.store import ConversationStore
from app.storage.tool_turns import turn_dict

EXPORT_FORMAT = "maverick-desk-conversations"
EXPORT_VERSION = 4


def read_stored_image(store: ConversationStore, sha256: str, mime: str) -> bytes:
    """The bytes of a stored image, checked against its hash."""
    path = store.images.path_for(sha256, mime)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StorageError(
            f"Could not read the stored image {path} ({exc.strerror or exc}); the export "
            "needs it. Was the images folder of the data directory changed?"
        ) from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise StorageError(f"The stored image {path} is damaged (its contents changed).")
    return data


def _attachment(a: Attachment) -> dict[str, Any]:
    return {
        "sha256": a.sha256,
        "name": a.name,
        "mime": a.mime,
        "width": a.width,
        "height": a.height,
        "bytes": a.bytes,
    }


def read_stored_document(document: StoredDocument) -> bytes:
    """The bytes of a stored document, checked against its hash."""
    try:
        data = document.path.read_bytes()
    except OSError as exc:
        raise StorageError(
            f"Could not read the stored document {document.path} ({exc.strerror or exc}); "
            "the export needs it. Was the documents folder of the data directory changed?"
        ) from exc
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise StorageError(f"The stored document {document.path} is damaged (it changed).")
    return data


def conversation_document(
    tree: ConversationTree, documents: Sequence[StoredDocument] = ()
) -> dict[str, Any]:
    """One conversation's whole tree, with indexes for parents and shown versions."""
    index = {m.id: i for i, m in enumerate(tree.messages)}
    path = tree.conversation.messages
    messages = []
    for m in tree.messages:
        status = MessageStatus.INTERRUPTED if m.status is MessageStatus.STREAMING else m.status
        messages.append(
            {
                "parent": None if m.parent_id is None else index[m.parent_id],
                "shown_child": (
                    index[tree.shown_child[m.id]] if m.id in tree.shown_child else None
                ),
                "role": m.role.value,
                "text": m.text,
                "status": status.value,
                "created": m.created,
                "updated": m.updated,
                "stats": m.stats,
                "attachments": [_attachment(a) for a in m.attachments],
                "tool_turns": [turn_dict(t, _attachment) for t in m.tool_turns],
            }
        )
    conversation = tree.conversation
    return {
        "title": conversation.title,
        "created": conversation.created,
        "updated": conversation.updated,
        "settings": conversation.settings,
        "shown_root": index[path[0].id] if path else None,
        "messages": messages,
        "documents": [{"sha256": d.sha256, "name": d.name, "bytes": d.bytes} for d in documents],
    }


def export_json_text(store: ConversationStore, conversation_ids: Sequence[int]) -> str:
    """The export file's text for these conversations (deterministic)."""
    trees = [store.load_tree(cid) for cid in conversation_ids]
    images: dict[str, str] = {}
    for tree in trees:
        for message in tree.messages:
            tool_images = [a for t in message.tool_turns for a in t.images]
            for a in [*message.attachments, *tool_images]:
                if a.sha256 not in images:
                    data = read_stored_image(store, a.sha256, a.mime)
                    images[a.sha256] = base64.b64encode(data).decode("ascii")
    kept = [store.documents(cid) for cid in conversation_ids]
    files = {
        d.sha256: base64.b64encode(read_stored_document(d)).decode("ascii")
        for docs in kept
        for d in docs
    }
    document = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "conversations": [conversation_document(t, d) for t, d in zip(trees, kept, strict=True)],
        "images": images,
        "documents": files,
    }
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def export_json(store: ConversationStore, conversation_ids: Sequence[int], out: Path) -> Path:
    """Write the JSON export atomically to `out`."""
    atomic_write_text(Path(out), export_json_text(store, conversation_ids), "write the export")
    return Path(out)
