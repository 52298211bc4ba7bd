"""Repetition penalty end to end on the real worker (demo checkpoint): it changes the answer."""

from __future__ import annotations

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import WorkerClient

QUESTION = [p.ChatTurn("user", "Say the same word again and again.")]


def _tokens(worker: WorkerClient, sampling: Sampling) -> list[int]:
    rid = worker.generate(QUESTION, sampling)
    events = list(worker.events_for(rid, timeout=120))
    assert isinstance(events[-1], p.Done), events[-1]
    return [i for e in events if isinstance(e, p.Token) for i in e.token_ids]


def _repeats(tokens: list[int]) -> int:
    return len(tokens) - len(set(tokens))


def test_a_repetition_penalty_changes_what_the_worker_writes(worker: object) -> None:
    assert isinstance(worker, WorkerClient)
    seeded = Sampling(max_new_tokens=24, temperature=1.0, top_p=1.0, seed=7)
    plain = _tokens(worker, seeded)
    assert plain == _tokens(worker, seeded)  # the same seed draws the same tokens
    # Above 1 the tokens already seen (the question's, the answer's) are drawn less often.
    assert _tokens(worker, Sampling(**{**seeded.to_dict(), "repetition_penalty": 1.8})) != plain
    # Below 1 they are favoured: greedy decoding falls into repeating itself.
    greedy = Sampling(max_new_tokens=24, temperature=0.0)
    favoured = Sampling(max_new_tokens=24, temperature=0.0, repetition_penalty=0.5)
    assert _repeats(_tokens(worker, favoured)) > _repeats(_tokens(worker, greedy)) + 5
