"""What grammar-constrained decoding costs per token, against free decoding, on the demo.

One engine (the demo checkpoint, bf16, one torch thread: the machine is shared) answers
the same question with and without a schema covering every field type, runs alternating,
same seeds. The figure is the decode time per generated token (the engine's own
tokens/s, first token excluded), median over runs; the constrained answer ends when its
JSON closes, the free one runs to the same length (`max_new_tokens` set from the
constrained run), so both decode the same number of tokens. The machine is shared, so the
time spent inside the constraint itself (`GrammarLogits`, timed around each call) is
reported too, per token, as a share of the free decode time.

On a shared machine single runs swing by tens of percent either way, so the figure is the
median of the run-by-run ratios over many short pairs.

Usage: python bench/structured_decoding.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit  # noqa: E402

SCHEMA = {
    "format": "maverick-desk.fields",
    "version": 1,
    "fields": [
        {"name": "title", "type": "text", "description": "the product's name"},
        {"name": "price", "type": "number"},
        {"name": "released", "type": "date"},
        {"name": "in_stock", "type": "yes/no"},
        {"name": "colours", "type": "list"},
        {"name": "size", "type": "one-of", "choices": ["small", "medium", "large"]},
    ],
}


def main() -> None:
    import torch

    from app.inference import constrained
    from app.inference.engine import ChatMessage, Engine
    from app.inference.loader import load_model
    from app.structured.answer import check_answer
    from app.structured.request import from_document
    from app.vocabulary.sampling import Sampling

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(1)
    inside: list[float] = []  # seconds in the constraint, one entry per call
    plain_call = constrained.GrammarLogits.__call__

    def timed_call(self: Any, input_ids: Any, scores: Any) -> Any:
        started = time.perf_counter()
        out = plain_call(self, input_ids, scores)
        inside.append(time.perf_counter() - started)
        return out

    constrained.GrammarLogits.__call__ = timed_call  # type: ignore[method-assign]
    schema = from_document(SCHEMA).schema  # every field type; short text, so pairs are quick
    schema["properties"]["title"]["maxLength"] = 40
    schema["properties"]["colours"].update(maxItems=3, items={"type": "string", "maxLength": 12})
    request = from_document(schema)
    engine = Engine(load_model(demo_root() / "bf16"), prompt_cache=None)
    question = [ChatMessage("user", "Describe the product in the photo.")]
    free_ms: list[float] = []
    constrained_ms: list[float] = []
    tokens: list[int] = []
    # A first constrained answer compiles the grammar and warms both paths up.
    engine.generate(question, Sampling(request.budget, 0.6, 0.9, seed=0), lambda ids: None,
                    json_schema=request.schema)  # fmt: skip
    inside.clear()
    for run in range(args.runs):
        params = Sampling(request.budget, 0.6, 0.9, seed=100 + run)
        result = engine.generate(question, params, lambda ids: None, json_schema=request.schema)
        text = engine.decoder()
        check_answer(text.push(result.token_ids) + text.flush(), request.schema,
                     result.finish_reason, request.budget)  # fmt: skip
        free = engine.generate(
            question,
            Sampling(result.generated_tokens, 0.6, 0.9, seed=100 + run),
            lambda ids: None,
        )
        constrained_ms.append(1000 / result.tokens_per_s)
        free_ms.append(1000 / free.tokens_per_s)
        tokens.append(result.generated_tokens)
        print(f"run {run}: {result.generated_tokens} tokens, constrained "
              f"{constrained_ms[-1]:.2f} ms/token, free {free_ms[-1]:.2f} ms/token")  # fmt: skip
    ratios = [c / f - 1 for c, f in zip(constrained_ms, free_ms, strict=True)]
    inside_ms = 1000 * statistics.median(inside)
    load = os.getloadavg()[0]
    emit(
        [
            Result(
                "structured answers: constrained decoding's extra cost per token (demo)",
                100 * statistics.median(ratios),
                "%",
                target="<= 10",
                detail=(
                    f"median of {args.runs} alternating pairs of {min(tokens)}-{max(tokens)} "
                    f"tokens (run by run {100 * min(ratios):+.0f} % to "
                    f"{100 * max(ratios):+.0f} %); "
                    f"constrained {statistics.median(constrained_ms):.2f} ms/token, free "
                    f"{statistics.median(free_ms):.2f} ms/token; schema with every field type, "
                    f"1 torch thread; load average {load:.1f}"
                ),
            ).judged(),
            Result(
                "structured answers: time inside the constraint per token (demo)",
                100 * inside_ms / statistics.median(free_ms),
                "% of a free token",
                detail=(
                    f"median {inside_ms:.3f} ms a token (mask, UTF-8 guard, temperature, "
                    f"top-p) over {len(inside)} tokens"
                ),
            ),
        ]
    )


if __name__ == "__main__":
    main()
