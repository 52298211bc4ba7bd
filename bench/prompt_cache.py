"""Follow-up questions with and without the worker's prompt cache (issue 17).

Two real worker processes on the demo checkpoint: one keeps its KV cache (the
default, one conversation), one keeps none (`prompt_cache_entries=0`), which is
what every request cost before. Both get the same ten-turn conversation about five
photos (1280×960, all attached to the first question, as a document is) and about
3,000 tokens of text; requests alternate between the two so that the load of the
shared machine hits both alike. Greedy, 16 new tokens.

Figures: time to first token of turn 5 with the cache ÷ without (target ≤ 0.2);
of turn 1, where nothing is cached yet (target ≤ 1.05: the bookkeeping costs
nothing); and turn N with and without for N = 1..10, stored in docs/scaling.json and
drawn as the third panel of docs/scaling.png, with a table in docs/scaling.md.
Medians over `--runs` conversations; each run starts with `FreeCache`.

Turn 1 is a difference of a few per cent between two requests of several seconds, so
besides the conversations it is measured on its own: `--first-turns` pairs of cold
first questions (`FreeCache` before each on the caching worker), the order within a
pair alternating (with-without, then without-with) so that a drift in the machine's
load cancels; each pair gives one ratio, and the figure is their median.

Usage: python bench/prompt_cache.py [--runs 2] [--turns 10] [--first-turns 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit, spread  # noqa: E402
from bench.scaling import make_photos  # noqa: E402
from bench.scaling_docs import FOLLOW_UPS, measured_now, update  # noqa: E402

DOCUMENT = (
    "Page {n}. The quarterly report lists revenue, costs and the margin for every region; "
    "the table below compares them with the previous quarter and the chart shows the trend. "
)
NEW_TOKENS = 16


def _ask(
    client: Any, turns: list[Any], new_tokens: int = NEW_TOKENS
) -> tuple[float, int, int, str]:
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    rid = client.generate(turns, sampling=Sampling(max_new_tokens=new_tokens, temperature=0.0))
    events = list(client.events_for(rid, timeout=900))
    done = events[-1]
    if not isinstance(done, p.Done):
        raise RuntimeError(f"request failed: {done}")
    text = "".join(e.text for e in events if isinstance(e, p.Token))
    return done.time_to_first_token_s * 1000, done.prompt_tokens, done.cached_prompt_tokens, text


def _start(entries: int) -> Any:
    from app.workers import protocol as p
    from app.workers.client import WorkerClient

    client = WorkerClient()
    client.start()
    rid = client.load(demo_root() / "bf16", prompt_cache_entries=entries)
    ready = list(client.events_for(rid, timeout=300))[-1]
    assert isinstance(ready, p.Ready), ready
    return client


def main() -> None:
    from app.workers import protocol as p

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--first-turns", type=int, default=8)
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    warm: Any = _start(1)
    cold: Any = _start(0)
    # turn -> (with the cache, without) in ms; prompt and cached tokens of the last run
    times: dict[int, tuple[list[float], list[float]]] = {}
    tokens: dict[int, tuple[int, int]] = {}
    first: list[tuple[float, float]] = []  # cold first questions: (with the cache, without)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            photos = make_photos(Path(tmp), 5)
            document = "".join(DOCUMENT.format(n=n) for n in range(1, 36))
            for client in (warm, cold):  # warm-up: first-call costs out of the figures
                _ask(client, [p.ChatTurn("user", "Warm up.", photos[:1])])
            for _run in range(args.runs):
                list(warm.events_for(warm.free_cache(), timeout=60))
                turns = [p.ChatTurn("user", document + "Summarise page 3.", photos)]
                for turn in range(1, args.turns + 1):
                    with_ms, prompt, cached, answer = _ask(warm, turns)
                    without_ms, _, _, _ = _ask(cold, turns)
                    pair = times.setdefault(turn, ([], []))
                    pair[0].append(with_ms)
                    pair[1].append(without_ms)
                    tokens[turn] = (prompt, cached)
                    print(
                        f"turn {turn:>2}: prompt {prompt:,} tokens, {cached:,} cached; first "
                        f"token {with_ms:.0f} ms with the cache, {without_ms:.0f} ms without"
                    )
                    question = (
                        f"Now the table on page {turn + 3} as CSV; compare it with the chart."
                    )
                    turns = [*turns, p.ChatTurn("assistant", answer), p.ChatTurn("user", question)]
            opening = [p.ChatTurn("user", document + "Summarise page 3.", photos)]
            for number in range(args.first_turns):
                measured: dict[str, float] = {}
                order = ("warm", "cold") if number % 2 == 0 else ("cold", "warm")
                for name in order:
                    client = warm if name == "warm" else cold
                    list(client.events_for(client.free_cache(), timeout=60))
                    measured[name] = _ask(client, opening)[0]
                first.append((measured["warm"], measured["cold"]))
                print(
                    f"first question {number + 1}: {measured['warm']:.0f} ms with the cache, "
                    f"{measured['cold']:.0f} ms without"
                )
    finally:
        for client in (warm, cold):
            client.shutdown()
    load_after = os.getloadavg()[0]
    conditions = (
        f"load average {load_before:.1f} before, {load_after:.1f} after, on "
        f"{os.cpu_count()} cores shared with other work"
    )
    update(
        FOLLOW_UPS,
        {
            "measured": measured_now(),
            "setup": (
                f"Five 1280×960 photos and about 3,000 tokens of text in turn 1, a short "
                f"question each turn after; greedy, {NEW_TOKENS} new tokens; two real workers, "
                f"one keeping its KV cache and one keeping none, asked alternately; medians "
                f"of {args.runs} conversations; {conditions}."
            ),
            "turns": [
                {
                    "turn": turn,
                    "prompt": tokens[turn][0],
                    "cached": tokens[turn][1],
                    "with_ms": statistics.median(with_ms),
                    "without_ms": statistics.median(without_ms),
                }
                for turn, (with_ms, without_ms) in sorted(times.items())
            ],
        },
    )
    results = []
    for turn, name, target in ((5, "turn 5", "<= 0.2"), (1, "turn 1 (nothing cached)", "<= 1.05")):
        warm_ms, cold_ms = times[turn]
        if turn == 1 and first:  # the pairs measured for it, more than the conversations
            warm_ms = [w for w, _ in first]
            cold_ms = [c for _, c in first]
        ratios = [w / c for w, c in zip(warm_ms, cold_ms, strict=True)]
        prompt, cached = tokens[turn]
        results.append(
            Result(
                f"follow-ups: time to first token with the cache ÷ without, {name}",
                statistics.median(ratios),
                "ratio",
                target,
                detail=(
                    f"{spread(ratios)}; with {statistics.median(warm_ms):.0f} ms, without "
                    f"{statistics.median(cold_ms):.0f} ms; prompt {prompt:,} tokens "
                    f"({cached:,} cached), 5 photos; {len(ratios)} pairs; {conditions}"
                ),
            ).judged()
        )
    for turn, (warm_ms, cold_ms) in sorted(times.items()):
        prompt, cached = tokens[turn]
        results.append(
            Result(
                f"follow-ups: time to first token of turn {turn} with the cache",
                statistics.median(warm_ms),
                "ms",
                detail=(
                    f"without the cache {statistics.median(cold_ms):.0f} ms; prompt "
                    f"{prompt:,} tokens, {cached:,} cached; median of {len(warm_ms)}"
                ),
            )
        )
    emit(results)


if __name__ == "__main__":
    main()
