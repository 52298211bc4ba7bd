"""The worker's writer: tokens coalesced per frame, decoded off the generation thread, in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from app.inference.engine import IncrementalDecoder
from app.workers import protocol as p
from app.workers.event_writer import EventWriter


class Pipe:
    """Records each write with the time it happened, as the app's reader would see it."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []
        self.written = threading.Event()

    def write(self, data: bytes) -> int:
        self.writes.append((time.monotonic(), data))
        self.written.set()
        return len(data)

    def flush(self) -> None:
        pass

    def messages(self) -> list[p.Message]:
        return [p.decode(line) for _, data in self.writes for line in data.splitlines()]


@pytest.fixture(scope="module")
def tokenizer(demo_bf16: Path) -> object:
    return AutoTokenizer.from_pretrained(demo_bf16)


@pytest.fixture
def pipe() -> Pipe:
    return Pipe()


@pytest.fixture
def slow_frames(pipe: Pipe) -> Iterator[EventWriter]:
    """A writer whose frame is far longer than any test: only urgent events go out early."""
    writer = EventWriter(pipe, frame_s=30.0)  # type: ignore[arg-type]
    yield writer
    writer.close()


def _wait_for_writes(pipe: Pipe, count: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while len(pipe.writes) < count and time.monotonic() < deadline:
        time.sleep(0.005)


def test_tokens_within_a_frame_go_out_as_one_line_and_done_does_not_wait(
    slow_frames: EventWriter, pipe: Pipe, tokenizer: object
) -> None:
    text = "Hello there, general Kenobi. สวัสดี 😀 नमस्ते"
    ids = tokenizer.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
    decoder = IncrementalDecoder(tokenizer)
    slow_frames.send_tokens("r1", decoder, ids[:1], now=True)  # a request's first token
    _wait_for_writes(pipe, 1)
    assert len(pipe.writes) == 1
    for token in ids[1:]:
        slow_frames.send_tokens("r1", decoder, [token])
    time.sleep(0.2)
    assert len(pipe.writes) == 1, "the rest waits for the frame"
    started = time.monotonic()
    slow_frames.end_tokens("r1", decoder)
    slow_frames.send(p.Done("r1", 5, 0, len(ids), 0.1, 100.0, "stop"))
    _wait_for_writes(pipe, 2)
    assert pipe.writes[1][0] - started < 1.0, "the end of a request goes out at once"
    messages = pipe.messages()
    assert [m.kind for m in messages] == ["token", "token", "done"]
    tokens = [m for m in messages if isinstance(m, p.Token)]
    assert [i for m in tokens for i in m.token_ids] == ids
    assert "".join(m.text for m in tokens) == text
    assert not any("\ufffd" in m.text for m in tokens)


def test_frames_space_out_writes_of_a_fast_stream(pipe: Pipe, tokenizer: object) -> None:
    writer = EventWriter(pipe, frame_s=0.05)  # type: ignore[arg-type]
    try:
        decoder = IncrementalDecoder(tokenizer)
        ids = tokenizer.encode("word " * 200, add_special_tokens=False)  # type: ignore[attr-defined]
        for n, token in enumerate(ids):
            writer.send_tokens("r1", decoder, [token], now=n == 0)
            time.sleep(0.002)  # a 500 tokens/s model
        writer.end_tokens("r1", decoder)
        writer.send(p.Done("r1", 5, 0, len(ids), 0.1, 500.0, "length"))
        _wait_for_writes(pipe, 2)
    finally:
        writer.close()
    times = [t for t, _ in pipe.writes]
    # One write per 50 ms frame (the last, with `done`, at once), not one per token.
    assert len(times) <= (times[-1] - times[0]) / 0.05 + 2 < len(ids) / 4
    gaps = [b - a for a, b in zip(times[:-2], times[1:-1], strict=True)]
    assert gaps and all(gap >= 0.045 for gap in gaps), gaps
    tokens = [m for m in pipe.messages() if isinstance(m, p.Token)]
    assert [i for m in tokens for i in m.token_ids] == ids


def test_events_keep_their_order_across_requests(
    slow_frames: EventWriter, pipe: Pipe, tokenizer: object
) -> None:
    first, second = IncrementalDecoder(tokenizer), IncrementalDecoder(tokenizer)
    slow_frames.send_tokens("a", first, [1000], now=True)
    slow_frames.send_tokens("a", first, [1001])
    slow_frames.end_tokens("a", first)
    slow_frames.send(p.Cancelled("a", 2))
    slow_frames.send_tokens("b", second, [1002], now=True)
    slow_frames.send_tokens("b", second, [1003])
    slow_frames.end_tokens("b", second)
    slow_frames.send(p.Done("b", 5, 0, 2, 0.1, 100.0, "length"))
    slow_frames.close()
    kinds = [(m.kind, getattr(m, "request_id", "")) for m in pipe.messages()]
    assert kinds[-1] == ("done", "b")
    assert kinds.index(("cancelled", "a")) < kinds.index(("token", "b"))
    assert [i for m in pipe.messages() if isinstance(m, p.Token) for i in m.token_ids] == [
        1000,
        1001,
        1002,
        1003,
    ]


class BrokenDecoder:
    """A tokenizer that fails, to prove the failure reaches the app as the request's end."""

    def push(self, new_ids: Sequence[int]) -> str:
        raise UnicodeError("no such token")

    def flush(self) -> str:
        return ""


def test_a_decoding_failure_ends_the_request_with_one_error(
    slow_frames: EventWriter, pipe: Pipe
) -> None:
    slow_frames.send_tokens("r1", BrokenDecoder(), [1, 2], now=True)
    slow_frames.send(p.Done("r1", 5, 0, 2, 0.1, 100.0, "length"))
    slow_frames.close()
    messages = pipe.messages()
    ends = [m for m in messages if isinstance(m, p.Done | p.Error | p.Cancelled)]
    assert len(ends) == 1 and isinstance(ends[0], p.Error)
    assert ends[0].error_kind == "generation_failed"
    assert "Turning the tokens into text failed: UnicodeError" in ends[0].message
    assert "no such token" in ends[0].traceback


def test_close_writes_what_is_queued(pipe: Pipe) -> None:
    writer = EventWriter(pipe, frame_s=30.0)  # type: ignore[arg-type]
    writer.send(p.Hello(1, "3.11"))
    _wait_for_writes(pipe, 1)
    writer.send_tokens("r1", BrokenDecoder(), [], now=False)
    writer.send(p.LoadProgress("r1", "loading", 1, 2))
    writer.close()
    assert [m.kind for m in pipe.messages()] == ["hello", "load_progress"]
    assert not any(t.name == "protocol-writer" and t.is_alive() for t in threading.enumerate())
