"""Work around PySide6 6.12 on Python 3.11: every ``Signal.emit()`` drops a reference to True.

``SignalInstance.emit`` returns True without taking a reference for it, so each emit
from Python lowers ``True``'s reference count by one; after a few hundred emits the
interpreter aborts with "bool_dealloc: deallocating True or False". Python 3.12 made
``True`` immortal, which hides the bug there. On an affected build we give ``True``
(and ``False``, in case another path does the same) a reference count so large that
no session can use it up: the objects are static and never freed anyway.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40


def _emit_leaks() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.fired.emit()
    return sys.getrefcount(True) < before


def apply() -> bool:
    """Apply the fix if this PySide6 build needs it; returns whether it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not _emit_leaks():
        return False
    for value in (True, False):
        refcount = ctypes.c_ssize_t.from_address(id(value))
        refcount.value += _HEADROOM
    return True


APPLIED = apply()
