"""Which process owns the conversation database's unfinished answers.

Only the process that holds this lock may turn 'streaming' messages into
'interrupted' when it opens the database: a second process (say the
``conversations`` command while the window streams an answer) must not mark a
live answer as interrupted. The operating system releases the lock when its
holder dies, even by SIGKILL, so a crash never leaves it stuck.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class OwnerLock:
    """A non-blocking exclusive lock on a file; `acquired` says whether we got it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.acquired = False
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return False  # a read-only folder: the open itself reports the real problem
        if fcntl is None:
            # No advisory locks (Windows): behave as the only process, as before locking.
            self._fd, self.acquired = fd, True
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd, self.acquired = fd, True
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        self.acquired = False
