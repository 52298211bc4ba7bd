"""Answers through the local API with the openai client, token for token as `ask` gives them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.local_api.serving import LocalApi
from tests.local_api.conftest import ask, data_url

PROMPT = "Describe a lighthouse at night."


def test_models_lists_the_loaded_model(api: LocalApi, openai_client: Any) -> None:
    models = [m.id for m in openai_client.models.list()]
    assert models == [api.model.model_id] == ["Llama-4-Maverick-demo-random-weights"]
    assert openai_client.models.retrieve(api.model.model_id).owned_by == "maverick-desk"


def test_unstreamed_and_streamed_answers_match_ask(
    api: LocalApi, openai_client: Any, demo_bf16: Path
) -> None:
    expected = ask(demo_bf16, PROMPT, "--system", "Be brief.", new_tokens=16)
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]
    whole = openai_client.chat.completions.create(
        model=api.model.model_id, messages=messages, max_tokens=16, temperature=0
    )
    assert whole.choices[0].message.content == expected
    assert whole.choices[0].finish_reason == "length"
    assert whole.usage.completion_tokens == 16
    assert whole.usage.total_tokens == whole.usage.prompt_tokens + 16

    stream = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=messages,
        max_completion_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == expected
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 16
    assert chunks[-1].usage.prompt_tokens == whole.usage.prompt_tokens
    assert len({c.id for c in chunks}) == 1


def test_stream_without_usage_has_none(api: LocalApi, openai_client: Any) -> None:
    stream = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=[{"role": "user", "content": "Hi"}],
        max_tokens=3,
        temperature=0,
        stream=True,
    )
    assert all(chunk.usage is None and chunk.choices for chunk in stream)


def test_image_request_matches_ask(
    api: LocalApi, openai_client: Any, demo_bf16: Path, images: dict[str, Path]
) -> None:
    expected = ask(demo_bf16, "What is in this picture?", "--image", str(images["wide"]))
    content = [
        {"type": "text", "text": "What is in this picture?"},
        {"type": "image_url", "image_url": {"url": data_url(images["wide"])}},
    ]
    reply = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=[{"role": "user", "content": content}],
        max_tokens=12,
        temperature=0,
    )
    assert reply.choices[0].message.content == expected
    text_only = openai_client.chat.completions.create(
        model=api.model.model_id,
        messages=[{"role": "user", "content": "What is in this picture?"}],
        max_tokens=1,
    )
    assert reply.usage.prompt_tokens > text_only.usage.prompt_tokens + 100  # the image's tokens


def stop_in_the_middle(text: str) -> str:
    """Two characters from the middle of `text` with no space in them (a stop string)."""
    for start in [*range(len(text) // 2, len(text) - 1), *range(1, len(text) // 2)]:
        piece = text[start : start + 2]
        if not any(c.isspace() for c in piece):
            return piece
    raise AssertionError(f"no stop string to take from {text!r}")


def test_stop_string_ends_the_answer(api: LocalApi, openai_client: Any) -> None:
    def answer(**extra: Any) -> Any:
        return openai_client.chat.completions.create(
            model=api.model.model_id,
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=24,
            temperature=0,
            **extra,
        )

    # The whole greedy answer from the same server (the test above checks it is `ask`'s), so
    # the stop string is one the answer really holds on whatever CPU runs this; two middle
    # characters of `ask`'s answer could be a space, which no stop string is.
    full = answer().choices[0].message.content
    stop = stop_in_the_middle(full)
    expected = full[: full.index(stop)]
    for stream in (False, True):
        reply = answer(stop=[stop], stream=stream)
        if stream:
            chunks = list(reply)
            text = "".join(c.choices[0].delta.content or "" for c in chunks)
            reason = chunks[-1].choices[0].finish_reason
        else:
            text, reason = reply.choices[0].message.content, reply.choices[0].finish_reason
            assert reply.usage.prompt_tokens > 5 and reply.usage.completion_tokens < 24
        assert (text, reason) == (expected, "stop"), (full, stop)
    assert api.scheduler.state().running is None


def test_seed_and_sampling_reach_the_worker(api: LocalApi, openai_client: Any) -> None:
    def sample(seed: int, **more: Any) -> str:
        asked = {"max_tokens": 10, "temperature": 1.0, "top_p": 0.95, "seed": seed, **more}
        reply = openai_client.chat.completions.create(
            model=api.model.model_id, messages=[{"role": "user", "content": "Hi"}], **asked
        )
        return str(reply.choices[0].message.content)

    assert sample(7) == sample(7)
    assert len({sample(7), sample(8), sample(9)}) > 1

    # min_p (vLLM's extra parameter) reaches the worker: at temperature 2, min_p 0.9 leaves
    # only the few likeliest tokens, so the same seeds draw other answers than without it.
    def hot(min_p: float) -> list[str]:
        more = {"temperature": 2.0, "top_p": 1.0, "extra_body": {"min_p": min_p}}
        return [sample(seed, **more) for seed in (7, 8)]

    assert hot(0.9) != hot(0.0)
