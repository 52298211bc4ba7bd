"""gpu-check's timings by kind of layer: the decode step eager and compiled, and the prefill.

Maverick has three kinds of decoder layer (dense, RoPE MoE, NoPE MoE); the check's
checkpoint has one or two of each, so each kind is timed apart and the whole model is
extrapolated from the kinds (`app.generators.gpu_check.extrapolate`).

- **Eager decode and prefill** are timed with a forward hook before and after each
  layer, synchronising the device in each (`layer_times`).
- **The compiled decode step** cannot be hooked: a hook inside `torch.compile(fullgraph=True)`
  is a graph break. So the product's `DecodeStep` is timed whole, and each kind's layer
  is compiled on its own, with the product's options, and called with the inputs it
  received in one eager decode step over the same static cache (`compiled_layer_times`).
- **The prefill** runs as the engine runs it: `app.inference.prefill.prefill_chunks` in
  steps of `step` tokens into a fresh cache.

Torch is imported inside the functions, so that gpu-check can say a package is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

LAYER_KINDS = ("dense", "moe_rope", "moe_nope")


def sync() -> None:
    """Wait for the GPU (no-op on the CPU), so that a clock reading means something."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(run: Callable[[], Any]) -> float:
    """Seconds `run()` takes, the device synchronised before and after."""
    sync()
    started = time.perf_counter()
    run()
    sync()
    return time.perf_counter() - started


def layer_kind(layer: Any) -> str:
    """dense, moe_rope or moe_nope: the kinds of decoder layer Maverick has."""
    if not layer.is_moe_layer:
        return "dense"
    return "moe_rope" if getattr(layer.self_attn, "use_rope", True) else "moe_nope"


def decoder_layers(model: Any) -> list[Any]:
    return list(model.language_model.model.layers)


def layer_counts(model: Any) -> dict[str, int]:
    counts = dict.fromkeys(LAYER_KINDS, 0)
    for layer in decoder_layers(model):
        counts[layer_kind(layer)] += 1
    return counts


def layer_times(model: Any, run: Callable[[], Any]) -> tuple[float, dict[str, float]]:
    """Seconds of `run()`, and of each kind of decoder layer in it (mean over its layers).

    A layer's seconds add up over every call in `run()` (every prefill step).
    """
    times = dict.fromkeys(LAYER_KINDS, 0.0)
    counts = layer_counts(model)
    starts: dict[int, float] = {}
    handles = []
    for index, layer in enumerate(decoder_layers(model)):

        def before(*_: Any, i: int = index) -> None:
            sync()
            starts[i] = time.perf_counter()

        def after(*_: Any, i: int = index, k: str = layer_kind(layer)) -> None:
            sync()
            times[k] += time.perf_counter() - starts[i]

        handles += [layer.register_forward_pre_hook(before), layer.register_forward_hook(after)]
    try:
        took = timed(run)
        return took, {k: times[k] / counts[k] for k in LAYER_KINDS if counts[k]}
    finally:
        for handle in handles:
            handle.remove()


def prefill_times(model: Any, ids: Any, step: int) -> dict[str, Any]:
    """Prefill `ids` (1 × n) as the engine does, in steps of `step`; seconds by layer kind."""
    import torch

    from app.inference.prefill import prefill_chunks
    from app.inference.prompt_cache import new_cache

    patch_id = int(model.config.image_token_index)
    tokens = int(ids.shape[1])

    def run() -> None:
        cache = new_cache(model.config)
        prefill_chunks(model, ids, cache, 0, tokens, None, patch_id, step, lambda: False)

    with torch.inference_mode():
        took, per = layer_times(model, run)
    return {
        "step_tokens": step,
        "prefill_s": took,
        "prefill_tokens_per_s": tokens / took,
        "prefill_layer_s": per,
    }


def _prompt_in_static_cache(model: Any, prompt: Any, decoder: Any) -> tuple[Any, Any, Any]:
    """The prompt prefilled and copied into `decoder`'s static cache; the next token, position."""
    import torch

    from app.inference.compiled_decode import prefill_logits
    from app.inference.prompt_cache import new_cache

    length = int(prompt.shape[1])
    dynamic = new_cache(model.config)
    logits = prefill_logits(model, prompt, dynamic, 0)
    cache = decoder.cache_for(length + 1)
    cache.fill(dynamic, length)
    token = logits.argmax(-1).view(1, 1)
    return token, torch.tensor(length, dtype=torch.long, device=prompt.device), cache


def compiled_decode(
    model: Any, prompt: Any, new_tokens: int, kinds: tuple[str, ...] = LAYER_KINDS
) -> dict[str, Any]:
    """The product's compiled decode step: tokens/s and greedy tokens, and each kind's layer.

    Each kind's first layer (of `kinds`) is compiled alone (fullgraph, the step's options) and timed
    eagerly and compiled on the inputs it got in one eager step over the static cache.
    """
    import torch

    from app.inference.compiled_decode import (
        DecodeStep,
        Sampler,
        compile_options,
        prefill_logits,
    )
    from app.inference.prompt_cache import new_cache

    step = DecodeStep(model, compiled=True)  # installs the real-valued RoPE first
    out: dict[str, Any] = {"layer_counts": layer_counts(model)}
    with torch.inference_mode():
        dynamic = new_cache(model.config)
        logits = prefill_logits(model, prompt, dynamic, 0)
        out["greedy_tokens"] = step.decode(
            dynamic, prompt, logits, new_tokens, Sampler(), _none, _never
        )  # compiles, and captures the CUDA graphs
        token, position, cache = _prompt_in_static_cache(model, prompt, step)
        seconds = _per_call(lambda: step._fn(token, position, cache))
        out["decode_tokens_per_s"] = 1 / seconds
        options = compile_options(prompt.device.type)
        eager: dict[str, float] = {}
        compiled: dict[str, float] = {}
        for kind, (layer, args, kwargs) in _layer_inputs(model).items():
            if kind not in kinds:
                continue
            eager[kind] = _per_call(partial(layer, *args, **kwargs))
            fn = torch.compile(layer, fullgraph=True, options=options)
            compiled[kind] = _per_call(partial(fn, *args, **kwargs))
    out["eager_layer_s"] = eager
    out["decode_layer_s"] = compiled
    return out


def _none(_token: int) -> None:
    return None


def _never(_token: int) -> bool:
    return False


def _per_call(call: Callable[[], Any], repeats: int = 20) -> float:
    """Seconds a call takes, after one untimed call (which compiles, where it is compiled)."""
    call()
    return timed(lambda: [call() for _ in range(repeats)]) / repeats


def _layer_inputs(model: Any) -> dict[str, tuple[Any, tuple[Any, ...], dict[str, Any]]]:
    """Each kind's first layer and the arguments one eager decode step called it with."""
    from app.inference.compiled_decode import DecodeStep, check_prompt

    eager = DecodeStep(model, compiled=False)
    prompt = check_prompt(model)
    token, position, cache = _prompt_in_static_cache(model, prompt, eager)
    captured: dict[str, tuple[Any, tuple[Any, ...], dict[str, Any]]] = {}
    handles = []
    for layer in decoder_layers(model):
        kind = layer_kind(layer)

        def keep(module: Any, args: Any, kwargs: Any, k: str = kind) -> None:
            captured.setdefault(k, (module, tuple(args), dict(kwargs)))

        handles.append(layer.register_forward_pre_hook(keep, with_kwargs=True))
    try:
        eager._step(token, position, cache)
    finally:
        for handle in handles:
            handle.remove()
    return captured
