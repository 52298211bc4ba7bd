"""The compiled decode step against eager `generate`: launches, graph breaks, tokens/s (issue 32).

One process, the 128-expert wide demo (`app.generators.demo_wide`, grouped experts, sdpa)
built with a fixed seed. Figures:

- kernel launches per decoded token of the compiled step, extrapolated to Maverick's 48
  layers: inductor's fused C++ kernels (`cpp.enable_kernel_profile` makes each one a
  profiler event) plus the outermost aten ops they call out to that compute (matmuls,
  attention), in one compiled step, at 4 and 8 layers of Maverick's pattern (as
  `bench/moe_launches.py` counts the eager forward: 48 = fixed + 12 periods of 4);
- graph breaks of `torch._dynamo.explain` on the step, and graphs compiled while
  decoding (1: the step never recompiles as the position moves);
- decode tokens/s, compiled step / eager `generate` (what ``MAVERICK_DESK_COMPILE=off``
  runs), run by run in the same process after the same prefill, and whether their
  greedy tokens agree (and for how many tokens).

Runs on one torch thread by default (see `bench/sparse_experts.py`). Compiling costs
about a minute a model on a shared 2-core machine.

Usage: python bench/compiled_decode.py [--hidden 64] [--intermediate 96] [--runs 3]
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
from bench.moe_launches import MAVERICK_PERIODS, _computes, _has_aten_parent  # noqa: E402


def compiled_launches(run: Any) -> int:
    """Inductor's kernels plus the computing aten ops outside them, in one `run()`."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    count = 0
    for event in prof.events():
        if "cpp_fused" in event.name:
            count += 1
        elif event.name.startswith("aten::") and not _has_aten_parent(event):
            count += int(_computes(event))
    return count


def prepared(model: Any, ids: Any, new_tokens: int) -> tuple[Any, Any, Any]:
    """A prefill of `ids` into a DynamicCache: (cache, last logits, the step's static cache)."""
    import torch

    from app.inference.compiled_decode import prefill_logits
    from app.inference.prompt_cache import new_cache

    cache = new_cache(model.config)
    with torch.inference_mode():
        logits = prefill_logits(model, ids, cache, 0)
    return cache, logits, ids.shape[1] + new_tokens


def step_counts(model: Any, ids: Any) -> tuple[int, int]:
    """(launches, graph breaks) of one compiled decode step after a prefill of `ids`."""
    import torch

    from app.inference.compiled_decode import DecodeStep

    step = DecodeStep(model, compiled=True)
    dynamic, _, capacity = prepared(model, ids, 8)
    cache = step.cache_for(capacity)
    cache.fill(dynamic, ids.shape[1])
    token = ids[:, -1:]
    position = torch.tensor(ids.shape[1])
    with torch.inference_mode():
        explained = torch._dynamo.explain(step._step)(token, position, cache)
        torch._dynamo.reset()
        cache.fill(dynamic, ids.shape[1])
        step._fn(token, position, cache)  # compile
        cache.fill(dynamic, ids.shape[1])
        count = compiled_launches(lambda: step._fn(token, position, cache))
    return count, int(explained.graph_break_count)


def decode_compiled(step: Any, model: Any, ids: Any, new_tokens: int) -> tuple[float, list[int]]:
    """Tokens/s from the first token to the last through `step`, and the tokens."""
    import torch

    from app.inference.compiled_decode import Sampler

    dynamic, logits, capacity = prepared(model, ids, new_tokens)
    stamps: list[float] = []
    with torch.inference_mode():
        tokens = step.decode(
            dynamic,
            ids,
            logits,
            new_tokens,
            Sampler(),
            lambda _t: stamps.append(time.perf_counter()),
            lambda _t: False,
        )
    return (new_tokens - 1) / (stamps[-1] - stamps[0]), tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--intermediate", type=int, default=96)
    parser.add_argument("--prompt", type=int, default=300)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import torch
    import torch._inductor.config as inductor_config
    from torch._dynamo.utils import counters

    torch.set_num_threads(args.threads)
    inductor_config.cpp.enable_kernel_profile = True

    from app.generators.demo import build_tokenizer
    from app.generators.demo_wide import build_wide, wide_sizes
    from app.inference.compiled_decode import DecodeStep
    from app.inference.sparse_experts import apply_sparse_experts
    from bench.sparse_experts import _decode_rate

    tokenizer = build_tokenizer()
    pad = int(tokenizer.pad_token_id)
    gen = torch.Generator().manual_seed(32)
    ids = torch.randint(0, len(tokenizer) - 20, (1, args.prompt), generator=gen)
    widths = {"hidden": args.hidden, "intermediate": args.intermediate}

    models: dict[int, Any] = {}
    counted: dict[int, tuple[int, int]] = {}
    for layers in (4, 8):
        models[layers], _ = build_wide(wide_sizes(layers=layers, **widths), tokenizer)
        apply_sparse_experts(models[layers], "sparse")
        counted[layers] = step_counts(models[layers], ids)
    (l4, b4), (l8, b8) = counted[4], counted[8]
    launches_48 = (l4 - (l8 - l4)) + MAVERICK_PERIODS * (l8 - l4)

    model = models[4]
    step = DecodeStep(model, compiled=True)
    torch._dynamo.reset()
    counters.clear()
    decode_compiled(step, model, ids, 4)  # compile once, outside the timing
    _decode_rate(model, ids, 4, pad)
    compiled_rates: list[float] = []
    eager_rates: list[float] = []
    agree: list[int] = []
    for _ in range(args.runs):
        rate, fast = decode_compiled(step, model, ids, args.new_tokens)
        compiled_rates.append(rate)
        rate, slow = _decode_rate(model, ids, args.new_tokens, pad)
        eager_rates.append(rate)
        pairs = enumerate(zip(fast, slow, strict=True))
        agree.append(next((i for i, (a, b) in pairs if a != b), len(fast)))
    graphs = int(counters["stats"]["unique_graphs"])
    ratio = [a / b for a, b in zip(compiled_rates, eager_rates, strict=True)]
    shape = (
        f"128 experts top-1, hidden {args.hidden}, expert intermediate {args.intermediate}, "
        f"4 layers, bf16, {torch.get_num_threads()} thread(s), prompt {args.prompt} tokens"
    )
    per = "per 4-layer period (dense, MoE, dense, MoE NoPE)"
    results = [
        Result(
            "kernel launches per decoded token, compiled decode step, 48 layers",
            launches_48,
            "launches",
            "<= 1000",
            detail=(
                f"{per}: {l8 - l4}; measured 4 layers {l4}, 8 layers {l8}; inductor's fused "
                "C++ kernels plus the computing aten ops outside them (matmuls, attention), "
                "CPU profiler, one step of torch.compile(fullgraph=True)"
            ),
        ),
        Result(
            "graph breaks in the compiled decode step",
            max(b4, b8),
            "breaks",
            "<= 0",
            detail=(
                f"torch._dynamo.explain at 4 and 8 layers: {b4}, {b8}; graphs compiled while "
                f"decoding {args.runs * args.new_tokens + 4} tokens at moving positions: {graphs}"
            ),
        ),
        Result(
            "decode tokens/s, compiled step / eager generate (wide demo)",
            statistics.median(ratio),
            "ratio",
            ">= 1.3",
            detail=(
                f"run by run {spread(ratio, 2)}; compiled {spread(compiled_rates, 1)} tok/s, "
                f"eager {spread(eager_rates, 1)} tok/s; {args.new_tokens} tokens greedy, "
                f"the same as generate's for the first {min(agree)} of them (random weights: "
                f"near-tie logits, bf16 rounded in other places); {shape}"
            ),
        ),
    ]
    emit([r.judged() for r in results])
    return 0


if __name__ == "__main__":
    sys.exit(main())
