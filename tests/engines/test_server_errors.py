"""Replies `transformers serve` cannot be made to give, from a scripted server on 127.0.0.1.

The real-server tests (test_openai_client.py) use `demo_server`; this stub answers with
a chosen status, body or broken stream: 401, 400 context too long, 404 unknown model,
500, malformed chunks, a stream cut short, or silence.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest

from app.engines.openai_client import ServerSettings, ask_server, list_server_models
from app.engines.server_errors import ServerError
from app.workers import protocol as p
from tests.local_http import serving

SECRET = "sk-stub-91c0ffee-never-shown"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    # For a 200 stream: the SSE lines sent one by one; `cut` closes the socket after them.
    events: list[str] = field(default_factory=list)
    cut: bool = False
    silent_s: float = 0.0  # wait this long (or until teardown) before answering


class Scripted:
    """The stub's state: the next reply, and what it received."""

    def __init__(self) -> None:
        self.reply = Reply()
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.release = threading.Event()
        self.base_url = ""


def chunk(content: str | None = None, finish: str | None = None, usage: bool = False) -> str:
    body: dict[str, object] = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}
    return "data: " + json.dumps(body) + "\n\n"


def error_body(message: str, status: int) -> bytes:
    """An error body the way vLLM writes one."""
    return json.dumps({"object": "error", "message": message, "code": status}).encode()


@pytest.fixture
def stub() -> Iterator[Scripted]:
    state = Scripted()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append((self.path, headers, body))
            reply = state.reply
            if reply.silent_s:
                state.release.wait(reply.silent_s)
            if reply.events:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                if reply.cut:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len("".join(reply.events).encode())))
                self.end_headers()
                for event in reply.events:
                    data = event.encode()
                    if reply.cut:  # chunked framing, and no final zero-length chunk
                        data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
                    self.wfile.write(data)
                    self.wfile.flush()
                self.close_connection = True
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = _answer
        do_POST = _answer

    with serving(Handler, state.release, "stub-http") as base_url:
        state.base_url = base_url
        yield state


def ask(stub: Scripted, **settings: object) -> tuple[list[p.Message], p.Message]:
    events: list[p.Message] = []
    config = ServerSettings(stub.base_url, "meta-llama/Maverick", **settings)  # type: ignore[arg-type]
    final = ask_server(config, [p.ChatTurn("user", "Hi")], events.append, api_key=SECRET)
    return events, final


def test_401_says_the_key_was_refused_without_showing_it(
    stub: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # A hostile server echoes the key back; it must not reach the user or the log.
    stub.reply = Reply(401, error_body(f"Invalid API key {SECRET}", 401))
    _, final = ask(stub)
    assert isinstance(final, p.Error) and final.error_kind == "unauthorized"
    assert "refused the API key (HTTP 401)" in final.message
    assert SECRET not in final.message and SECRET not in caplog.text
    path, headers, _ = stub.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["authorization"] == f"Bearer {SECRET}"  # it was sent, to the server only


def test_no_key_never_borrows_openai_api_key(
    stub: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    stub.reply = Reply(200, json.dumps({"object": "list", "data": []}).encode())
    list_server_models(ServerSettings(stub.base_url, "m"))
    assert SECRET not in stub.requests[0][1].get("authorization", "")


def test_400_context_too_long(stub: Scripted) -> None:
    message = (
        "This model's maximum context length is 430000 tokens. However, you requested "
        "431200 tokens (430944 in the messages, 256 in the completion)."
    )
    stub.reply = Reply(400, error_body(message, 400))
    _, final = ask(stub)
    assert isinstance(final, p.Error) and final.error_kind == "context_too_long"
    assert "430000 tokens" in final.message and "Start a new conversation" in final.message


def test_404_unknown_model(stub: Scripted) -> None:
    stub.reply = Reply(404, error_body("The model `meta-llama/Maverick` does not exist.", 404))
    _, final = ask(stub)
    assert isinstance(final, p.Error) and final.error_kind == "unknown_model"
    assert "“meta-llama/Maverick”" in final.message


def test_500_is_a_server_error(stub: Scripted) -> None:
    stub.reply = Reply(500, error_body("CUDA out of memory", 500))
    _, final = ask(stub)
    assert isinstance(final, p.Error) and final.error_kind == "server_error"
    assert "HTTP 500: CUDA out of memory" in final.message


def test_malformed_chunk_keeps_the_text_so_far(stub: Scripted) -> None:
    stub.reply = Reply(events=[chunk("Hello"), chunk(" there"), "data: {not json\n\n"])
    events, final = ask(stub)
    assert [e.text for e in events if isinstance(e, p.Token)] == ["Hello", " there"]
    assert isinstance(final, p.Error) and final.error_kind == "malformed_stream"
    assert "The text so far is kept" in final.message


def test_chunk_without_choices_is_malformed(stub: Scripted) -> None:
    stub.reply = Reply(events=[chunk("Hi"), 'data: {"unexpected": true}\n\n'])
    _, final = ask(stub)
    assert isinstance(final, p.Error) and final.error_kind == "malformed_stream"


def test_stream_cut_mid_answer_is_a_dead_server(stub: Scripted) -> None:
    stub.reply = Reply(events=[chunk("Partial"), chunk(" answer")], cut=True)
    events, final = ask(stub)
    assert "".join(e.text for e in events if isinstance(e, p.Token)) == "Partial answer"
    assert isinstance(final, p.Error) and final.error_kind == "server_died"


def test_stream_ending_without_finish_reason_is_a_dead_server(stub: Scripted) -> None:
    stub.reply = Reply(events=[chunk("Partial"), "data: [DONE]\n\n"])
    _, final = ask(stub)
    assert isinstance(final, p.Error) and final.error_kind == "server_died"


def test_usage_and_finish_reason_make_done(stub: Scripted) -> None:
    stub.reply = Reply(
        events=[chunk("A"), chunk("B"), chunk(finish="stop"), chunk(usage=True), "data: [DONE]\n\n"]
    )
    events, final = ask(stub)
    assert isinstance(final, p.Done)
    assert (final.prompt_tokens, final.generated_tokens, final.finish_reason) == (7, 2, "stop")
    sent = json.loads(stub.requests[0][2])
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["model"] == "meta-llama/Maverick" and "seed" not in sent


def test_silence_times_out(stub: Scripted) -> None:
    stub.reply = Reply(events=[chunk(finish="stop")], silent_s=10)
    started = time.monotonic()
    _, final = ask(stub, timeout_s=1.0)
    assert isinstance(final, p.Error) and final.error_kind == "timeout"
    assert "sent nothing for 1 s" in final.message
    assert time.monotonic() - started < 5


def test_list_models_reads_ids(stub: Scripted) -> None:
    ids = ["meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8", "other"]
    body = {"object": "list", "data": [{"id": i, "object": "model"} for i in ids]}
    stub.reply = Reply(200, json.dumps(body).encode())
    assert list_server_models(ServerSettings(stub.base_url, "m")) == ids
    assert stub.requests[0][0] == "/v1/models"


def test_list_models_on_a_wrong_path(stub: Scripted) -> None:
    stub.reply = Reply(404, b'{"detail": "Not Found"}')
    with pytest.raises(ServerError) as caught:
        list_server_models(ServerSettings(stub.base_url, "m"))
    assert caught.value.kind == "server_error" and "ends in /v1" in caught.value.message
