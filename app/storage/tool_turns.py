"""An answer's tool turns on disk: checked in, JSON in the row, images in the image store.

The window and `ask` hand over each turn as a plain dict (the fields of records.ToolTurn,
with `images` as paths of image files); `checked_turns` refuses anything else with a
sentence, before anything is written. In the row, `tool_turns` keeps each turn's images
as sha256 hashes; the files are attachments of the answer with the id of the call that
returned them (`attachments.tool_call`), so the image store's clean-up keeps them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.storage.errors import StorageError
from app.storage.image_store import StoredImage
from app.storage.records import Attachment, ToolTurn

DECISIONS = frozenset({"", "run", "always", "policy", "deny"})
ROLES = frozenset({"assistant", "tool"})


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise StorageError(f"Could not save the answer's tool turns: {where} {key} is not text.")
    return value


def checked_turns(raw_turns: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The turns as canonical dicts (images still as paths), or a StorageError."""
    turns: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_turns, start=1):
        where = f"turn {index}"
        if not isinstance(raw, Mapping) or raw.get("role") not in ROLES:
            raise StorageError(
                f"Could not save the answer's tool turns: {where} is not an assistant or tool turn."
            )
        calls = raw.get("tool_calls", [])
        if not isinstance(calls, list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) for c in calls
        ):
            raise StorageError(
                f"Could not save the answer's tool turns: {where} has malformed tool calls."
            )
        images = raw.get("images", [])
        if not isinstance(images, list | tuple):
            raise StorageError(
                f"Could not save the answer's tool turns: {where} images is not a list."
            )
        decision = _text(raw, "decision", where)
        if decision not in DECISIONS:
            raise StorageError(
                f"Could not save the answer's tool turns: {where} has the unknown decision "
                f"{decision!r}."
            )
        turn = {
            "role": raw["role"],
            "text": _text(raw, "text", where),
            "tool_calls": [
                {"id": str(c.get("id", "")), "name": c["name"], "arguments": c.get("arguments", {})}
                for c in calls
            ],
            "tool_call_id": _text(raw, "tool_call_id", where),
            "tool_name": _text(raw, "tool_name", where),
            "server": _text(raw, "server", where),
            "is_error": bool(raw.get("is_error", False)),
            "images": [str(p) for p in images],
            "decision": decision,
            "reason": _text(raw, "reason", where),
        }
        try:
            json.dumps(turn["tool_calls"], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise StorageError(
                f"Could not save the answer's tool turns: {where}'s arguments are not JSON ({exc})."
            ) from exc
        turns.append(turn)
    return turns


ImageRow = tuple[str, str, StoredImage]  # the call's id, the file's name, the stored image


def stored_turns(
    turns: list[dict[str, Any]], store_image: Callable[[Path], StoredImage]
) -> tuple[str, str, list[ImageRow]]:
    """(tool_turns JSON, tool_text, attachment rows) for checked turns; copies the images in."""
    rows: list[ImageRow] = []
    kept: list[dict[str, Any]] = []
    for turn in turns:
        hashes = []
        for path in turn["images"]:
            stored = store_image(Path(path))
            rows.append((turn["tool_call_id"] or "tool", Path(path).name, stored))
            hashes.append(stored.sha256)
        kept.append({**turn, "images": hashes})
    text, searchable = encoded_turns(kept)
    return text, searchable, rows


def encoded_turns(kept: list[dict[str, Any]]) -> tuple[str, str]:
    """(tool_turns JSON, tool_text) for checked turns whose images are sha256 hashes."""
    text = json.dumps(kept, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    searchable = "\n".join(
        part for part in (loaded_turn(t, {}).searchable_text() for t in kept) if part
    )
    return text, searchable


def loaded_turn(raw: Mapping[str, Any], images: Mapping[str, Attachment]) -> ToolTurn:
    """A ToolTurn from its stored dict; `images` maps the answer's tool images by sha256."""
    return ToolTurn(
        role=str(raw.get("role", "tool")),
        text=str(raw.get("text", "")),
        tool_calls=tuple(c for c in raw.get("tool_calls", []) if isinstance(c, dict)),
        tool_call_id=str(raw.get("tool_call_id", "")),
        tool_name=str(raw.get("tool_name", "")),
        server=str(raw.get("server", "")),
        is_error=bool(raw.get("is_error", False)),
        images=tuple(images[h] for h in raw.get("images", []) if h in images),
        decision=str(raw.get("decision", "")),
        reason=str(raw.get("reason", "")),
    )


def loaded_turns(text: str, images: Sequence[Attachment]) -> tuple[ToolTurn, ...]:
    """The answer's tool turns from the row's JSON (an unreadable value loads as none)."""
    try:
        raw = json.loads(text or "[]")
    except ValueError:
        return ()
    if not isinstance(raw, list):
        return ()
    by_hash = {image.sha256: image for image in images}
    return tuple(loaded_turn(t, by_hash) for t in raw if isinstance(t, dict))


def turn_dict(turn: ToolTurn, image: Callable[[Attachment], Any]) -> dict[str, Any]:
    """A turn as a JSON-ready dict (exports), with each image as `image(attachment)` gives it."""
    return {
        "role": turn.role,
        "text": turn.text,
        "tool_calls": [dict(c) for c in turn.tool_calls],
        "tool_call_id": turn.tool_call_id,
        "tool_name": turn.tool_name,
        "server": turn.server,
        "is_error": turn.is_error,
        "images": [image(a) for a in turn.images],
        "decision": turn.decision,
        "reason": turn.reason,
    }
