"""A folder of files named by their SHA-256 (`ab/<hash>.<ext>`): images, documents.

What the image store and the document store share: undoing files a failed import made,
and sweeping files no record refers to any more.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from app.storage.errors import describe_os_error


def is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


class HashedFiles:
    """Files kept under `root` by content hash; writes are atomic, so processes may share it."""

    what = "the stored files"  # for sentences: "could not clean up the stored files"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def remove(self, paths: list[Path]) -> None:
        """Delete files this store made (used to undo a failed import)."""
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def remove_unreferenced(self, referenced: set[str], min_age_s: float = 600.0) -> int:
        """Delete stored files whose hash nothing uses; returns how many went.

        Files younger than `min_age_s` stay: another process may have stored one a moment
        ago and not yet committed the record that refers to it.
        """
        removed = 0
        cutoff = time.time() - min_age_s
        if not self.root.is_dir():
            return 0
        try:
            for sub in self.root.iterdir():
                if not sub.is_dir():
                    continue
                for path in sub.iterdir():
                    sha256 = path.name.split(".", 1)[0]
                    if (
                        is_sha256(sha256)
                        and sha256 not in referenced
                        and path.stat().st_mtime <= cutoff
                    ):
                        path.unlink()
                        removed += 1
        except OSError as exc:
            raise describe_os_error(exc, f"clean up {self.what}", self.root) from exc
        return removed
