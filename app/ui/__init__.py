"""The window: every line of Qt in the app lives in this package."""

from __future__ import annotations

from app.ui import pyside_refcount_fix as _pyside_refcount_fix  # noqa: F401  (must run first)
