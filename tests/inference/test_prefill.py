"""The prefill step the engine takes: pinned, or the largest that fits free memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from app.checkpoints.checkpoint import inspect_checkpoint
from app.checkpoints.prefill_step import PREFILL_STEP_ENV
from app.checkpoints.preflight import model_memory
from app.inference.engine import ChatMessage, Engine, SamplingParams
from app.inference.loader import load_model
from app.inference.prefill import StepPlanner
from app.inference.prompt_cache import PREFILL_RESERVE_BYTES, PromptCache


def test_the_step_is_the_largest_that_fits_free_memory(demo_bf16: Path) -> None:
    memory = model_memory(inspect_checkpoint(demo_bf16))
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


def test_unset_the_engine_prefills_a_long_prompt_in_one_step(
    demo_bf16: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PREFILL_STEP_ENV)  # tests/conftest.py pins 512
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
        result = engine.generate(question, SamplingParams(max_new_tokens=2), lambda ids: None)
    finally:
        handle.remove()
    # This machine has gigabytes free: 8,192-token steps. The 2,560 tokens before the
    # last chunk go in one forward, not five; the last chunk yields the first token.
    assert engine.prefill_steps.step_for(result.prompt_tokens) == 8192
    last = (result.prompt_tokens - 1) // 512 * 512
    assert last == 2560 and forwards[:2] == [last, result.prompt_tokens - last]
