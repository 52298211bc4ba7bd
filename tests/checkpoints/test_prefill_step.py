"""The prefill step setting and what the preflight counts for bigger steps; torch-free."""

from __future__ import annotations

import dataclasses

import pytest

from app.checkpoints.devices import parse_gpu_spec
from app.checkpoints.prefill_step import (
    PREFILL_STEP_ENV,
    STEPS,
    WINDOW_ATTENTION_ENV,
    PrefillStepError,
    describe_step,
    largest_step,
    pinned_or_default,
    pinned_step,
    steps_within,
    window_attention_on,
    window_attention_or_default,
)
from app.checkpoints.preflight import model_memory_from_config, preflight
from tests.checkpoints.test_preflight import MAVERICK_FP8


def test_the_setting_pins_a_step_or_is_refused_with_a_sentence() -> None:
    assert pinned_step({}) is None and pinned_step({PREFILL_STEP_ENV: " Auto "}) is None
    assert pinned_step({PREFILL_STEP_ENV: " 2048 "}) == 2048
    for bad in ("1000", "16384", "fast", "-512"):
        with pytest.raises(PrefillStepError, match="use one of 512, 1024, 2048, 4096, 8192"):
            pinned_step({PREFILL_STEP_ENV: bad})
    assert pinned_or_default({PREFILL_STEP_ENV: "7"}) is None  # the worker refuses it at load
    assert describe_step(None, 8192) == (
        "steps of 512 to 8,192 tokens, as large as free memory allows "
        "(MAVERICK_DESK_PREFILL_STEP=512 pins the bit-exact 512)"
    )
    assert describe_step(None, 256).startswith("512-token steps: the model's chunked-attention")
    assert describe_step(2048) == "2048-token steps (MAVERICK_DESK_PREFILL_STEP=2048)"


def test_the_largest_step_that_fits_within_the_window_and_512_when_none_does() -> None:
    assert largest_step(lambda step: 10 * step, 30_000) == 2048
    assert largest_step(lambda step: 10 * step, 0) == 512
    assert largest_step(lambda step: 10 * step, 1 << 40, window=8192) == 8192
    assert largest_step(lambda step: 10 * step, 1 << 40, window=1024) == 1024
    assert steps_within(0) == STEPS == (512, 1024, 2048, 4096, 8192)
    assert steps_within(256) == (512,)  # the demo's window over the mask: no bigger step


def test_window_attention_is_on_unless_turned_off_and_a_typo_is_refused() -> None:
    assert window_attention_on({}) and window_attention_on({WINDOW_ATTENTION_ENV: "on"})
    assert not window_attention_on({WINDOW_ATTENTION_ENV: " OFF "})
    for bad in ("of", "0", "maybe"):
        with pytest.raises(PrefillStepError, match="use 'on' .* or 'off'"):
            window_attention_on({WINDOW_ATTENTION_ENV: bad})
    assert window_attention_or_default({WINDOW_ATTENTION_ENV: "of"})  # refused at load


def test_maverick_preflight_counts_the_bigger_steps_activations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(PREFILL_STEP_ENV)
    memory = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    assert memory.pinned_step is None and memory.prefill_chunk == 512
    gpus = parse_gpu_spec("8x80GB")
    result = preflight(memory, gpus, 100_000)
    assert result.prefill_step == 8192
    # By hand: the 8,192-token step's transient, and on the GPU with the most KV (6
    # layers, 4 of them chunked) 8,192 - 512 more positions in each chunked layer,
    # 2 (K, V) x 8 heads x 128 x 2 bytes each.
    at_8192 = dataclasses.replace(memory, prefill_chunk=8192).prompt_pass_bytes(100_000, "sdpa")
    assert result.prefill_step_bytes == at_8192 + 4 * (8192 - 512) * 4096
    assert result.prefill_step_bytes > 2 * memory.prompt_pass_bytes(100_000, "sdpa")
    assert "the engine computes 8,192-token steps" in dict(result.details())["prompt pass"]
    # The longest context is worked out with the 512-token steps the engine falls back
    # to: at that context no bigger step fits.
    longest = preflight(memory, gpus)
    assert longest.prefill_step == 512
    assert longest.prefill_step_bytes == memory.prompt_pass_bytes(longest.context, "sdpa")
    # Pinned, the step is counted in the longest context itself: a shorter one.
    monkeypatch.setenv(PREFILL_STEP_ENV, "8192")
    pinned = model_memory_from_config(MAVERICK_FP8, "Maverick FP8")
    assert pinned.prefill_chunk == pinned.pinned_step == 8192
    assert preflight(pinned, gpus, 100_000).prefill_step == 8192
    assert preflight(pinned, gpus).context < longest.context
