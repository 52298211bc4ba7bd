"""Batch jobs: a job's throughput against the same requests sent by hand (issue 35).

One real worker on the demo checkpoint. A batch job over N images (one small image and
the job's prompt each, greedy, 8 new tokens) runs through `run_job` with its SQLite
bookkeeping (claim, commit of every result) on its thread, as in the app; after each of
its items is committed the job is held (`Control.pause`) and the same request goes
through `WorkerClient` in a plain loop on the main thread, then the job goes on. Item by
item, a change in the machine's load hits both alike (on a shared 2-core machine, runs
that took turns by chunks of 10 swung by 3x either way). Figure: job items/s ÷ loop
requests/s (target >= 0.95). An item's time in the job runs from its claim to the end of
its commit and progress report (the SQLite bookkeeping included); the hold between items,
which a job that is not measured does not make, is left out.

Run: .venv/bin/python bench/batch.py [--items 200]
"""

from __future__ import annotations

import argparse
import os
import queue
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


def _ask(client: object, image: str) -> None:
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    rid = client.generate(  # type: ignore[attr-defined]
        [p.ChatTurn("user", PROMPT, [image])],
        sampling=Sampling(max_new_tokens=NEW_TOKENS, temperature=0.0),
    )
    assert isinstance(list(client.events_for(rid))[-1], p.Done)  # type: ignore[attr-defined]


def main() -> None:
    from PIL import Image

    from app.batch.answers import worker_answer
    from app.batch.inputs import collect
    from app.batch.jobs import Item, JobStore
    from app.batch.runner import Control, Progress, run_job
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
            control = Control()
            saved: queue.SimpleQueue[str] = queue.SimpleQueue()
            spent = {"job": 0.0}

            class TimedStore(JobStore):
                """Notes when the job claims an item: its time runs from there."""

                claimed = 0.0

                def claim(self, job_id: int) -> Item | None:
                    self.claimed = time.perf_counter()
                    return super().claim(job_id)

            def held(step: Progress) -> None:  # the job's thread, once an item is committed
                spent["job"] += time.perf_counter() - store.claimed  # claim, answer, commit
                control.pause()
                assert step.last is not None
                saved.put(step.last.image)

            with TimedStore() as store:
                job_id = store.create(
                    "bench", PROMPT, collected.items, schema=None,
                    settings={"max_new_tokens": NEW_TOKENS, "temperature": 0.0},
                )  # fmt: skip
                counts: dict[str, int] = {}
                answer = worker_answer(client, threading.Event())
                job = threading.Thread(
                    target=lambda: counts.update(
                        run_job(store, job_id, answer, control=control, progress=held)
                    )
                )
                loop_s = 0.0
                job.start()
                for _ in range(args.items):
                    image = saved.get(timeout=600)
                    asked = time.perf_counter()
                    _ask(client, image)  # the same request, by hand, while the job is held
                    loop_s += time.perf_counter() - asked
                    control.resume()
                job.join()
                job_s = spent["job"]
                assert counts["done"] == args.items, counts
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
                    f"requests/s, taking turns item by item; demo checkpoint, 64×48 images, "
                    f"{NEW_TOKENS} new tokens; load "
                    f"average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
                ),
            ).judged()
        ]
    )


if __name__ == "__main__":
    main()
