"""Grouped expert matmuls against the per-expert loop: launches, host syncs, tokens/s (issue 32).

One process, the same random 128-expert wide demo (`app.generators.demo_wide`) built
with the same seed: one copy with the per-expert loop (``MAVERICK_DESK_EXPERTS=loop``),
one with the grouped path (the default), one as the engine loads it. Figures:

- kernel launches per decoded token, eager, extrapolated to Maverick's 48 layers:
  the outermost aten ops called from Python that compute (views, allocations and
  no-op casts left out; `linear` or a grouped matmul count once, whatever they call
  on the CPU) counted by torch's profiler on the CPU in one decode step of the
  language model, measured at 4 and 8 layers of Maverick's pattern (MoE every other
  layer, NoPE every 4th: a period of 4 layers) so that 48 = fixed + 12 periods;
- host syncs per decoded token, the same way (`app.inference.host_syncs`);
- launches per 512 prompt tokens per MoE layer: one MoE layer's forward on 512 tokens
  spread over the experts by its router;
- prefill tokens/s of the engine as it is now (grouped experts, chunked layers window
  by window, `app.inference.window_attention`, the step `StepPlanner` picks) against
  the engine before issue 32 (per-expert loop, transformers' mask, 512-token steps),
  both prefilled as the engine prefills (`bench/prefill_steps.prefill`); a third copy
  gives the grouped experts alone (mask, 512-token steps);
- decode tokens/s, loop against grouped, run by run, and whether the greedy tokens of
  all three are the same.

Runs on one torch thread by default (see `bench/sparse_experts.py`).

Usage: python bench/moe_launches.py [--hidden 64] [--intermediate 96] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, emit, spread  # noqa: E402
from bench.prefill_steps import prefill  # noqa: E402
from bench.sparse_experts import _decode_rate  # noqa: E402

# Ops that launch no kernel on a GPU: views, metadata, allocation and lazy conjugation.
_NO_KERNEL = (
    "view _unsafe_view reshape _reshape_alias as_strided t transpose expand expand_as slice "
    "select unsqueeze squeeze permute detach alias empty empty_like empty_strided resize_ "
    "lift_fresh split chunk narrow view_as unflatten unbind contiguous to numpy_T "
    "_has_compatible_shallow_copy_type result_type is_same_size size stride resolve_conj "
    "resolve_neg"
)
NO_KERNEL = frozenset(_NO_KERNEL.split())
MAVERICK_PERIODS = 12  # 48 layers = 12 periods of 4 (dense RoPE, MoE RoPE, dense RoPE, MoE NoPE)


def launches(run: Any) -> int:
    """The aten calls `run()` makes from Python that would launch a kernel, by torch's profiler.

    Each outermost aten op counts once (`linear` is one GEMM on a GPU, whatever it calls on
    the CPU) when anything in it computes: views, allocations and no-op casts do not count.
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    count = 0
    for event in prof.events():
        if not event.name.startswith("aten::") or _has_aten_parent(event):
            continue
        if _computes(event):
            count += 1
    return count


def _has_aten_parent(event: Any) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("aten::"):
            return True
        parent = parent.cpu_parent
    return False


def _computes(event: Any) -> bool:
    if event.name.removeprefix("aten::") not in NO_KERNEL:
        return True
    return any(_computes(child) for child in event.cpu_children)


def decode_step_counts(model: Any, ids: Any) -> tuple[int, int]:
    """(launches, host syncs) of one decode forward after a prefill of `ids`."""
    import torch
    from transformers import DynamicCache

    from app.inference.host_syncs import HostSyncs

    cache = DynamicCache(config=model.config.get_text_config())
    with torch.inference_mode():
        out = model(input_ids=ids, past_key_values=cache, use_cache=True)
        step = out.logits[:, -1:].argmax(-1)

        def run() -> None:
            model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)

        count = launches(run)
        out = model(input_ids=ids, past_key_values=DynamicCache(), use_cache=True)
        with HostSyncs() as syncs:
            model(input_ids=step, past_key_values=out.past_key_values, use_cache=True)
    return count, syncs.total


def maverick_counts(mode: str, hidden: int, intermediate: int, ids: Any) -> dict[str, float]:
    """Launches and syncs per decoded token at 4 and 8 layers, extrapolated to 48."""
    from app.generators.demo_wide import build_wide, wide_sizes
    from app.inference.sparse_experts import apply_sparse_experts

    measured = {}
    for layers in (4, 8):
        model, _ = build_wide(wide_sizes(hidden=hidden, layers=layers, intermediate=intermediate))
        apply_sparse_experts(model, mode)
        measured[layers] = decode_step_counts(model, ids)
    (l4, s4), (l8, s8) = measured[4], measured[8]
    return {
        "launches_48": (l4 - (l8 - l4)) + MAVERICK_PERIODS * (l8 - l4),
        "syncs_48": (s4 - (s8 - s4)) + MAVERICK_PERIODS * (s8 - s4),
        "launches_period": l8 - l4,
        "syncs_period": s8 - s4,
    }


def moe_prompt_launches(model: Any, tokens: int) -> tuple[int, int]:
    """(launches, experts hit) of the first MoE layer's forward on `tokens` prompt tokens."""
    import torch

    moe = next(m for m in model.modules() if type(m).__name__ == "Llama4TextMoe")
    gen = torch.Generator().manual_seed(7)
    hidden = torch.randn(tokens, moe.hidden_dim, generator=gen).to(torch.bfloat16)
    with torch.inference_mode():
        hit = int(moe.router(hidden)[1].argmax(dim=1).unique().numel())
        return launches(lambda: moe(hidden)), hit


def moe_prompt_seconds(models: dict[str, Any], tokens: int, runs: int) -> dict[str, list[float]]:
    """Seconds of the first MoE layer's forward on `tokens` prompt tokens, per path, alternating.

    The same hidden states for every path (the models share their seed): the layer's own
    time, without the attention and masks that the whole-model prefill spends most in.
    """
    import torch

    gen = torch.Generator().manual_seed(7)
    moes = {
        mode: next(m for m in model.modules() if type(m).__name__ == "Llama4TextMoe")
        for mode, model in models.items()
    }
    width = next(iter(moes.values())).hidden_dim
    hidden = torch.randn(tokens, width, generator=gen).to(torch.bfloat16)
    seconds: dict[str, list[float]] = {mode: [] for mode in moes}
    with torch.inference_mode():
        for moe in moes.values():
            moe(hidden)  # kernels ready
        for _ in range(runs):
            for mode, moe in moes.items():
                started = time.perf_counter()
                for _ in range(10):
                    moe(hidden)
                seconds[mode].append((time.perf_counter() - started) / 10)
    return seconds


def fp8_counts() -> dict[str, int]:
    """Launches of one MoE layer with per-expert FP8 Linear experts, as on a GPU, per path.

    The per-expert loop runs on the CPU (compressed-tensors' FP8 Linear has a CPU
    `scaled_mm`); the scaled grouped matmul has no CPU kernel, so the grouped path runs on
    the meta device, where every op is dispatched and recorded but nothing is computed.
    """
    import types

    import torch
    from torch import nn

    from app.generators.demo_wide import build_wide
    from app.inference import grouped_experts
    from app.inference.sparse_experts import apply_sparse_experts
    from tests.inference.fp8_layers import fp8_moe

    config = build_wide()[0].config.get_text_config()
    moe = fp8_moe(config)
    apply_sparse_experts(nn.Sequential(moe), "loop")
    gen = torch.Generator().manual_seed(7)
    inputs = {n: torch.randn(n, moe.hidden_dim, generator=gen).to(torch.bfloat16) for n in (1, 512)}
    counts = {}
    with torch.inference_mode():
        for n, hidden in inputs.items():
            counts[f"loop_{n}"] = launches(lambda hidden=hidden: moe(hidden))
    available = grouped_experts.fp8_unavailable
    grouped_experts.fp8_unavailable = lambda device: ""  # type: ignore[assignment]
    try:
        plan, reason = grouped_experts.plan_per_expert(moe.experts)
    finally:
        grouped_experts.fp8_unavailable = available  # type: ignore[assignment]
    assert plan is not None and plan.gate_up_scale is not None and plan.down_scale is not None
    moe.to("meta")
    moe._grouped = grouped_experts.GroupedExperts(  # type: ignore[assignment]
        plan.gate_up.to("meta"),
        plan.down.to("meta"),
        plan.act,
        plan.label,
        plan.gate_up_scale.to("meta"),
        plan.down_scale.to("meta"),
    )
    forward = types.MethodType(grouped_experts.grouped_forward, moe)
    with torch.inference_mode():
        for n, hidden in inputs.items():
            counts[f"grouped_{n}"] = launches(lambda hidden=hidden: forward(hidden.to("meta")))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--intermediate", type=int, default=96)
    parser.add_argument("--prefill", type=int, default=2048)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)

    from app.checkpoints.preflight import model_memory_from_config
    from app.generators.demo import build_tokenizer
    from app.generators.demo_wide import build_wide, wide_sizes
    from app.inference import window_attention
    from app.inference.prefill import StepPlanner
    from app.inference.sparse_experts import apply_sparse_experts

    tokenizer = build_tokenizer()
    pad = int(tokenizer.pad_token_id)
    prompt = tokenizer("Summarise the expert layer in one line.", return_tensors="pt").input_ids
    gen = torch.Generator().manual_seed(16)
    vocab = len(tokenizer) - 20
    long_ids = torch.randint(0, vocab, (1, args.prefill), generator=gen)
    warm_ids = torch.randint(0, vocab, (1, args.prefill), generator=gen)
    widths = {"hidden": args.hidden, "intermediate": args.intermediate}

    counts = {mode: maverick_counts(mode, ids=prompt, **widths) for mode in ("loop", "sparse")}
    models = {}
    for mode in ("loop", "sparse"):
        models[mode], _ = build_wide(wide_sizes(**widths), tokenizer)
        apply_sparse_experts(models[mode], mode)
    chunk = {mode: moe_prompt_launches(model, 512) for mode, model in models.items()}
    moe_s = moe_prompt_seconds(models, 512, max(args.runs, 5))
    moe_x = [a / b for a, b in zip(moe_s["loop"], moe_s["sparse"], strict=True)]
    fp8 = fp8_counts()
    # The engine as it loads a model now: grouped experts, chunked layers window by window
    # (app.inference.window_attention), the step StepPlanner picks. "loop" is the engine
    # before issue 32 (per-expert loop, transformers' mask, 512-token steps); "sparse" the
    # grouped experts alone, over the mask in 512-token steps.
    models["engine"], _ = build_wide(wide_sizes(**widths), tokenizer)
    apply_sparse_experts(models["engine"], "sparse")
    windowed = window_attention.apply(models["engine"])
    memory = model_memory_from_config(
        models["engine"].config.to_dict(), "wide demo"
    ).with_window_attention(windowed)
    engine_step = StepPlanner(memory, "sdpa", [torch.device("cpu")]).step_for(args.prefill)
    steps = {"loop": 512, "sparse": 512, "engine": engine_step}

    for mode, model in models.items():  # kernels ready, routes not replayed
        prefill(model, warm_ids, steps[mode])
        _decode_rate(model, prompt, 4, pad)
    fills: dict[str, list[float]] = {mode: [] for mode in models}
    rates: dict[str, list[float]] = {mode: [] for mode in models}
    tokens: dict[str, list[list[int]]] = {mode: [] for mode in models}
    last: dict[str, Any] = {}
    for _ in range(args.runs):
        for mode, model in models.items():
            took, last[mode] = prefill(model, long_ids, steps[mode])
            fills[mode].append(args.prefill / took)
            rate, new = _decode_rate(model, prompt, args.new_tokens, pad)
            rates[mode].append(rate)
            tokens[mode].append(new)
    same = all(t == tokens["loop"][0] for runs in tokens.values() for t in runs)
    logit_gap = float((last["engine"] - last["loop"]).abs().max())

    def ratios(top: list[float], bottom: list[float]) -> list[float]:
        return [a / b for a, b in zip(top, bottom, strict=True)]

    fill_x = ratios(fills["engine"], fills["loop"])
    grouped_x = ratios(fills["sparse"], fills["loop"])
    decode_x = ratios(rates["sparse"], rates["loop"])
    shape = (
        f"128 experts top-1, hidden {args.hidden}, expert intermediate {args.intermediate}, "
        f"bf16, {torch.get_num_threads()} thread(s)"
    )
    loop, grouped = counts["loop"], counts["sparse"]
    per = "per 4-layer period (dense, MoE, dense, MoE NoPE)"
    results = [
        Result(
            "kernel launches per decoded token, eager, 48 layers (grouped experts)",
            grouped["launches_48"],
            "launches",
            "<= 2500",
            detail=(
                f"per-expert loop {loop['launches_48']:.0f}; {per}: grouped "
                f"{grouped['launches_period']:.0f}, loop {loop['launches_period']:.0f}; outermost "
                "aten ops that compute in one decode forward of the language model, CPU "
                "profiler"
            ),
        ),
        Result(
            "host syncs per decoded token, 48 layers (grouped experts)",
            grouped["syncs_48"],
            "syncs",
            "<= 0",
            detail=(
                f"per-expert loop {loop['syncs_48']:.0f}; {per}: grouped "
                f"{grouped['syncs_period']:.0f}, loop {loop['syncs_period']:.0f}; "
                "item/int/bool/tolist and data-sized ops in one decode forward"
            ),
        ),
        Result(
            "launches per 512 prompt tokens per MoE layer (grouped experts)",
            chunk["sparse"][0],
            "launches",
            "<= 100",
            detail=(
                f"per-expert loop {chunk['loop'][0]}; {chunk['sparse'][1]} of 128 experts hit "
                "by the router; one MoE layer's forward, shared expert and router included"
            ),
        ),
        Result(
            "launches per 512 prompt tokens per MoE layer, FP8 experts (grouped)",
            fp8["grouped_512"],
            "launches",
            "<= 100",
            detail=(
                f"per-expert loop {fp8['loop_512']} (review: ~3,800); a decoded token: grouped "
                f"{fp8['grouped_1']}, loop {fp8['loop_1']} per MoE layer; compressed-tensors' "
                "FP8 Linear experts, 128 of them; the grouped path counted on the meta device "
                "(no CPU kernel), the loop on the CPU"
            ),
        ),
        Result(
            f"prefill tokens/s, this engine / the engine before (issue 32) ({args.prefill:,} "
            "tokens, wide demo)",
            statistics.median(fill_x),
            "ratio",
            ">= 3",
            detail=(
                f"run by run {spread(fill_x, 2)}; this engine {spread(fills['engine'], 0)} "
                f"tok/s (grouped experts, chunked layers window by window: "
                f"{'yes' if windowed else 'NO'}, {engine_step:,}-token steps as StepPlanner "
                f"picks), before {spread(fills['loop'], 0)} tok/s (per-expert loop, "
                "transformers' mask, 512-token steps); the grouped experts alone (mask, 512) "
                f"{spread(fills['sparse'], 0)} tok/s, {spread(grouped_x, 2)} x before; "
                "prefilled as the engine does (bench/prefill_steps.py: steps into a "
                "recording cache, history bounded after each, the last 512 through "
                f"prefill_logits); last logits vs before, max {logit_gap:.4f} "
                f"(bf16 eps 0.0078); {shape}"
            ),
        ),
        Result(
            "MoE layer prefill speed per 512 tokens, grouped / loop (wide demo)",
            statistics.median(moe_x),
            "ratio",
            ">= 3",
            detail=(
                f"loop time / grouped time, run by run {spread(moe_x, 2)}; grouped "
                f"{spread([1e3 * s for s in moe_s['sparse']], 2)} ms, loop "
                f"{spread([1e3 * s for s in moe_s['loop']], 2)} ms; the first MoE layer's "
                f"forward (router, shared expert, routed experts) on 512 random hidden states "
                f"({chunk['sparse'][1]} of 128 experts hit), mean of 10 calls a run; {shape}"
            ),
        ),
        Result(
            "decode tokens/s, grouped / loop, eager (wide demo)",
            statistics.median(decode_x),
            "ratio",
            detail=(
                f"run by run {spread(decode_x, 2)}; grouped {spread(rates['sparse'], 1)} tok/s, "
                f"loop {spread(rates['loop'], 1)} tok/s; {args.new_tokens} tokens greedy, "
                f"tokens identical: {'yes' if same else 'NO'}; {shape}"
            ),
        ),
    ]
    emit([r.judged() for r in results])
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
