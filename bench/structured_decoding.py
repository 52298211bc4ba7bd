"""What grammar-constrained decoding costs per token, against free decoding, on the demo.

One engine (the demo checkpoint, bf16, one torch thread: the machine is shared) answers
the same question with and without a schema covering every field type, runs alternating,
same seeds. The figure is the decode time per generated token (the engine's own
tokens/s, first token excluded), median over runs; the constrained answer ends when its
JSON closes, the free one runs to the same length (`max_new_tokens` set from the
constrained run), so both decode the same number of tokens.

Usage: python bench/structured_decoding.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

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

    from app.inference.engine import ChatMessage, Engine, SamplingParams
    from app.inference.loader import load_model
    from app.structured.answer import check_answer
    from app.structured.request import from_document

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    request = from_document(SCHEMA)
    engine = Engine(load_model(demo_root() / "bf16"), prompt_cache=None)
    question = [ChatMessage("user", "Describe the product in the photo.")]
    free_ms: list[float] = []
    constrained_ms: list[float] = []
    tokens: list[int] = []
    # A first constrained answer compiles the grammar and warms both paths up.
    engine.generate(question, SamplingParams(request.budget, 0.6, 0.9, 0), lambda ids: None,
                    json_schema=request.schema)  # fmt: skip
    for run in range(args.runs):
        params = SamplingParams(request.budget, 0.6, 0.9, 100 + run)
        result = engine.generate(question, params, lambda ids: None, json_schema=request.schema)
        text = engine.decoder()
        check_answer(text.push(result.token_ids) + text.flush(), request.schema,
                     result.finish_reason, request.budget)  # fmt: skip
        free = engine.generate(
            question,
            SamplingParams(result.generated_tokens, 0.6, 0.9, 100 + run),
            lambda ids: None,
        )
        constrained_ms.append(1000 / result.tokens_per_s)
        free_ms.append(1000 / free.tokens_per_s)
        tokens.append(result.generated_tokens)
        print(f"run {run}: {result.generated_tokens} tokens, constrained "
              f"{constrained_ms[-1]:.2f} ms/token, free {free_ms[-1]:.2f} ms/token")  # fmt: skip
    ratios = [c / f - 1 for c, f in zip(constrained_ms, free_ms, strict=True)]
    load = os.getloadavg()[0]
    emit(
        [
            Result(
                "structured answers: constrained decoding's extra cost per token (demo)",
                100 * statistics.median(ratios),
                "%",
                target="<= 10",
                detail=(
                    f"constrained {statistics.median(constrained_ms):.2f} ms/token, free "
                    f"{statistics.median(free_ms):.2f} ms/token (medians of {args.runs} "
                    f"alternating runs of {min(tokens)}-{max(tokens)} tokens, schema with every "
                    f"field type, 1 torch thread; load average {load:.1f})"
                ),
            ).judged()
        ]
    )


if __name__ == "__main__":
    main()
