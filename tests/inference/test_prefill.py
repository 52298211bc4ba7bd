"""The prefill step the engine takes: pinned, or the largest that fits free memory."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from app.checkpoints.checkpoint import inspect_checkpoint
from app.checkpoints.prefill_step import PREFILL_STEP_ENV, WINDOW_ATTENTION_ENV
from app.checkpoints.preflight import model_memory
from app.inference.engine import ChatMessage, Engine
from app.inference.loader import load_model
from app.inference.prefill import StepPlanner
from app.inference.prompt_cache import PREFILL_RESERVE_BYTES, PromptCache
from app.vocabulary.sampling import Sampling


def _windowed(memory: Any, window: int, by_window: bool = False) -> Any:
    """The demo's memory figures with a chunked-attention window of `window` (Maverick: 8,192).

    `by_window`: the chunked layers attend window by window (else over transformers' mask).
    """
    attention = dataclasses.replace(memory.attention, window=window, windowed=by_window)
    return dataclasses.replace(memory, chunk_size=window, attention=attention)


def test_the_step_is_the_largest_that_fits_free_memory(demo_bf16: Path) -> None:
    memory = _windowed(model_memory(inspect_checkpoint(demo_bf16)), 8192)
    free = [0]
    cpu = [torch.device("cpu")]
    planner = StepPlanner(memory, "sdpa", cpu, free_bytes=lambda: free[0])
    need = {step: memory.step_bytes(3000, "sdpa", step) for step in (2048, 4096)}
    assert need[2048] < need[4096]
    free[0] = PREFILL_RESERVE_BYTES + need[2048]
    assert planner.step_for(3000) == 2048
    free[0] = PREFILL_RESERVE_BYTES
    assert planner.step_for(3000) == 512  # nothing bigger fits: the smallest step
    assert StepPlanner(memory, "sdpa", cpu, pinned=1024, free_bytes=lambda: 0).step_for(9) == 1024
    # Two GPUs: each needs the room, so each has half of what is free.
    gpus = [torch.device("cuda", 0), torch.device("cuda", 1)]
    free[0] = 2 * (PREFILL_RESERVE_BYTES + memory.step_bytes(3000, "sdpa", 2048, 2))
    assert StepPlanner(memory, "sdpa", gpus, free_bytes=lambda: free[0]).step_for(3000) == 2048


@pytest.mark.parametrize("by_window", [True, False])
def test_unset_the_engine_takes_steps_as_large_as_memory_and_attention_allow(
    demo_bf16: Path, monkeypatch: pytest.MonkeyPatch, by_window: bool
) -> None:
    monkeypatch.delenv(PREFILL_STEP_ENV)  # tests/conftest.py pins 512
    monkeypatch.setenv(WINDOW_ATTENTION_ENV, "on" if by_window else "off")
    loaded = load_model(demo_bf16)
    engine = Engine(loaded, prompt_cache=PromptCache(max_entries=0))
    assert engine.prefill_steps.pinned is None
    forwards: list[int] = []

    def record(module: Any, args: Any, kwargs: Any) -> None:
        forwards.append(int(kwargs["input_ids"].shape[1]))

    model: Any = loaded.model
    handle = model.register_forward_pre_hook(record, with_kwargs=True)
    try:
        question = [ChatMessage("user", "Compare the two tables, row by row. " * 115)]
        result = engine.generate(question, Sampling(max_new_tokens=2), lambda ids: None)
    finally:
        handle.remove()
    assert engine.prefill_steps.memory.chunk_size == 256
    last = (result.prompt_tokens - 1) // 512 * 512
    assert last == 2560
    if by_window:
        # Gigabytes are free and the chunked layers attend window by window: the 2,560
        # tokens before the last chunk go in one step across the demo's 256-token windows.
        assert forwards[:2] == [2560, result.prompt_tokens - last]
    else:
        # Over transformers' mask a step stays within a 256-token window: 512s.
        assert forwards[:6] == [512] * 5 + [result.prompt_tokens - last]


def test_a_step_lies_within_one_chunked_attention_window(demo_bf16: Path) -> None:
    """Over transformers' mask; window by window, any step that fits."""
    memory = model_memory(inspect_checkpoint(demo_bf16))
    cpu = [torch.device("cpu")]
    for window, expected in ((8192, 8192), (2048, 2048), (256, 512)):
        for by_window in (False, True):
            windowed = _windowed(memory, window, by_window)
            planner = StepPlanner(windowed, "sdpa", cpu, free_bytes=lambda: 1 << 40)
            assert planner.step_for(20_000) == (8192 if by_window else expected)
