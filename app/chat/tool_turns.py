"""An answer's tool turns as the session keeps them on its `Message`.

Each entry is one of (in order)::

    {"role": "assistant", "text": str, "tool_calls": [{"id", "name", "arguments"}]}
    {"role": "tool", "text": str, "tool_call_id": str, "tool_name": str, "server": str,
     "is_error": bool, "images": [path of a PNG/JPEG file], "decision": "run" | "always" |
     "policy" | "deny" | "", "reason": str}

i.e. the tool loop's `LoopTurn`s, their images as the files the model was sent
(`ToolImageFiles`; the store copies them in), and how each call was approved. The final
prose stays in `Message.text`.
"""

from __future__ import annotations

from typing import Any

from app.tools.tool_loop import LoopTurn

# Never change or reuse these strings: they are stored with the conversation.
DECISIONS = ("run", "always", "policy", "deny", "")


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
