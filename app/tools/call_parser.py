"""Reading Maverick's tool calls out of its answer, whole or while it streams.

Llama 4 writes calls in two forms: the pythonic list that vLLM's ``llama4_pythonic``
parser reads, ``[get_weather(city='LA', metric='C'), ...]`` (optionally between
``<|python_start|>`` and ``<|python_end|>``), and the JSON the chat template asks for,
``{"name": ..., "parameters": {...}}`` (several joined by ``;``).

The pythonic form is read with `ast` and `ast.literal_eval`: literals only, nothing is
ever evaluated. A call whose arguments are not plain JSON values (bytes, sets, 1e999)
is dropped with a sentence, and its siblings are kept.

An answer is a tool call only when it *starts* as one (after whitespace and the python
tag); anything else is prose. `ToolCallStream` holds text back only while the start is
still undecided (``[get_wea`` could be either), so prose streams with no delay.
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

PYTHON_START = "<|python_start|>"
PYTHON_END = "<|python_end|>"
MAX_CALL_TEXT = 200_000  # longer "calls" are prose: ast on huge input is slow
_PYTHONIC_START = re.compile(r"\[\s*[A-Za-z_][A-Za-z0-9_.\-]*\s*\(")
_PYTHONIC_PREFIX = re.compile(r"\[\s*([A-Za-z_][A-Za-z0-9_.\-]*\s*)?")
_JSON_START = re.compile(r'\{\s*"(name|type)"\s*:')


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for."""

    name: str
    arguments: dict[str, Any]
    # Set when the call cannot run as it is (its arguments were not JSON): the sentence
    # goes back to the model as the call's result.
    problem: str = ""


@dataclass
class ParsedAnswer:
    """An answer split into its prose and its calls; `problems` are sentences for the user."""

    content: str
    calls: list[ToolCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _strip_tags(text: str) -> str:
    text = text.strip()
    if text.startswith(PYTHON_START):
        text = text[len(PYTHON_START) :].lstrip()
    return text


def start_kind(text: str) -> str | None:
    """'pythonic', 'json', 'prose', or None while the start is still undecided."""
    head = _strip_tags(text) if text.strip() else ""
    if not head or PYTHON_START.startswith(text.strip()):
        return None
    if head[0] == "[":
        if _PYTHONIC_START.match(head):
            return "pythonic"
        return None if _PYTHONIC_PREFIX.fullmatch(head) else "prose"
    if head[0] == "{":
        if _JSON_START.match(head):
            return "json"
        rest = head[1:].lstrip()
        undecided = any(
            key.startswith(rest) or (rest.startswith(key) and not rest[len(key) :].strip())
            for key in ('"name"', '"type"')
        )
        return None if undecided else "prose"
    return "prose"


def _closing_bracket(text: str) -> int | None:
    """The index of the bracket that closes text[0], skipping strings; None if open."""
    depth, quote, escaped = 0, "", False
    for index, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
    return None


def _json_value(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _pythonic_calls(source: str) -> tuple[list[ToolCall], list[str]]:
    try:
        tree = ast.parse(source, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [], ["The model's tool call is not well formed, so it was not run."]
    if not isinstance(tree.body, ast.List):
        return [], ["The model's tool call is not a list of calls, so it was not run."]
    calls: list[ToolCall] = []
    problems: list[str] = []
    for element in tree.body.elts:
        name = _dotted(element.func) if isinstance(element, ast.Call) else None
        if name is None or not isinstance(element, ast.Call):
            problems.append("A tool call of the model is not `name(arg=value)`; it was skipped.")
            continue
        if element.args:
            problems.append(f"The call to {name!r} has unnamed arguments; it was skipped.")
            continue
        arguments: dict[str, Any] = {}
        for keyword in element.keywords:
            try:
                value = ast.literal_eval(keyword.value)
            except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
                value = _NOT_LITERAL
            if keyword.arg is None or value is _NOT_LITERAL or not _json_value(value):
                problems.append(
                    f"The call to {name!r} has an argument that is not a plain value "
                    f"({keyword.arg or '**'}); it was skipped."
                )
                break
            arguments[keyword.arg] = value
        else:
            calls.append(ToolCall(name, arguments))
    return calls, problems


_NOT_LITERAL = object()
_NOT_JSON_CALL = (
    'The model\'s tool call is not valid JSON of the form {"name": …, "parameters": {…}}, '
    "so it was not run."
)


def _json_call(value: Any) -> ToolCall | None:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("parameters", value.get("arguments"))
    if isinstance(arguments, str):  # some models send the arguments as a JSON string
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            return None
    if not isinstance(arguments, dict):
        return None
    return ToolCall(value["name"], arguments)


def _json_calls(text: str) -> tuple[list[ToolCall], str]:
    """Every JSON call object in `text`, and the text that is left around them."""
    decoder = json.JSONDecoder()
    calls: list[ToolCall] = []
    kept: list[str] = []
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            kept.append(text[position : start + 1])
            position = start + 1
            continue
        call = _json_call(value)
        if call is None:
            kept.append(text[position:end])
        else:
            calls.append(call)
            kept.append(text[position:start])
        position = end
    kept.append(text[position:])
    rest = "".join(kept)
    if calls:
        rest = re.sub(r"^[\s;]+|[\s;]+$", "", rest)
        rest = re.sub(r"\s*;\s*", " ", rest) if not rest.strip(" ;") else rest
    return calls, rest.strip()


def parse_answer(text: str) -> ParsedAnswer:
    """Split a finished answer into prose and tool calls."""
    kind = start_kind(text)
    if len(text) > MAX_CALL_TEXT or kind not in {"pythonic", "json"}:
        if PYTHON_START in text or kind == "prose":
            calls, rest = _json_calls(text.replace(PYTHON_START, "").replace(PYTHON_END, ""))
            if calls and len(text) <= MAX_CALL_TEXT:
                return ParsedAnswer(rest, calls)
        return ParsedAnswer(text)
    head = _strip_tags(text)
    if kind == "json":
        calls, rest = _json_calls(head.replace(PYTHON_END, ""))
        if not calls:
            return ParsedAnswer(text, [], [_NOT_JSON_CALL])
        return ParsedAnswer(rest, calls)
    end = _closing_bracket(head)
    if end is None:
        return ParsedAnswer(text, [], ["The model's tool call was cut off, so it was not run."])
    calls, problems = _pythonic_calls(head[: end + 1])
    rest = head[end + 1 :].replace(PYTHON_END, "").strip()
    return ParsedAnswer(rest, calls, problems)


class ToolCallStream:
    """Feeds on text deltas; releases prose at once and holds back what may be a call.

    At the start of the answer both forms are recognised; after prose, only a JSON call
    (``{"name": ...``) or the python tag, as vLLM's JSON parser finds them mid-text.
    """

    def __init__(self) -> None:
        self._text = ""
        self._kind: str | None = None  # of the answer's start
        self._released = 0
        self._call_at: int | None = None  # where a call began after prose

    @property
    def holding_call(self) -> bool:
        """True once a tool call is known to be coming (the UI can show "calling…")."""
        return self._kind in {"pythonic", "json"} or self._call_at is not None

    def push(self, delta: str) -> str:
        """The text of `delta` that can be shown as prose now ('' while undecided or a call)."""
        self._text += delta
        if self._kind is None:
            self._kind = start_kind(self._text)
        if self._kind != "prose" or self._call_at is not None:
            return ""
        start = self._released
        while True:
            pending = self._text[self._released :]
            candidates = [i for i in (pending.find("{"), pending.find("<")) if i != -1]
            if not candidates:
                self._released = len(self._text)
                break
            at = min(candidates)
            self._released += at
            tail = pending[at:]
            if tail[0] == "<":
                if not (PYTHON_START.startswith(tail) or tail.startswith(PYTHON_START)):
                    self._released += 1
                    continue
                kind = start_kind(tail) if tail.startswith(PYTHON_START) else None
            else:
                kind = start_kind(tail)
            if kind == "prose":
                self._released += 1
                continue
            if kind is not None:
                self._call_at = self._released
            break
        return self._text[start : self._released]

    def finish(self) -> ParsedAnswer:
        """What was not shown yet, parsed: the rest of the prose and the calls."""
        return parse_answer(self._text[self._released :])
