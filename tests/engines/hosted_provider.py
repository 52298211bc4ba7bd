"""A scripted OpenAI-compatible provider on 127.0.0.1 that records what it receives.

Each request is kept as a `Seen` (method, path, query, headers, body) so a test can
check what a hosted provider would have received; replies are queued `Answer`s, by
default a short stream in the style of the chosen provider: OpenRouter's SSE
keep-alive comments, Azure's first chunk with no choices and its filter results,
Groq's `x_groq` usage block.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.local_http import serving

ANSWER_TEXT = ("Two ", "cats ", "on a sofa.")


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    events: list[str] | None = None  # SSE events for a 200 stream; None: the style's own


def chunk(style: str, content: str | None, finish: str | None = None, **extra: Any) -> str:
    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1764600000,
        "model": "served-model",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
        **extra,
    }
    if style == "azure":
        body["choices"][0]["content_filter_results"] = {"hate": {"filtered": False}}
    return "data: " + json.dumps(body) + "\n\n"


def stream_events(style: str, finish: str = "stop") -> list[str]:
    """A three-piece answer the way `style`'s provider streams it, ending in [DONE]."""
    usage = {"prompt_tokens": 1290, "completion_tokens": 3, "total_tokens": 1293}
    events: list[str] = []
    if style == "openrouter":
        events.append(": OPENROUTER PROCESSING\n\n")
    if style == "azure":  # Azure first sends the prompt's filter results, with no choices
        filters = [{"prompt_index": 0, "content_filter_results": {}}]
        first = {"id": "", "object": "", "created": 0, "model": "", "choices": [],
                 "prompt_filter_results": filters}  # fmt: skip
        events.append("data: " + json.dumps(first) + "\n\n")
    events += [chunk(style, text) for text in ANSWER_TEXT]
    extra: dict[str, Any] = {"usage": usage}
    if style == "groq":
        extra["x_groq"] = {"id": "req_01", "usage": {"queue_time": 0.02, **usage}}
    events.append(chunk(style, None, finish, **extra))
    events.append("data: [DONE]\n\n")
    return events


class Provider:
    """The scripted provider: `root` is its address without a path."""

    def __init__(self, style: str = "plain") -> None:
        self.style = style
        self.seen: list[Seen] = []
        self.answers: list[Answer] = []
        self.root = ""
        self.release = threading.Event()

    def answer(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def next_answer(self) -> Answer:
        return self.answers.pop(0) if self.answers else Answer()

    @property
    def last(self) -> Seen:
        return self.seen[-1]


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parts = urlsplit(self.path)
            provider.seen.append(
                Seen(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
            )

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # GET …/models
            self._record()
            answer = provider.next_answer()
            if answer.status != 200:
                self._send(answer.status, answer.body, answer.headers)
                return
            models = {"object": "list", "data": [{"id": "served-model", "object": "model"}]}
            self._send(200, json.dumps(models).encode(), answer.headers)

        def do_POST(self) -> None:  # POST …/chat/completions
            self._record()
            answer = provider.next_answer()
            if answer.status != 200:
                self._send(answer.status, answer.body, answer.headers)
                return
            events = answer.events if answer.events is not None else stream_events(provider.style)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for event in events:
                self.wfile.write(event.encode())
                self.wfile.flush()
            self.close_connection = True

    return Handler


@contextmanager
def running(style: str = "plain") -> Iterator[Provider]:
    provider = Provider(style)
    with serving(_handler(provider), provider.release, f"provider-{style}") as url:
        provider.root = url.removesuffix("/v1")
        yield provider


def error_json(**error: Any) -> bytes:
    """An OpenAI-style error body: {"error": {...}}."""
    return json.dumps({"error": error}).encode()
