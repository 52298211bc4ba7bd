"""Which way a paragraph reads, decided by its first strong character (like HTML ``dir="auto"``).

Plain Python, no Qt: the Markdown renderer and the plain-text user messages use it to
put ``dir="rtl"`` on Arabic (and other right-to-left) paragraphs so that they align and
order correctly next to left-to-right ones.
"""

from __future__ import annotations

import unicodedata
from typing import Literal

Direction = Literal["ltr", "rtl"]

_RTL_CLASSES = frozenset({"R", "AL"})


def first_strong_direction(text: str) -> Direction | None:
    """'rtl' or 'ltr' from the first strongly directional character, or None if there is none."""
    for char in text:
        if char.isascii():
            # Fast path: ASCII letters are the only strong ASCII characters.
            if char.isalpha():
                return "ltr"
            continue
        bidi = unicodedata.bidirectional(char)
        if bidi in _RTL_CLASSES:
            return "rtl"
        if bidi == "L":
            return "ltr"
    return None
