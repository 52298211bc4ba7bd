"""SIGTERM and SIGHUP stop a command-line run the way Ctrl+C does, so its servers end.

Python's default for SIGTERM and SIGHUP ends the process at once, with no `finally`, so the
tool servers it started would be left running. Inside `stopping_on_signals` they raise
`StopSignal` (a `KeyboardInterrupt`, so every Ctrl+C path also handles them), and once one
of the three signals has arrived the others are ignored until the block is left: the
cleanup it began (ending the servers' process groups) is not cut short by a second one.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignal(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived; `exit_code` is what the shell expects (128 + signal)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(self.name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _stop(signum: int, frame: FrameType | None) -> None:
    for each in _SIGNALS:
        signal.signal(each, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise StopSignal(signum)


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """Within the block, SIGINT, SIGTERM and SIGHUP raise; the old handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; the caller's own ones stay
        return
    previous = {each: signal.getsignal(each) for each in _SIGNALS}
    for each in _SIGNALS:
        signal.signal(each, _stop)
    try:
        yield
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
