"""Soak: 200 consecutive requests with images through the real worker (issue 9).

The app side is the window's `WorkerBridge` on a Qt event loop, the worker is the real
worker process with the demo checkpoint. Each request is a new one-turn chat carrying
two images (a rotating set of five sizes) and asks for 32 tokens. After every request
the resident memory (RSS) of both processes is sampled. Growth after warm-up compares
the mean RSS of the last 20 requests with the mean of requests 21–40.
Target: under 5 % for each process.

Usage: python bench/soak.py [--requests 200] [--warm-up 20] [--new-tokens 32]
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

from bench.common import Result, demo_root, emit  # noqa: E402

SIZES = ((640, 360), (1280, 720), (300, 900), (1024, 1024), (2000, 600))
WINDOW = 20  # requests averaged at each end


def make_images(folder: Path) -> list[Path]:
    from PIL import Image, ImageDraw

    paths = []
    for number, (width, height) in enumerate(SIZES):
        image = Image.new("RGB", (width, height), (30 + 40 * number, 90, 200 - 30 * number))
        ImageDraw.Draw(image).ellipse((width // 4, height // 4, width // 2, height // 2), fill=0)
        path = folder / f"soak-{number}.{'png' if number % 2 else 'jpg'}"
        image.save(path)
        paths.append(path)
    return paths


def growth(samples: list[int], warm_up: int) -> tuple[float, float, float]:
    """Baseline and final mean RSS (MiB) and the growth between them in per cent."""
    base = statistics.fmean(samples[warm_up : warm_up + WINDOW]) / 2**20
    final = statistics.fmean(samples[-WINDOW:]) / 2**20
    return base, final, (final - base) / base * 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--new-tokens", type=int, default=32)
    args = parser.parse_args()
    if args.requests < args.warm_up + 2 * WINDOW:
        parser.error(f"--requests must be at least --warm-up + {2 * WINDOW}")

    import psutil
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from app.ui.bridge.bridge import WorkerBridge
    from app.vocabulary.sampling import Sampling
    from app.workers import protocol as p

    qt = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    bridge = WorkerBridge(demo_root() / "bf16")
    loop = QEventLoop()
    outcome: dict[str, object] = {}

    def ended(kind: str, value: object) -> None:
        outcome[kind] = value
        loop.quit()

    bridge.model_ready.connect(lambda ready: ended("ready", ready))
    bridge.model_failed.connect(lambda text: ended("failed", text))
    bridge.generation_finished.connect(lambda done: ended("done", done))
    bridge.generation_failed.connect(lambda rid, text: ended("failed", text))
    bridge.worker_died.connect(lambda code, text: ended("failed", text))

    def wait(seconds: float = 300) -> None:
        QTimer.singleShot(int(seconds * 1000), lambda: ended("failed", "timed out"))
        loop.exec()

    app_process = psutil.Process()
    app_rss: list[int] = []
    worker_rss: list[int] = []
    failures = 0
    tokens = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        images = make_images(Path(tmp))
        bridge.start()
        wait()
        if "ready" not in outcome:
            print(f"the model did not load: {outcome}", file=sys.stderr)
            bridge.close()
            return 1
        worker = psutil.Process(bridge.client.pid or 0)
        for number in range(args.requests):
            pair = [str(images[number % 5]), str(images[(number + 2) % 5])]
            outcome.clear()
            turns = [p.ChatTurn("user", f"Request {number}: compare these two pictures.", pair)]
            bridge.generate(turns, Sampling(args.new_tokens, 0.6, 0.9, seed=number))
            wait()
            done = outcome.get("done")
            if isinstance(done, p.Done):
                tokens += done.generated_tokens
            else:
                failures += 1
                print(f"request {number} failed: {outcome}", file=sys.stderr)
            app_rss.append(app_process.memory_info().rss)
            worker_rss.append(worker.memory_info().rss)
            if (number + 1) % 20 == 0:
                print(
                    f"{number + 1} requests: app {app_rss[-1] / 2**20:.0f} MiB, "
                    f"worker {worker_rss[-1] / 2**20:.0f} MiB",
                    flush=True,
                )
        bridge.close()
    elapsed = time.perf_counter() - started
    del qt

    results = [
        Result("soak_requests", args.requests, "requests", detail=f"{elapsed:.0f} s in all"),
        Result("soak_failed_requests", failures, "requests", target="<= 0").judged(),
    ]
    for name, samples in (("worker", worker_rss), ("app", app_rss)):
        base, final, percent = growth(samples, args.warm_up)
        results.append(
            Result(
                f"soak_{name}_rss_growth",
                percent,
                "%",
                target="<= 5",
                detail=(
                    f"mean RSS {base:.0f} MiB over requests {args.warm_up + 1}-"
                    f"{args.warm_up + WINDOW}, {final:.0f} MiB over the last {WINDOW}; "
                    f"peak {max(samples) / 2**20:.0f} MiB"
                ),
            ).judged()
        )
    results.append(Result("soak_generated_tokens", tokens, "tokens", detail="2 images per request"))
    emit(results)
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
