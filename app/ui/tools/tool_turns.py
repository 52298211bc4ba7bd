"""An answer's tool turns as the window keeps them on its `Message` (no Qt).

Each entry is one of (in order)::

    {"role": "assistant", "text": str, "tool_calls": [{"id", "name", "arguments"}]}
    {"role": "tool", "text": str, "tool_call_id": str, "tool_name": str, "server": str,
     "is_error": bool, "images": [path of a PNG/JPEG file], "decision": "run" | "always" |
     "policy" | "deny" | "", "reason": str}

i.e. the tool loop's `LoopTurn`s, their images written to files (the store copies them
in), and how each call was approved. The final prose stays in `Message.text`.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from app.tools.results import ToolImage
from app.tools.tool_loop import LoopTurn

# Never change or reuse these strings: they are stored with the conversation.
DECISIONS = ("run", "always", "policy", "deny", "")
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg"}
_numbers = itertools.count(1)


def assistant_record(turn: LoopTurn) -> dict[str, Any]:
    return {
        "role": "assistant",
        "text": turn.text,
        "tool_calls": [
            {"id": str(c["id"]), "name": str(c["name"]), "arguments": dict(c["arguments"])}
            for c in turn.tool_calls
        ],
    }


def tool_record(
    turn: LoopTurn, server: str, images: list[str], decision: str, reason: str
) -> dict[str, Any]:
    return {
        "role": "tool",
        "text": turn.text,
        "tool_call_id": turn.tool_call_id,
        "tool_name": turn.tool_name,
        "server": server,
        "is_error": turn.is_error,
        "images": list(images),
        "decision": decision if decision in DECISIONS else "",
        "reason": reason,
    }


def write_images(images: list[ToolImage], folder: Path) -> list[str]:
    """Each image as a PNG or JPEG file in `folder` (other types converted to PNG)."""
    if not images:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for image in images:
        path = folder / f"tool-image-{next(_numbers)}{_EXTENSIONS.get(image.mime_type, '.png')}"
        if image.mime_type in _EXTENSIONS:
            path.write_bytes(image.data)
        else:
            _convert_to_png(image.data, path)
        paths.append(str(path))
    return paths


def _convert_to_png(data: bytes, path: Path) -> None:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.save(path, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError):
        path.write_bytes(data)  # the thumbnail says it cannot be shown; the model is told
