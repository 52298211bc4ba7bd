"""The conversation as an OpenAI chat request: text parts and images as data URLs.

Images go through the same checks as for the local worker (`open_image`: decoded
fully, turned upright by their EXIF orientation, flattened to RGB), so a server sees
the pixels the local model would see. JPEG sources stay JPEG to keep requests small;
everything else is sent as PNG.
"""

from __future__ import annotations

import base64
import io
import json
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
    tool_images: list[str] = []
    for turn in turns:
        if turn.role != "tool" and tool_images:
            messages.append(_tool_images_message(tool_images))
            tool_images = []
        if turn.role == "tool":
            # A tool message holds text only; its images follow as a user message.
            messages.append(
                {"role": "tool", "tool_call_id": turn.tool_call_id, "content": turn.text}
            )
            tool_images.extend(turn.images)
            continue
        if turn.role == "assistant" and turn.tool_calls:
            messages.append(
                {
                    "role": "assistant",
                    "content": turn.text or None,
                    "tool_calls": [
                        {
                            "id": call.get("id", f"call_{index}"),
                            "type": "function",
                            "function": {
                                "name": call["name"],
                                "arguments": json.dumps(call["arguments"], ensure_ascii=False),
                            },
                        }
                        for index, call in enumerate(turn.tool_calls)
                    ],
                }
            )
            continue
        if not turn.images:
            messages.append({"role": turn.role, "content": turn.text})
            continue
        parts: list[dict[str, Any]] = []
        if turn.text:
            parts.append({"type": "text", "text": turn.text})
        for image in turn.images:
            parts.append({"type": "image_url", "image_url": {"url": image_data_url(image)}})
        messages.append({"role": turn.role, "content": parts})
    if tool_images:
        messages.append(_tool_images_message(tool_images))
    return messages


TOOL_IMAGES_NOTE = "(The images the tools returned.)"


def _tool_images_message(images: Sequence[str]) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": TOOL_IMAGES_NOTE}]
    for image in images:
        parts.append({"type": "image_url", "image_url": {"url": image_data_url(image)}})
    return {"role": "user", "content": parts}
