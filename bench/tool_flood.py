"""Probe: `maverick-desk tools call` against a tool flooding 50–200 MB (issue 31, item 5).

Runs the real CLI against tests/tools/hostile_mcp_server.py (`flood`: one JSON-RPC reply
of that size; `noise`: that much text on stdout that is not JSON-RPC) and the SDK test
server's `big` tool (a 100 MB string). For each it prints the exit status, wall time, what
came back and the CLI's own peak resident memory (VmHWM, read from /proc until it exits;
the server is not counted), then the size of the server's log after a 100 MB stderr
flood. Not a timed test: figures for docs/reliability.md.

Usage: python bench/tool_flood.py [--megabytes 50 100 200] [--checkout DIR]
(`--checkout` runs the CLI of another checkout, e.g. main before the fix.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "tools" / "hostile_mcp_server.py"
SDK_SERVER = ROOT / "tests" / "tools" / "mcp_test_server.py"
# The CLI's own peak (VmHWM), read until it exits: the server's memory is not counted.
MEASURE = """
import subprocess, sys, time
cli = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
peak = 0
while cli.poll() is None:
    try:
        with open(f"/proc/{cli.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) // 1024)
    except OSError:
        pass
    time.sleep(0.02)
out, err = cli.communicate()
print(cli.returncode, peak, len(out), repr(err.strip()[-200:]))
"""


def _setup(folder: Path) -> tuple[list[str], dict[str, str]]:
    config = folder / "mcp.json"
    servers = {
        "hostile": {"command": sys.executable, "args": [str(HOSTILE)]},
        "sdk": {"command": sys.executable, "args": [str(SDK_SERVER), "stdio"]},
    }
    config.write_text(json.dumps({"mcpServers": servers}))
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(folder / "data")}
    return ["--config", str(config)], env


def _run(command: list[str], checkout: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    return done.stdout


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", "tools", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, nargs="+", default=[50, 100, 200])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tool-flood-") as temp:
        config, env = _setup(Path(temp))
        checkout = options.checkout
        for server in ("hostile", "sdk"):
            _run(_cli("enable", server, *config), checkout, env)
        print(f"checkout {options.checkout}")
        print("| flood | exit | wall s | stdout chars | peak RSS MiB | stderr (end) |")
        print("| ---: | ---: | ---: | ---: | ---: | --- |")
        probes = [
            (f"{tool} {mb:g} MB", "hostile", tool, {"megabytes": mb})
            for tool in ("flood", "noise")
            for mb in options.megabytes
        ]
        probes.append(("sdk big 100 MB", "sdk", "big", {"chars": 100_000_000}))
        for label, server, tool, arguments in probes:
            call = _cli("call", server, tool, "--args", json.dumps(arguments), *config)
            start = time.monotonic()
            measured = _run([sys.executable, "-c", MEASURE, *call], checkout, env)
            wall = time.monotonic() - start
            code, peak, chars, stderr = measured.strip().split(" ", 3)
            row = [label, code, f"{wall:.1f}", chars, peak, stderr]
            print("| " + " | ".join(row) + " |")
        flood = '{"megabytes": 100}'
        _run(_cli("call", "hostile", "stderr_flood", "--args", flood, *config), checkout, env)
        logs = Path(temp) / "data" / "logs" / "mcp"
        sizes = {p.name: p.stat().st_size for p in sorted(logs.glob("hostile.log*"))}
        print(f"after a 100 MB stderr flood: {sizes}")


if __name__ == "__main__":
    main()
