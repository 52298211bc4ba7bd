"""How long the window's main thread is held in the turn in which a question is sent.

`bench/ui_smoothness.py` reports the worst of a few runs, each after a 300- to 2,000-token
answer; on a shared machine one scheduling hiccup decides it. This sends many short
questions (8 new tokens each, a new chat before each, so the saver creates a
conversation every time, as the first question of a chat does) and reports the median
and the worst wall time of `window.send()`, and the median main-thread CPU time of it:
a wall time well above the CPU time is the thread waiting (on a disk's commit, say).

Target (issue 33): the send turn <= 16 ms. Usage: python bench/send_turn.py [--sends 20]
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

from bench.common import Result, emit  # noqa: E402
from bench.ui_smoothness import STALL_TARGET_MS, ready_window, settle  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=20)
    args = parser.parse_args()
    os.environ["MAVERICK_DESK_DATA_DIR"] = tempfile.mkdtemp(prefix="md-bench-send-")

    from PySide6.QtCore import QEventLoop

    app, window = ready_window()
    window.settings_panel.set_value("max_new_tokens", 8)
    ended = QEventLoop()
    window.answer_ended.connect(lambda _: ended.quit())
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(args.sends):
        window.new_chat()
        settle(app)
        started, started_cpu = time.perf_counter(), time.thread_time()
        window.send("Tell me a long story about the picture.")
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
        ended.exec()
    window.close()
    window.bridge.close()
    detail = f"{args.sends} sends, wall ms {[round(w, 1) for w in wall]}"
    emit(
        [
            Result(
                "send turn, median wall time",
                statistics.median(wall),
                "ms",
                f"<= {STALL_TARGET_MS}",
                detail=detail,
            ).judged(),
            Result(
                "send turn, worst wall time",
                max(wall),
                "ms",
                f"<= {STALL_TARGET_MS}",
                detail=detail,
            ).judged(),
            Result("send turn, median main-thread CPU time", statistics.median(cpu), "ms"),
        ]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
