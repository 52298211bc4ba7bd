"""Tools through the local API, with the openai client.

The real worker (the demo checkpoint) gets OpenAI's `tools`, an assistant's `tool_calls`
and the `tool` result that answers them: the prompt it builds is the one the in-process
engine builds of the same conversation (token for token), and so is its greedy answer.

The demo's random weights never write a tool call, so the calls coming *out* are tested
beside that, on the real HTTP app and server with a stand-in model that streams Llama 4
tool-call strings (quoted as data from vLLM's tests of its `llama4_pythonic` and Llama
JSON parsers, as in tests/tools/test_call_parser.py) a few characters at a time, through
the worker's own call reader (`app.workers.tool_text`), so its calls come on `Finish`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.engines.managed_server import free_port
from app.inference.engine import ChatMessage, Engine
from app.inference.loader import load_model
from app.local_api.api_server import ApiServer
from app.local_api.http_app import ApiSettings, build_app
from app.local_api.serving import LocalApi
from app.local_api.shared_model import AskedSampling, Delta, Finish
from app.tools.call_parser import parse_answer
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.tool_text import CallReadingDecoder
from tests.inference.test_template_tools import WEATHER
from tests.workers.test_tool_text import Pieces

CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in LA?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "LA"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "Sunny, 24 °C, light wind."},
]
# The same conversation as the engine takes it.
MESSAGES = [
    ChatMessage("system", "Be brief."),
    ChatMessage("user", "Weather in LA?"),
    ChatMessage(
        "assistant", "", tool_calls=({"name": "get_weather", "arguments": {"city": "LA"}},)
    ),
    ChatMessage("tool", "Sunny, 24 °C, light wind."),
]
NEW_TOKENS = 12


@pytest.fixture(scope="module")
def engine(demo_bf16: Path) -> Engine:
    return Engine(load_model(demo_bf16))


def _greedy(engine: Engine, tools: Sequence[dict[str, Any]]) -> tuple[int, str]:
    """Prompt tokens and greedy text of MESSAGES, in this process."""
    ids: list[int] = []
    result = engine.generate(
        MESSAGES, Sampling(NEW_TOKENS, temperature=0.0), ids.extend, tools=tools
    )
    decoder = engine.decoder()
    return result.prompt_tokens, decoder.push(ids) + decoder.flush()


def test_tools_and_tool_turns_reach_the_template_as_in_the_engine(
    api: LocalApi, openai_client: Any, engine: Engine
) -> None:
    prompt, text = _greedy(engine, [WEATHER])
    plain_prompt, _ = _greedy(engine, [])
    assert prompt > plain_prompt  # the definitions are in the prompt
    whole = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=CONVERSATION,
        tools=[WEATHER],
        max_tokens=NEW_TOKENS,
        temperature=0,
    )
    assert whole.usage.prompt_tokens == prompt
    parsed = parse_answer(text)
    assert (whole.choices[0].message.content or "") == parsed.content
    assert not parsed.calls and whole.choices[0].message.tool_calls is None

    streamed = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=CONVERSATION,
        tools=[WEATHER],
        max_tokens=NEW_TOKENS,
        temperature=0,
        stream=True,
    )
    chunks = [c for c in streamed if c.choices]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == parsed.content
    assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason


def test_tool_choice_none_offers_no_tools(
    api: LocalApi, openai_client: Any, engine: Engine
) -> None:
    plain_prompt, _ = _greedy(engine, [])
    whole = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=CONVERSATION,
        tools=[WEATHER],
        tool_choice="none",
        max_tokens=2,
        temperature=0,
    )
    assert whole.usage.prompt_tokens == plain_prompt


# ------------------------------------------------------------------ calls coming out
PYTHONIC = "[get_weather(city='San Francisco', metric='celsius'), get_weather(city='Seattle')]"
JSON_CALL = '{"name": "get_weather", "parameters": {"city": "LA", "metric": "C"}}'


class Scripted:
    """Stands in for `SharedModel`: streams `text` in pieces of three characters."""

    model_id = "scripted"
    ready = SimpleNamespace(context_length=0)  # 0: no context bound
    unavailable = ""

    def __init__(self) -> None:
        self.text = ""
        self.finish = "stop"
        self.asked: list[tuple[list[p.ChatTurn], list[dict[str, Any]]]] = []

    def serves(self, name: str) -> bool:
        return name == self.model_id

    async def answer(
        self,
        turns: Sequence[p.ChatTurn],
        sampling: AskedSampling,
        stop: tuple[str, ...] = (),
        on_end: Any = lambda: None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[Delta | Finish]:
        self.asked.append((list(turns), list(tools)))
        pieces = Pieces(self.text)
        # With tools, the text passes the worker's own call reader, as in the worker.
        reader = CallReadingDecoder(pieces) if tools else None
        try:
            for i, piece in enumerate(pieces.pieces):
                shown = reader.push([i]) if reader else piece
                if shown:
                    yield Delta(shown)
            tail = reader.flush() if reader else ""
            if tail:
                yield Delta(tail)
            done: p.Message = p.Done("s", 40, 0, len(pieces.pieces), 0.1, 1.0, self.finish)
            done = reader.amend(done) if reader else done
            assert isinstance(done, p.Done)
            yield Finish(done.finish_reason, 40, len(pieces.pieces), 0, tuple(done.tool_calls))
        finally:
            on_end()


@pytest.fixture(scope="module")
def scripted_api() -> Iterator[tuple[Scripted, Any]]:
    import openai

    model = Scripted()
    server = ApiServer(build_app(model, ApiSettings()), "127.0.0.1", free_port())  # type: ignore[arg-type]
    server.start()
    try:
        yield model, openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    finally:
        server.stop()


def _ask(client: Any, stream: bool, **extra: Any) -> Any:
    return client.chat.completions.create(
        model="scripted",
        messages=[{"role": "user", "content": "Weather?"}],
        tools=[WEATHER],
        stream=stream,
        **extra,
    )


def _streamed_calls(chunks: list[Any]) -> tuple[str, list[tuple[str, dict[str, Any]]], str]:
    """Text, calls (name, arguments) and finish reason, put together as a client does."""
    text, calls, finish = "", {}, ""
    for chunk in chunks:
        if not chunk.choices:
            continue
        delta = chunk.choices[0].delta
        text += delta.content or ""
        for call in delta.tool_calls or []:
            entry = calls.setdefault(call.index, {"name": "", "arguments": "", "id": ""})
            entry["id"] += call.id or ""
            entry["name"] += call.function.name or ""
            entry["arguments"] += call.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert all(entry["id"].startswith("call_") for entry in calls.values())
    named = [(e["name"], json.loads(e["arguments"])) for _, e in sorted(calls.items())]
    return text, named, finish


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_a_pythonic_answer_comes_out_as_tool_calls(
    scripted_api: tuple[Scripted, Any], stream: bool
) -> None:
    model, client = scripted_api
    model.text, model.finish = PYTHONIC, "stop"
    expected = [
        ("get_weather", {"city": "San Francisco", "metric": "celsius"}),
        ("get_weather", {"city": "Seattle"}),
    ]
    if stream:
        text, calls, finish = _streamed_calls(list(_ask(client, True)))
        assert text == ""
    else:
        choice = _ask(client, False).choices[0]
        assert choice.message.content is None
        calls = [
            (c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls
        ]
        finish = choice.finish_reason
        assert len({c.id for c in choice.message.tool_calls}) == 2
    assert calls == expected
    assert finish == "tool_calls"
    assert model.asked[-1][1] == [WEATHER]


def test_the_json_form_and_parallel_tool_calls_false(scripted_api: tuple[Scripted, Any]) -> None:
    model, client = scripted_api
    model.text = "<|python_start|>" + JSON_CALL + "<|python_end|>"
    choice = _ask(client, False).choices[0]
    assert [
        (c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls
    ] == [("get_weather", {"city": "LA", "metric": "C"})]
    model.text = PYTHONIC
    text, calls, finish = _streamed_calls(list(_ask(client, True, parallel_tool_calls=False)))
    assert [name for name, _ in calls] == ["get_weather"] and finish == "tool_calls"


def test_prose_streams_as_text_and_a_cut_off_call_stays_text(
    scripted_api: tuple[Scripted, Any],
) -> None:
    model, client = scripted_api
    model.text, model.finish = "It is sunny in [LA] today, about 24 °C.", "stop"
    chunks = list(_ask(client, True))
    text, calls, finish = _streamed_calls(chunks)
    assert (text, calls, finish) == (model.text, [], "stop")
    assert sum(bool(c.choices and c.choices[0].delta.content) for c in chunks) > 3  # streamed

    model.text, model.finish = "[get_weather(city='San Fr", "length"
    choice = _ask(client, False).choices[0]
    assert choice.message.content == model.text and choice.message.tool_calls is None
    assert choice.finish_reason == "length"


def test_tool_turns_go_to_the_model_as_the_worker_takes_them(
    scripted_api: tuple[Scripted, Any],
) -> None:
    model, client = scripted_api
    model.text = "Sunny."
    client.chat.completions.create(model="scripted", messages=CONVERSATION, tools=[WEATHER])
    turns, tools = model.asked[-1]
    assert tools == [WEATHER]
    assert [t.role for t in turns] == ["system", "user", "assistant", "tool"]
    assert turns[2].tool_calls == [
        {"id": "call_1", "name": "get_weather", "arguments": {"city": "LA"}}
    ]
    assert turns[3].text == "Sunny, 24 °C, light wind." and turns[3].tool_call_id == "call_1"
