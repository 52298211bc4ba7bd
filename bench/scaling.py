"""Time to first token and tokens/s against context length and image count (issue 8, item 8).

Real worker process keeping no prompt cache (every request is prefilled whole; follow-ups
from the cache are bench/prompt_cache.py's), demo checkpoint, greedy, 32 new tokens per
request: text prompts of
about 1K, 8K and 32K tokens, and a short question with 1 to 5 images (1280×960 photos,
which the demo's processor cuts into tiles). Stores its figures in docs/scaling.json and
writes docs/scaling.md (the tables) and docs/scaling.png (the plot) with
`bench.scaling_docs`, beside the follow-up turns of bench/prompt_cache.py.

Usage: python bench/scaling.py [--runs 3] [--contexts 1000,8000,32000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit  # noqa: E402
from bench.scaling_docs import CONTEXT, label, measured_now, update  # noqa: E402

NEW_TOKENS = 32
FILLER = "The quarterly report lists revenue, costs and the margin for every region. "


def make_photos(folder: Path, count: int) -> list[str]:
    from PIL import Image, ImageDraw

    paths = []
    for i in range(count):
        img = Image.new("RGB", (1280, 960), (40 + 40 * i, 90, 200 - 30 * i))
        ImageDraw.Draw(img).ellipse((300, 200, 980, 760), fill=(250, 200 - 20 * i, 0))
        path = folder / f"photo{i}.jpg"
        img.save(path, quality=90)
        paths.append(str(path))
    return paths


def measure(client: object, text: str, images: list[str], runs: int) -> tuple[float, float, int]:
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    ttfts, rates, prompt = [], [], 0
    for _ in range(runs):
        rid = client.generate(
            [p.ChatTurn("user", text, images)],
            sampling=Sampling(max_new_tokens=NEW_TOKENS, temperature=0.0),
        )
        events = list(client.events_for(rid, timeout=900))  # type: ignore[attr-defined]
        done = events[-1]
        if not isinstance(done, p.Done):
            raise RuntimeError(f"request failed: {done}")
        ttfts.append(done.time_to_first_token_s * 1000)
        rates.append(done.tokens_per_s)
        prompt = done.prompt_tokens
    return statistics.median(ttfts), statistics.median(rates), prompt


def main() -> None:
    from app.workers import protocol as p
    from app.workers.client import WorkerClient

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--contexts", default="1000,8000,32000")
    args = parser.parse_args()
    contexts = [int(c) for c in args.contexts.split(",")]

    client = WorkerClient()
    client.start()
    # No prompt cache: a repeated request (and the 2-image prompt after the 1-image one)
    # would otherwise come from it; the cold prefill is what this measures.
    rid = client.load(demo_root() / "bf16", prompt_cache_entries=0)
    ready = list(client.events_for(rid, timeout=300))[-1]
    assert isinstance(ready, p.Ready), ready
    rows: list[tuple[str, int, int, float, float]] = []
    try:
        measure(client, "Warm up.", [], 1)
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(demo_root() / "bf16" / "tokenizer.json"))
        per_sentence = len(tokenizer.encode(FILLER).ids)
        for target in contexts:
            text = FILLER * max(1, target // per_sentence) + "Summarise the report."
            ttft, rate, prompt = measure(client, text, [], args.runs)
            rows.append(("text", target, prompt, ttft, rate))
            print(f"text ~{target:>6} tokens: prompt {prompt} tokens, first token {ttft:.0f} ms")
        with tempfile.TemporaryDirectory() as tmp:
            photos = make_photos(Path(tmp), 5)
            for count in range(1, 6):
                ttft, rate, prompt = measure(
                    client, "Compare these photos.", photos[:count], args.runs
                )
                rows.append(("images", count, prompt, ttft, rate))
                print(f"{count} image(s): prompt {prompt} tokens, first token {ttft:.0f} ms")
    finally:
        client.shutdown()
    update(CONTEXT, {"measured": measured_now(), "new_tokens": NEW_TOKENS, "rows": rows})
    results = [
        Result(
            f"time to first token, {label(kind, x)}",
            ttft,
            "ms",
            detail=f"prompt {prompt} tokens; decode {rate:.1f} tokens/s; median of {args.runs}",
        )
        for kind, x, prompt, ttft, rate in rows
    ]
    emit(results)


if __name__ == "__main__":
    main()
