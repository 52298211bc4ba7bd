"""Whole documents: the second question over a document that fits reuses the KV cache.

Two real worker processes on the demo checkpoint, one keeping its KV cache (the
default) and one keeping none. A report the script writes (about 4,000 tokens of text)
goes whole, with page markers, before the first question, as `ask --doc` and the chat
send it; the second question follows the first answer. Figure: the second question's
time to first token with the cache ÷ without (issue 34's target: ≤ 0.2). Greedy, 8 new
tokens; medians over `--runs` pairs, requests alternating between the two workers.

Run: .venv/bin/python bench/documents_cache.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit, spread  # noqa: E402
from bench.prompt_cache import _ask as ask  # noqa: E402
from bench.prompt_cache import _start  # noqa: E402
from tests.documents.long_pdf import write_report  # noqa: E402

NEW_TOKENS = 8


def main() -> None:
    from app.documents.context import ContextMeter
    from app.documents.doc_index import open_document
    from app.documents.doc_plan import plan_documents
    from app.workers import protocol as p

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    meter = ContextMeter(demo_root() / "bf16")
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        os.environ["MAVERICK_DESK_DATA_DIR"] = str(Path(tmp) / "data")
        path, facts = write_report(Path(tmp) / "report.pdf", pages=5, facts=2)
        with open_document(path) as doc:
            first_q, second_q = facts[0][2], facts[1][2]
            plan = plan_documents(
                [doc], first_q, budget_tokens=60_000, count_tokens=meter.count_text
            )
    assert plan.whole
    warm, cold = _start(1), _start(0)
    ratios, warm_ms, cold_ms = [], [], []
    try:
        for client in (warm, cold):
            ask(client, [p.ChatTurn("user", "Warm up.")], NEW_TOKENS)
        for run in range(args.runs):
            list(warm.events_for(warm.free_cache(), timeout=60))
            opening = [p.ChatTurn("user", f"{plan.text}\n{first_q}")]
            _, prompt1, _, answer = ask(warm, opening, NEW_TOKENS)
            follow = [*opening, p.ChatTurn("assistant", answer), p.ChatTurn("user", second_q)]
            order = (warm, cold) if run % 2 == 0 else (cold, warm)
            measured = {}
            for client in order:
                measured[id(client)] = ask(client, follow, NEW_TOKENS)
            w, c = measured[id(warm)], measured[id(cold)]
            warm_ms.append(w[0])
            cold_ms.append(c[0])
            ratios.append(w[0] / c[0])
            print(
                f"run {run + 1}: document {prompt1:,} tokens; second question {w[1]:,} tokens, "
                f"{w[2]:,} cached: first token {w[0]:.0f} ms with the cache, {c[0]:.0f} ms without"
            )
    finally:
        for client in (warm, cold):
            client.shutdown()
    emit(
        [
            Result(
                "second question over a whole document: first token with the cache ÷ without",
                statistics.median(ratios),
                "ratio",
                "<= 0.2",
                detail=(
                    f"{spread(ratios)}; with {statistics.median(warm_ms):.0f} ms, without "
                    f"{statistics.median(cold_ms):.0f} ms; {plan.tokens:,} tokens of document "
                    f"text; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
                ),
            ).judged()
        ]
    )


if __name__ == "__main__":
    main()
