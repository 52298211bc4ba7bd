"""The API's uvicorn server on a thread of its own, with its own asyncio loop.

The window (a Qt loop) and `maverick-desk serve` both run it this way: `start` returns
once the socket listens, `call` runs a coroutine on the server's loop (loading the
model, for instance), `stop` shuts it down and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)
T = TypeVar("T")


class ApiServer:
    """Runs `app` on host:port until `stop`."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 8790) -> None:
        self.host = host
        self.port = port
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            # Past this many open connections uvicorn answers 503 at once, so a flood of
            # idle sockets cannot exhaust the process; the scheduler bounds the real work.
            limit_concurrency=64,
        )
        self._server = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout_s: float = 15.0) -> None:
        """Listen; raise `OSError` (e.g. the port is taken) if the server cannot start."""
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="local-api", daemon=True
        )
        self._thread.start()
        started.wait(timeout_s)
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and not self._server.started:
            if time.monotonic() > deadline:
                break
            self._thread.join(0.02)
        if not self._server.started:
            self.stop()
            raise OSError(
                f"The local API could not listen on {self.host}:{self.port}"
                + (f": {self._failure}" if self._failure else " (is the port taken?)")
            )

    def call(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run `coroutine` on the server's loop; returns a future for its result."""
        assert self._loop is not None, "start the server first"
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout_s)

    def _run(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        started.set()
        try:
            loop.run_until_complete(self._server.serve())
        except BaseException as exc:  # reported by start(), e.g. the port is taken
            self._failure = exc
            log.error("the local API stopped: %r", exc)
        finally:
            loop.close()
