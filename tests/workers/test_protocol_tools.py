"""Tool definitions and tool turns travel through the worker protocol as plain JSON."""

from __future__ import annotations

from app.workers import protocol as p


def test_generate_with_tools_and_tool_turns_round_trips() -> None:
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    message = p.Generate(
        "r1",
        [
            p.ChatTurn("user", "hi"),
            p.ChatTurn("assistant", "", tool_calls=[{"name": "f", "arguments": {"x": [1, None]}}]),
            p.ChatTurn("tool", "result", ["/tmp/a.png"]),
        ],
        tools=tools,
    )
    again = p.decode(p.encode(message))
    assert again == message
    assert isinstance(again, p.Generate) and again.messages[1].tool_calls[0]["arguments"] == {
        "x": [1, None]
    }


def test_old_generate_lines_still_decode() -> None:
    line = '{"v":1,"kind":"generate","request_id":"r","messages":[{"role":"user","text":"hi"}]}'
    message = p.decode(line)
    assert isinstance(message, p.Generate) and message.tools == []
    assert message.messages[0].tool_calls == []
