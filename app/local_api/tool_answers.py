"""An answer's tool calls as OpenAI's ``tool_calls``.

With tools offered, the worker holds a call's text back and reads it (Llama 4's pythonic
form, ``[get_weather(city="LA")]``, or its JSON form; `app.workers.tool_text`): the calls
come on its `Done`, and so on the answer's `Finish`, with finish reason ``tool_calls``, as
vLLM's ``llama4_pythonic`` parser answers. Here they become one `Calls` piece before the
`Finish`. A call whose arguments are not JSON values cannot be sent as OpenAI JSON; it is
dropped, and a call cut off by ``max_tokens`` stays text (the worker sends it so).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from app.local_api.shared_model import Delta, Finish


@dataclass(frozen=True)
class Calls:
    """The answer's tool calls, each ``{"id", "type": "function", "function": {...}}``."""

    calls: tuple[dict[str, Any], ...]


async def with_tool_calls(
    pieces: AsyncIterator[Delta | Finish], *, parallel: bool = True
) -> AsyncIterator[Delta | Calls | Finish]:
    """`pieces` with the `Finish`'s calls as a `Calls` piece just before it."""
    async for piece in pieces:
        if isinstance(piece, Finish) and piece.calls:
            calls = [call for call in piece.calls if not call.get("problem")]
            if not parallel:
                calls = calls[:1]
            if calls:
                yield Calls(tuple(openai_call(call) for call in calls))
            else:  # none could be sent: the answer ends as text did
                piece = replace(piece, reason="stop")
        yield piece


def openai_call(call: dict[str, Any]) -> dict[str, Any]:
    """A worker's call (``{"id", "name", "arguments"}``) as OpenAI writes one."""
    return {
        "id": str(call.get("id") or "call_" + uuid.uuid4().hex[:24]),
        "type": "function",
        "function": {
            "name": str(call["name"]),
            "arguments": json.dumps(call.get("arguments") or {}, ensure_ascii=False),
        },
    }
