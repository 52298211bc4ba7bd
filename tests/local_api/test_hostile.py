"""A hostile-request corpus: each gets a clear 4xx and the server keeps serving."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import httpx2
import pytest

from app.local_api.serving import LocalApi

MODEL = "Llama-4-Maverick-demo-random-weights"
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 64).decode()


def user(content: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}]}


def image(url: Any) -> dict[str, Any]:
    return user(
        [{"type": "text", "text": "What?"}, {"type": "image_url", "image_url": {"url": url}}]
    )


HUGE = "x" * 1_000_000


def tool(name: str, parameters: Any = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


TOOL = tool("get_weather", {"type": "object", "properties": {"city": {"type": "string"}}})


def called(arguments: str) -> dict[str, Any]:
    """A conversation whose assistant turn called a tool with these arguments."""
    call = {"id": "c1", "type": "function",
            "function": {"name": "get_weather", "arguments": arguments}}  # fmt: skip
    return {
        "model": MODEL,
        "tools": [TOOL],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "Sunny"},
        ],
    }


def nested(levels: int) -> dict[str, Any]:
    """A JSON schema whose objects nest `levels` deep."""
    value: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        value = {"type": "object", "properties": {"a": value}}
    return value


DEEP_ARGUMENTS = "[" * 5_000 + "]" * 5_000  # past what Python's JSON decodes
DEEP = "nested more than 64 levels deep"

# (id, body: bytes sent as is or a JSON value, the status, words the message must hold)
CORPUS: list[tuple[str, Any, int, str]] = [
    ("empty body", b"", 400, "no body"),
    ("truncated JSON", b'{"model": "m", "messages": [', 400, "not valid JSON"),
    ("not JSON", b"hello", 400, "not valid JSON"),
    ("invalid UTF-8", b'{"model": "\xff\xfe"}', 400, "not valid JSON"),
    ("deep nesting", b"[" * 200_000 + b"]" * 200_000, 400, "not valid JSON"),
    ("a list", [1, 2], 400, "JSON object"),
    ("null", None, 400, "JSON object"),
    ("model missing", {"messages": [{"role": "user", "content": "Hi"}]}, 400, "`model`"),
    ("model a number", {**user("Hi"), "model": 5}, 400, "`model`"),
    ("messages a string", {"model": MODEL, "messages": "Hi"}, 400, "`messages`"),
    ("messages empty", {"model": MODEL, "messages": []}, 400, "non-empty"),
    ("message a number", {"model": MODEL, "messages": [5]}, 400, "messages[0]"),
    (
        "tool result without its call id",
        {"model": MODEL, "messages": [{"role": "tool", "content": "x"}]},
        400,
        "tool_call_id",
    ),  # fmt: skip
    ("role a list", {"model": MODEL, "messages": [{"role": [], "content": "x"}]}, 400, "role"),
    (
        "last from assistant",
        {"model": MODEL, "messages": [{"role": "assistant", "content": "x"}]},
        400,
        "last message",
    ),  # fmt: skip
    ("content a number", user(5), 400, "content"),
    ("part not an object", user(["text"]), 400, "content[0]"),
    ("part of unknown type", user([{"type": "input_audio"}]), 400, "text or image_url"),
    ("text a number", user([{"type": "text", "text": 5}]), 400, ".text"),
    ("stream a string", {**user("Hi"), "stream": "yes"}, 400, "`stream`"),
    ("max_tokens a string", {**user("Hi"), "max_tokens": "10"}, 400, "max_tokens"),
    ("max_tokens negative", {**user("Hi"), "max_tokens": -1}, 400, "at least 1"),
    ("max_tokens a fraction", {**user("Hi"), "max_tokens": 1.5}, 400, "whole number"),
    ("max_tokens true", {**user("Hi"), "max_tokens": True}, 400, "whole number"),
    ("max_tokens past the context", {**user("Hi"), "max_tokens": 10**7}, 400, "context"),
    ("temperature a string", {**user("Hi"), "temperature": "hot"}, 400, "temperature"),
    ("temperature 5", {**user("Hi"), "temperature": 5}, 400, "at most 2"),
    (
        "temperature NaN",
        b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": NaN}',
        400,
        "temperature",
    ),  # fmt: skip
    ("top_p 0", {**user("Hi"), "top_p": 0}, 400, "top_p"),
    ("min_p 2", {**user("Hi"), "min_p": 2}, 400, "min_p"),
    ("seed a string", {**user("Hi"), "seed": "x"}, 400, "seed"),
    ("seed past 64 bits", {**user("Hi"), "seed": 2**70}, 400, "seed"),
    ("stop a number", {**user("Hi"), "stop": 5}, 400, "stop"),
    ("five stops", {**user("Hi"), "stop": ["a"] * 5}, 400, "up to 4"),
    ("empty stop", {**user("Hi"), "stop": [""]}, 400, "non-empty"),
    ("n 2", {**user("Hi"), "n": 2}, 400, "one choice"),
    ("tool without a function", {**user("Hi"), "tools": [{"type": "function"}]}, 400, "tools[0]"),
    ("tools not a list", {**user("Hi"), "tools": "weather"}, 400, "list of up to 128"),
    ("129 tools", {**user("Hi"), "tools": [TOOL] * 129}, 400, "list of up to 128"),
    ("two tools of one name", {**user("Hi"), "tools": [TOOL, TOOL]}, 400, "Two tools"),
    ("tool name with spaces", {**user("Hi"), "tools": [tool("rm -rf")]}, 400, "letters, digits"),
    ("tool name huge", {**user("Hi"), "tools": [tool(HUGE)]}, 400, "1 to 64"),
    ("tool parameters a list", {**user("Hi"), "tools": [tool("f", [])]}, 400, "JSON schema"),
    (
        "tool_choice required",
        {**user("Hi"), "tools": [TOOL], "tool_choice": "required"},
        400,
        "auto",
    ),
    ("old functions", {**user("Hi"), "functions": [TOOL["function"]]}, 400, "send `tools`"),
    ("call arguments not JSON", called('{"city": '), 400, "JSON object written as a string"),
    ("call arguments a list", called("[1, 2]"), 400, "JSON object written as a string"),
    ("tool parameters 400 deep", {**user("Hi"), "tools": [tool("f", nested(200))]}, 400, DEEP),
    ("call arguments 5,000 deep", called('{"a": ' + DEEP_ARGUMENTS + "}"), 400, DEEP),
    ("call arguments 300 deep", called('{"a": ' + "[" * 300 + "]" * 300 + "}"), 400, DEEP),
    (
        "image in a tool result",
        {
            "model": MODEL,
            "messages": [
                {"role": "user", "content": "Hi"},
                {
                    "role": "tool",
                    "tool_call_id": "c",
                    "content": [{"type": "image_url", "image_url": {"url": PNG}}],
                },
            ],
        },
        400,
        "text only",
    ),  # fmt: skip
    ("logprobs", {**user("Hi"), "logprobs": True}, 400, "Log probabilities"),
    ("YAML mode", {**user("Hi"), "response_format": {"type": "yaml"}}, 400, "json_schema"),
    (
        "a schema that is not JSON Schema",
        {
            **user("Hi"),
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "schema": {"type": "object", "properties": {"n": {"type": "nombre"}}},
                },
            },
        },
        400,
        "properties → n → type",
    ),  # fmt: skip
    (
        "stream_options alone",
        {**user("Hi"), "stream_options": {"include_usage": True}},
        400,
        "only allowed with",
    ),  # fmt: skip
    ("huge model name", {**user("Hi"), "model": HUGE}, 404, "not served here"),
    ("huge role", {"model": MODEL, "messages": [{"role": HUGE, "content": "x"}]}, 400, "role"),
    ("huge stop", {**user("Hi"), "stop": HUGE}, 400, "at most 200"),
    ("text past the context", user("word " * 140_000), 400, "700,000 characters of text"),
    ("10,000 parts", user([{"type": "text", "text": "a"}] * 10_000), 400, "10,000 parts"),
    (
        "10,000 messages",
        {"model": MODEL, "messages": [{"role": "user", "content": "a"}] * 10_000},
        400,
        "10,000 messages",
    ),  # fmt: skip
    ("file: URL", image("file:///etc/passwd"), 400, "file: URLs and local paths"),
    ("absolute path", image("/etc/passwd"), 400, "local paths are always refused"),
    ("relative path", image("../secrets/cat.png"), 400, "local paths are always refused"),
    ("Windows path", image("C:\\Users\\me\\cat.png"), 400, "local paths are always refused"),
    (
        "http URL while fetching is off",
        image("http://127.0.0.1:1/cat.png"),
        400,
        "--allow-image-urls",
    ),  # fmt: skip
    ("data URL not an image", image("data:text/plain;base64,aGk="), 400, "not accepted"),
    ("data URL not base64", image("data:image/png,rawbytes"), 400, "must be base64"),
    ("data URL bad base64", image("data:image/png;base64,!!!!"), 400, "not valid base64"),
    ("data URL a broken PNG", image(PNG), 400, "image-1.png is damaged or truncated"),
    ("url a number", image(5), 400, "image_url"),
    (
        "six images",
        user([{"type": "image_url", "image_url": {"url": PNG}}] * 6),
        400,
        "the limit is 5",
    ),  # fmt: skip
    (
        "image from the assistant",
        {
            "model": MODEL,
            "messages": [
                {
                    "role": "assistant",
                    "content": [{"type": "image_url", "image_url": {"url": PNG}}],
                },
                {"role": "user", "content": "Hi"},
            ],
        },
        400,
        "only allowed in user messages",
    ),  # fmt: skip
]


@pytest.mark.parametrize(("body", "status", "words"), [c[1:] for c in CORPUS],
                         ids=[c[0] for c in CORPUS])  # fmt: skip
def test_hostile_request_gets_a_clear_4xx(
    api: LocalApi, body: Any, status: int, words: str
) -> None:
    assert api.model.model_id == MODEL
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = httpx2.post(
        api.base_url + "/chat/completions",
        content=content,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert reply.status_code == status, reply.text[:500]
    error = reply.json()["error"]
    assert words in error["message"], error
    assert len(error["message"]) < 600 and error["type"] == "invalid_request_error"
    assert api.scheduler.state().running is None


@pytest.mark.parametrize(
    "head",
    [
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"NONSENSE\r\n\r\n",
    ],
    ids=["Content-Length not a number", "negative Content-Length", "not HTTP"],
)
def test_broken_http_is_refused(api: LocalApi, head: bytes) -> None:
    with socket.create_connection(("127.0.0.1", api.options.port), timeout=10) as sock:
        sock.sendall(head)
        reply = sock.recv(65536).decode()
    assert reply.startswith("HTTP/1.1 400"), reply


def test_still_serving_after_the_corpus(api: LocalApi) -> None:
    reply = httpx2.post(
        api.base_url + "/chat/completions",
        json={**user("Still there?"), "max_tokens": 2, "temperature": 0},
        timeout=120,
    )
    assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 2


def test_deep_nesting_is_one_quiet_400_naming_the_field(
    api: LocalApi, caplog: pytest.LogCaptureFixture
) -> None:
    """400 deep parameters and 5,000 deep arguments raised RecursionError: 500, ~3,000 lines."""
    for body, field in [
        ({**user("Hi"), "tools": [tool("f", nested(200))]}, "tools[0].function.parameters"),
        (called(DEEP_ARGUMENTS), "messages[1].tool_calls[0].function.arguments"),
    ]:
        reply = httpx2.post(api.base_url + "/chat/completions", json=body, timeout=60)
        assert reply.status_code == 400, reply.text[:300]
        assert reply.json()["error"]["param"] == field
    assert len(caplog.records) <= 2 and "Recursion" not in caplog.text, caplog.text[:2000]


def test_text_past_the_context_is_refused_before_the_worker(api: LocalApi) -> None:
    """A 20 MiB message: refused by its length at once; it used to cost the worker 3.3 GB."""
    reply = httpx2.post(api.base_url + "/chat/completions", json=user("x" * (20 << 20)), timeout=60)
    assert reply.status_code == 400, reply.text[:300]
    error = reply.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages", error
    assert "20,971,520 characters" in error["message"]
