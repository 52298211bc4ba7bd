"""Maverick's tool calls read out of a streamed answer, as OpenAI's ``tool_calls``.

The worker streams the model's text. With tools offered, the text may be a call in
Llama 4's pythonic form (``[get_weather(city="LA")]``) or its JSON form; the same
`ToolCallStream` the window uses (`app.tools.call_parser`) lets prose through at once and
holds back only what may be a call. At the end the held text is parsed: its calls come as
one `Calls` piece, and the answer ends with finish reason ``tool_calls``, as vLLM's
``llama4_pythonic`` parser answers. A call whose arguments are not JSON values cannot be
sent as OpenAI JSON; it is dropped, and a call cut off by ``max_tokens`` stays text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from app.local_api.shared_model import Delta, Finish
from app.tools.call_parser import ToolCallStream


@dataclass(frozen=True)
class Calls:
    """The answer's tool calls, each ``{"id", "type": "function", "function": {...}}``."""

    calls: tuple[dict[str, Any], ...]


async def with_tool_calls(
    pieces: AsyncIterator[Delta | Finish], *, parallel: bool = True
) -> AsyncIterator[Delta | Calls | Finish]:
    """`pieces` with a tool call's text replaced by a `Calls` piece before the `Finish`."""
    stream = ToolCallStream()
    async for piece in pieces:
        if isinstance(piece, Delta):
            shown = stream.push(piece.text)
            if shown:
                yield Delta(shown)
            continue
        parsed = stream.finish()
        calls = [call for call in parsed.calls if not call.problem]
        if not parallel:
            calls = calls[:1]
        if parsed.content:  # prose after the calls, or all of it when there were none
            yield Delta(parsed.content)
        if calls:
            yield Calls(tuple(openai_call(call.name, call.arguments) for call in calls))
            piece = Finish(
                "tool_calls", piece.prompt_tokens, piece.completion_tokens, piece.cached_tokens
            )
        yield piece


def openai_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "call_" + uuid.uuid4().hex[:24],
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)},
    }
