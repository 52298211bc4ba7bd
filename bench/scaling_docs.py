"""docs/scaling.md and docs/scaling.png, from the figures of two benchmark scripts.

`bench/scaling.py` measures time to first token against context length and image count;
`bench/prompt_cache.py` measures it turn by turn through a conversation, with the
worker's prompt cache and without. Each script stores its own section of
docs/scaling.json with `update`, which then draws the table and the three panels of the
plot again from every section there, so that running either script alone keeps the
other's figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import ROOT

DOCS = ROOT / "docs"
CONTEXT = "context_and_images"  # scaling.py: rows of [kind, x, prompt tokens, ms, tokens/s]
FOLLOW_UPS = "follow_ups"  # prompt_cache.py: {"turns": [{turn, with_ms, without_ms, ...}]}


def measured_now() -> str:
    """When and where, as "<date> on <machine>" (docs/benchmarks.json says it so too)."""
    from bench.run_all import machine, utc_now

    return f"{utc_now()} on {machine()}"


def label(kind: str, x: int) -> str:
    return f"text, ~{x:,} tokens" if kind == "text" else f"{x} image(s) + question"


def update(section: str, payload: dict[str, Any], docs: Path = DOCS) -> None:
    """Store one script's figures, then write scaling.md and scaling.png from all of them."""
    path = docs / "scaling.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data[section] = payload
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (docs / "scaling.md").write_text(markdown(data), encoding="utf-8")
    plot(data, docs / "scaling.png")


def markdown(data: dict[str, Any]) -> str:
    lines = [
        "# Scaling with context length, images and turns",
        "",
        "Demo checkpoint on this machine's CPU, real worker process, greedy; medians. The",
        "first table's worker keeps no prompt cache: every prompt is prefilled whole.",
        "Regenerate with `python bench/scaling.py` (context and images) and",
        "`python bench/prompt_cache.py` (follow-up turns); each keeps the other's figures.",
    ]
    context = data.get(CONTEXT)
    if context:
        lines += [
            "",
            f"## Context length and images ({context['measured']}, "
            f"{context['new_tokens']} new tokens)",
            "",
            "| input | prompt tokens | time to first token (ms) | decode tokens/s |",
            "| --- | ---: | ---: | ---: |",
        ]
        for kind, x, prompt, ttft, rate in context["rows"]:
            lines.append(f"| {label(kind, x)} | {prompt:,} | {ttft:.0f} | {rate:.1f} |")
    follow = data.get(FOLLOW_UPS)
    if follow:
        lines += [
            "",
            f"## Follow-up turns, with the prompt cache and without ({follow['measured']})",
            "",
            follow["setup"],
            "",
            "| turn | prompt tokens | cached | first token, with (ms) | without (ms) | ratio |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for t in follow["turns"]:
            lines.append(
                f"| {t['turn']} | {t['prompt']:,} | {t['cached']:,} | {t['with_ms']:.0f} "
                f"| {t['without_ms']:.0f} | {t['with_ms'] / t['without_ms']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def plot(data: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    rows = data.get(CONTEXT, {}).get("rows", [])
    for ax, kind, xlabel in ((axes[0], "text", "prompt tokens"), (axes[1], "images", "images")):
        title = f"Scaling with {'context length' if kind == 'text' else 'image count'}"
        ax.set_title(title)
        sel = [r for r in rows if r[0] == kind]
        if not sel:
            ax.text(0.5, 0.5, "not measured yet", ha="center", transform=ax.transAxes)
            continue
        xs = [r[2] if kind == "text" else r[1] for r in sel]
        ax.plot(xs, [r[3] for r in sel], "o-", label="time to first token (ms)")
        if kind == "images":
            ax.set_xticks(xs)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("ms")
        twin = ax.twinx()
        twin.plot(xs, [r[4] for r in sel], "s--", color="tab:orange", label="decode tokens/s")
        twin.set_ylabel("tokens/s")
        ax.legend(loc="upper left", fontsize=8)
        twin.legend(loc="upper right", fontsize=8)
    ax = axes[2]
    ax.set_title("Follow-up turns: the prompt cache")
    turns = data.get(FOLLOW_UPS, {}).get("turns", [])
    if turns:
        xs = [t["turn"] for t in turns]
        ax.plot(xs, [t["without_ms"] for t in turns], "s--", label="without the cache")
        ax.plot(xs, [t["with_ms"] for t in turns], "o-", label="with the cache")
        ax.set_xticks(xs)
        ax.set_xlabel("turn (5 photos + ~3,000 tokens of text in turn 1)")
        ax.set_ylabel("time to first token (ms)")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "not measured yet", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    plt.close(fig)
