"""Requests too long for the context are refused by their size, before anything is tokenised."""

from __future__ import annotations

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import WorkerClient
from app.workers.request_size import (
    MAX_CHARS_PER_TOKEN,
    char_limit,
    json_chars,
    size_problem,
)

CONTEXT = 65_536  # the demo's


def test_json_chars_counts_keys_and_strings_iteratively() -> None:
    assert json_chars({"ab": ["cd", 5, {"e": None}], "f": True}) == 6
    deep: object = "x"
    for _ in range(100_000):
        deep = [deep]
    assert json_chars(deep) == 1


def test_limits_follow_the_context() -> None:
    limit = char_limit(CONTEXT)
    assert limit == CONTEXT * MAX_CHARS_PER_TOKEN
    assert size_problem(["a" * limit], [], None, CONTEXT) is None
    problem = size_problem(["a" * limit, "b"], [], None, CONTEXT)
    assert problem and f"{limit + 1:,} characters" in problem and f"{CONTEXT:,} tokens" in problem
    tool = {"type": "function", "function": {"name": "f", "description": "d" * limit}}
    assert size_problem(["Hi"], [[tool]], None, CONTEXT)
    assert size_problem(["Hi"], [], CONTEXT, CONTEXT)  # no room left for the prompt
    assert size_problem(["Hi"], [], CONTEXT - 1, CONTEXT) is None
    assert size_problem(["a" * limit * 2], [], 10**9, 0) is None  # context unknown


def test_worker_refuses_oversized_requests_then_serves(worker: WorkerClient) -> None:
    big = "word " * (char_limit(CONTEXT) // 5 + 1)
    tool = {"type": "function", "function": {"name": "f", "description": big}}
    for turns, tools, new in [
        ([p.ChatTurn("user", big)], [], 8),
        ([p.ChatTurn("user", "Hi")], [tool], 8),
        ([p.ChatTurn("user", "Hi")], [], 10**7),
    ]:
        rid = worker.generate(
            turns, sampling=Sampling(max_new_tokens=new, temperature=0.0), tools=tools
        )
        events = list(worker.events_for(rid, timeout=60))
        assert len(events) == 1, events  # refused before a single token
        error = events[0]
        assert isinstance(error, p.Error) and error.error_kind == "bad_input", error
        assert "context" in error.message and "prompt tokens" not in error.message
    rid = worker.generate(
        [p.ChatTurn("user", "Hi")], sampling=Sampling(max_new_tokens=2, temperature=0.0)
    )
    done = list(worker.events_for(rid, timeout=120))[-1]
    assert isinstance(done, p.Done) and done.generated_tokens == 2, done
