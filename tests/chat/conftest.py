"""The chat room's tests run with Qt out of reach: importing PySide6 or qasync fails.

The finder blocks new imports during each test (Qt modules an earlier test of the same
run loaded stay loaded: pytest-qt holds them); `test_no_qt.py` imports the whole room in
a fresh interpreter with Qt blocked from the start.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Iterator

import pytest

BLOCKED = ("PySide6", "qasync", "shiboken6")


class NoQt(importlib.abc.MetaPathFinder):
    """Refuses Qt, so a test that reaches for it fails instead of quietly using it."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} imported by the chat room, which must run without Qt")
        return None


@pytest.fixture(autouse=True)
def no_qt() -> Iterator[None]:
    finder = NoQt()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
