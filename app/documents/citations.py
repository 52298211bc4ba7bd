"""Page citations in an answer: `[p. 12]`, `[pp. 3-4]`, `[report.pdf p. 12]`.

The transcript turns each into a link that opens the page; a citation of a page that was
never sent to the model is marked, since the model cannot have read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CITATION = re.compile(
    r"\[(?:(?P<name>[^\[\]\n]{1,200}?)[\s,]+)?pp?\.\s*(?P<first>\d{1,6})"
    r"(?:\s*[-–]\s*(?P<last>\d{1,6}))?\]"
)
MAX_RANGE = 20  # a cited range longer than this links its first page only


@dataclass(frozen=True)
class Citation:
    """One cited page: where in the answer, which document (None: the only one), page."""

    start: int
    end: int
    document: str | None
    page: int
    sent: bool


def find_citations(
    answer: str,
    names: Sequence[str],
    was_sent: Callable[[str, int], bool] = lambda _name, _page: True,
) -> list[Citation]:
    """Citations in `answer` that name one of `names` (or none, when there is one)."""
    found: list[Citation] = []
    for match in CITATION.finditer(answer):
        name = _resolve(match.group("name"), names)
        if name is None:
            continue
        first = int(match.group("first"))
        last = int(match.group("last") or first)
        if last < first or last - first > MAX_RANGE:
            last = first
        for page in range(first, last + 1):
            found.append(Citation(match.start(), match.end(), name, page, was_sent(name, page)))
    return found


def _resolve(cited: str | None, names: Sequence[str]) -> str | None:
    if cited is None:
        return names[0] if len(names) == 1 else None
    cited = cited.strip().strip('"').casefold()
    for name in names:
        folded = name.casefold()
        stem = folded.rsplit(".", 1)[0]
        if cited in (folded, stem):
            return name
    return None
