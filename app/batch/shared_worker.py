"""A batch job on a worker that someone else owns (the window's), beside its other requests.

The window's worker hands every event to an `EventRouter`; a batch request's events are
routed here, to a queue its runner thread reads, and the rest go where they always went
(the chat). The worker takes requests in turn, so a question asked in the chat while a
batch runs waits for the item in flight, not for the whole job.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator

from app.local_api.event_router import EventRouter
from app.workers import protocol as p
from app.workers.client import TERMINAL, WorkerClient


class SharedWorker:
    """`send`, `cancel` and `events_for` over a worker whose events go through `router`."""

    def __init__(self, client: WorkerClient, router: EventRouter) -> None:
        self._client = client
        self._router = router
        self._queues: dict[str, queue.SimpleQueue[p.Message]] = {}

    def send(self, message: p.Message) -> None:
        """Send a request; its events are kept for `events_for`."""
        rid = str(getattr(message, "request_id", ""))
        inbox: queue.SimpleQueue[p.Message] = queue.SimpleQueue()
        self._queues[rid] = inbox
        self._router.route(rid, inbox.put)
        try:
            self._client.send(message)
        except BaseException:
            self._forget(rid)
            raise

    def cancel(self, request_id: str) -> None:
        self._client.cancel(request_id)

    def events_for(self, request_id: str) -> Iterator[p.Message]:
        """The request's events up to its terminal one (or the worker's death)."""
        inbox = self._queues[request_id]
        try:
            while True:
                event = inbox.get()
                yield event
                if isinstance(event, TERMINAL):
                    return
        finally:
            self._forget(request_id)

    def _forget(self, request_id: str) -> None:
        self._router.drop(request_id)
        self._queues.pop(request_id, None)
