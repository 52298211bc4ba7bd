"""Maverick's tool-call formats, whole and streamed token by token.

The model outputs below are quoted as data from vLLM's tests of its `llama4_pythonic`
parser (tests/tool_parsers/test_llama4_pythonic_tool_parser.py) and of its Llama JSON
parser (tests/tool_parsers/test_llama3_json_tool_parser.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tokenizers import Tokenizer

from app.tools.call_parser import ParsedAnswer, ToolCall, ToolCallStream, parse_answer, start_kind

SIMPLE = "[get_weather(city='LA', metric='C')]"
SIMPLE_CALL = ToolCall("get_weather", {"city": "LA", "metric": "C"})
MORE_TYPES = (
    "[register_user(name='Doe', "
    "age=9, "
    "address={'city': 'LA', 'state': 'CA'}, "
    "role=None, "
    "passed_test=True, "
    "aliases=['John', 'Johnny'])]"
)
MORE_TYPES_CALL = ToolCall(
    "register_user",
    {
        "name": "Doe",
        "age": 9,
        "address": {"city": "LA", "state": "CA"},
        "role": None,
        "passed_test": True,
        "aliases": ["John", "Johnny"],
    },
)
ESCAPED = r"[get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')]"
ESCAPED_CALL = ToolCall("get_weather", {"city": "Martha's Vineyard", "metric": '"cool units"'})
REGISTER = ToolCall("register_user", {"name": "Doe", "age": 9})

CASES: list[tuple[str, list[ToolCall]]] = [
    (SIMPLE, [SIMPLE_CALL]),
    (MORE_TYPES, [MORE_TYPES_CALL]),
    ("[get_weather()]", [ToolCall("get_weather", {})]),
    (
        "[do_something_cool(additional_data={})]",
        [ToolCall("do_something_cool", {"additional_data": {}})],
    ),
    ("[do_something_cool(steps=[])]", [ToolCall("do_something_cool", {"steps": []})]),
    (ESCAPED, [ESCAPED_CALL]),
    (
        "[get_weather(city='LA',metric='C'),register_user(name='Doe',age=9)]",
        [SIMPLE_CALL, REGISTER],
    ),
    ("<|python_start|>[get_weather(city='LA', metric='C')]<|python_end|>", [SIMPLE_CALL]),
    (
        "<|python_start|>[get_weather(city='LA', metric='C'),register_user(name='Doe', age=9)]",
        [SIMPLE_CALL, REGISTER],
    ),
    (
        "<|python_start|>[get_weather(city='LA', metric='C'), get_weather(), "
        "do_something_cool(steps=[])]<|python_end|>",
        [SIMPLE_CALL, ToolCall("get_weather", {}), ToolCall("do_something_cool", {"steps": []})],
    ),
    (
        '{"name": "searchTool", "parameters": {"query": "test query", "limit": 10}}',
        [ToolCall("searchTool", {"query": "test query", "limit": 10})],
    ),
    (
        '{"name": "searchTool", "arguments": {"query": "test"}}',
        [ToolCall("searchTool", {"query": "test"})],
    ),
    (
        '{"name": "searchTool", "parameters": {"query": "test1"}}; '
        '{"name": "getOpenIncidentsTool", "parameters": {}}; '
        '{"name": "searchTool", "parameters": {"query": "test2"}}',
        [
            ToolCall("searchTool", {"query": "test1"}),
            ToolCall("getOpenIncidentsTool", {}),
            ToolCall("searchTool", {"query": "test2"}),
        ],
    ),
    (
        '{"name": "parserTool", "parameters": {"text": "He said \\"Hello {world}\\""}}',
        [ToolCall("parserTool", {"text": 'He said "Hello {world}"'})],
    ),
    (
        '{"name": "searchTool", "parameters": {"query": "test {value} [complex]",'
        '"nested": {"inner": "more {brackets}"}}}',
        [
            ToolCall(
                "searchTool",
                {"query": "test {value} [complex]", "nested": {"inner": "more {brackets}"}},
            )
        ],
    ),
]


def _demo_tokens(text: str) -> list[str]:
    """`text` cut where the demo checkpoint's (real Llama 4 format) tokenizer cuts it."""
    root = Path(os.environ.get("MAVERICK_DESK_TEST_DEMO", "/work/main/.demo"))
    tokenizer = Tokenizer.from_file(str(root / "bf16" / "tokenizer.json"))
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    return [tokenizer.decode([i], skip_special_tokens=False) for i in ids]


def _stream(pieces: list[str]) -> tuple[str, ParsedAnswer, list[bool]]:
    stream = ToolCallStream()
    shown = []
    holding = []
    for piece in pieces:
        shown.append(stream.push(piece))
        holding.append(stream.holding_call)
    return "".join(shown), stream.finish(), holding


@pytest.mark.parametrize(("output", "expected"), CASES)
def test_whole_answer(output: str, expected: list[ToolCall]) -> None:
    parsed = parse_answer(output)
    assert parsed.calls == expected
    assert parsed.content == "" and parsed.problems == []


@pytest.mark.parametrize("split", ["characters", "demo_tokens"])
@pytest.mark.parametrize(("output", "expected"), CASES)
def test_streamed_token_by_token_shows_no_call_text(
    output: str, expected: list[ToolCall], split: str
) -> None:
    pieces = list(output) if split == "characters" else _demo_tokens(output)
    assert "".join(pieces) == output
    shown, parsed, holding = _stream(pieces)
    assert shown == ""
    assert parsed.calls == expected
    assert holding[-1]


@pytest.mark.parametrize("split", ["characters", "demo_tokens"])
def test_prose_streams_at_once(split: str) -> None:
    output = "How can I help you today? [1] See {this} and <b>that</b>."
    pieces = list(output) if split == "characters" else _demo_tokens(output)
    stream = ToolCallStream()
    shown = ""
    for piece in pieces:
        shown += stream.push(piece)
        # Nothing is held back longer than the undecided start of a call.
        assert len(output[: len(shown)]) == len(shown)
    final = stream.finish()
    assert shown + final.content == output
    assert final.calls == []
    assert len(shown) >= len(output) - 1


def test_prose_then_json_call_mid_text() -> None:
    output = (
        "Here are the results: "
        '{"name": "searchTool", "parameters": {"query": "test1"}}; '
        '{"name": "getOpenIncidentsTool", "parameters": {}}; '
        "Would you like to know more?"
    )
    shown, parsed, holding = _stream(list(output))
    assert shown == "Here are the results: "
    assert [c.name for c in parsed.calls] == ["searchTool", "getOpenIncidentsTool"]
    assert parsed.content == "Would you like to know more?"
    assert holding[-1]
    assert parse_answer(output).calls == parsed.calls


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", None),
        ("  ", None),
        ("[", None),
        ("[get_wea", None),
        ("[get_weather(", "pythonic"),
        ("[1, 2]", "prose"),
        ("[see above]", "prose"),
        ("<|python_st", None),
        ("{", None),
        ('{"na', None),
        ('{"name"', None),
        ('{"name": "x"', "json"),
        ('{"query": 1}', "prose"),
        ("Sure.", "prose"),
    ],
)
def test_start_kind(text: str, kind: str | None) -> None:
    assert start_kind(text) == kind


def test_a_bad_sibling_does_not_drop_good_calls() -> None:
    inner = "get_weather(city='LA', metric='C')"
    for bad in ("bad(x=b'z')", "calc(x=1e999)", "f(x={1, 2})", "g(x=open('/etc/passwd'))", "h(1)"):
        parsed = parse_answer(f"<|python_start|>[{bad}, {inner}]<|python_end|>")
        assert parsed.calls == [SIMPLE_CALL], bad
        assert len(parsed.problems) == 1 and "skipped" in parsed.problems[0]


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("<|python_start|>[foo(x=1])]<|python_end|>", "not well formed"),
        ("[get_weather(city='LA'", "cut off"),
        ('{"name": "invalidTool", "parameters": {invalid json}', "not valid JSON"),
    ],
)
def test_broken_calls_are_sentences_not_runs(output: str, problem: str) -> None:
    parsed = parse_answer(output)
    assert parsed.calls == []
    assert problem in parsed.problems[0]
    shown, streamed, _ = _stream(list(output))
    assert streamed.calls == [] and problem in streamed.problems[0]


@pytest.mark.parametrize(
    "output",
    ["How can I help you today?", '{"parameters": {}}', '{"name": "toolWithoutParams"}'],
)
def test_not_calls_stay_prose(output: str) -> None:
    parsed: Any = parse_answer(output)
    assert parsed.calls == [] and parsed.content == output
