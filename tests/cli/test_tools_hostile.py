"""`maverick-desk tools call` with a hostile server: real signals to a real CLI process.

After SIGINT, SIGTERM, SIGHUP or SIGKILL of the CLI, no process the server started is
left: not the server, not its child, not a grandchild that left with `setsid`. Ctrl+C
prints one line. A 100 MB flood is cut with the CLI's memory bounded, and a `.pid` file a
killed run left behind has its group ended by the next run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.tools.config import parse_config
from app.tools.server_shim import start_time
from app.tools.tool_settings import ToolSettings, save_settings
from tests.tools.test_hostile_servers import HOSTILE, alive, wait_gone

CLI = [sys.executable, "-m", "app"]


def hostile_setup(folder: Path) -> tuple[list[str], dict[str, str]]:
    """`--config FILE` for an enabled hostile server, and the CLI's environment."""
    config = folder / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"hostile": {
        "command": sys.executable, "args": [str(HOSTILE)]}}}))  # fmt: skip
    settings = ToolSettings()
    settings.set_enabled(parse_config(config.read_text())[0], True)
    save_settings(settings, folder / "mcp-settings.json")
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(folder / "data")}
    return ["--config", str(config)], env


def wait_for_file(path: Path, process: subprocess.Popen[str], timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the hostile server never started its processes"
        time.sleep(0.05)
    return path.read_text()


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGKILL, -9)],
)
def test_no_process_outlives_a_signal_to_the_cli(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    config, env = hostile_setup(tmp_path)
    pids_file = tmp_path / "pids"
    hang = json.dumps({"pids_file": str(pids_file)})
    process = subprocess.Popen(
        [*CLI, "tools", "call", "hostile", "hang", "--args", hang, *config],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pids = [int(pid) for pid in wait_for_file(pids_file, process).split()]
    assert len(pids) == 4 and all(alive(pid) for pid in pids)  # server, child, escaped pair
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    assert wait_gone(pids) == [], f"left running after {signum.name}"
    if signum != signal.SIGKILL:
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert "the tool servers it started were ended" in stderr


def test_a_100_mb_flood_is_cut_and_the_cli_stays_small(tmp_path: Path) -> None:
    config, env = hostile_setup(tmp_path)
    # A parent of its own, so the peak RSS of its children is the CLI's (and the server's).
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
        "print(done.returncode, peak, len(done.stdout), done.stdout[-300:], done.stderr)\n"
    )
    flood = [*CLI, "tools", "call", "hostile", "flood", "--args", '{"megabytes": 100}', *config]
    result = subprocess.run(
        [sys.executable, "-c", measure, *flood], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    code, peak_mb, length, rest = result.stdout.split(" ", 3)
    assert code == "0", rest
    assert "The tool's answer was 104,857,300 bytes" in rest
    assert int(length) < 20_400
    assert int(peak_mb) < 300, f"peak RSS {peak_mb} MB"


def test_a_stale_pid_file_has_its_group_ended(tmp_path: Path) -> None:
    """A run killed before its servers ended left a `.pid` file: the next run ends that group."""
    config, env = hostile_setup(tmp_path)
    leader = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time;"
         "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
         "time.sleep(600)"],
        start_new_session=True,
    )  # fmt: skip
    try:
        logs = tmp_path / "data" / "logs" / "mcp"
        logs.mkdir(parents=True)
        (logs / "hostile.pid").write_text(f"{leader.pid} {start_time(leader.pid)}\n")
        time.sleep(0.3)  # the leader's child has started
        members = [leader.pid, *_group_members(leader.pid)]
        assert len(members) == 2
        called = subprocess.run(
            [*CLI, "tools", "call", "hostile", "pid", *config],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert called.returncode == 0, called.stderr
        leader.wait(timeout=10)
        assert wait_gone(members[1:]) == []
        assert "left running by an earlier run" in (logs / "hostile.log").read_text()
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
            leader.wait()


def _group_members(group: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != group:
            try:
                if os.getpgid(int(entry)) == group:
                    found.append(int(entry))
            except ProcessLookupError:
                pass
    return found
