"""In-process generation: FP8 twin equals bf16, cancellation granularity, text decoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.inference.engine import (
    ChatMessage,
    Engine,
    IncrementalDecoder,
    InputError,
)
from app.inference.loader import load_model
from app.vocabulary.sampling import Sampling
from tests.demo_answers import LONG_ANSWER_MIN_TOKENS

GREEDY = Sampling(max_new_tokens=24, temperature=0.0)


@pytest.fixture(scope="module")
def bf16_engine(demo_bf16: Path) -> Engine:
    return Engine(load_model(demo_bf16))


@pytest.fixture(scope="module")
def fp8_engine(demo_fp8: Path) -> Engine:
    return Engine(load_model(demo_fp8))


def _run(engine: Engine, messages: list[ChatMessage], params: Sampling = GREEDY) -> list[int]:
    return engine.generate(messages, params, lambda ids: None).token_ids


def test_fp8_loads_dequantised_on_cpu(fp8_engine: Engine) -> None:
    loaded = fp8_engine.loaded
    assert loaded.quantisation == "fp8 dequantised to bf16"
    assert any("dequantised to bf16" in w for w in loaded.warnings)
    experts = loaded.model.language_model.model.layers[1].feed_forward.experts
    weight = experts[0].gate_proj.weight
    # Dequantised, initialised weights: not FP8, not empty, not all zeros.
    assert weight.dtype.is_floating_point and weight.element_size() == 2
    assert float(weight.abs().sum()) > 0


def test_fp8_twin_same_greedy_tokens(
    bf16_engine: Engine, fp8_engine: Engine, images: dict[str, Path]
) -> None:
    text_only = [ChatMessage("user", "Describe the chart and summarise the table.")]
    with_images = [
        ChatMessage(
            "user", "What is in these pictures?", (str(images["wide"]), str(images["tall"]))
        )
    ]
    for messages in (text_only, with_images):
        expected = _run(bf16_engine, messages)
        assert len(expected) == GREEDY.max_new_tokens
        assert _run(fp8_engine, messages) == expected


def test_the_long_question_gets_a_long_greedy_answer_in_process_too(
    bf16_engine: Engine, long_question: str
) -> None:
    # Tests that stop, kill or save an answer mid-stream ask it (tests/demo_answers.py); it
    # was found in a child process, and must run long in this one too.
    result = bf16_engine.generate(
        [ChatMessage("user", long_question)],
        Sampling(max_new_tokens=LONG_ANSWER_MIN_TOKENS, temperature=0.0),
        lambda ids: None,
    )
    assert result.finish_reason == "length", (
        f"the demo ends its answer to {long_question!r} after {result.generated_tokens} tokens"
    )


def test_stop_takes_effect_within_one_token(bf16_engine: Engine) -> None:
    seen: list[int] = []

    def on_tokens(ids: list[int]) -> None:
        seen.extend(ids)

    result = bf16_engine.generate(
        [ChatMessage("user", "Tell me a long story.")],
        Sampling(max_new_tokens=200, temperature=0.0),
        on_tokens,
        should_stop=lambda: len(seen) >= 5,
    )
    # The stop is asked for once 5 tokens are out; at most the token in flight follows.
    assert result.finish_reason == "cancelled"
    assert 5 <= result.generated_tokens <= 6
    assert len(seen) == result.generated_tokens


def test_image_tokens_counted(bf16_engine: Engine, images: dict[str, Path]) -> None:
    prepared = bf16_engine.prepare([ChatMessage("user", "What is this?", (str(images["wide"]),))])
    ids = prepared.tensors["input_ids"][0].tolist()
    patch = bf16_engine.loaded.model.config.image_token_index
    assert prepared.image_tokens == ids.count(patch) > 0
    assert [p.dtype for p in prepared.pixels] == [bf16_engine.loaded.dtype]


def test_context_limit(bf16_engine: Engine) -> None:
    with pytest.raises(InputError, match="more than the model's context of 65,536"):
        bf16_engine.prepare([ChatMessage("user", "hi")], max_new_tokens=70_000)


def test_request_must_end_with_user(bf16_engine: Engine) -> None:
    with pytest.raises(InputError, match="end with a user message"):
        bf16_engine.prepare([ChatMessage("assistant", "hello")])


def test_incremental_decoder_waits_for_whole_characters(bf16_engine: Engine) -> None:
    tokenizer = bf16_engine.loaded.processor.tokenizer  # type: ignore[attr-defined]
    text = "สวัสดี 😀 مرحبا नमस्ते"
    ids = tokenizer.encode(text, add_special_tokens=False)
    decoder = IncrementalDecoder(tokenizer)
    pieces = [decoder.push([i]) for i in ids]
    pieces.append(decoder.flush())
    assert "".join(pieces) == text
    assert not any("\ufffd" in piece for piece in pieces)


def test_decoder_gives_the_same_text_however_tokens_are_grouped(bf16_engine: Engine) -> None:
    # The worker decodes whatever ids queued up since its last write, one or many at a time.
    result = bf16_engine.generate(
        [ChatMessage("user", "Tell me a story.")], GREEDY, lambda ids: None
    )
    ids = result.token_ids
    tokenizer = bf16_engine.loaded.processor.tokenizer  # type: ignore[attr-defined]
    expected = tokenizer.decode(ids, skip_special_tokens=True)
    for size in (1, 3, 7, len(ids)):
        decoder = bf16_engine.decoder()
        pieces = [decoder.push(ids[i : i + size]) for i in range(0, len(ids), size)]
        assert "".join(pieces) + decoder.flush() == expected
