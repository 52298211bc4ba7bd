"""Starting a stdio server so that nothing it starts outlives the app, and ending it.

A server runs under `server_shim.py`, the leader of a new session: the shim writes its pid
and start time to a `.pid` file beside the server's log, becomes a child subreaper, runs
the server, and on its way out ends the group and every descendant (a `setsid` escape
included). The app gives the shim a parent-death signal on Linux, so the shim cleans up
even when the app is killed with SIGKILL. The app ends the shim's group when it stops a
server, and a `.pid` file left by an app that died is ended on the next start, once its
start time shows the pid was not reused.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from app.tools.config import ServerConfig
from app.tools.server_shim import start_time

SHIM = Path(__file__).with_name("server_shim.py")
PR_SET_PDEATHSIG = 1


def launch_command(config: ServerConfig, pid_file: Path) -> tuple[str, list[str]]:
    """The command and arguments that run `config` under the shim, which fills `pid_file`."""
    assert config.command is not None
    search_path = config.env.get("PATH", os.environ.get("PATH"))
    command = config.command
    if config.cwd and not os.path.isabs(command) and os.sep in command:
        command = os.path.join(config.cwd, command)
    if shutil.which(command, path=search_path) is None:
        raise FileNotFoundError(config.command)
    shim = [str(SHIM), str(pid_file.resolve())]  # the server may run in another folder
    return sys.executable, ["-I", "-S", *shim, config.command, *config.args]


def child_setup() -> Callable[[], None] | None:
    """A `preexec_fn` giving the child SIGTERM when its parent thread ends (Linux only).

    Not async-signal-safe in theory (ctypes in a forked child of a threaded program); the
    call is one prctl on an already loaded libc, the same as `subprocess` allows.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def setup() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the app died before the prctl: do not run at all
            os._exit(1)

    return setup


def read_group(pid_file: Path) -> int | None:
    """The group recorded in `pid_file` if it still has processes (and is the same group).

    While the leader runs, its start time must match the one recorded (the pid could have
    been reused). Once the leader is gone, a group of that id still alive is the old one:
    Linux does not give out a pid while a process group of that id exists.
    """
    try:
        fields = pid_file.read_text().split()
        group = int(fields[0])
    except (OSError, ValueError, IndexError):
        return None
    if len(fields) < 2 or group <= 1:
        return None  # an older app's file: without a start time, the pid may be anyone's
    running = start_time(group)
    if running is not None:
        return group if running == fields[1] else None
    return group if group_alive(group) else None


def end_stale_group(pid_file: Path, grace_s: float = 2.0) -> int | None:
    """End the group a previous run left in `pid_file` (the app died); its id, or None."""
    group = read_group(pid_file)
    if group is not None:
        kill_group(group, grace_s)
    pid_file.unlink(missing_ok=True)
    return group


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(group: int, grace_s: float = 2.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace_s`."""
    try:
        os.killpg(group, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_alive(group):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
