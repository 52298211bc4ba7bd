"""Deep tool schemas and calls: refused by name where they are written, never RecursionError."""

from __future__ import annotations

from typing import Any

import pytest

from app.workers import protocol as p
from app.workers.json_depth import MAX_JSON_DEPTH, deeper_than


def nest(levels: int) -> Any:
    value: Any = 1
    for i in range(levels):
        value = {"a": value} if i % 2 else [value]
    return value


def test_depth_is_counted_without_recursion() -> None:
    assert not deeper_than(1, 0) and not deeper_than({}, 1) and deeper_than({}, 0)
    assert not deeper_than(nest(MAX_JSON_DEPTH)) and deeper_than(nest(MAX_JSON_DEPTH + 1))
    assert deeper_than(nest(100_000))  # no RecursionError, and it stops early
    wide = [[1] * 10 for _ in range(10_000)]
    assert not deeper_than(wide, 2) and deeper_than(wide, 1)


def _generate(tools: list[dict[str, Any]], calls: list[dict[str, Any]]) -> p.Generate:
    turns = [p.ChatTurn("assistant", "", tool_calls=calls), p.ChatTurn("tool", "ok")]
    return p.Generate("r1", turns, tools=tools)


def test_encode_refuses_a_deep_schema_by_name() -> None:
    deep_tool = {"type": "function", "function": {"name": "f", "parameters": nest(400)}}
    with pytest.raises(p.ProtocolError, match=r"`tools\[0\]` is nested more than 64"):
        p.encode(_generate([deep_tool], []))
    call = {"name": "f", "arguments": {"a": nest(900)}}
    with pytest.raises(p.ProtocolError, match=r"`messages\[0\].tool_calls\[0\]`"):
        p.encode(_generate([], [call]))


def test_the_deepest_allowed_values_round_trip() -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": nest(MAX_JSON_DEPTH)}}
    call = {"name": "f", "arguments": nest(MAX_JSON_DEPTH)}
    message = _generate([tool], [call])
    assert p.decode(p.encode(message)) == message


def test_decode_of_a_line_too_deep_is_a_protocol_error() -> None:
    line = b'{"v": 1, "kind": "cancel", "request_id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(p.ProtocolError, match="nested too deeply"):
        p.decode(line)
