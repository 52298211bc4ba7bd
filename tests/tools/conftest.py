"""Real MCP servers (the SDK's MCPServer) over stdio and streamable HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tools.config import ServerConfig
from app.tools.host import ToolHost

SERVER_SCRIPT = Path(__file__).with_name("mcp_test_server.py")


def stdio_config(name: str = "local") -> ServerConfig:
    return ServerConfig(name, command=sys.executable, args=(str(SERVER_SCRIPT), "stdio"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_http_server(port: int) -> subprocess.Popen[bytes]:
    """A streamable-HTTP MCP server process on 127.0.0.1:`port`, once it accepts connections."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            assert process.poll() is None, "the HTTP test server exited"
            time.sleep(0.1)
    return process


def stop_http_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # uvicorn waits for a hanging tool's thread
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def http_port() -> int:
    return _free_port()


@pytest.fixture
def http_server(http_port: int) -> Iterator[str]:
    """A streamable-HTTP MCP server process; yields its URL."""
    process = start_http_server(http_port)
    try:
        yield f"http://127.0.0.1:{http_port}/mcp"
    finally:
        stop_http_server(process)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ToolHost]:
    with ToolHost(
        call_timeout_s=20, result_limit=1000, logs=tmp_path / "logs", ping_interval_s=0.3
    ) as tool_host:
        yield tool_host
