"""Who generates next on the one worker: the window's questions first, then API requests in order.

One generation runs at a time. Requests wait in two lanes:

- the **window** lane: a person is watching the window, and the window asks one question
  at a time, so it takes the next free slot ahead of every waiting API request;
- the **api** lane: first come, first served, at most `max_waiting` deep; past that a
  request is refused at once (429) with a Retry-After worked out from recent durations.

Nothing is ever preempted: a running generation (window or API) finishes or is cancelled
by its own caller. So the window waits at most for the answer being generated, and an API
client waits at most one window answer longer than its place in the queue says, since
the window cannot queue a second question while its first is open.

Thread-safe: the HTTP server's loop, the worker client's reader thread and (later) the
window all call in. `subscribe` tells listeners (the window's "busy serving another
client" label) every change of `ServingState`.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


class Lane(enum.Enum):
    """Who asks. The values are shown to the user; never reuse one."""

    WINDOW = "window"
    API = "api"


class QueueFull(RuntimeError):
    """The API lane is full; `retry_after_s` is when a place is likely to free up."""

    def __init__(self, waiting: int, retry_after_s: int) -> None:
        super().__init__(f"{waiting} requests are already waiting for the model")
        self.waiting = waiting
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ServingState:
    """What the window shows: who is generating, how many wait, how many were served."""

    running: Lane | None
    waiting_window: int
    waiting_api: int
    served_api: int
    served_window: int

    @property
    def busy_serving_client(self) -> bool:
        """The model is answering an API client (the window's question would wait)."""
        return self.running is Lane.API


class Ticket:
    """A place in the queue; granted when its turn comes. Release it exactly once."""

    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self._granted = threading.Event()
        self._waiters: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.granted_at = 0.0

    @property
    def granted(self) -> bool:
        return self._granted.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until granted (for a thread such as the window's)."""
        return self._granted.wait(timeout)

    async def wait_async(self) -> None:
        """Wait until granted without blocking the event loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(_resolve, future)

        with self._lock:
            if not self._granted.is_set():
                self._waiters.append(wake)
                granted = False
            else:
                granted = True
        if not granted:
            await future

    def _grant(self) -> None:
        with self._lock:
            self._granted.set()
            waiters, self._waiters = self._waiters, []
        for wake in waiters:
            wake()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Scheduler:
    """One slot, a priority lane for the window and a bounded FIFO lane for API requests."""

    def __init__(self, max_waiting: int = 8) -> None:
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._running: Ticket | None = None
        self._lanes: dict[Lane, collections.deque[Ticket]] = {
            Lane.WINDOW: collections.deque(),
            Lane.API: collections.deque(),
        }
        self._served = {Lane.WINDOW: 0, Lane.API: 0}
        self._durations: collections.deque[float] = collections.deque(maxlen=8)
        self._listeners: list[Callable[[ServingState], None]] = []

    def submit(self, lane: Lane) -> Ticket:
        """Take a place in `lane`; granted at once when the model is free. Raises `QueueFull`."""
        ticket = Ticket(lane)
        with self._lock:
            waiting = self._lanes[Lane.API]
            if lane is Lane.API and len(waiting) >= self.max_waiting:
                raise QueueFull(len(waiting), self._retry_after(len(waiting)))
            self._lanes[lane].append(ticket)
            granted = self._grant_next()
        self._changed(granted)
        return ticket

    def release(self, ticket: Ticket, served: bool = True) -> None:
        """The ticket's generation ended (or it gave up waiting); the next one may start.

        `served` counts a generation that ran to its end (done, or stopped at a stop
        string); a cancelled or failed one is not counted.
        """
        with self._lock:
            if self._running is ticket:
                self._running = None
                self._durations.append(time.monotonic() - ticket.granted_at)
                if served:
                    self._served[ticket.lane] += 1
            elif ticket in self._lanes[ticket.lane]:
                self._lanes[ticket.lane].remove(ticket)
            else:
                return  # released twice: nothing to do
            granted = self._grant_next()
        self._changed(granted)

    def state(self) -> ServingState:
        with self._lock:
            return self._state()

    def subscribe(self, listener: Callable[[ServingState], None]) -> Callable[[], None]:
        """Call `listener(state)` after every change, on the changer's thread.

        Returns the function that unsubscribes it.
        """
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def retry_after_s(self) -> int:
        with self._lock:
            return self._retry_after(len(self._lanes[Lane.API]))

    # ------------------------------------------------------------ internals
    def _grant_next(self) -> Ticket | None:
        if self._running is not None:
            return None
        for lane in (Lane.WINDOW, Lane.API):
            if self._lanes[lane]:
                self._running = self._lanes[lane].popleft()
                self._running.granted_at = time.monotonic()
                return self._running
        return None

    def _retry_after(self, waiting: int) -> int:
        typical = sorted(self._durations)[len(self._durations) // 2] if self._durations else 1.0
        return max(1, min(120, math.ceil(typical * (waiting + 1))))

    def _state(self) -> ServingState:
        return ServingState(
            running=self._running.lane if self._running else None,
            waiting_window=len(self._lanes[Lane.WINDOW]),
            waiting_api=len(self._lanes[Lane.API]),
            served_api=self._served[Lane.API],
            served_window=self._served[Lane.WINDOW],
        )

    def _changed(self, granted: Ticket | None) -> None:
        if granted is not None:
            granted._grant()
        with self._lock:
            state, listeners = self._state(), list(self._listeners)
        for listener in listeners:
            try:
                listener(state)
            except Exception:
                log.exception("a serving-state listener failed")
