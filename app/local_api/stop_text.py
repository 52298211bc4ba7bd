"""Stop strings (the request's ``stop``) found in streamed text.

Text that could be the start of a stop string is held back until the next delta shows
whether it is; text from the first stop string on is never sent.
"""

from __future__ import annotations


class StopMatcher:
    """Feed deltas in; get back what may be sent, and whether a stop string was reached."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._stops = stops
        self._hold = max((len(stop) for stop in stops), default=1) - 1
        self._pending = ""
        self.stopped = False

    def feed(self, delta: str) -> str:
        """The text that can be sent now; sets `stopped` when a stop string appears."""
        if self.stopped:
            return ""
        if not self._stops:
            return delta
        text = self._pending + delta
        cut = min((i for i in (text.find(stop) for stop in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._pending = ""
            return text[:cut]
        keep = self._partial_tail(text)
        self._pending = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """At the end of the answer: the held-back text (it was no stop string)."""
        text, self._pending = self._pending, ""
        return "" if self.stopped else text

    def _partial_tail(self, text: str) -> int:
        """Length of the longest end of `text` that begins some stop string."""
        for size in range(min(self._hold, len(text)), 0, -1):
            tail = text[-size:]
            if any(stop.startswith(tail) for stop in self._stops):
                return size
        return 0
