"""How many prompt tokens one prefill forward computes: as many as memory allows, or pinned.

A kept prompt cache is reusable at multiples of `PREFILL_CHUNK_TOKENS` (512): the
engine cuts it back there and keeps as exact only the whole chunks before a prompt's
last (`app.inference.prefill`). The compute step is another matter: a GPU computes a
forward of 8,192 tokens far faster than 16 of 512 (one pass over the weights, a few
large kernels instead of many small ones). So the engine prefills in steps of a
power-of-two multiple of 512, up to 8,192 tokens (Maverick's `attention_chunk_size`),
each starting at a multiple of its own size: a step never crosses a chunked-attention
window boundary, and a cold prefill of the same prompt always cuts it the same way.

The step is the largest, no larger than the model's chunked-attention window
(`steps_within`), whose transient (`ModelMemory.step_bytes`: the step's masks,
activations and the chunked layers' extra positions) fits in what the devices have
free, less the prefill reserve; ``MAVERICK_DESK_PREFILL_STEP=512`` (or 1024 ... 8192)
pins it. What equality the prompt cache keeps with each is in the README ("Models and
precision"): with 512 a warm follow-up computes exactly what a cold prefill computes;
with a bigger step the positions a follow-up reuses may have been computed in another
step shape than a cold prefill's, which changes bf16 rounding, not the math.

Torch-free, for the preflight.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from app.checkpoints.memory_model import PREFILL_CHUNK_TOKENS

PREFILL_STEP_ENV = "MAVERICK_DESK_PREFILL_STEP"
# "off": chunked layers prefill over transformers' mask (`app.inference.window_attention`)
WINDOW_ATTENTION_ENV = "MAVERICK_DESK_WINDOW_ATTENTION"
PREFILL_STEP_LIMIT = 8192  # Maverick's chunked-attention window
STEPS = tuple(PREFILL_CHUNK_TOKENS << k for k in range(5))  # 512 ... 8192
assert STEPS[-1] == PREFILL_STEP_LIMIT


class PrefillStepError(ValueError):
    """The environment sets a prefill step, or a prefill attention, the engine cannot take."""


def pinned_step(environ: Mapping[str, str] | None = None) -> int | None:
    """The step ``MAVERICK_DESK_PREFILL_STEP`` pins, or None (unset or 'auto': from memory)."""
    env = os.environ if environ is None else environ
    raw = env.get(PREFILL_STEP_ENV, "")
    value = raw.strip().lower()
    if value in ("", "auto"):
        return None
    if value.isdigit() and int(value) in STEPS:
        return int(value)
    raise PrefillStepError(
        f"{PREFILL_STEP_ENV}={raw!r} is not a prefill step the engine takes: use one of "
        f"{', '.join(str(s) for s in STEPS)} (prompt tokens per forward; 512 keeps a reused "
        "prompt cache bit-exact) or 'auto' (the default: as large as free memory allows)."
    )


def pinned_or_default(environ: Mapping[str, str] | None = None) -> int | None:
    """`pinned_step`, an unknown value counting as unset (the worker refuses it at load)."""
    try:
        return pinned_step(environ)
    except PrefillStepError:
        return None


def window_attention_on(environ: Mapping[str, str] | None = None) -> bool:
    """Whether chunked layers attend window by window (unset or 'on'), or not ('off')."""
    env = os.environ if environ is None else environ
    raw = env.get(WINDOW_ATTENTION_ENV, "")
    value = raw.strip().lower()
    if value in ("", "on", "off"):
        return value != "off"
    raise PrefillStepError(
        f"{WINDOW_ATTENTION_ENV}={raw!r} is not a setting the engine takes: use 'on' (the "
        "default: chunked layers attend window by window in a prefill) or 'off' "
        "(transformers' mask)."
    )


def window_attention_or_default(environ: Mapping[str, str] | None = None) -> bool:
    """`window_attention_on`, an unknown value counting as unset (the worker refuses it at load)."""
    try:
        return window_attention_on(environ)
    except PrefillStepError:
        return True


def steps_within(window: int) -> tuple[int, ...]:
    """The steps a model whose chunked layers attend over transformers' mask may take.

    `window` is the chunked-attention window (0: none, or chunked layers that attend
    window by window, `app.inference.window_attention`: any step). Over the mask no
    step is larger than the window: a step then lies in one window, and its chunked
    layers attend to that window's keys only. transformers gives sdpa a dense mask over
    every key the cache holds, so a step spanning several windows would compute (and
    mask away) most of its scores: on the demo's 256-token window, steps of 8,192
    prefilled slower than steps of 512 that way (docs/benchmarks.md, section 12).
    """
    if not window:
        return STEPS
    return tuple(step for step in STEPS if step <= window) or STEPS[:1]


def largest_step(need_bytes: Callable[[int], int], room_bytes: int, window: int = 0) -> int:
    """The largest step within `window` whose `need_bytes(step)` fits `room_bytes`; 512 at least."""
    allowed = steps_within(window)
    best = allowed[0]
    for step in allowed[1:]:
        if need_bytes(step) <= room_bytes:
            best = step
    return best


def describe_step(pinned: int | None, window: int = 0) -> str:
    """What `maverick-desk info` says about the setting, for a model with `window`."""
    if pinned is not None:
        return f"{pinned}-token steps ({PREFILL_STEP_ENV}={pinned})"
    largest = steps_within(window)[-1]
    if largest == STEPS[0]:
        return (
            f"512-token steps: the model's chunked-attention window ({window} tokens) allows "
            f"no bigger one ({PREFILL_STEP_ENV}=512|...|8192 pins one)"
        )
    return (
        f"steps of 512 to {largest:,} tokens, as large as free memory allows "
        f"({PREFILL_STEP_ENV}=512 pins the bit-exact 512)"
    )
