"""The worker reads the model's tool calls once, so every consumer gets them the same way.

With tools offered, the answer's text passes `ToolCallStream` as it is decoded: prose goes
out as `Token`s at once, a call's text (Llama 4's pythonic ``[get_weather(city="LA")]`` or
its JSON form) is held back, and at the end the calls travel on the `Done` as structured
``tool_calls`` (``{"id", "name", "arguments"}``, as a server engine's `Done` carries them)
with finish reason ``tool_calls``; sentences about calls that could not be read travel as
``tool_problems``. The window, ``ask``, the session and the local API read them from there.

A call cut off by the token budget stays text (with a problem saying so); a cancelled
answer drops a call's held text (nothing runs, and its syntax is no answer).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from app.tools.call_parser import ParsedAnswer, ToolCall, ToolCallStream
from app.workers import protocol as p
from app.workers.event_writer import TextDecoder


def wire_call(call: ToolCall) -> dict[str, Any]:
    """A call as `Done.tool_calls` carries it, with an id in OpenAI's form."""
    wired: dict[str, Any] = {
        "id": "call_" + uuid.uuid4().hex[:24],
        "name": call.name,
        "arguments": call.arguments,
    }
    if call.problem:
        wired["problem"] = call.problem
    return wired


class CallReadingDecoder:
    """A `TextDecoder` whose text passes `ToolCallStream`; `amend` puts the calls on `Done`."""

    def __init__(self, inner: TextDecoder) -> None:
        self._inner = inner
        self._stream = ToolCallStream()
        self._parsed: ParsedAnswer | None = None
        self._cancelled = False

    def push(self, new_ids: Sequence[int]) -> str:
        return self._stream.push(self._inner.push(new_ids))

    def flush(self) -> str:
        """The decoder's tail, and (unless cancelled) the prose after the calls or a cut call."""
        shown = self._stream.push(self._inner.flush())
        self._parsed = self._stream.finish()
        return shown if self._cancelled else shown + self._parsed.content

    def cancelled(self) -> None:
        """The answer was stopped: text held back as a possible call is not sent."""
        self._cancelled = True

    def amend(self, end: p.Message) -> p.Message:
        """`end` with the calls read from the answer (called after `flush`, on the writer)."""
        parsed = self._parsed
        if not isinstance(end, p.Done) or parsed is None or self._cancelled:
            return end
        if not parsed.calls and not parsed.problems:
            return end
        calls = [wire_call(call) for call in parsed.calls]
        return dataclasses.replace(
            end,
            tool_calls=calls,
            tool_problems=list(parsed.problems),
            finish_reason="tool_calls" if calls else end.finish_reason,
        )
