"""Batch jobs under kills (issue 35): SIGKILL the app N times and its worker N times mid-job.

A job over `--items` small images runs with `maverick-desk batch` on the demo. After every
few newly finished items one process gets SIGKILL, in turn: the command itself (the app:
its worker is left to notice its parent's death and exit), then the worker alone (the
command must say so and stop with exit 1). Each kill is checked to have hit what it
meant to: exactly one worker process found, the command still running, exit -9 after
killing it, exit 1 after killing its worker, and the orphaned worker gone within 60 s.
Then the job is resumed with `--resume`. After every kill the saved results (finish time
and text of every done item) are noted; at the end every noted result must be unchanged
(never lost, never answered again) and SQLite's integrity_check must say ok.

Run: .venv/bin/python bench/batch_kills.py [--items 200] [--kills 20]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, demo_root, emit  # noqa: E402
from tests.cli.test_batch import _batch, _children, _done, _images  # noqa: E402

ORPHAN_WAIT_S = 60.0


def _workers(pid: int) -> list[int]:
    """The worker processes the command `pid` started."""
    found = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"app.workers.worker" in cmdline:
            found.append(child)
    return found


def _saved(db_path: Path, count: int, proc: subprocess.Popen[str]) -> bool:
    """Wait for `count` saved results, polling often so that the kill follows soon.

    False if the command ended first.
    """
    deadline = time.monotonic() + 600
    while len(_done(db_path)) < count:
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise RuntimeError(f"no new result in 600 s ({len(_done(db_path))} saved)")
        time.sleep(0.05)
    return True


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited (only its parent has not reaped it)


def main() -> None:
    import sqlite3

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--kills", type=int, default=20, help="of the app, and of the worker")
    args = parser.parse_args()
    demo = str(demo_root() / "bf16")
    problems: list[str] = []
    orphans = 0
    hit = {"app": 0, "worker": 0}
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="maverick-bench-") as tmp:
        data = Path(tmp) / "data"
        db_path = data / "batch" / "jobs.sqlite"
        common = ["--prompt", "Name it.", "--model", demo, "--max-new-tokens", "2"]
        proc = _batch(str(_images(Path(tmp) / "in", args.items)), *common, data=data)
        noted: dict[int, tuple[float, str]] = {}
        # Items finish between a poll and the kill too: leave room for 2 more a kill.
        step = max(1, (args.items - 10) // (4 * args.kills))
        for number in range(2 * args.kills):
            if not _saved(db_path, len(_done(db_path)) + step, proc):
                problems.append(f"the job ended before kill {number + 1}")
                break
            workers = _workers(proc.pid)
            if len(workers) != 1:
                problems.append(f"kill {number + 1}: {len(workers)} worker processes")
            what = "app" if number % 2 == 0 else "worker"
            os.kill(proc.pid if what == "app" else workers[0], signal.SIGKILL)
            _, said = proc.communicate(timeout=120)
            code = proc.returncode
            # After its worker's death the command says how to go on (not a traceback).
            told = what == "app" or "Go on with: maverick-desk batch --resume 1" in said
            if code == (-signal.SIGKILL if what == "app" else 1) and told:
                hit[what] += 1
            else:
                last = said.strip().splitlines()[-1:] or [""]
                problems.append(f"kill {number + 1} ({what}): the command ended {code}: {last[0]}")
            if what == "app":  # the orphaned worker must notice and exit by itself
                deadline = time.monotonic() + ORPHAN_WAIT_S
                while any(map(_alive, workers)) and time.monotonic() < deadline:
                    time.sleep(0.1)
                left = [pid for pid in workers if _alive(pid)]
                orphans += len(left)
                for pid in left:
                    os.kill(pid, signal.SIGKILL)
            noted.update(_done(db_path))  # after the kill: every result it had committed
            print(f"kill {number + 1} ({what}): {len(noted)} results saved so far", flush=True)
            proc = _batch("--resume", "1", *common, data=data)
        _, stderr = proc.communicate(timeout=3600)
        final = _done(db_path)
        lost = sum(1 for idx in noted if idx not in final)
        rerun = sum(1 for idx, saved in noted.items() if idx in final and final[idx] != saved)
        with sqlite3.connect(db_path) as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            attempts = db.execute("SELECT sum(attempts) FROM items").fetchone()[0]
    for problem in problems:
        print(problem)
    detail = (
        f"{args.items} items (demo bf16, 2 new tokens), {hit['app']} SIGKILLs of the command "
        f"(exit -9, its worker left to exit alone) and {hit['worker']} of its worker (the "
        f"command said so, exit 1), each after at least {step} more items were saved; "
        f"{len(final)} done at the end, last exit {proc.returncode}; {attempts} attempts in "
        f"all (an item in flight at a kill runs again); integrity_check {integrity}; "
        f"{time.monotonic() - began:.0f} s in all"
    )
    print(stderr.strip().splitlines()[-1] if stderr.strip() else "")
    results = [
        Result("batch under kills: saved results lost", lost, "items", "<= 0", detail=detail),
        Result(
            "batch under kills: saved items answered again", rerun, "items", "<= 0",
            detail=detail,
        ),
        Result(
            "batch under kills: items done at the end", len(final), "items",
            f">= {args.items}", detail=detail,
        ),
        Result(
            "batch under kills: kills that hit a running job as meant", sum(hit.values()),
            "kills", f">= {2 * args.kills}", detail="; ".join(problems) or detail,
        ),
        Result(
            "batch under kills: workers left running after the app's kill", orphans,
            "processes", "<= 0", detail=f"waited up to {ORPHAN_WAIT_S:.0f} s for each",
        ),
    ]  # fmt: skip
    emit([result.judged() for result in results])


if __name__ == "__main__":
    main()
