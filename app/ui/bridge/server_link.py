"""The server engine as the bridge drives it: one `ServerEngine` on the running asyncio loop.

Plain Python (no Qt): the bridge hands it a `deliver` callback, the same one the worker
client calls, so a server's events reach the window through the same inbox. It must be
used from code running on the loop (a Qt slot under qasync is).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from app.engines.openai_client import ServerEngine, ServerSettings
from app.engines.server_ready import connect
from app.workers import protocol as p

log = logging.getLogger(__name__)

# Tasks that outlive their link (closing connections): kept so they are not collected.
_CLOSING: set[asyncio.Task[None]] = set()


class ServerLink:
    """Connects, generates, cancels and closes for one server and model."""

    def __init__(self, settings: ServerSettings, deliver: Callable[[p.Message], None]) -> None:
        """Raises `ServerError` if the key's variable is unset, `RuntimeError` without a loop."""
        self._loop = asyncio.get_running_loop()
        self._deliver = deliver
        self.engine = ServerEngine(settings, on_event=deliver)

    @property
    def settings(self) -> ServerSettings:
        return self.engine.settings

    def connect(self, request_id: str) -> None:
        """Ask for ``/v1/models``; `Ready` or `Error` with `request_id` is delivered."""
        self._keep(self._loop.create_task(self._connect(request_id)))

    def generate(self, request: p.Generate) -> None:
        """Stream an answer: `Token`s, then `Done`, `Error` or `Cancelled`."""
        self.engine.generate(
            request.messages,
            request.sampling,
            request_id=request.request_id,
            tools=request.tools,
            json_schema=request.json_schema,
        )

    def cancel(self, request_id: str) -> None:
        self.engine.cancel(request_id)

    def close(self) -> None:
        """Stop what runs and close the connections (asynchronously; see `closing`)."""
        self._keep(self._loop.create_task(self.engine.aclose()))

    async def _connect(self, request_id: str) -> None:
        self._deliver(await connect(self.engine, request_id))

    @staticmethod
    def _keep(task: asyncio.Task[None]) -> None:
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)


def closing() -> bool:
    """Whether a server link is still connecting or closing its connections."""
    return any(not task.done() for task in _CLOSING)
