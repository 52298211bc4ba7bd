"""Handing freed memory back to the operating system.

Python returns a big object's memory to the C allocator when the object goes, but glibc's
malloc keeps the freed pages of its heaps for later unless asked: after a request of
megabytes is refused the worker would stay that much larger. `malloc_trim` asks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim  # glibc only; musl has none
    except (OSError, AttributeError):
        return None
    return trim


def give_back_memory() -> None:
    """Collect garbage and return the C heap's free pages to the system (where glibc runs)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
        log.debug("freed memory handed back to the system")
