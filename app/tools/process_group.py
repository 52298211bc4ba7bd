"""Starting a stdio server so its process group is known, and ending that whole group.

The SDK starts a stdio server in a new session but only kills the group when the server
does not exit on its own; a server that exits cleanly can leave its children running.
So the server is started through ``sh``, which writes its pid (the group's id, as a session
leader) to a file and then execs the real command, and the app kills the group afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from app.tools.config import ServerConfig

_LAUNCH = 'echo $$ > "$0"; exec "$@"'


def launch_command(config: ServerConfig, pid_file: Path) -> tuple[str, list[str]]:
    """The command and arguments that run `config` and leave its pid in `pid_file`."""
    assert config.command is not None
    search_path = config.env.get("PATH", os.environ.get("PATH"))
    command = config.command
    if config.cwd and not os.path.isabs(command) and os.sep in command:
        command = os.path.join(config.cwd, command)
    if shutil.which(command, path=search_path) is None:
        raise FileNotFoundError(config.command)
    return "/bin/sh", ["-c", _LAUNCH, str(pid_file), config.command, *config.args]


def read_group(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def kill_group(group: int, grace_s: float = 2.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left after `grace_s`."""
    try:
        os.killpg(group, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)
