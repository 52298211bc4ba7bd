"""A server engine callable from any thread: `ServerEngine` on an event loop of its own.

`ServerEngine.generate` runs on the asyncio loop it is called from (the window's qasync
loop). A front end without one (the command line, a tool loop's thread) uses
`ServerOnThread`: the same engine on a loop in a daemon thread, met by the same `Engine`
interface; its events reach `on_event` on that thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from app.engines.openai_client import EventCallback, ServerEngine, ServerSettings
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import new_request_id

CLOSE_TIMEOUT_S = 10.0


class ServerOnThread:
    """Starts and stops answers of one server from any thread; `close` when done."""

    def __init__(
        self, settings: ServerSettings, on_event: EventCallback, api_key: str | None = None
    ) -> None:
        self._on_event = on_event
        self.engine = ServerEngine(settings, on_event, api_key=api_key)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="server-engine", daemon=True
        )
        self._thread.start()

    def generate(
        self,
        messages: Sequence[p.ChatTurn],
        sampling: Sampling | None = None,
        *,
        request_id: str | None = None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        """Start an answer (as `ServerEngine.generate` does); returns its id at once."""
        rid = request_id or new_request_id()

        def begin() -> None:
            try:
                self.engine.generate(
                    messages, sampling, request_id=rid, tools=tools, json_schema=json_schema
                )
            except Exception as exc:  # a request that cannot start still ends, with a sentence
                self._on_event(p.Error(rid, "generation_failed", f"The request failed: {exc}"))

        self._loop.call_soon_threadsafe(begin)
        return rid

    def cancel(self, request_id: str) -> None:
        self._loop.call_soon_threadsafe(self.engine.cancel, request_id)

    def close(self) -> None:
        """Cancel what runs, close the connections and end the loop's thread."""
        if not self._thread.is_alive():
            return
        closing = asyncio.run_coroutine_threadsafe(self.engine.aclose(), self._loop)
        try:
            closing.result(CLOSE_TIMEOUT_S)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(CLOSE_TIMEOUT_S)
            self._loop.close()
