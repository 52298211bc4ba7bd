"""Page citations in an answer: `[p. 12]`, `[pp. 3-4]`, `[report.pdf p. 12]`.

The transcript turns each into a link that opens the page; a citation of a page that was
never sent to the model is marked, since the model cannot have read it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, quote, urlsplit

from app.documents.doc_plan import DocumentContext

CITATION = re.compile(
    r"\[(?:(?P<name>[^\[\]\n]{1,200}?)[\s,]+)?pp?\.\s*(?P<first>\d{1,6})"
    r"(?:\s*[-–]\s*(?P<last>\d{1,6}))?\]"
)
MAX_RANGE = 20  # a cited range longer than this links its first page only
CITE_SCHEME = "cite"  # links a rendered answer uses for its citations
UNSENT_NOTE = "This page was not sent with the question."


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


def cite_url(document: str, page: int) -> str:
    """The link a citation of `page` of `document` renders as: `cite:12?doc=report.pdf`."""
    return f"{CITE_SCHEME}:{page}?doc={quote(document, safe='')}"


def parse_cite_url(url: str) -> tuple[str, int] | None:
    """(document, page) of a link made by `cite_url`, or None for any other link."""
    parts = urlsplit(url)
    if parts.scheme != CITE_SCHEME or not parts.path.isdigit():
        return None
    names = parse_qs(parts.query).get("doc")
    if not names or not names[0]:
        return None
    return names[0], int(parts.path)


@dataclass(frozen=True)
class AnswerSources:
    """What one answer could cite: the documents' names and, if known, the pages sent.

    `sent` is None for an answer whose request this session did not see (one reopened
    from storage): its citations link, and none is marked.
    """

    names: tuple[str, ...]
    sent: frozenset[tuple[str, int]] | None = None

    @classmethod
    def from_context(cls, context: DocumentContext) -> AnswerSources:
        pages = {
            (source.name, page)
            for source in context.sources
            for page in source.text_pages + source.image_pages
        }
        return cls(tuple(source.name for source in context.sources), frozenset(pages))

    def was_sent(self, name: str, page: int) -> bool:
        return self.sent is None or (name, page) in self.sent

    def find(self, answer: str) -> list[Citation]:
        """The citations in `answer` (or a piece of it) of these documents."""
        return find_citations(answer, self.names, self.was_sent) if self.names else []
