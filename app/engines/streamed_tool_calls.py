"""Tool calls in an OpenAI chat stream: pieces by index, joined, then their JSON read.

The first delta of a call carries its id and name; later ones add to its arguments'
JSON text (vLLM's `llama4_pythonic` parser streams them so).
"""

from __future__ import annotations

import json
from typing import Any

PartialCalls = dict[int, dict[str, str]]


def absorb_tool_calls(deltas: Any, calls: PartialCalls) -> None:
    """Add streamed tool-call pieces: the first names the call, later ones extend its arguments."""
    if not isinstance(deltas, list):
        return
    for delta in deltas:
        index = getattr(delta, "index", None)
        key = int(index) if isinstance(index, int) else len(calls)
        entry = calls.setdefault(key, {"id": "", "name": "", "arguments": ""})
        if getattr(delta, "id", None):
            entry["id"] = str(delta.id)
        function = getattr(delta, "function", None)
        if function is not None:
            if getattr(function, "name", None):
                entry["name"] += str(function.name)
            if getattr(function, "arguments", None):
                entry["arguments"] += str(function.arguments)


def finished_tool_calls(partial: PartialCalls) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    for index in sorted(partial):
        entry = partial[index]
        call: dict[str, Any] = {"id": entry["id"] or f"call_{index}", "name": entry["name"]}
        try:
            arguments = json.loads(entry["arguments"] or "{}")
        except json.JSONDecodeError:
            arguments = None
        if isinstance(arguments, dict):
            call["arguments"] = arguments
        else:
            call["arguments"] = {}
            call["problem"] = (
                f"The server's call to {entry['name']!r} has arguments that are not a JSON "
                "object, so it was not run."
            )
        calls.append(call)
    return calls
