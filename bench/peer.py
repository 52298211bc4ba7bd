"""A peer side by side: the same request through `transformers serve` and the app (issue 8, 3).

`transformers serve` runs on 127.0.0.1 with the bf16 demo checkpoint (started and
stopped by `ManagedServer`, as the app does for server engines) and is asked with the
`openai` client, streaming. The app is asked through the window's bridge over its local
worker. Same question, greedy, up to 512 new tokens, runs alternating (app, peer, app,
…) so drift hits both alike. Ratios are app ÷ peer: above 1 the app streams faster;
below 1 its first token comes sooner.

Tokens/s runs from the first arrival to the last, over the tokens each side reports (the
peer's ``usage``: its chunks hold whole words, not tokens); both must give the same count.
Usage: python bench/peer.py [--runs 5] [--new-tokens 512]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import Result, demo_root, emit, spread  # noqa: E402
from bench.streaming import ThroughBridge  # noqa: E402

QUESTION = "Describe everything you can see, in detail."


class ThroughPeer:
    """`transformers serve` with the demo checkpoint, asked with the `openai` client."""

    def __init__(self, folder: Path, cache: Path) -> None:
        import openai

        from app.engines.managed_server import TEMPLATES, ManagedServer, free_port

        self.server = ManagedServer(
            TEMPLATES["transformers"] + " --device cpu",
            model=str(folder),
            port=free_port(),
            env={"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"},
        )
        self.server.start()
        self.server.wait_until_ready(timeout_s=300)
        self.model = str(folder)
        self.client = openai.OpenAI(base_url=self.server.base_url, api_key="no-key")

    def run(self, question: str, new_tokens: int) -> tuple[float, float, int]:
        started = time.perf_counter()
        stream = self.client.chat.completions.create(
            model=self.model,
            messages=[{"role": "user", "content": question}],
            max_tokens=new_tokens,
            temperature=0.0,
            stream=True,
            stream_options={"include_usage": True},
        )
        arrivals: list[float] = []
        tokens = 0
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.perf_counter())
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
        if len(arrivals) < 2 or tokens < 2:
            raise RuntimeError(f"the peer streamed {len(arrivals)} chunks, {tokens} tokens")
        rate = (tokens - 1) / (arrivals[-1] - arrivals[0])
        return arrivals[0] - started, rate, tokens

    def close(self) -> None:
        self.client.close()
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=512)
    args = parser.parse_args()
    folder = demo_root() / "bf16"
    with tempfile.TemporaryDirectory(prefix="md-bench-peer-") as cache:
        app = ThroughBridge(folder)
        peer = ThroughPeer(folder, Path(cache))
        try:
            app.run(QUESTION, [], 8)  # warm up both
            peer.run(QUESTION, 8)
            rate_ratios, ttft_ratios = [], []
            app_rates, peer_rates, app_ttft, peer_ttft = [], [], [], []
            tokens = peer_tokens = 0
            for _ in range(args.runs):
                a_ttft, a_rate, tokens = app.run(QUESTION, [], args.new_tokens)
                p_ttft, p_rate, peer_tokens = peer.run(QUESTION, args.new_tokens)
                assert tokens == peer_tokens, (tokens, peer_tokens)
                rate_ratios.append(a_rate / p_rate)
                ttft_ratios.append(a_ttft / p_ttft)
                app_rates.append(a_rate)
                peer_rates.append(p_rate)
                app_ttft.append(1000 * a_ttft)
                peer_ttft.append(1000 * p_ttft)
        finally:
            app.close()
            peer.close()
    counts = f"{tokens} tokens both, greedy"
    emit(
        [
            Result(
                "tokens/s ratio (app / transformers serve)",
                statistics.median(rate_ratios),
                "ratio",
                detail=f"{spread(rate_ratios)}; app {spread(app_rates, 1)} tok/s, peer "
                f"{spread(peer_rates, 1)} tok/s; {counts}",
            ),
            Result(
                "time to first token ratio (app / transformers serve)",
                statistics.median(ttft_ratios),
                "ratio",
                detail=f"{spread(ttft_ratios)}; app {spread(app_ttft, 1)} ms, peer "
                f"{spread(peer_ttft, 1)} ms; text only",
            ),
        ]
    )


if __name__ == "__main__":
    main()
