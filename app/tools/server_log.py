"""A tool server's log file, kept to a size: `<server>.log` rotates to `<server>.log.1`.

The server's stderr and the app's own lines about it (starting, failed, stopped) go to the
same file. Past `max_bytes` the file is renamed to `.log.1` (the one before it is dropped)
and a new one begins, as `logging.handlers.RotatingFileHandler` does with one backup; a
server that floods stderr costs at most twice `max_bytes` of disk.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

MAX_LOG_BYTES = 1024 * 1024


class ServerLog:
    """Appends text to a log file and rotates it at `max_bytes`; never raises on disk errors."""

    def __init__(self, path: Path, max_bytes: int = MAX_LOG_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes

    @property
    def backup(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def write(self, text: str) -> None:
        """Append `text`, rotating first when the file would pass the limit."""
        data = text.encode("utf-8", errors="replace")
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            while data:
                size = self._size()
                room = self.max_bytes - size
                if room <= 0:
                    os.replace(self.path, self.backup)
                    room = self.max_bytes
                piece, data = data[:room], data[room:]
                with self.path.open("ab") as out:
                    out.write(piece)

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0
