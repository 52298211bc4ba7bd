"""Cold start of the window (issue 3, "Speed"): launch to window shown, and UI memory.

Each run starts a fresh Python process that imports the app, builds the window and
shows it; the time from just before the process is spawned to the first exposed,
painted frame is "window shown". The same process then loads the demo model in its
worker and reports its own resident memory (the UI process only; the model lives in
the worker) and whether torch or transformers were imported.

Targets: shown within 1 s, UI RSS at most 250 MB, no torch in the UI process.
Usage: python bench/ui_cold_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Result, demo_root, emit, spread  # noqa: E402

CHILD = r"""
import json, sys, time
from app.ui.app import build_window, make_application
from PySide6.QtWidgets import QApplication

app = make_application()
window = build_window(sys.argv[1])
window.show()
handle = window.windowHandle()
while handle is None or not handle.isExposed():
    app.processEvents()
    handle = window.windowHandle()
window.repaint()
app.processEvents()
shown = time.time()
window.bridge.start()
while window.bridge.ready is None:
    app.processEvents()
    time.sleep(0.005)
while window.warm_up.running:
    app.processEvents()
status = open("/proc/self/status").read().splitlines()
rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
heavy = [m for m in ("torch", "transformers", "accelerate", "torchvision") if m in sys.modules]
print(json.dumps({"shown": shown, "rss_mb": rss_kb / 1024, "heavy": heavy}))
window.close()
window.bridge.close()
"""


def one_run(model: Path) -> dict[str, float]:
    env = dict(os.environ, MAVERICK_DESK_DATA_DIR=tempfile.mkdtemp(prefix="md-bench-cold-"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    data["shown_s"] = data["shown"] - started
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    model = demo_root() / "bf16"
    runs = [one_run(model) for _ in range(args.runs)]
    shown = [r["shown_s"] for r in runs]
    rss = [r["rss_mb"] for r in runs]
    heavy = sorted({m for r in runs for m in r["heavy"]})
    platform = os.environ.get("QT_QPA_PLATFORM", "offscreen")
    emit(
        [
            Result(
                "launch to window shown",
                statistics.median(shown),
                "s",
                "<= 1",
                detail=f"{spread(shown)}; QT_QPA_PLATFORM={platform}",
            ).judged(),
            Result(
                "UI process RSS with the model loaded",
                max(rss),
                "MB",
                "<= 250",
                detail=f"worst of runs; {spread(rss, 1)}",
            ).judged(),
            Result(
                "heavy modules imported by the UI process",
                len(heavy),
                "modules",
                "<= 0",
                detail=", ".join(heavy) or "none of torch, transformers, accelerate, torchvision",
            ).judged(),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
