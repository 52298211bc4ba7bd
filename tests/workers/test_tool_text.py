"""The worker reads tool calls out of the answer once: prose streams, calls come on `Done`.

The decoding side is driven through the real `EventWriter` with a decoder that turns ids
into scripted pieces (Llama 4's call strings, a few characters at a time); the real
worker is then made to write a call (its output constrained by a JSON Schema to the JSON
call form, since the demo's random weights never write one of their own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import WorkerClient, new_request_id
from app.workers.event_writer import EventWriter
from app.workers.tool_text import CallReadingDecoder
from tests.workers.test_event_writer import Pipe

PYTHONIC = "[get_weather(city='San Francisco', metric='celsius'), get_weather(city='Seattle')]"


class Pieces:
    """Token id i decodes to piece i."""

    def __init__(self, text: str, size: int = 3) -> None:
        self.pieces = [text[at : at + size] for at in range(0, len(text), size)]

    def push(self, new_ids: Sequence[int]) -> str:
        return "".join(self.pieces[i] for i in new_ids)

    def flush(self) -> str:
        return ""


def _written(text: str, end: p.Message, cancelled: bool = False) -> list[p.Message]:
    pipe = Pipe()
    writer = EventWriter(pipe, frame_s=0.0)  # type: ignore[arg-type]
    pieces = Pieces(text)
    reader = CallReadingDecoder(pieces)
    for i in range(len(pieces.pieces)):
        writer.send_tokens("r", reader, [i])
    if cancelled:
        reader.cancelled()
    writer.end_tokens("r", reader)
    writer.send(end, reader.amend)
    writer.close()
    return pipe.messages()


def _done(reason: str = "stop") -> p.Done:
    return p.Done("r", 10, 0, 5, 0.1, 50.0, reason)


def _text(messages: list[p.Message]) -> str:
    return "".join(m.text for m in messages if isinstance(m, p.Token))


def test_a_pythonic_call_is_held_back_and_comes_parsed_on_done() -> None:
    messages = _written(PYTHONIC, _done())
    done = messages[-1]
    assert isinstance(done, p.Done) and done.finish_reason == "tool_calls"
    assert _text(messages) == ""
    assert [(c["name"], c["arguments"]) for c in done.tool_calls] == [
        ("get_weather", {"city": "San Francisco", "metric": "celsius"}),
        ("get_weather", {"city": "Seattle"}),
    ]
    ids = [c["id"] for c in done.tool_calls]
    assert all(i.startswith("call_") and len(i) == 29 for i in ids) and len(set(ids)) == 2
    assert p.decode(p.encode(done)) == done  # travels as plain JSON


def test_prose_streams_unchanged_and_done_carries_no_calls() -> None:
    prose = "It is sunny in [LA] today, about 24 °C."
    messages = _written(prose, _done())
    assert _text(messages) == prose
    reader = CallReadingDecoder(Pieces(prose))
    assert reader.push([0, 1]) == prose[:6]  # released as it comes, not at the end
    done = messages[-1]
    assert isinstance(done, p.Done) and done.tool_calls == [] and done.finish_reason == "stop"


def test_a_cut_off_call_stays_text_with_a_problem() -> None:
    messages = _written("[get_weather(city='San Fr", _done("length"))
    done = messages[-1]
    assert _text(messages) == "[get_weather(city='San Fr"
    assert isinstance(done, p.Done) and done.finish_reason == "length" and not done.tool_calls
    assert done.tool_problems == ["The model's tool call was cut off, so it was not run."]


def test_a_cancelled_call_sends_none_of_its_text() -> None:
    messages = _written(PYTHONIC[:30], p.Cancelled("r", 10), cancelled=True)
    assert _text(messages) == "" and isinstance(messages[-1], p.Cancelled)


def test_an_old_done_line_still_decodes() -> None:
    line = (
        '{"v":1,"kind":"done","request_id":"r","prompt_tokens":1,"image_tokens":0,'
        '"generated_tokens":1,"time_to_first_token_s":0.1,"tokens_per_s":1.0,'
        '"finish_reason":"stop"}'
    )
    done = p.decode(line)
    assert isinstance(done, p.Done) and done.tool_calls == [] and done.tool_problems == []


WEATHER: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
# The JSON call form, and nothing else: what the real worker is made to write.
CALL_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"const": "get_weather"},
        "parameters": {
            "type": "object",
            "properties": {"city": {"const": "LA"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
    "required": ["name", "parameters"],
    "additionalProperties": False,
}


def test_the_real_worker_sends_a_call_it_wrote_as_a_structured_call(worker: object) -> None:
    assert isinstance(worker, WorkerClient)
    rid = new_request_id()
    worker.send(
        p.Generate(
            rid,
            [p.ChatTurn("user", "Weather in LA?")],
            Sampling(max_new_tokens=120, temperature=0.0),
            tools=[WEATHER],
            json_schema=CALL_SCHEMA,
        )
    )
    events = list(worker.events_for(rid, timeout=120))
    done = events[-1]
    assert isinstance(done, p.Done), done
    assert [(c["name"], c["arguments"]) for c in done.tool_calls] == [
        ("get_weather", {"city": "LA"})
    ]
    assert done.finish_reason == "tool_calls" and _text(events).strip() == ""
