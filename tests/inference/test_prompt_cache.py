"""The prompt cache in process: exact ids, images not processed again, cut-backs, budgets, OOM."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image, ImageDraw

from app.inference.compiled_decode import prefill_logits
from app.inference.engine import ChatMessage, Engine
from app.inference.loader import LoadedModel, load_model
from app.inference.prefill import PREFILL_CHUNK_TOKENS, exact_length, prefill_chunks
from app.inference.prompt_cache import PromptCache, new_cache
from app.vocabulary.sampling import Sampling

GREEDY = Sampling(max_new_tokens=12, temperature=0.0)
LONG = "Summarise the table on this page and compare it with the chart. " * 16  # 434 tokens
CHUNK = PREFILL_CHUNK_TOKENS


@pytest.fixture(scope="module")
def loaded(demo_bf16: Path) -> LoadedModel:
    return load_model(demo_bf16)


# 512-token prefill steps: a reused cache is bit-exact, the answers the same (README).
@pytest.fixture(scope="module")
def cold(loaded: LoadedModel) -> Engine:
    return Engine(loaded, prompt_cache=PromptCache(max_entries=0), prefill_step=CHUNK)


@pytest.fixture
def warm(loaded: LoadedModel) -> Engine:
    return Engine(loaded, prompt_cache=PromptCache(), prefill_step=CHUNK)


@pytest.fixture
def pictures(tmp_path: Path) -> dict[str, str]:
    """Four images; `twin` has the size of `wide` (the same token ids) but other pixels."""
    paths = {}
    for name, size, colour in [
        ("wide", (640, 360), (30, 90, 200)),
        ("tall", (150, 500), (20, 160, 60)),
        ("square", (300, 300), (200, 160, 60)),
        ("twin", (640, 360), (220, 30, 30)),
    ]:
        image = Image.new("RGB", size, colour)
        ImageDraw.Draw(image).ellipse((10, 10, size[0] // 2, size[1] // 2), fill=(250, 250, 250))
        paths[name] = str(tmp_path / f"{name}.png")
        image.save(paths[name])
    return paths


@pytest.fixture
def vision_calls(loaded: LoadedModel) -> Iterator[list[int]]:
    """The number of tiles of every call of the vision tower."""
    tower = next(m for m in loaded.model.modules() if type(m).__name__ == "Llama4VisionModel")
    calls: list[int] = []

    def record(module: Any, args: Any) -> None:
        calls.append(int(args[0].shape[0]))

    handle = tower.register_forward_pre_hook(record)
    yield calls
    handle.remove()


def _tiles(loaded: LoadedModel, path: str) -> int:
    processor: Any = loaded.processor
    out = processor.image_processor(images=[Image.open(path).convert("RGB")], return_tensors="pt")
    return int(out["pixel_values"].shape[0])


def _answer(engine: Engine, messages: list[ChatMessage]) -> tuple[list[int], int]:
    result = engine.generate(messages, GREEDY, lambda ids: None)
    return result.token_ids, result.cached_prompt_tokens


def _text(engine: Engine, ids: list[int]) -> str:
    return str(engine.loaded.processor.tokenizer.decode(ids, skip_special_tokens=True))  # type: ignore[attr-defined]


def test_prompt_ids_are_the_processors(warm: Engine, pictures: dict[str, str]) -> None:
    processor: Any = warm.loaded.processor
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Compare: " + LONG, (pictures["wide"], pictures["tall"])),
        ChatMessage("assistant", "They differ."),
        ChatMessage("user", "And this one?", (pictures["square"],)),
    ]
    chat = [
        {
            "role": m.role,
            "content": [{"type": "image"} for _ in m.images] + [{"type": "text", "text": m.text}],
        }
        for m in messages
    ]
    text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    images = [Image.open(p).convert("RGB") for m in messages for p in m.images]
    expected = processor(text=text, images=images, return_tensors="pt")
    prepared = warm.prepare(messages)
    assert prepared.ids == expected["input_ids"][0].tolist()
    pixels = torch.cat(prepared.pixels)
    assert torch.equal(pixels, expected["pixel_values"].to(warm.loaded.dtype))


def test_follow_ups_reuse_the_cache_and_skip_cached_images(
    warm: Engine, cold: Engine, pictures: dict[str, str], vision_calls: list[int]
) -> None:
    loaded = warm.loaded
    messages = [ChatMessage("user", LONG, (pictures["wide"], pictures["tall"]))]
    tokens, cached = _answer(warm, messages)
    assert cached == 0
    # One call per image: a batch of one image's tiles, the same whatever else is asked.
    assert vision_calls == [_tiles(loaded, pictures["wide"]), _tiles(loaded, pictures["tall"])]
    assert _answer(cold, messages)[0] == tokens
    prompt = cold.prepare(messages).ids
    assert len(prompt) > CHUNK > 256  # past the demo's chunked-attention window
    for turn, images in [(2, ()), (3, (pictures["square"],)), (4, ())]:
        messages = [
            *messages,
            ChatMessage("assistant", _text(warm, tokens)),
            ChatMessage("user", f"Question {turn}: " + LONG, images),
        ]
        vision_calls.clear()
        tokens, cached = _answer(warm, messages)
        assert cached == exact_length(len(prompt), CHUNK) > 0
        # Only images not wholly inside the cached prefix go through the vision tower:
        # the new one, and one that the prefix's end cuts (its last rows are needed).
        prepared = cold.prepare(messages)
        paths = [path for m in messages for path in m.images]
        spans = warm._prompt.spans(prepared.ids, paths)
        redone = [path for path, s in zip(paths, spans, strict=True) if s.end > cached]
        assert vision_calls == [_tiles(loaded, path) for path in redone]
        assert set(images) <= set(redone)
        assert tokens == _answer(cold, messages)[0]
        prompt = cold.prepare(messages).ids


def test_bigger_steps_reuse_at_512_boundaries_equal_up_to_rounding(loaded: LoadedModel) -> None:
    """2,048-token steps: the cache is still reused at 512, the follow-up computes the rest
    of its step in another shape than a cold prefill (1,024..2,048 alone, not 0..2,048)."""
    warm = Engine(loaded, prompt_cache=PromptCache(), prefill_step=2048)
    cold = Engine(loaded, prompt_cache=PromptCache(max_entries=0), prefill_step=2048)
    forwards: list[int] = []

    def record(module: Any, args: Any, kwargs: Any) -> None:
        forwards.append(int(kwargs["input_ids"].shape[1]))

    model: Any = loaded.model
    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        first = [ChatMessage("user", LONG + LONG + LONG)]
        tokens, cached = _answer(warm, first)
        length = len(warm.prepare(first, use_cache=False).ids)
        assert cached == 0 and forwards[0] == exact_length(length, CHUNK) == 1024  # one forward
        follow = [
            *first,
            ChatMessage("assistant", _text(warm, tokens)),
            ChatMessage("user", "Question 2: " + LONG + LONG),
        ]
        forwards.clear()
        again, cached = _answer(warm, follow)
        assert cached == 1024 and forwards[0] == 2048 - 1024  # to the step's end, at 2,048
        forwards.clear()
        assert again == _answer(cold, follow)[0]
        assert forwards[0] == 2048  # a cold prefill: one step from 0
    finally:
        handle.remove()
    # What "up to rounding" means here: the same prompt's last logits, computed both ways.
    ids = torch.tensor([cold.prepare(follow, use_cache=False).ids])
    logits = []
    for resume in (0, 1024):
        cache = new_cache(model.config)
        with torch.inference_mode():
            prefill_chunks(model, ids, cache, 0, resume, None, -1, 2048, lambda: False)
            prefill_chunks(model, ids, cache, resume, 2048, None, -1, 2048, lambda: False)
            logits.append(prefill_logits(model, ids, cache, 2048).float())
    assert float((logits[0] - logits[1]).abs().max()) < 0.02  # bf16 eps: 0.0078


def test_same_size_other_image_is_not_taken_from_the_cache(
    warm: Engine, cold: Engine, pictures: dict[str, str], vision_calls: list[int]
) -> None:
    first = [ChatMessage("user", LONG + LONG, (pictures["wide"],))]
    swapped = [ChatMessage("user", LONG + LONG, (pictures["twin"],))]
    ids = cold.prepare(first).ids
    assert cold.prepare(swapped).ids == ids and len(ids) > 2 * CHUNK  # the same token ids...
    _answer(warm, first)
    vision_calls.clear()
    tokens, cached = _answer(warm, swapped)
    # ... but the twin's pixels differ: the cache stops before its tokens.
    assert ids.index(warm._prompt._start_id) < CHUNK and cached == 0
    assert vision_calls == [_tiles(warm.loaded, pictures["twin"])]
    assert tokens == _answer(cold, swapped)[0]


def test_a_cache_that_cannot_be_cut_back_exactly_falls_back(
    loaded: LoadedModel,
    cold: Engine,
    pictures: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # No history beyond the window: an edit far back cannot be served from the cache.
    engine = Engine(loaded, prompt_cache=PromptCache(history_tokens=0))
    first = [ChatMessage("user", LONG + LONG, (pictures["wide"],))]
    tokens, _ = _answer(engine, first)
    follow = [*first, ChatMessage("assistant", _text(engine, tokens)), ChatMessage("user", "More?")]
    _answer(engine, follow)
    edited = [ChatMessage("user", LONG + LONG + "Shorter.", (pictures["wide"],))]
    with caplog.at_level(logging.INFO, logger="app.inference.prompt_cache"):
        tokens, cached = _answer(engine, edited)
    assert cached == 0
    assert "cannot cut the cache" in caplog.text
    assert tokens == _answer(cold, edited)[0]


def test_seeded_sampling_is_unchanged(warm: Engine, cold: Engine, pictures: dict[str, str]) -> None:
    sampled = Sampling(max_new_tokens=12, temperature=0.9, top_p=0.9, seed=11)
    messages = [ChatMessage("user", LONG, (pictures["wide"],))]
    first = warm.generate(messages, sampled, lambda ids: None)
    follow = [*messages, ChatMessage("assistant", "Yes."), ChatMessage("user", "Why?")]
    warm_result = warm.generate(follow, sampled, lambda ids: None)
    assert first.cached_prompt_tokens == 0 and warm_result.cached_prompt_tokens == CHUNK
    assert warm_result.token_ids == cold.generate(follow, sampled, lambda ids: None).token_ids


def test_entries_and_bytes_are_bounded(loaded: LoadedModel, pictures: dict[str, str]) -> None:
    engine = Engine(loaded, prompt_cache=PromptCache(max_entries=2))
    conversations = [[ChatMessage("user", f"Conversation {n}. " + LONG * 2)] for n in range(3)]
    for messages in conversations:
        _answer(engine, messages)
    assert len(engine.prompt_cache) == 2
    # The oldest went first (only the shared first tokens come from another's cache);
    # the newest is still served whole from its own, untouched by the others.
    assert _answer(engine, conversations[0])[1] == 0  # shares a few tokens, not a chunk
    ids = engine.prepare(conversations[2], use_cache=False).ids
    assert _answer(engine, conversations[2])[1] == exact_length(len(ids), CHUNK) > 0
    tight = Engine(loaded, prompt_cache=PromptCache(budget_bytes=1024))
    _answer(tight, conversations[0])
    assert len(tight.prompt_cache) == 0 and tight.prompt_cache.nbytes == 0
    # The budget from free memory: half of what is free, here nearly nothing.
    starved = Engine(loaded, prompt_cache=PromptCache(free_bytes=lambda: 10_000))
    _answer(starved, conversations[1])
    assert len(starved.prompt_cache) == 0
    # A set budget is checked against free memory: a generous one on a full device
    # keeps nothing; the same budget with memory to spare keeps the cache.
    full = PromptCache(budget_bytes=1 << 40, free_bytes=lambda: 10_000)
    _answer(Engine(loaded, prompt_cache=full), conversations[1])
    assert len(full) == 0
    roomy = PromptCache(budget_bytes=1 << 40, free_bytes=lambda: 1 << 41)
    _answer(Engine(loaded, prompt_cache=roomy), conversations[1])
    assert len(roomy) == 1 and 0 < roomy.nbytes < 1 << 40


def test_out_of_memory_in_prefill_drops_the_cache_and_retries(
    warm: Engine, cold: Engine, pictures: dict[str, str]
) -> None:
    messages = [ChatMessage("user", LONG, (pictures["wide"],))]
    tokens, _ = _answer(warm, messages)
    follow = [*messages, ChatMessage("assistant", _text(warm, tokens)), ChatMessage("user", "Go")]
    assert warm.prepare(follow, use_cache=False).prompt_tokens > CHUNK
    failures = [1]

    def fail_once(module: Any, args: Any, kwargs: Any) -> None:
        cache = kwargs.get("past_key_values")
        if failures and cache is not None and cache.get_seq_length() > 0:
            failures.pop()
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    text_model = warm.loaded.model.language_model
    handle = text_model.register_forward_pre_hook(fail_once, with_kwargs=True)
    try:
        tokens, cached = _answer(warm, follow)
    finally:
        handle.remove()
    assert not failures  # it did fail once
    assert cached == 0
    assert tokens == _answer(cold, follow)[0]
