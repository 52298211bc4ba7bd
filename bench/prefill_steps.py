"""Prefill in bigger steps against 512-token steps: tokens/s on the wide demo (issue 32).

One process, the 128-expert wide demo (`app.generators.demo_wide`, grouped experts,
sdpa, chunked layers window by window as the engine loads it) with Maverick's
chunked-attention window of 8,192 tokens (the demo's is 256),
a prompt of `--prefill` random tokens prefilled as the engine prefills it
(`app.inference.prefill.prefill_chunks` into a fresh cache, the history bounded after
each forward as the engine does) in steps of 512, 2,048 and 8,192 tokens, alternating
run by run. Also: the step `StepPlanner` picks on this machine for that prompt, and the
largest difference between the last logits computed in 512-token steps and in each
bigger step (the bf16 rounding that the README's "Models and precision" speaks of).

Runs on one torch thread by default (see `bench/sparse_experts.py`).

Usage: python bench/prefill_steps.py [--prefill 8192] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, emit, spread  # noqa: E402

STEPS = (512, 2048, 8192)


def prefill(model: Any, ids: Any, step: int) -> tuple[float, Any]:
    """Seconds to prefill `ids` in `step`-token forwards, and the last position's logits."""
    import torch

    from app.checkpoints.memory_model import DEFAULT_HISTORY_TOKENS
    from app.inference.compiled_decode import prefill_logits
    from app.inference.prefill import prefill_chunks
    from app.inference.prompt_cache import new_cache, trim

    cache = new_cache(model.config)
    tokens = int(ids.shape[1])
    last = (tokens - 1) // 512 * 512  # as the engine: the last chunk yields the first token
    patch = int(model.config.image_token_index)
    with torch.inference_mode():
        started = time.perf_counter()
        prefill_chunks(
            model, ids, cache, 0, last, None, patch, step, lambda: False,
            lambda: trim(cache, DEFAULT_HISTORY_TOKENS, copy=False),
        )  # fmt: skip
        logits = prefill_logits(model, ids, cache, last)
        took = time.perf_counter() - started
    return took, logits.float()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--intermediate", type=int, default=96)
    parser.add_argument("--prefill", type=int, default=8192)
    parser.add_argument("--window", type=int, default=8192, help="attention_chunk_size")
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
    sizes = wide_sizes(hidden=args.hidden, intermediate=args.intermediate)
    model, _ = build_wide(dataclasses.replace(sizes, attention_chunk=args.window), tokenizer)
    report = apply_sparse_experts(model, "sparse")
    windowed = window_attention.apply(model)  # as the engine loads it
    gen = torch.Generator().manual_seed(16)
    ids = torch.randint(0, len(tokenizer) - 20, (1, args.prefill), generator=gen)
    memory = model_memory_from_config(model.config.to_dict(), "wide demo").with_window_attention(
        windowed
    )
    planner = StepPlanner(memory, str(model.config._attn_implementation), [torch.device("cpu")])
    chosen = planner.step_for(args.prefill)

    prefill(model, ids[:, :1024], 512)  # kernels ready
    seconds: dict[int, list[float]] = {step: [] for step in STEPS}
    logits: dict[int, Any] = {}
    for _ in range(args.runs):
        for step in STEPS:
            took, logits[step] = prefill(model, ids, step)
            seconds[step].append(took)
            print(f"step {step}: {args.prefill / took:.0f} tokens/s", flush=True)
    rates = {step: [args.prefill / s for s in seconds[step]] for step in STEPS}
    diffs = {step: float((logits[step] - logits[512]).abs().max()) for step in STEPS[1:]}
    big = STEPS[-1]
    ratio = [a / b for a, b in zip(rates[big], rates[512], strict=True)]
    shape = (
        f"128 experts top-1, hidden {args.hidden}, expert intermediate {args.intermediate}, "
        f"4 layers, chunked-attention window {args.window:,}, bf16, "
        f"{torch.get_num_threads()} thread(s); {report.label}; chunked layers window by "
        f"window: {'yes' if windowed else 'NO'}"
    )
    results = [
        Result(
            f"prefill tokens/s, {big:,}-token steps / 512-token steps ({args.prefill:,} tokens, "
            "wide demo)",
            statistics.median(ratio),
            "ratio",
            detail=(
                f"run by run {spread(ratio, 2)}; "
                + "; ".join(f"{s:,}-token steps {spread(rates[s], 0)} tok/s" for s in STEPS)
                + f"; StepPlanner picks {chosen:,} here; last logits vs 512-token steps, max "
                + ", ".join(f"{diffs[s]:.4f} ({s:,})" for s in STEPS[1:])
                + f" (bf16 eps 0.0078); {shape}"
            ),
        )
    ]
    emit([r.judged() for r in results])
    return 0


if __name__ == "__main__":
    sys.exit(main())
