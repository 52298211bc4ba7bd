"""`ToolHost`: the enabled MCP servers, run on an asyncio loop in a thread of their own.

Its methods are plain blocking calls, safe from any thread: the window's tool loop and the
command line use the same object. A call returns a `PendingCall` that Stop can cancel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from app.paths import log_dir
from app.tools.config import ServerConfig
from app.tools.results import ToolResult
from app.tools.server_runner import PING_INTERVAL_S, ServerRunner, ServerState, ToolInfo
from app.tools.tool_settings import DEFAULT_CALL_TIMEOUT_S, DEFAULT_RESULT_LIMIT

log = logging.getLogger(__name__)


class PendingCall:
    """A running tool call: `result()` waits for it, `cancel()` stops it."""

    def __init__(self, future: concurrent.futures.Future[ToolResult], label: str) -> None:
        self._future = future
        self._label = label

    def cancel(self) -> None:
        self._future.cancel()

    def done(self) -> bool:
        return self._future.done()

    def result(self, timeout: float | None = None) -> ToolResult:
        try:
            return self._future.result(timeout)
        except concurrent.futures.CancelledError:
            return ToolResult.failure(f"The call to {self._label} was stopped.")


class ToolHost:
    """The running tool servers and the calls made to them."""

    def __init__(
        self,
        call_timeout_s: float = DEFAULT_CALL_TIMEOUT_S,
        result_limit: int = DEFAULT_RESULT_LIMIT,
        logs: Path | None = None,
        ping_interval_s: float = PING_INTERVAL_S,
        on_change: Callable[[ServerState], None] | None = None,
    ) -> None:
        """Run no servers yet; `start` runs them.

        `on_change` is called, on the host's own thread, whenever a server's status changes
        (starting, ready, failed, stopped): the window learns of it without polling.
        """
        self.call_timeout_s = call_timeout_s
        self._on_change = on_change
        self._result_limit = result_limit
        self._logs = logs or log_dir() / "mcp"
        self._ping_interval_s = ping_interval_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mcp-host", daemon=True)
        self._runners: dict[str, ServerRunner] = {}
        self._tasks: dict[str, concurrent.futures.Future[None]] = {}
        self._thread.start()

    def __enter__(self) -> ToolHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self, configs: Iterable[ServerConfig]) -> None:
        """Start these servers (the caller passes only the enabled ones)."""
        for config in configs:
            if config.name in self._runners:
                continue
            path = self._logs / f"{config.name}.log"
            runner = ServerRunner(
                config, path, self._result_limit, self._ping_interval_s, self._on_change
            )
            self._runners[config.name] = runner
            self._tasks[config.name] = asyncio.run_coroutine_threadsafe(runner.run(), self._loop)

    def wait_ready(self, timeout: float = 30.0, names: Iterable[str] | None = None) -> bool:
        """Wait until the named servers (default all) are ready; False if one is not."""
        chosen = [self._runners[n] for n in (names or self._runners) if n in self._runners]

        async def all_ready() -> bool:
            results = await asyncio.gather(*(r.wait_ready(timeout) for r in chosen))
            return all(results)

        return asyncio.run_coroutine_threadsafe(all_ready(), self._loop).result(timeout + 5)

    def wait_started(self, timeout: float = 30.0) -> bool:
        """Wait until every server started or failed once (no waiting out a broken one)."""
        runners = list(self._runners.values())

        async def all_settled() -> bool:
            return all(await asyncio.gather(*(r.wait_settled(timeout) for r in runners)))

        return asyncio.run_coroutine_threadsafe(all_settled(), self._loop).result(timeout + 5)

    def stop_server(self, name: str, timeout: float = 10.0, wait: bool = True) -> None:
        """Stop one server (with its process group); `start` may run it again at once.

        With `wait`, blocks up to `timeout` until it has ended (the Tools dialog calls it
        off the GUI thread); without, returns at once and the host's own thread ends it
        (the window), logging a server that did not stop cleanly.
        """
        runner = self._runners.pop(name, None)
        task = self._tasks.pop(name, None)
        if runner is None or task is None or not self._thread.is_alive():
            return
        self._loop.call_soon_threadsafe(runner.stop)
        if not wait:
            task.add_done_callback(lambda done: _log_unclean_stop(name, done))
            return
        try:
            task.result(timeout)
        except Exception:
            log.warning("MCP server %s did not stop cleanly", name, exc_info=True)
            task.cancel()

    def states(self) -> list[ServerState]:
        return [runner.state for runner in self._runners.values()]

    def state(self, name: str) -> ServerState | None:
        runner = self._runners.get(name)
        return runner.state if runner else None

    def tools(self) -> list[ToolInfo]:
        return [
            t for r in self._runners.values() if r.state.status == "ready" for t in r.state.tools
        ]

    def call(
        self,
        server: str,
        tool: str,
        arguments: Mapping[str, Any],
        timeout: float | None = None,
    ) -> PendingCall:
        label = f"{tool!r} of {server!r}"
        runner = self._runners.get(server)
        future: concurrent.futures.Future[ToolResult]
        if runner is None:
            future = concurrent.futures.Future()
            future.set_result(
                ToolResult.failure(f"There is no enabled tool server called {server!r}.")
            )
            return PendingCall(future, label)
        coroutine = runner.call(tool, dict(arguments), timeout or self.call_timeout_s)
        return PendingCall(asyncio.run_coroutine_threadsafe(coroutine, self._loop), label)

    def close(self, timeout: float = 10.0) -> None:
        """Stop every server (each with its whole process group) and the loop's thread."""
        if not self._thread.is_alive():
            return
        for runner in self._runners.values():
            self._loop.call_soon_threadsafe(runner.stop)
        for name, task in self._tasks.items():
            try:
                task.result(timeout)
            except Exception:
                log.warning("MCP server %s did not stop cleanly", name, exc_info=True)
                task.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()


def _log_unclean_stop(name: str, task: concurrent.futures.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("MCP server %s did not stop cleanly", name, exc_info=task.exception())
