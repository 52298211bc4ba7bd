"""A scripted OpenAI-compatible server on 127.0.0.1: each POST gets the next scripted stream.

GET (``/v1/models``) lists `Scripted.models`, so the window can connect to it.

`tool_call_reply` streams one tool call the way vLLM's llama4_pythonic parser does (id
and name first, then the arguments in pieces); `text_reply` streams text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.local_http import serving


def _chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    body = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return "data: " + json.dumps(body) + "\n\n"


def tool_call_reply(name: str, arguments: str, call_id: str = "call_abc") -> list[str]:
    half = len(arguments) // 2
    return [
        _chunk({"role": "assistant", "content": None}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": ""},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[:half]}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": arguments[half:]}}]}),
        _chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
    ]


def text_reply(text: str) -> list[str]:
    pieces = [word + " " for word in text.split(" ")]
    pieces[-1] = pieces[-1].rstrip()
    return [_chunk({"content": piece}) for piece in pieces] + [
        _chunk({}, "stop"),
        "data: [DONE]\n\n",
    ]


class Scripted:
    def __init__(self) -> None:
        self.models = ["m"]  # what GET /v1/models lists (the window's connection check)
        self.replies: list[list[str]] = []
        self.bodies: list[dict[str, Any]] = []
        self.release = threading.Event()


@contextmanager
def scripted_server() -> Iterator[tuple[Scripted, str]]:
    state = Scripted()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            models = [{"id": name, "object": "model", "owned_by": "test"} for name in state.models]
            data = json.dumps({"object": "list", "data": models}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            state.bodies.append(json.loads(self.rfile.read(length)))
            data = "".join(state.replies.pop(0)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True

    with serving(Handler, state.release, "scripted-openai") as base_url:
        yield state, base_url
