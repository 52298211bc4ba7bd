"""The command line and the tool loop load the MCP SDK (and pydantic) only when a server runs."""

from __future__ import annotations

import subprocess
import sys


def test_cli_and_tool_loop_do_not_import_the_sdk() -> None:
    code = (
        "import sys, app.cli, app.cli.ask, app.tools.tool_loop, app.tools.catalog, "
        "app.tools.call_parser, app.engines.tool_steps\n"
        "print(sorted(m for m in ('mcp', 'pydantic', 'anyio', 'httpx2') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
