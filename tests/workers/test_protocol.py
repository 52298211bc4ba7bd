"""The wire format: every message round-trips; anything else is refused with a reason."""

from __future__ import annotations

import json

import pytest

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p

SAMPLES: list[p.Message] = [
    p.Load("r1", "/models/maverick", "flex_attention", 3, True),
    p.Generate(
        "r2",
        [p.ChatTurn("system", "Be brief."), p.ChatTurn("user", "مرحبا 😀", ["/tmp/a.png"])],
        Sampling(64, 0.0, 1.0, seed=7),
    ),
    p.Cancel("r2"),
    p.Shutdown(),
    p.Hello(123, "3.11.7"),
    p.LoadProgress("r1", "loading weights", 2, 5),
    p.Ready("r1", "demo", "/m", 10, 5, "bf16", ["CPU"], 65536, True, 1.5, {"top_p": 0.9}, ["w"]),
    p.Token("r2", "hé", [1, 2]),
    p.Done("r2", 30, 16, 8, 0.2, 150.0, "length"),
    p.Done("r2", 30, 16, 8, 0.2, 150.0, "length", cached_prompt_tokens=29),
    p.FreeCache("r3"),
    p.CacheFreed("r3", 1024),
    p.Cancelled("r2", 4),
    p.Error("r2", "bad_input", "too many images", "Traceback ..."),
    p.WorkerDied(-9, "killed"),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: m.kind)
def test_round_trip(message: p.Message) -> None:
    line = p.encode(message)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    body = json.loads(line)
    assert body["v"] == p.PROTOCOL_VERSION and body["kind"] == message.kind
    assert p.decode(line) == message


def test_kinds_are_unique() -> None:
    kinds = [cls.kind for cls in p.REQUESTS + p.EVENTS]
    assert len(kinds) == len(set(kinds))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"kind": "cancel", "request_id": "x"}', "protocol version None"),
        (b'{"v": 99, "kind": "cancel", "request_id": "x"}', "protocol version 99"),
        (b'{"v": 1, "kind": "teleport"}', "unknown message kind 'teleport'"),
        (b'{"v": 1, "kind": "cancel", "request_id": "x", "extra": 1}', "unknown fields"),
        (b'{"v": 1, "kind": "cancel"}', "cancel:"),
        (b'{"v": 1, "kind": "generate", "request_id": "x", "messages": [{"who": 1}]}', "malformed"),
    ],
)
def test_refused(line: bytes, reason: str) -> None:
    with pytest.raises(p.ProtocolError, match=reason):
        p.decode(line)


def test_done_from_an_older_worker_decodes_with_nothing_cached() -> None:
    # A `Done` written before `cached_prompt_tokens` existed is still valid version 1.
    line = b'{"v":1,"kind":"done","request_id":"r","prompt_tokens":3,"image_tokens":0,'
    line += (
        b'"generated_tokens":1,"time_to_first_token_s":0.1,"tokens_per_s":0,"finish_reason":"stop"}'
    )
    done = p.decode(line)
    assert isinstance(done, p.Done) and done.cached_prompt_tokens == 0


def test_generate_keeps_its_sampling_flat_on_the_wire() -> None:
    """The vocabulary's `Sampling` travels as the fields it always was (protocol v1)."""
    message = p.Generate("r1", [p.ChatTurn("user", "Hi")], Sampling(8, 0.0, 1.0, 0.1, 3))
    body = json.loads(p.encode(message))
    assert "sampling" not in body
    assert {k: body[k] for k in ("max_new_tokens", "temperature", "top_p", "min_p", "seed")} == {
        "max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0, "min_p": 0.1, "seed": 3,
    }  # fmt: skip
    # A peer that sends fewer sampling fields: the rest take their defaults.
    del body["min_p"], body["seed"]
    again = p.decode(json.dumps(body))
    assert isinstance(again, p.Generate) and again.sampling == Sampling(8, 0.0, 1.0)
    with pytest.raises(p.ProtocolError, match="malformed sampling|unknown"):
        p.decode(json.dumps({**body, "temperature": {"hot": 1}, "top_k": 3}))
