"""Hands each worker event to whoever sent its request.

`WorkerClient(on_event=router)` calls the router on the client's reader thread. A
request routed here (an API request) gets its events through its sink; everything
else goes to the fallback (the window's bridge, or nothing for `maverick-desk serve`).
`WorkerDied` goes to every sink and to the fallback: it ends every request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from app.workers import protocol as p

log = logging.getLogger(__name__)

Sink = Callable[[p.Message], None]


class EventRouter:
    """Routes events by request id; thread-safe."""

    def __init__(self, fallback: Sink | None = None) -> None:
        self.fallback = fallback
        self._sinks: dict[str, Sink] = {}
        self._lock = threading.Lock()

    def route(self, request_id: str, sink: Sink) -> None:
        """Send the events of `request_id` to `sink` from now on (replacing any sink before)."""
        with self._lock:
            self._sinks[request_id] = sink

    def drop(self, request_id: str) -> None:
        with self._lock:
            self._sinks.pop(request_id, None)

    def __call__(self, event: p.Message) -> None:
        if isinstance(event, p.WorkerDied):
            with self._lock:
                sinks = list(self._sinks.values())
            for sink in sinks:
                self._deliver(sink, event)
            if self.fallback is not None:
                self._deliver(self.fallback, event)
            return
        rid = getattr(event, "request_id", None)
        with self._lock:
            target = self._sinks.get(rid) if rid else None
        target = target or self.fallback
        if target is not None:
            self._deliver(target, event)

    @staticmethod
    def _deliver(sink: Sink, event: p.Message) -> None:
        try:
            sink(event)
        except Exception:
            log.exception("an event sink failed for %s", event.kind)
