"""Batch jobs under kills (issue 35): SIGKILL the app N times and its worker N times mid-job.

A job over `--items` small images runs with `maverick-desk batch` on the demo. After every
few finished items the command is killed with SIGKILL, alternately the whole command
(app and worker) and the worker alone, and resumed with `--resume`. Before each kill the
saved results (finish time and text of every done item) are noted; at the end every
noted result must be unchanged (never lost, never answered again) and SQLite's
integrity_check must say ok.

Run: .venv/bin/python bench/batch_kills.py [--items 200] [--kills 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit  # noqa: E402
from tests.cli.test_batch import _batch, _children, _done, _images, _wait_for  # noqa: E402


def main() -> None:
    import sqlite3

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20, help="of the app, and of the worker")
    args = parser.parse_args()
    demo = str(demo_root() / "bf16")
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        data = Path(tmp) / "data"
        db_path = data / "batch" / "jobs.sqlite"
        common = ["--prompt", "Name it.", "--model", demo, "--max-new-tokens", "2"]
        proc = _batch(str(_images(Path(tmp) / "in", args.items)), *common, data=data)
        noted: dict[int, tuple[float, str]] = {}
        step = max(1, args.items // (2 * args.kills + 2))
        kills = {"app": 0, "worker": 0}
        for number in range(2 * args.kills):
            _wait_for(db_path, len(_done(db_path)) + step, proc)
            noted.update(_done(db_path))
            if number % 2 == 0:
                os.killpg(proc.pid, signal.SIGKILL)
                kills["app"] += 1
            else:
                for pid in _children(proc.pid):
                    os.kill(pid, signal.SIGKILL)
                kills["worker"] += 1
            proc.wait()
            print(f"kill {number + 1}: {len(noted)} results saved so far", flush=True)
            proc = _batch("--resume", "1", *common, data=data)
        _, stderr = proc.communicate(timeout=3600)
        final = _done(db_path)
        lost = sum(1 for idx in noted if idx not in final)
        rerun = sum(1 for idx, saved in noted.items() if idx in final and final[idx] != saved)
        with sqlite3.connect(db_path) as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            attempts = db.execute("SELECT sum(attempts) FROM items").fetchone()[0]
    detail = (
        f"{args.items} items, {kills['app']} SIGKILLs of the command and {kills['worker']} of "
        f"its worker; {len(final)} done at the end, exit {proc.returncode}; {attempts} attempts "
        f"in all (an item in flight at a kill runs again); integrity_check {integrity}"
    )
    print(stderr.strip().splitlines()[-1] if stderr.strip() else "")
    emit(
        [
            Result(
                "batch under kills: saved results lost", lost, "items", "<= 0", detail=detail
            ).judged(),
            Result(
                "batch under kills: saved items answered again",
                rerun,
                "items",
                "<= 0",
                detail=detail,
            ).judged(),
            Result(
                "batch under kills: items done at the end",
                len(final),
                "items",
                f">= {args.items}",
                detail=detail,
            ).judged(),  # fmt: skip
        ]
    )


if __name__ == "__main__":
    main()
