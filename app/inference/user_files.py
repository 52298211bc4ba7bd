"""Checks every file the user hands in (an image, a PDF) passes before it is opened.

Plain Python, no torch: the window, the documents layer and the worker all use it, so a
missing, empty, unreadable or oversized file gets the same sentence wherever it shows up.
"""

from __future__ import annotations

import os
from pathlib import Path

MIB = 1024 * 1024


def check_user_file(
    path: Path,
    *,
    noun: str,
    max_bytes: int,
    error: type[ValueError] = ValueError,
    too_large_hint: str = "",
) -> int:
    """Raise `error` with a sentence for the user if `path` cannot be read; return its size.

    `noun` names what the file should be ("an image", "a PDF"); `too_large_hint` ends the
    message for a file past `max_bytes` (for example "Split it first.").
    """
    if not path.exists() and path.is_symlink():
        raise error(
            f"{path.name} is a symbolic link that leads nowhere (its target is missing, or "
            "the links form a loop). Attach the file itself."
        )
    if not path.exists():
        raise error(f"{path.name}: the file does not exist (was it moved or deleted?).")
    if path.is_dir():
        raise error(f"{path.name} is a folder, not {noun}.")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise error(f"{path.name}: cannot read the file ({exc.strerror}).") from exc
    if size == 0:
        raise error(f"{path.name} is empty (0 bytes), so it is not {noun}.")
    if size > max_bytes:
        kind = noun.split(" ", 1)[-1]
        hint = f" {too_large_hint}" if too_large_hint else ""
        raise error(
            f"{path.name} is {size // MIB} MiB; {kind} files up to {max_bytes // MIB} MiB are "
            f"accepted.{hint}"
        )
    if not os.access(path, os.R_OK):
        raise error(f"{path.name}: permission denied.")
    return size
