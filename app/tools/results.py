"""A tool's answer as the app keeps it: text, images and whether the tool failed.

Made from MCP content blocks by `from_mcp_content`, which never trusts them: a block of an
unknown shape, an image that is not base64, or an image past `MAX_IMAGE_PIXELS` becomes a
sentence instead of a crash (the rest of the result goes on), and text past the limit is
cut with a notice that says so.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# The model worker refuses larger images (app.inference.images.MAX_IMAGE_PIXELS); one left
# in would stop the whole answer, so it is left out here with a sentence instead.
MAX_IMAGE_PIXELS = 80_000_000


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


def image_pixels(data: bytes) -> int | None:
    """Width times height from the image's header (nothing is decoded); None if unknown.

    PIL's own decompression-bomb warning is silenced: the caller says it in a sentence.
    """
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
    except Image.DecompressionBombError:
        return 2 * MAX_IMAGE_PIXELS + 1  # past PIL's own hard limit; its size is not read
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return int(width) * int(height)


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
            pixels = image_pixels(data)
            if pixels is not None and pixels > MAX_IMAGE_PIXELS:
                notices.append(
                    f"Image {number} of the tool's result has {pixels / 1e6:,.0f} megapixels, "
                    f"more than the {MAX_IMAGE_PIXELS // 1_000_000} the model can take; left out."
                )
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
