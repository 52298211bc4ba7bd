"""The conversation in the shape Llama 4's chat template reads, with tools and their turns.

With ``tools=``, the template puts the tool definitions into the first user message and
renders that message's content with ``|trim``: a list of parts ([{"type": "text", …}])
would come out as a Python list repr. So that one message goes in as a string, with an
``<|image|>`` placeholder per image, which the processor expands like the template's own.

The template shows no images in a tool turn, so images a tool returned follow the tool
turns as one user turn (the next step sees them as images, as the user's would be).

A model turn that called tools carries ``tool_calls`` (rendered by the template as
``<|python_start|>…<|python_end|>`` and JSON calls); a tool's result is a ``tool`` turn
(rendered as the template's ``ipython`` turn).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ROLES = {"system", "user", "assistant", "tool", "ipython"}
IMAGE_PLACEHOLDER = "<|image|>"
TOOL_IMAGES_NOTE = "(The images above are what the tools returned.)"


def _parts(message: Any) -> list[dict[str, str]]:
    content: list[dict[str, str]] = [{"type": "image"} for _ in message.images]
    content.append({"type": "text", "text": message.text})
    return content


def template_chat(messages: Sequence[Any], with_tools: bool) -> list[dict[str, Any]]:
    """`messages` (role, text, images, tool_calls) as the chat template's message dicts.

    Raises ValueError for a role the template does not know.
    """
    chat: list[dict[str, Any]] = []
    first_user_done = False
    tool_images = 0

    def flush_tool_images() -> None:
        nonlocal tool_images
        if tool_images:
            parts: list[dict[str, str]] = [{"type": "image"} for _ in range(tool_images)]
            parts.append({"type": "text", "text": TOOL_IMAGES_NOTE})
            chat.append({"role": "user", "content": parts})
            tool_images = 0

    for message in messages:
        role = message.role
        if role not in ROLES:
            raise ValueError(f"Unknown message role {role!r}.")
        calls = list(getattr(message, "tool_calls", ()) or ())
        if role in {"tool", "ipython"}:
            chat.append({"role": "tool", "content": message.text})
            tool_images += len(message.images)
            continue
        flush_tool_images()
        if role == "assistant" and calls:
            chat.append(
                {
                    "role": "assistant",
                    "content": message.text,
                    "tool_calls": [
                        {
                            "type": "function",
                            "function": {"name": c["name"], "arguments": c["arguments"]},
                        }
                        for c in calls
                    ],
                }
            )
        elif with_tools and role == "user" and not first_user_done:
            first_user_done = True
            text = IMAGE_PLACEHOLDER * len(message.images) + message.text
            chat.append({"role": "user", "content": text})
        else:
            if role != "system":
                first_user_done = True
            chat.append({"role": role, "content": _parts(message)})
    flush_tool_images()
    return chat
