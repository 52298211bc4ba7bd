"""Fixtures of the reliability suite: a real window, and a check that no process is left.

Every fault here is drawn from a seeded `random.Random`, and each test writes what it
injected to `faults.jsonl` under $MAVERICK_DESK_RELIABILITY_LOG (a folder) when that is set,
so a run can be repeated and its figures quoted in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

LOG_ENV = "MAVERICK_DESK_RELIABILITY_LOG"


def record(test: str, **fields: Any) -> None:
    """Add one line about a test run (faults injected, inputs tried) to the suite's log."""
    folder = os.environ.get(LOG_ENV)
    line = json.dumps({"test": test, **fields}, sort_keys=True)
    print(line)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        with (Path(folder) / "faults.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def live_descendants() -> list[psutil.Process]:
    """Children of the test process that are still running (zombies do not count)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.fixture(autouse=True)
def no_process_left() -> Iterator[None]:
    """Fail a test that leaves a child process running (after a short grace period)."""
    before = {p.pid for p in live_descendants()}
    yield
    deadline = time.monotonic() + 10
    left = [p for p in live_descendants() if p.pid not in before]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in live_descendants() if p.pid not in before]
    names = []
    for process in left:  # do not leak into the next test, but still fail this one
        try:
            names.append(" ".join(process.cmdline()))
            process.kill()
        except psutil.NoSuchProcess:
            continue
    assert not names, f"processes left behind: {names}"
