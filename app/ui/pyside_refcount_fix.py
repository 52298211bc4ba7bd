"""Work around PySide6 6.12 on Python 3.11 dropping references to None and True.

This build of PySide6 treats None, True and False as immortal, as they are from
Python 3.12 on: every void Qt method returns None without taking a reference for it,
and every ``Signal.emit()`` does the same with True. On Python 3.11 each call lowers
the object's reference count by one, and after enough calls the interpreter aborts
with "none_dealloc: deallocating None" (or "bool_dealloc"). On an affected build we
give these objects a reference count so large that no session can use it up; they
are static objects and are never freed anyway.
"""

from __future__ import annotations

import ctypes
import sys

_HEADROOM = 1 << 40
_PROBE_CALLS = 8


def _calls_leak() -> bool:
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        fired = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBE_CALLS):
        probe.fired.emit()
        probe.setObjectName("probe")
    none_lost = none_before - sys.getrefcount(None)
    true_lost = true_before - sys.getrefcount(True)
    return none_lost >= _PROBE_CALLS or true_lost >= _PROBE_CALLS


def apply() -> bool:
    """Apply the fix if this PySide6 build needs it; returns whether it did."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not _calls_leak():
        return False
    for value in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(value))
        refcount.value += _HEADROOM
    return True


APPLIED = apply()
