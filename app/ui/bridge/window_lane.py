"""The window's place in the local API's queue while the window shares its model.

With the Local API switched on, the window's questions and the API's requests take
turns on the one worker (`app.local_api.scheduler`). The window asks in the window
lane, which takes the next free slot ahead of every waiting API request, so a person
at the window waits at most for the answer being generated. This holds the window's
one ticket; the bridge sends its question when the ticket is granted and releases it
when the answer ends.
"""

from __future__ import annotations

from collections.abc import Callable

from app.local_api.scheduler import Lane, Scheduler, ServingState, Ticket


class WindowLane:
    """The window's ticket in `scheduler`; `on_changed` runs on whichever thread changed it."""

    def __init__(self, scheduler: Scheduler, on_changed: Callable[[ServingState], None]) -> None:
        self.scheduler = scheduler
        self._ticket: Ticket | None = None
        self._unsubscribe = scheduler.subscribe(on_changed)

    @property
    def waiting(self) -> bool:
        """The window has asked and its turn has not come yet."""
        return self._ticket is not None and not self._ticket.granted

    @property
    def holding(self) -> bool:
        return self._ticket is not None

    def ask(self) -> bool:
        """Take a place in the window lane; True if the model is free now."""
        if self._ticket is None:
            self._ticket = self.scheduler.submit(Lane.WINDOW)
        return self._ticket.granted

    def granted(self) -> bool:
        """The window holds a ticket and its turn has come."""
        return self._ticket is not None and self._ticket.granted

    def release(self, served: bool) -> None:
        """The window's answer ended (or it gave up waiting): the next request may start."""
        ticket, self._ticket = self._ticket, None
        if ticket is not None:
            self.scheduler.release(ticket, served)

    def close(self) -> None:
        self.release(False)
        self._unsubscribe()
