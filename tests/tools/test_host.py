"""ToolHost against real MCP servers: list, call, image, error, hang, crash, stop."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from app.tools.config import ServerConfig
from app.tools.host import ToolHost
from app.tools.server_runner import ServerState
from tests.tools.conftest import start_http_server, stdio_config, stop_http_server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_stdio_server_lists_and_calls_tools(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    names = {tool.name for tool in host.tools()}
    assert {"echo", "add", "red_square", "hang", "crash"} <= names
    add = next(tool for tool in host.tools() if tool.name == "add")
    assert add.input_schema["required"] == ["a", "b"]
    assert host.call("local", "echo", {"text": "héllo"}).result(30).text == "héllo"
    assert host.call("local", "add", {"a": 2, "b": 40}).result(30).text == "42"


def test_env_and_cwd_reach_a_stdio_server(host: ToolHost, tmp_path: Path) -> None:
    base = stdio_config()
    config = ServerConfig(
        "local", command=base.command, args=base.args, env={"MAVERICK_TEST_VALUE": "x y"},
        cwd=str(tmp_path),
    )  # fmt: skip
    host.start([config])
    assert host.wait_ready(30)
    assert host.call("local", "where", {}).result(30).text == f"{tmp_path}|x y"


def test_image_result_stays_an_image(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    result = host.call("local", "red_square", {"size": 4}).result(30)
    assert not result.is_error
    assert [image.mime_type for image in result.images] == ["image/png"]
    assert result.images[0].data.startswith(b"\x89PNG")


def test_tool_error_unknown_tool_and_bad_arguments_are_sentences(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    failed = host.call("local", "fail", {"why": "test"}).result(30)
    assert failed.is_error and "fail" in failed.text
    unknown = host.call("local", "nope", {}).result(30)
    assert unknown.is_error and "nope" in unknown.text
    bad = host.call("local", "add", {"a": 1, "b": "x"}).result(30)
    assert bad.is_error and "integer" in bad.text
    missing = host.call("elsewhere", "echo", {}).result(30)
    assert missing.is_error and "no enabled tool server called 'elsewhere'" in missing.text


def test_huge_result_is_truncated_with_a_notice(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    result = host.call("local", "big", {"chars": 50_000}).result(30)
    assert result.truncated
    assert result.text.startswith("x" * 1000)
    assert "49,000 more characters of 50,000 were left out" in result.text


def test_hanging_tool_times_out_and_server_still_answers(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    started = time.monotonic()
    result = host.call("local", "hang", {}, timeout=1.0).result(30)
    assert time.monotonic() - started < 5
    assert result.is_error and "did not answer within 1 s" in result.text
    assert host.call("local", "echo", {"text": "still here"}).result(30).text == "still here"


def test_stop_cancels_a_running_call(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    pending = host.call("local", "hang", {})
    time.sleep(0.3)
    pending.cancel()
    result = pending.result(5)
    assert result.is_error and "was stopped" in result.text


def test_crashed_server_is_restarted(host: ToolHost) -> None:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    first_pid = int(host.call("local", "pid", {}).result(30).text)
    result = host.call("local", "crash", {}).result(30)
    assert result.is_error and "stopped during the call" in result.text
    deadline = time.monotonic() + 30
    while host.state("local").restarts == 0 and time.monotonic() < deadline:  # type: ignore[union-attr]
        time.sleep(0.05)
    assert host.wait_ready(30)
    assert int(host.call("local", "pid", {}).result(30).text) != first_pid
    assert "The server stopped unexpectedly" in "\n".join(host.state("local").log_tail())  # type: ignore[union-attr]


def test_close_stops_the_whole_process_group(tmp_path: Path) -> None:
    with ToolHost(logs=tmp_path) as host:
        host.start([stdio_config()])
        assert host.wait_ready(30)
        server_pid = int(host.call("local", "pid", {}).result(30).text)
        child_pid = int(host.call("local", "spawn_child", {}).result(30).text)
        assert _alive(child_pid)
    deadline = time.monotonic() + 10
    while (_alive(server_pid) or _alive(child_pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(server_pid)
    assert not _alive(child_pid)


def test_missing_command_fails_with_a_sentence(host: ToolHost) -> None:
    host.start([ServerConfig("ghost", command="/nonexistent/mcp-server")])
    started = time.monotonic()
    assert not host.wait_started(20)  # settles at the first failure, not after 20 s
    assert time.monotonic() - started < 5
    state = host.state("ghost")
    assert state is not None and state.status in {"failed", "starting"}
    deadline = time.monotonic() + 10
    while state.error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (
        state.error is not None and "command '/nonexistent/mcp-server' was not found" in state.error
    )
    result = host.call("ghost", "echo", {"text": "x"}).result(10)
    assert result.is_error and "is not running" in result.text


def test_streamable_http_server(host: ToolHost, http_server: str) -> None:
    host.start([ServerConfig("web", url=http_server, headers={"X-Test": "1"})])
    assert host.wait_ready(30)
    assert "echo" in {tool.name for tool in host.tools()}
    assert host.call("web", "echo", {"text": "over http"}).result(30).text == "over http"
    image = host.call("web", "red_square", {}).result(30)
    assert image.images and image.images[0].mime_type == "image/png"
    timed_out = host.call("web", "hang", {}, timeout=1.0).result(30)
    assert timed_out.is_error and "did not answer within 1 s" in timed_out.text


def test_unreachable_http_server_fails_with_a_sentence(host: ToolHost) -> None:
    host.start([ServerConfig("gone", url="http://127.0.0.1:9/mcp")])
    assert not host.wait_ready(3)
    state = host.state("gone")
    assert state is not None and state.error is not None
    assert "'gone'" in state.error


def test_http_server_that_went_away_is_reconnected(host: ToolHost, http_port: int) -> None:
    process = start_http_server(http_port)
    try:
        host.start([ServerConfig("web", url=f"http://127.0.0.1:{http_port}/mcp")])
        assert host.wait_ready(30)
        stop_http_server(process)
        deadline = time.monotonic() + 30
        while host.state("web").status == "ready" and time.monotonic() < deadline:  # type: ignore[union-attr]
            time.sleep(0.1)
        assert host.state("web").status != "ready"  # type: ignore[union-attr]
        failed = host.call("web", "echo", {"text": "x"}).result(30)
        assert failed.is_error
        process = start_http_server(http_port)
        assert host.wait_ready(40)
        assert host.call("web", "echo", {"text": "back"}).result(30).text == "back"
    finally:
        stop_http_server(process)


def test_stop_server_stops_one_server_and_it_can_start_again(host: ToolHost) -> None:
    host.start([stdio_config("one"), stdio_config("two")])
    assert host.wait_ready(30)
    first_pid = int(host.call("one", "pid", {}).result(30).text)
    host.stop_server("one")
    assert host.state("one") is None
    deadline = time.monotonic() + 10
    while _alive(first_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(first_pid)
    assert host.call("two", "echo", {"text": "still"}).result(30).text == "still"
    host.start([stdio_config("one")])
    assert host.wait_ready(30)
    assert int(host.call("one", "pid", {}).result(30).text) != first_pid


def test_on_change_tells_each_status_as_it_happens(tmp_path: Path) -> None:
    seen: list[tuple[str, str, int]] = []
    ready = threading.Event()

    def changed(state: ServerState) -> None:
        seen.append((state.name, state.status, len(state.tools)))
        if state.status == "ready":
            ready.set()

    with ToolHost(logs=tmp_path, on_change=changed) as host:
        host.start([stdio_config(), ServerConfig("ghost", command="/nonexistent/mcp-server")])
        assert ready.wait(30)  # told, not polled
        assert host.tools() and ("local", "ready", len(host.tools())) in seen
        host.wait_started(20)
        assert ("ghost", "failed", 0) in seen
        host.stop_server("local")
    local = [status for name, status, _ in seen if name == "local"]
    assert local == ["starting", "ready", "stopped"]
    assert seen[-1][1] == "stopped"  # the ghost stopped with the host
