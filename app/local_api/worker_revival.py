"""`maverick-desk serve` brings its worker back after it died, as the window does.

The window restarts its worker when the user next sends; serve has no user, so the next
request does it: it gets 503 saying the model is loading again (with Retry-After), and
the worker is started and the model loaded in the background; `/v1/models` says the
same until the model is ready. A worker that keeps dying is retried later and later
(`Backoff`), and each refusal says so, with when the next try is.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from app.local_api.shared_model import SharedModel
from app.workers import protocol as p
from app.workers.client import WorkerClient, describe_exit

log = logging.getLogger(__name__)

# A worker that served this long after loading was not crash-looping: the count restarts.
HEALTHY_S = 60.0
FIRST_DELAY_S = 5.0  # before the second try in a row; it doubles up to MAX_DELAY_S
MAX_DELAY_S = 300.0


@dataclass
class Backoff:
    """When the next load may start: at once after a worker that lived, later in a loop."""

    failures: int = 0  # deaths or failed loads in a row
    next_try: float = 0.0
    loaded_at: float | None = None

    def loaded(self, now: float) -> None:
        self.loaded_at = now

    def failed(self, now: float) -> float:
        """Count a death or failed load; returns the seconds to wait before the next try."""
        if self.loaded_at is not None and now - self.loaded_at >= HEALTHY_S:
            self.failures = 0
        self.loaded_at = None
        self.failures += 1
        delay = 0.0 if self.failures == 1 else FIRST_DELAY_S * 2.0 ** (self.failures - 2)
        delay = min(delay, MAX_DELAY_S)
        self.next_try = now + delay
        return delay

    def wait(self, now: float) -> float:
        return max(0.0, self.next_try - now)


Load = Callable[[], Coroutine[Any, Any, p.Ready]]


class WorkerRevival:
    """Restarts the worker and reloads the model when a request finds it dead."""

    def __init__(
        self,
        client: WorkerClient,
        model: SharedModel,
        load: Load,
        say: Callable[[str], None] = lambda text: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.model = model
        self.backoff = Backoff()
        self.loads = 0  # reloads that succeeded
        self._load = load
        self._say = say
        self._clock = clock
        self._lock = threading.Lock()
        self._dead = False
        self._loading = False
        self._closed = False
        self._cause = ""
        self._task: asyncio.Task[None] | None = None

    def loaded(self) -> None:
        """The model was loaded (at start-up)."""
        with self._lock:
            self.backoff.loaded(self._clock())

    def close(self) -> None:
        with self._lock:
            self._closed = True

    def died(self, event: p.WorkerDied) -> None:
        """The worker exited unasked (on the client's reader thread)."""
        with self._lock:
            if self._loading or self._closed:
                return  # a reload in progress counts its own failure
            self._dead = True
            self._cause = f"the model worker stopped ({describe_exit(event.exit_code)})"
            delay = self.backoff.failed(self._clock())
            self._tell(delay)

    def wanted(self) -> None:
        """A request found no model (on the server's loop): reload it if it is time."""
        with self._lock:
            if not self._dead or self._loading or self._closed:
                return
            wait = self.backoff.wait(self._clock())
            if wait > 0:
                self._tell(wait)
                return
            self._loading = True
            self._dead = False
            self.model.unavailable = (
                f"{_capital(self._cause)}; the model is loading again. Try again in a few seconds."
            )
            self.model.retry_after_s = 5
        self._say(f"[{self._cause}; loading the model again …]")
        self._task = asyncio.get_running_loop().create_task(self._reload())

    async def _reload(self) -> None:
        try:
            self.client.start()
            ready = await self._load()
        except (RuntimeError, OSError) as exc:
            with self._lock:
                self._loading = False
                self._dead = True
                self._cause = _lower(str(exc).rstrip("."))
                self._tell(self.backoff.failed(self._clock()))
            return
        with self._lock:
            self._loading = False
            self.loads += 1
            self.backoff.loaded(self._clock())
        self._say(f"[{ready.name} loaded again; serving]")

    def _tell(self, wait: float) -> None:
        """Put what happened and when the next try is in the 503s and on the console."""
        failures = self.backoff.failures
        cause = _capital(self._cause)
        if wait <= 0:
            sentence = f"{cause}; the model loads again with the next request."
        else:
            sentence = (
                f"{cause} ({failures} failures in a row). So that a model that keeps failing "
                f"does not hold the machine, the next try to load it is in {math.ceil(wait)} s."
            )
        self.model.unavailable = sentence
        self.model.retry_after_s = max(1, math.ceil(wait)) if wait > 0 else 5
        log.warning("%s", sentence)
        self._say(f"[{sentence}]")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]
