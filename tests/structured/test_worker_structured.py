"""Structured answers from the real worker with the demo's random weights: always valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.structured.answer import check_answer
from app.structured.request import from_document
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import WorkerClient, new_request_id

EVERY_TYPE = json.loads((Path(__file__).parent / "every_type.json").read_text(encoding="utf-8"))
# The same fields with tight bounds, so that an answer is tens of tokens, not hundreds (the
# random walks of test_constrained_grammar.py cover the default bounds).
SCHEMA = from_document(EVERY_TYPE).schema
SCHEMA["properties"]["title"]["maxLength"] = 8
SCHEMA["properties"]["price"].update(minimum=0, maximum=999)
SCHEMA["properties"]["colours"].update(maxItems=2, items={"type": "string", "maxLength": 4})


def _ask(
    client: WorkerClient, schema: dict[str, Any], budget: int, **sampling: Any
) -> tuple[str, p.Message]:
    rid = new_request_id()
    turn = p.ChatTurn("user", "Describe the product in one JSON object.")
    client.send(p.Generate(rid, [turn], Sampling(budget, **sampling), json_schema=schema))
    events = list(client.events_for(rid, timeout=240))
    text = "".join(e.text for e in events if isinstance(e, p.Token))
    return text, events[-1]


def test_every_answer_parses_and_validates(worker: WorkerClient) -> None:
    request = from_document(SCHEMA)
    settings = [
        {"temperature": 0.0},
        {"temperature": 1.0, "top_p": 1.0, "seed": 1},  # every allowed token can come
        {"temperature": 0.6, "top_p": 0.5, "seed": 2},  # top-p after the mask: never empty
    ]
    for sampling in settings:
        text, end = _ask(worker, request.schema, request.budget, **sampling)
        assert isinstance(end, p.Done), end
        assert end.finish_reason == "stop" and end.generated_tokens <= request.budget
        value = check_answer(text, request.schema, end.finish_reason, request.budget)
        assert list(value) == [field["name"] for field in EVERY_TYPE["fields"]]


def test_cut_off_and_uncompilable_schemas_end_in_a_sentence(worker: WorkerClient) -> None:
    request = from_document(SCHEMA)
    text, end = _ask(worker, request.schema, 5, temperature=0.0)
    assert isinstance(end, p.Done) and end.finish_reason == "length"
    assert len(text) > 0  # some JSON came, and it is not a result:
    try:
        check_answer(text, request.schema, end.finish_reason, 5)
    except ValueError as exc:
        assert "cut off at its limit of 5 tokens" in str(exc)
    else:
        raise AssertionError("a cut-off answer was taken as a result")
    _, end = _ask(worker, {"type": "integer", "minimum": 5, "maximum": 1}, 20)
    assert isinstance(end, p.Error) and end.error_kind == "bad_input"
    assert "cannot turn this schema into a constraint" in end.message
    # The worker still answers afterwards, unconstrained too.
    rid = worker.generate(
        [p.ChatTurn("user", "Hi")], sampling=Sampling(max_new_tokens=3, temperature=0.0)
    )
    assert isinstance(list(worker.events_for(rid, timeout=60))[-1], p.Done)
