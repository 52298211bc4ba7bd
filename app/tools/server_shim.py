"""Runs one stdio tool server, then ends everything the server started.

Run as ``python -I -S server_shim.py PID_FILE COMMAND [ARGS...]``.
Started by the app as the leader of a new session, with a parent-death signal (SIGTERM)
so it learns when the app dies, even by SIGKILL. It makes itself a child subreaper, so a
process the server starts that leaves the group (`setsid`, a double fork) stays its
descendant instead of passing to init. It runs the server with the app's stdin and stdout,
and when the server exits or the shim is told to stop (SIGTERM, SIGHUP, SIGINT, or the
parent-death signal) it ends the process group and every descendant left, then exits with
the server's exit status.

Standard library only, and nothing from `app`: it starts in a few milliseconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
GRACE_S = 1.0


class _Stopped(Exception):
    """A stop signal arrived."""


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` (clock ticks since boot), to tell a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19].decode() if len(fields) > 19 else None


def _processes() -> dict[int, tuple[int, bool]]:
    """Pid → (parent, is a zombie), from /proc."""
    table: dict[int, tuple[int, bool]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), fields[0] == b"Z")
    return table


def descendants(root: int) -> list[int]:
    """Every live process below `root`.

    Zombies are walked through though not listed: /proc is not read in one instant, so a
    process may still name as its parent one that has just exited (and shows as a zombie)
    while the kernel hands it to the subreaper; skipping the zombie would hide it.
    """
    table = _processes()
    tree: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        tree.setdefault(parent, []).append(pid)
    found: list[int] = []
    todo = list(tree.get(root, []))
    while todo:
        pid = todo.pop()
        if not table[pid][1]:
            found.append(pid)
        todo.extend(tree.get(pid, []))
    return found


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass


def end_everything(me: int) -> None:
    """SIGTERM the group and all descendants, SIGKILL what is left after `GRACE_S`.

    The shim leads the group: SIGTERM to the group reaches it too and is ignored, but
    SIGKILL is sent pid by pid (every process left is a descendant: the shim is their
    subreaper), or the shim would kill itself before the sweep. Everything is gone once
    two scans a moment apart find nothing.
    """
    with contextlib.suppress(OSError):
        os.killpg(me, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    signum = signal.SIGTERM
    quiet_scans = 0
    while quiet_scans < 2:
        _reap()
        left = descendants(me) if os.path.isdir("/proc") else []
        if not left:
            quiet_scans += 1
        else:
            quiet_scans = 0
            if signum == signal.SIGTERM and time.monotonic() > deadline:
                signum = signal.SIGKILL
                deadline = time.monotonic() + GRACE_S
            elif signum == signal.SIGKILL and time.monotonic() > deadline:
                return  # unkillable (stopped in the kernel): nothing more a shim can do
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signum)
        time.sleep(0.02)


def _ignore_stops() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, signal.SIG_IGN)


_waiting = True  # the shim still waits for the server: a stop signal breaks the wait


def _stop(signum: int, frame: object) -> None:
    _ignore_stops()  # a second signal must not cut the cleanup short
    if _waiting:  # once the wait is over, raising would skip the cleanup
        raise _Stopped


def main(argv: list[str]) -> int:
    global _waiting
    if len(argv) < 2:
        print("usage: server_shim.py PID_FILE COMMAND [ARGS...]", file=sys.stderr)
        return 2
    pid_file, command, args = argv[0], argv[1], argv[2:]
    me = os.getpid()
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    with open(pid_file, "w") as out:
        out.write(f"{me} {start_time(me) or '-'}\n")
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _stop)
    server = os.fork()
    if server == 0:
        for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(signum, signal.SIG_DFL)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != me:
            os._exit(1)
        try:
            os.execvp(command, [command, *args])
        except OSError as exc:
            print(f"could not run {command}: {exc}", file=sys.stderr)
        os._exit(127)
    # The server has the pipes; the shim's own copies would keep them open after it ends.
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    status = 1
    try:
        while True:
            pid, raw = os.waitpid(-1, 0)
            if pid == server:
                _waiting = False
                status = os.waitstatus_to_exitcode(raw)
                break
    except _Stopped:
        status = 128 + signal.SIGTERM
    except ChildProcessError:
        pass
    _waiting = False
    _ignore_stops()
    end_everything(me)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
