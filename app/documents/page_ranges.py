"""Page ranges as people type them ("1-3,7") and the pages picked by default."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PART = re.compile(r"^(\d+)(?:\s*[-–]\s*(\d+))?$")


class PageRangeError(ValueError):
    """A page range that cannot be used, with a message for the user."""


def parse_page_ranges(text: str, page_count: int) -> list[int]:
    """The page numbers `text` names, in the order given, each once.

    "1-3,7" → [1, 2, 3, 7]. Spaces are allowed; pages count from 1. Raises
    `PageRangeError` for anything else, saying which part is wrong.
    """
    if not text.strip():
        raise PageRangeError("No pages given: type pages like 1-3,7.")
    pages: list[int] = []
    seen: set[int] = set()
    for raw in text.split(","):
        part = raw.strip()
        match = _PART.match(part)
        if not match:
            raise PageRangeError(
                f'"{part or raw}" is not a page or a range of pages: type pages like 1-3,7.'
            )
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if first < 1 or last < 1:
            raise PageRangeError(f'"{part}": pages count from 1.')
        if last < first:
            raise PageRangeError(
                f'"{part}" runs backwards; write the lower page first ({last}-{first}).'
            )
        if last > page_count:
            plural = "" if page_count == 1 else "s"
            raise PageRangeError(
                f'"{part}": the document has {page_count} page{plural}, so there is no page '
                f"{first if first > page_count else last}."
            )
        for page in range(first, last + 1):
            if page not in seen:
                seen.add(page)
                pages.append(page)
    return pages


def format_page_ranges(pages: Iterable[int]) -> str:
    """The shortest text naming `pages` in ascending order: [1, 2, 3, 7] → "1-3,7"."""
    ordered = sorted(set(pages))
    parts: list[str] = []
    start = prev = None
    for page in ordered:
        if prev is not None and page == prev + 1:
            prev = page
            continue
        if start is not None:
            parts.append(_span(start, prev))
        start = prev = page
    if start is not None:
        parts.append(_span(start, prev))
    return ",".join(parts)


def default_pages(page_count: int, image_budget: int) -> list[int]:
    """The pages picked when none are named: the first ones that fit the image budget."""
    return list(range(1, min(page_count, max(image_budget, 0)) + 1))


def _span(start: int, end: int | None) -> str:
    return str(start) if end is None or end == start else f"{start}-{end}"
