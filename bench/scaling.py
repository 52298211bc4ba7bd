"""Time to first token and tokens/s against context length and image count (issue 8, item 8).

Real worker process, demo checkpoint, greedy, 32 new tokens per request: text prompts of
about 1K, 8K and 32K tokens, and a short question with 1 to 5 images (1280×960 photos,
which the demo's processor cuts into tiles). Writes docs/scaling.md (a table) and
docs/scaling.png (the plot).

Usage: python bench/scaling.py [--runs 3] [--contexts 1000,8000,32000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Result, demo_root, emit  # noqa: E402

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
    from app.workers import protocol as p

    ttfts, rates, prompt = [], [], 0
    for _ in range(runs):
        rid = client.generate(  # type: ignore[attr-defined]
            [p.ChatTurn("user", text, images)], max_new_tokens=32, temperature=0.0
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
    ready = list(client.events_for(client.load(demo_root() / "bf16"), timeout=300))[-1]
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
    write_docs(rows)
    results = [
        Result(
            f"time to first token, {_label(kind, x)}",
            ttft,
            "ms",
            detail=f"prompt {prompt} tokens; decode {rate:.1f} tokens/s; median of {args.runs}",
        )
        for kind, x, prompt, ttft, rate in rows
    ]
    emit(results)


def _label(kind: str, x: int) -> str:
    return f"text, ~{x:,} tokens" if kind == "text" else f"{x} image(s) + question"


def write_docs(rows: list[tuple[str, int, int, float, float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [
        "# Scaling with context length and images",
        "",
        "Demo checkpoint on this machine's CPU, real worker process, greedy, 32 new tokens;",
        "medians. Regenerate with `python bench/scaling.py`.",
        "",
        "| input | prompt tokens | time to first token (ms) | decode tokens/s |",
        "| --- | ---: | ---: | ---: |",
    ]
    for kind, x, prompt, ttft, rate in rows:
        lines.append(f"| {_label(kind, x)} | {prompt:,} | {ttft:.0f} | {rate:.1f} |")
    (ROOT / "docs" / "scaling.md").write_text("\n".join(lines) + "\n", encoding="utf-8")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, kind, xlabel in ((axes[0], "text", "prompt tokens"), (axes[1], "images", "images")):
        sel = [r for r in rows if r[0] == kind]
        xs = [r[2] if kind == "text" else r[1] for r in sel]
        ax.plot(xs, [r[3] for r in sel], "o-", label="time to first token (ms)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ms")
        twin = ax.twinx()
        twin.plot(xs, [r[4] for r in sel], "s--", color="tab:orange", label="decode tokens/s")
        twin.set_ylabel("tokens/s")
        ax.set_title(f"Scaling with {'context length' if kind == 'text' else 'image count'}")
        ax.legend(loc="upper left", fontsize=8)
        twin.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "scaling.png", dpi=100)


if __name__ == "__main__":
    main()
