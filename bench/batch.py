"""Batch jobs: a job's throughput against the same requests sent by hand (issue 35).

One real worker on the demo checkpoint. First the same N requests (one small image and
the job's prompt each, greedy, 8 new tokens) go through `WorkerClient` in a plain loop;
then a batch job over the same N images runs through `run_job` with its SQLite
bookkeeping (claim, commit of every result). Figure: job items/s ÷ loop requests/s
(target ≥ 0.95). Both use the same worker, loaded once, warmed up first, and take
turns by chunks of 10 items so that a change in the machine's load hits both alike.

Run: .venv/bin/python bench/batch.py [--items 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, emit  # noqa: E402
from bench.prompt_cache import _start  # noqa: E402

PROMPT = "Name the colour."
NEW_TOKENS = 8


def _loop(client: object, items: list) -> None:
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    for item in items:
        rid = client.generate(
            [p.ChatTurn("user", PROMPT, [item.image])],
            sampling=Sampling(max_new_tokens=NEW_TOKENS, temperature=0.0),
        )
        assert isinstance(list(client.events_for(rid))[-1], p.Done)  # type: ignore[attr-defined]


def main() -> None:
    from PIL import Image

    from app.batch.answers import worker_answer
    from app.batch.inputs import collect
    from app.batch.jobs import JobStore
    from app.batch.runner import run_job
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        os.environ["MAVERICK_DESK_DATA_DIR"] = str(Path(tmp) / "data")
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i in range(args.items):
            Image.new("RGB", (64, 48), (i % 256, (7 * i) % 256, 120)).save(folder / f"{i:04d}.png")
        collected = collect([folder])
        client = _start(0)  # no prompt cache: every request costs the same in both runs
        try:
            rid = client.generate(
                [p.ChatTurn("user", "Warm up.")], sampling=Sampling(max_new_tokens=2)
            )
            list(client.events_for(rid))
            loop_s = job_s = 0.0
            chunk = 10  # alternate loop and job by chunks, so the machine's load hits both
            with JobStore() as store:
                for start in range(0, args.items, chunk):
                    items = collected.items[start : start + chunk]
                    order = ("loop", "job") if (start // chunk) % 2 == 0 else ("job", "loop")
                    for what in order:
                        began = time.perf_counter()
                        if what == "loop":
                            _loop(client, items)
                            loop_s += time.perf_counter() - began
                        else:
                            job_id = store.create(
                                "bench",
                                PROMPT,
                                items,
                                schema=None,
                                settings={"max_new_tokens": NEW_TOKENS, "temperature": 0.0},
                            )
                            answer = worker_answer(client, threading.Event())
                            counts = run_job(store, job_id, answer)
                            job_s += time.perf_counter() - began
                            assert counts["done"] == len(items), counts
        finally:
            client.shutdown()
    ratio = loop_s / job_s
    print(f"{args.items} items: loop {loop_s:.1f} s, job {job_s:.1f} s")
    emit(
        [
            Result(
                f"batch job throughput ÷ the same {args.items} requests in a loop",
                ratio,
                "ratio",
                ">= 0.95",
                detail=(
                    f"job {args.items / job_s:.2f} items/s, loop {args.items / loop_s:.2f} "
                    f"requests/s; demo checkpoint, 64×48 images, {NEW_TOKENS} new tokens; load "
                    f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
                ),
            ).judged()
        ]
    )


if __name__ == "__main__":
    main()
