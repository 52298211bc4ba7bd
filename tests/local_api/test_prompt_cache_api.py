"""The worker's prompt cache through the local API: `usage.prompt_tokens_details.cached_tokens`.

Real servers on 127.0.0.1, each with its own worker on the bf16 demo: one with the
default (one conversation kept), one started as `serve --prompt-cache 2` would start it.
A follow-up's answer equals a cold `maverick-desk ask`; what the usage says was cached is
the whole 512-token chunks of the shared prefix (`exact_length`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engines.managed_server import free_port
from app.inference.prefill import PREFILL_CHUNK_TOKENS, exact_length
from app.local_api.serving import LocalApi, ServeOptions
from tests.local_api.conftest import close_api, make_api

# Two conversations that differ from their first tokens: neither can use the other's cache.
SYSTEMS = {
    name: f"You answer questions about the {name} report. "
    + "The quarterly report lists revenue, costs and the margin for every region. " * 40
    for name in ("north", "south")
}
QUESTION = "Summarise the first table."
FOLLOW_UP = "Now the second one, as CSV."


@pytest.fixture(scope="module")
def two_kept(demo_bf16: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    served = make_api(
        ServeOptions(port=free_port(), prompt_cache_entries=2, prompt_cache_bytes=8 << 30),
        tmp_path_factory.mktemp("api-2"),
    )
    try:
        served.load(demo_bf16)
        yield served
    finally:
        close_api(served)


def _client(api: LocalApi) -> Any:
    import openai

    return openai.OpenAI(base_url=api.base_url, api_key="unused", max_retries=0, timeout=300)


def _ask(client: Any, api: LocalApi, messages: list[dict[str, str]]) -> tuple[str, int, int]:
    reply = client.chat.completions.create(
        model=api.model.model_id, messages=messages, max_tokens=8, temperature=0
    )
    usage = reply.usage
    return (
        reply.choices[0].message.content,
        usage.prompt_tokens,
        usage.prompt_tokens_details.cached_tokens,
    )


def _conversation(name: str, answer: str | None = None) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEMS[name]}, {"role": "user", "content": QUESTION}]
    if answer is not None:
        messages += [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": FOLLOW_UP},
        ]
    return messages


def _interleave(api: LocalApi) -> dict[str, tuple[int, int, int]]:
    """North, south, then each one's follow-up: (first prompt, follow-up prompt, cached)."""
    client = _client(api)
    first = {name: _ask(client, api, _conversation(name)) for name in SYSTEMS}
    for name, (_, prompt, cached) in first.items():
        assert prompt > 2 * PREFILL_CHUNK_TOKENS and cached == 0, (name, prompt, cached)
    seen = {}
    for name in SYSTEMS:
        _, prompt, cached = _ask(client, api, _conversation(name, first[name][0]))
        seen[name] = (first[name][1], prompt, cached)
    return seen


def test_two_kept_conversations_both_follow_up_from_the_cache(two_kept: LocalApi) -> None:
    ready = two_kept.model.ready
    assert ready is not None and ready.runtime["prompt_cache"] == "2"
    assert ready.runtime["prompt_cache_bytes"] == str(8 << 30)
    for name, (first_prompt, prompt, cached) in _interleave(two_kept).items():
        # The first question's tokens are the prefix; whole chunks of it come from the cache.
        assert cached == exact_length(first_prompt, PREFILL_CHUNK_TOKENS) > 0, name
        assert cached < prompt


def test_one_kept_conversation_serves_only_the_most_recent(api: LocalApi) -> None:
    seen = _interleave(api)
    # North's cache went when south's came, south's when north's follow-up came.
    assert seen["north"][2] == seen["south"][2] == 0
    # The most recent one is kept: south's follow-up again (Regenerate) comes from it.
    client = _client(api)
    first = _ask(client, api, _conversation("south"))[0]
    _, prompt, cached = _ask(client, api, _conversation("south", first))
    assert cached == exact_length(seen["south"][0], PREFILL_CHUNK_TOKENS) > 0
    assert _ask(client, api, _conversation("south", first))[2] == exact_length(
        prompt, PREFILL_CHUNK_TOKENS
    )


def test_a_cached_follow_up_answers_as_a_cold_one(two_kept: LocalApi, api: LocalApi) -> None:
    warm, cold = _client(two_kept), _client(api)
    answer = _ask(warm, two_kept, _conversation("north"))[0]
    follow = _conversation("north", answer)
    text, prompt, cached = _ask(warm, two_kept, follow)
    assert cached > 0
    _ask(cold, api, _conversation("south"))  # the other server keeps only south's cache
    assert _ask(cold, api, follow) == (text, prompt, 0)


def test_an_answer_ended_by_a_stop_string_reports_its_cached_tokens(two_kept: LocalApi) -> None:
    client = _client(two_kept)
    follow = _conversation("south", _ask(client, two_kept, _conversation("south"))[0])
    text, prompt, cached = _ask(client, two_kept, follow)
    assert cached > 0
    stop = text[len(text) // 2 : len(text) // 2 + 2]
    assert stop.strip(), text
    reply = client.chat.completions.create(
        model=two_kept.model.model_id, messages=follow, max_tokens=8, temperature=0, stop=[stop]
    )  # the worker is cancelled at the stop string: its Cancelled carries the counts
    assert reply.choices[0].finish_reason == "stop"
    assert reply.choices[0].message.content == text[: text.index(stop)]
    assert reply.usage.prompt_tokens == prompt
    assert reply.usage.prompt_tokens_details.cached_tokens == exact_length(
        prompt, PREFILL_CHUNK_TOKENS
    )
