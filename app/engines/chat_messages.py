"""The conversation as an OpenAI chat request: text parts and images as data URLs.

Images go through the same checks as for the local worker (`open_image`: decoded
fully, turned upright by their EXIF orientation, flattened to RGB), so a server sees
the pixels the local model would see. JPEG sources stay JPEG to keep requests small;
everything else is sent as PNG.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from app.inference.images import open_image
from app.workers.protocol import ChatTurn

JPEG_QUALITY = 95


def image_data_url(path: Path | str) -> str:
    """A ``data:image/...;base64,`` URL for the image file; raises `ImageError` for a bad file."""
    path = Path(path)
    picture = open_image(path)
    with Image.open(path) as raw:
        source_format = (raw.format or "").upper()
    buffer = io.BytesIO()
    if source_format == "JPEG":
        picture.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        mime = "image/jpeg"
    else:
        picture.save(buffer, format="PNG")
        mime = "image/png"
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:{mime};base64,{encoded}"


def openai_messages(turns: Sequence[ChatTurn]) -> list[dict[str, Any]]:
    """The ``messages`` list of a chat completion request.

    A turn without images is a plain string; a turn with images is a list of content
    parts, the text first, then one ``image_url`` part per image.
    """
    messages: list[dict[str, Any]] = []
    for turn in turns:
        if not turn.images:
            messages.append({"role": turn.role, "content": turn.text})
            continue
        parts: list[dict[str, Any]] = []
        if turn.text:
            parts.append({"type": "text", "text": turn.text})
        for image in turn.images:
            parts.append({"type": "image_url", "image_url": {"url": image_data_url(image)}})
        messages.append({"role": turn.role, "content": parts})
    return messages
