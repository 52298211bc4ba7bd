"""`server_shim.py` on its own: what a server leaves behind ends when the server exits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.tools.process_group import SHIM, read_group
from app.tools.server_shim import start_time
from tests.tools.test_hostile_servers import wait_gone

# Starts a child that leaves the group with setsid and one that stays, prints both, exits.
LEAVER = (
    "import subprocess, sys\n"
    "sleep = [sys.executable, '-c', 'import time; time.sleep(600)']\n"
    "away = subprocess.Popen(sleep, start_new_session=True)\n"
    "near = subprocess.Popen(sleep)\n"
    "print(away.pid, near.pid, flush=True)\n"
    "sys.exit(5)\n"
)


def test_a_server_that_exits_takes_its_escaped_children_along(tmp_path: Path) -> None:
    pid_file = tmp_path / "s.pid"
    shim = subprocess.Popen(
        [sys.executable, "-I", "-S", str(SHIM), str(pid_file), sys.executable, "-c", LEAVER],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert shim.stdout is not None
    children = [int(pid) for pid in shim.stdout.readline().split()]
    assert len(children) == 2
    assert shim.wait(timeout=10) == 5  # the server's own exit status
    assert wait_gone(children) == []
    recorded, started = pid_file.read_text().split()
    assert int(recorded) == shim.pid and started.isdigit()
    assert start_time(shim.pid) is None and read_group(pid_file) is None  # nothing to end


# Children that ignore SIGTERM: one in the group, one that left it; prints both, then hangs.
STUBBORN = (
    "import subprocess, sys, time\n"
    "sleep = [sys.executable, '-c', 'import signal, time; "
    "signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(600)']\n"
    "away = subprocess.Popen(sleep, start_new_session=True, stdout=subprocess.PIPE)\n"
    "near = subprocess.Popen(sleep, stdout=subprocess.PIPE)\n"
    "away.stdout.readline(); near.stdout.readline()\n"
    "print(away.pid, near.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def test_children_that_ignore_sigterm_end_when_the_shim_is_stopped(tmp_path: Path) -> None:
    """The SIGKILL round is sent pid by pid: to the group it would end the shim before the
    process that left the group."""
    shim = subprocess.Popen(
        [sys.executable, "-I", "-S", str(SHIM), str(tmp_path / "s.pid"), sys.executable, "-c",
         STUBBORN],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert shim.stdout is not None
    children = [int(pid) for pid in shim.stdout.readline().split()]
    assert len(children) == 2
    shim.terminate()
    assert shim.wait(timeout=15) == 143
    assert wait_gone(children) == []
