"""The local API (`maverick-desk serve`) against the worker client it drives (issue 21).

The same greedy request, alternating: through the local API with the `openai` client
(streaming, `usage` in the last chunk), and straight through `WorkerClient` on the same
worker process. Figures:

- tokens/s through the API ÷ tokens/s through the worker client (target ≥ 0.95);
- time to first token through the API minus through the worker client (target ≤ 20 ms),
  both from the moment the request is sent;
- the same two figures for `transformers serve` on the demo as the peer (`--no-peer`
  to skip it): API ÷ peer.

Tokens/s runs from the first arrival to the last over the tokens each side reports, as
in bench/streaming.py. The demo runs on the CPU of a machine other engineers share, so
each run starts after a second of quiet and the load average is reported.
Usage: python bench/local_api.py [--runs 5] [--new-tokens 128] [--no-peer] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p  # noqa: E402
from app.workers.client import WorkerClient  # noqa: E402
from bench.common import ROOT, Result, demo_root, emit, spread  # noqa: E402

QUESTION = "Tell me a long story about the picture."  # greedy, the demo does not stop early
QUIET_S = 1.0
SCRIPT = "bench/local_api.py"
SECTION = "10. the local API (maverick-desk serve)"


class StampingClient(WorkerClient):
    """A worker client that notes when each `Generate` leaves for the worker."""

    sent_at = 0.0

    def send(self, message: p.Message) -> None:
        if isinstance(message, p.Generate):
            self.sent_at = time.perf_counter()
        super().send(message)


class Paths:
    """One worker behind a LocalApi; `direct` asks the worker client, `api` the HTTP API.

    The worker client stamps when each `Generate` leaves and when a request's first token
    arrives from the worker, so the time a path adds outside the model (``added``) is
    measured apart from prefill, which on a shared CPU varies far more than the overhead.
    """

    def __init__(self, folder: Path) -> None:
        import openai

        from app.engines.managed_server import free_port
        from app.local_api.event_router import EventRouter
        from app.local_api.serving import LocalApi, ServeOptions

        self.router = EventRouter()
        self.first_token_at = 0.0
        self.worker = StampingClient(on_event=self._on_event)
        self.worker.start()
        options = ServeOptions(port=free_port())
        self.api = LocalApi(options, client=self.worker, router=self.router)
        self.api.start()
        self.api.load(folder)
        self.client = openai.OpenAI(base_url=self.api.base_url, api_key="x", max_retries=0)

    def _on_event(self, event: p.Message) -> None:
        if isinstance(event, p.Token) and not self.first_token_at:
            self.first_token_at = time.perf_counter()
        self.router(event)

    def added_ms(self, started: float, first_seen: float) -> float:
        """Time outside the model: request to `Generate` sent, first token to its reader."""
        return 1000 * ((self.worker.sent_at - started) + (first_seen - self.first_token_at))

    def direct(self, new_tokens: int) -> tuple[float, float, int, float]:
        from app.workers.client import new_request_id

        events: queue.Queue[p.Message] = queue.Queue()
        rid = new_request_id()
        self.router.route(rid, events.put)
        arrivals: list[float] = []
        self.first_token_at = 0.0
        started = time.perf_counter()
        self.worker.generate(
            [p.ChatTurn("user", QUESTION)], Sampling(new_tokens, 0.0, 1.0), request_id=rid
        )
        while True:
            event = events.get(timeout=600)
            if isinstance(event, p.Token):
                arrivals.append(time.perf_counter())
            elif isinstance(event, p.Done):
                break
            else:
                raise RuntimeError(f"the worker answered {event}")
        self.router.drop(rid)
        n = event.generated_tokens
        rate = (n - 1) / (arrivals[-1] - arrivals[0])
        return arrivals[0] - started, rate, n, self.added_ms(started, arrivals[0])

    def through_api(self, new_tokens: int) -> tuple[float, float, int, float]:
        self.first_token_at = 0.0
        started = time.perf_counter()
        ttft, rate, tokens = ask_openai(self.client, self.api.model.model_id, new_tokens)
        return ttft, rate, tokens, self.added_ms(started, started + ttft)

    def close(self) -> None:
        self.client.close()
        self.api.close()
        self.worker.shutdown(timeout=10)


def ask_openai(client: Any, model: str, new_tokens: int) -> tuple[float, float, int]:
    """(time to first token s, tokens/s, tokens) of one streamed greedy request."""
    started = time.perf_counter()
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": QUESTION}],
        max_tokens=new_tokens,
        temperature=0.0,
        top_p=1.0,
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
        raise RuntimeError(f"streamed {len(arrivals)} chunks, {tokens} tokens")
    return arrivals[0] - started, (tokens - 1) / (arrivals[-1] - arrivals[0]), tokens


def conditions() -> str:
    load = os.getloadavg()
    return f"load average {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--no-peer", action="store_true", help="skip transformers serve")
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.*")
    args = parser.parse_args()
    folder = demo_root() / "bf16"
    before = conditions()
    paths = Paths(folder)
    peer: Any = None
    cache = tempfile.TemporaryDirectory(prefix="md-bench-api-")
    # r: tokens/s, t: time to first token, x: time added outside the model;
    # d: worker client directly, a: the local API, p: the peer.
    names = ("rd", "ra", "rp", "td", "ta", "tp", "xd", "xa")
    figures: dict[str, list[float]] = {name: [] for name in names}
    tokens = 0
    try:
        if not args.no_peer:
            from bench.peer import ThroughPeer

            peer = ThroughPeer(folder, Path(cache.name))
            peer.run(QUESTION, 8)
        for _ in range(3):  # warm up (the openai client builds its types on first use)
            paths.direct(8)
            paths.through_api(8)
        for _ in range(args.runs):
            time.sleep(QUIET_S)
            d_ttft, d_rate, tokens, d_added = paths.direct(args.new_tokens)
            time.sleep(QUIET_S)
            a_ttft, a_rate, a_tokens, a_added = paths.through_api(args.new_tokens)
            figures["xd"].append(d_added)
            figures["xa"].append(a_added)
            assert a_tokens == tokens, (a_tokens, tokens)
            figures["rd"].append(d_rate)
            figures["ra"].append(a_rate)
            figures["td"].append(d_ttft * 1000)
            figures["ta"].append(a_ttft * 1000)
            if peer is not None:
                time.sleep(QUIET_S)
                p_ttft, p_rate, p_tokens = peer.run(QUESTION, args.new_tokens)
                assert p_tokens == tokens, (p_tokens, tokens)
                figures["rp"].append(p_rate)
                figures["tp"].append(p_ttft * 1000)
    finally:
        paths.close()
        if peer is not None:
            peer.close()
        cache.cleanup()
    import datetime as dt

    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    found = results(figures, tokens, f"{before} before, {conditions()} after; measured {when}")
    emit(found)
    if args.write_docs:
        write_docs([asdict(r) for r in found])


def results(f: dict[str, list[float]], tokens: int, load: str) -> list[Result]:
    ratios = [a / d for a, d in zip(f["ra"], f["rd"], strict=True)]
    overheads = [a - d for a, d in zip(f["ta"], f["td"], strict=True)]
    added = [a - d for a, d in zip(f["xa"], f["xd"], strict=True)]
    found = [
        Result(
            "tokens/s ratio (local API with openai client / worker client)",
            statistics.median(ratios),
            "ratio",
            ">= 0.95",
            detail=f"{spread(ratios)}; API {spread(f['ra'], 1)} tok/s, worker client "
            f"{spread(f['rd'], 1)} tok/s; {tokens} tokens greedy; {load}",
        ).judged(),
        Result(
            "time to first token overhead outside the model (local API - worker client)",
            statistics.median(added),
            "ms",
            "<= 20",
            detail=f"{spread(added, 1)}; request to Generate sent plus first token from the "
            f"worker to its reader: API {spread(f['xa'], 1)} ms, worker client "
            f"{spread(f['xd'], 1)} ms",
        ).judged(),
        Result(
            "time to first token, end to end (local API - worker client)",
            statistics.median(overheads),
            "ms",
            detail=f"{spread(overheads, 1)}; API {spread(f['ta'], 1)} ms, worker client "
            f"{spread(f['td'], 1)} ms; prefill included, so it carries the machine's noise",
        ),
    ]
    if f["rp"]:
        rate = [a / p for a, p in zip(f["ra"], f["rp"], strict=True)]
        ttft = [a / p for a, p in zip(f["ta"], f["tp"], strict=True)]
        found += [
            Result(
                "tokens/s ratio (local API / transformers serve)",
                statistics.median(rate),
                "ratio",
                detail=f"{spread(rate)}; peer {spread(f['rp'], 1)} tok/s, same tokens",
            ),
            Result(
                "time to first token ratio (local API / transformers serve)",
                statistics.median(ttft),
                "ratio",
                detail=f"{spread(ttft)}; peer {spread(f['tp'], 1)} ms",
            ),
        ]
    return found


def write_docs(found: list[dict[str, Any]]) -> None:
    """Put this script's figures into docs/benchmarks.json and .md, keeping all others."""
    from bench.run_all import markdown

    path = ROOT / "docs" / "benchmarks.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    kept = [r for r in report["results"] if r.get("script") != SCRIPT]
    for item in found:
        item.update(section=SECTION, script=SCRIPT)
    report["results"] = kept + found
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (ROOT / "docs" / "benchmarks.md").write_text(markdown(report), encoding="utf-8")


if __name__ == "__main__":
    main()
