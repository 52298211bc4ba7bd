"""One MCP server's life: connect, list its tools, serve calls, restart with backoff.

Runs on the `ToolHost`'s asyncio loop. A stdio server starts in a new session
(its own process group); on the way out its stdin is closed and then the whole group is
ended, so stopping a runner stops every process the server started.
A stdio server runs through `bounded_stdio_client` (bounded reads, a rotating log, the
shim that ends what the server started). A runner notices a server that died by pinging
it; calls on a dead server fail with a sentence and the runner starts it again after a
growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CONNECTION_CLOSED, CallToolResult, PaginatedRequestParams

from app.tools.config import ServerConfig
from app.tools.message_bounds import MESSAGE_LIMIT_BYTES, OVERSIZED_META
from app.tools.process_group import end_stale_group, kill_group, launch_command, read_group
from app.tools.results import ToolResult, from_mcp_content
from app.tools.server_errors import describe_start_failure
from app.tools.server_log import ServerLog
from app.tools.stdio_transport import bounded_stdio_client

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
START_TIMEOUT_S = 30.0
PING_INTERVAL_S = 2.0


@dataclass(frozen=True)
class ToolInfo:
    """A tool as a server lists it."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass
class ServerState:
    """What the Tools dialog and `tools list` show about a server."""

    name: str
    status: str = "stopped"  # stopped, starting, ready, failed
    tools: list[ToolInfo] = field(default_factory=list)
    error: str | None = None
    restarts: int = 0
    log_path: Path | None = None

    def log_tail(self, lines: int = 20) -> list[str]:
        if self.log_path is None:
            return []
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            return []


class ServerRunner:
    """Keeps one server connected until stopped; serves its calls."""

    def __init__(
        self,
        config: ServerConfig,
        log_path: Path,
        result_limit: int,
        ping_interval_s: float = PING_INTERVAL_S,
        on_change: Callable[[ServerState], None] | None = None,
    ) -> None:
        self.config = config
        self._on_change = on_change  # called on the host's loop when the status changes
        self.state = ServerState(config.name, log_path=log_path)
        self._result_limit = result_limit
        self._ping_interval_s = ping_interval_s
        self._session: ClientSession | None = None
        self._stop = asyncio.Event()
        self._dead = asyncio.Event()
        self._ready = asyncio.Event()
        self._settled = asyncio.Event()  # ready, or failed at least once
        self._log = ServerLog(log_path) if log_path is not None else None

    def _set_status(self, status: str, error: str | None = None) -> None:
        self.state.status, self.state.error = status, error
        if self._on_change is not None:
            try:
                self._on_change(self.state)
            except Exception:  # a listener's fault must not end the server's life
                log.exception("a listener of MCP server %s failed", self.config.name)

    def _note(self, line: str) -> None:
        if self._log is not None:
            self._log.write(f"[maverick-desk {time.strftime('%H:%M:%S')}] {line}\n")

    async def run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self._set_status("starting", self.state.error)
            self._note(f"starting {self.config.describe()}")
            connected_at = time.monotonic()
            try:
                await self._connect_and_serve()
                error = None if self._stop.is_set() else "The server stopped unexpectedly."
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # anyio wraps failures in exception groups
                log.info("MCP server %s failed", self.config.name, exc_info=True)
                error = describe_start_failure(self.config, exc)
            if self._stop.is_set():
                break
            if time.monotonic() - connected_at > 60:
                attempt = 0  # it ran a good while: start the backoff over
            pause = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
            attempt += 1
            self.state.restarts += 1
            self._set_status("failed", error)
            self._settled.set()
            self._note(f"failed: {error} Restarting in {pause:g} s.")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
        self._set_status("stopped", self.state.error)
        self._note("stopped")

    async def _open(self, stack: contextlib.AsyncExitStack) -> tuple[Any, Any]:
        config = self.config
        streams: tuple[Any, Any]
        if config.command is not None:
            assert self.state.log_path is not None and self._log is not None
            self.state.log_path.parent.mkdir(parents=True, exist_ok=True)
            pid_file = self.state.log_path.with_suffix(".pid")
            stale = await asyncio.to_thread(end_stale_group, pid_file)
            if stale is not None:
                self._note(f"ended process group {stale}, left running by an earlier run")
            command, args = launch_command(config, pid_file)
            stack.callback(self._end_group, pid_file)
            streams = await stack.enter_async_context(
                bounded_stdio_client(command, args, config.env, config.cwd, self._log)
            )
        else:
            assert config.url is not None
            # The SDK's own defaults: 30 s to connect and write, 300 s to read a stream.
            http = httpx2.AsyncClient(
                headers=config.headers or None, timeout=httpx2.Timeout(30.0, read=300.0)
            )
            await stack.enter_async_context(http)
            streams = await stack.enter_async_context(
                streamable_http_client(config.url, http_client=http)
            )
        return streams[0], streams[1]

    async def _connect_and_serve(self) -> None:
        self._dead.clear()
        async with contextlib.AsyncExitStack() as stack:
            read, write = await self._open(stack)
            session = await stack.enter_async_context(ClientSession(read, write))
            with anyio.fail_after(START_TIMEOUT_S):
                await session.initialize()
                self.state.tools = await self._list_tools(session)
            self._session = session
            self._set_status("ready")
            self._ready.set()
            self._settled.set()
            self._note(f"ready with {len(self.state.tools)} tools")
            try:
                await self._watch(session)
            finally:
                self._ready.clear()
                self._session = None

    async def _list_tools(self, session: ClientSession) -> list[ToolInfo]:
        tools: list[ToolInfo] = []
        cursor: str | None = None
        while True:
            params = PaginatedRequestParams(cursor=cursor) if cursor else None
            page = await session.list_tools(params=params)
            for tool in page.tools:
                tools.append(
                    ToolInfo(self.config.name, tool.name, tool.description or "", tool.input_schema)
                )
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def _watch(self, session: ClientSession) -> None:
        while not self._stop.is_set() and not self._dead.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake(), self._ping_interval_s)
                continue
            try:
                with anyio.fail_after(10):
                    await session.send_ping()
            except Exception:
                log.info("MCP server %s did not answer a ping", self.config.name, exc_info=True)
                return

    async def _wake(self) -> None:
        stop = asyncio.ensure_future(self._stop.wait())
        dead = asyncio.ensure_future(self._dead.wait())
        try:
            await asyncio.wait({stop, dead}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            dead.cancel()

    def _end_group(self, pid_file: Path) -> None:
        # After the SDK closed the server: its children may still run in its group.
        group = read_group(pid_file)
        if group is not None:
            kill_group(group)
        pid_file.unlink(missing_ok=True)

    def stop(self) -> None:
        self._stop.set()

    async def wait_settled(self, timeout: float) -> bool:
        """Wait until the first start succeeded or failed; True if the server is ready."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout)
        return self._ready.is_set()

    async def wait_ready(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self._ready.is_set()

    async def call(self, tool: str, arguments: dict[str, Any], timeout: float) -> ToolResult:
        name = self.config.name
        session = self._session
        if session is None:
            why = f" ({self.state.error})" if self.state.error else ""
            return ToolResult.failure(f"The tool server {name!r} is not running{why}.")
        try:
            with anyio.fail_after(timeout):
                result = await session.call_tool(tool, arguments)
        except TimeoutError:
            return ToolResult.failure(
                f"The tool {tool!r} of {name!r} did not answer within {timeout:g} s, so the "
                "app stopped waiting (the timeout is in the tool settings)."
            )
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                return ToolResult.failure(
                    f"The tool server {name!r} refused the call: {exc.message}."
                )
            self._dead.set()
            return ToolResult.failure(
                f"The tool server {name!r} stopped during the call; the app is restarting it."
            )
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream) as exc:
            self._dead.set()
            log.info("MCP server %s went away mid-call", name, exc_info=exc)
            return ToolResult.failure(
                f"The tool server {name!r} stopped during the call; the app is restarting it."
            )
        except Exception as exc:
            log.warning("MCP call %s/%s failed", name, tool, exc_info=True)
            return ToolResult.failure(f"The call to {tool!r} of {name!r} failed: {exc}.")
        if not isinstance(result, CallToolResult):
            return ToolResult.failure(
                f"The tool server {name!r} answered in a form the app cannot read."
            )
        oversized = (result.meta or {}).get(OVERSIZED_META)
        if isinstance(oversized, int):
            return self._cut_result(result, oversized)
        return from_mcp_content(
            result.content, result.is_error, self._result_limit, result.structured_content
        )

    def _cut_result(self, result: CallToolResult, size: int) -> ToolResult:
        """A result whose message was past the read limit: its first text, and the size."""
        start = from_mcp_content(result.content, False, 0).text
        shown = min(len(start), self._result_limit)
        notice = (
            f"[The tool's answer was {size:,} bytes, more than the "
            f"{MESSAGE_LIMIT_BYTES // (1024 * 1024)} MiB the app reads from a tool server: "
            f"the first {shown:,} characters are kept and the rest was read and discarded.]"
        )
        return ToolResult(start[:shown] + "\n" + notice, (), False, True, (notice,))
