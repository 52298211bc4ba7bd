"""Hostile stdio servers (tests/tools/hostile_mcp_server.py) against a real `ToolHost`.

Each case is one of issue 31's probes: a 100 MB output flood, a stderr flood, a
100-megapixel image and a grandchild that escapes the process group with `setsid`.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.tools.config import ServerConfig
from app.tools.host import ToolHost
from app.tools.server_log import MAX_LOG_BYTES
from tests.tools.conftest import stdio_config

HOSTILE = Path(__file__).with_name("hostile_mcp_server.py")


def hostile_config(name: str = "hostile") -> ServerConfig:
    return ServerConfig(name, command=sys.executable, args=(str(HOSTILE),))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has ended
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], timeout: float = 5.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


@pytest.fixture
def hostile(tmp_path: Path) -> Iterator[ToolHost]:
    with ToolHost(call_timeout_s=30, result_limit=20_000, logs=tmp_path / "logs") as host:
        host.start([hostile_config()])
        assert host.wait_ready(30), host.states()[0].error
        yield host


def test_a_100_mb_flood_is_cut_and_the_server_goes_on(hostile: ToolHost) -> None:
    result = hostile.call("hostile", "flood", {"megabytes": 100}).result()
    assert not result.is_error and result.truncated, result.text[-300:]
    assert result.text.startswith("flood flood ")
    assert len(result.text) < 20_400
    assert "The tool's answer was 104,857,300 bytes, more than the 16 MiB" in result.text
    assert "the first 20,000 characters are kept" in result.text
    state = hostile.state("hostile")
    assert state is not None and state.status == "ready" and state.restarts == 0
    assert hostile.call("hostile", "pid", {}).result().text.isdigit()


def test_a_stderr_flood_rotates_the_log(hostile: ToolHost, tmp_path: Path) -> None:
    result = hostile.call("hostile", "stderr_flood", {"megabytes": 5}).result()
    assert result.text == "flooded stderr"
    log = tmp_path / "logs" / "hostile.log"
    deadline = time.monotonic() + 10  # stderr is written by its own reader
    while not Path(f"{log}.1").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert log.stat().st_size <= MAX_LOG_BYTES
    assert 0 < Path(f"{log}.1").stat().st_size <= MAX_LOG_BYTES
    assert hostile.call("hostile", "pid", {}).result().text.isdigit()


def test_a_100_megapixel_image_is_left_out_with_a_sentence(hostile: ToolHost) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        result = hostile.call("hostile", "images", {"side": 10_000}).result()
    assert not result.is_error
    assert result.text.startswith("two images\n")
    assert "Image 2 of the tool's result has 100 megapixels, more than the 80" in result.text
    assert [image.mime_type for image in result.images] == ["image/png"]  # the small one
    assert not [w for w in seen if "DecompressionBomb" in type(w.message).__name__]


def test_a_setsid_escape_ends_with_the_server(hostile: ToolHost, tmp_path: Path) -> None:
    pids = [int(p) for p in hostile.call("hostile", "escape", {}).result().text.split()]
    server = int(hostile.call("hostile", "pid", {}).result().text)
    assert len(pids) == 3 and all(alive(pid) for pid in [server, *pids])
    assert os.getsid(pids[1]) != os.getsid(server)  # it left the server's session
    hostile.stop_server("hostile")
    assert wait_gone([server, *pids]) == []


def test_a_flood_from_a_tool_with_an_output_schema_is_cut_too(host: ToolHost) -> None:
    """The SDK server's `big` returns structured content too: the cut drops it, not the call."""
    host.start([stdio_config()])
    assert host.wait_ready(30)
    result = host.call("local", "big", {"chars": 20_000_000}).result()
    assert not result.is_error, result.text[-300:]
    assert result.text.startswith("x" * 1000 + "\n[The tool's answer was 40,000,")
