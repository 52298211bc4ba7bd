"""A tool's answer as the app keeps it: text, images and whether the tool failed.

Made from MCP content blocks by `from_mcp_content`, which never trusts them: a block of an
unknown shape, or an image that is not base64, becomes a sentence instead of a crash, and
text past the limit is cut with a notice that says so.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolImage:
    """An image a tool returned; it goes to the model as an image on the next step."""

    mime_type: str
    data: bytes


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer: text (cut to the limit), images, and whether it is an error."""

    text: str
    images: tuple[ToolImage, ...] = ()
    is_error: bool = False
    truncated: bool = False
    notices: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def failure(cls, sentence: str) -> ToolResult:
        return cls(text=sentence, is_error=True)


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters with a notice of how much was left out."""
    if limit <= 0 or len(text) <= limit:
        return text, False
    left_out = len(text) - limit
    notice = (
        f"\n[The tool's result was cut here: {left_out:,} more characters of "
        f"{len(text):,} were left out (limit {limit:,}).]"
    )
    return text[:limit] + notice, True


def _block_dict(block: Any) -> dict[str, Any] | None:
    if isinstance(block, dict):
        return block
    dump = getattr(block, "model_dump", None)
    if callable(dump):
        value = dump(by_alias=True)
        return value if isinstance(value, dict) else None
    return None


def from_mcp_content(
    blocks: Sequence[Any],
    is_error: bool = False,
    limit: int = 20_000,
    structured: Any = None,
) -> ToolResult:
    """A `ToolResult` from a CallToolResult's content (SDK models or plain dicts)."""
    texts: list[str] = []
    images: list[ToolImage] = []
    notices: list[str] = []
    for number, block in enumerate(blocks, start=1):
        raw = _block_dict(block)
        kind = raw.get("type") if raw else None
        if raw and kind == "text" and isinstance(raw.get("text"), str):
            texts.append(raw["text"])
        elif raw and kind == "image":
            mime = raw.get("mimeType") or raw.get("mime_type")
            try:
                data = base64.b64decode(str(raw.get("data", "")), validate=True)
            except (binascii.Error, ValueError):
                notices.append(
                    f"Image {number} of the tool's result is not valid base64; left out."
                )
                continue
            if not isinstance(mime, str) or not mime.startswith("image/") or not data:
                notices.append(f"Image {number} of the tool's result has no image type; left out.")
                continue
            images.append(ToolImage(mime, data))
        elif raw and kind == "resource" and isinstance(raw.get("resource"), dict):
            resource = raw["resource"]
            texts.append(str(resource.get("text", f"[resource {resource.get('uri', '')}]")))
        elif raw and kind == "resource_link":
            texts.append(f"[resource {raw.get('uri', '')}]")
        else:
            notices.append(
                f"Part {number} of the tool's result has a form the app cannot read "
                f"({kind or type(block).__name__}); left out."
            )
    if not texts and structured is not None:
        texts.append(json.dumps(structured, ensure_ascii=False))
    text, cut = truncate("\n".join(texts), limit)
    if notices:
        text = "\n".join([text, *notices]) if text else "\n".join(notices)
    return ToolResult(text, tuple(images), is_error, cut, tuple(notices))
