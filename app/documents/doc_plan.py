"""What a question about whole documents sends: all their text, or the pages that rank best.

When every document's text fits the token budget it goes whole, page by page with
`[p. N]` markers, in a block that does not depend on the question, so that it can sit
before the conversation and a follow-up question reuses the prompt cache. When it does
not fit, the pages that rank best for the question (and the conversation's recent turns)
go, each with its neighbours, in page order, and the plan says which. Either way pages
whose text layer is thin (figures, charts, scans) are offered as images, best-ranked
first, up to the image limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.documents.doc_index import DocumentIndex
from app.documents.page_cache import render_pages
from app.documents.page_ranges import format_page_ranges
from app.documents.pdf import PdfFile
from app.documents.tiling import ProcessorSettings

CountTokens = Callable[[str], int]
RECENT_TURN_WEIGHT = 0.5  # the question counts twice as much as the turns before it
NEIGHBOUR_SHARE = 0.6  # pages scoring this share of the best bring their neighbours
DEFAULT_BUDGET = 100_000  # tokens of document text while the engine's context is unknown
MARGIN_TOKENS = 512  # the chat template's frame and the instruction to cite
IMAGE_TOKENS = 2_448  # an image at most: 16 tiles and the overview, 144 tokens each


def document_budget(
    context_length: int, conversation_tokens: int, images: int, answer_tokens: int
) -> int:
    """Tokens of document text that fit beside the conversation and the answer (>= 0)."""
    if context_length <= 0:
        return DEFAULT_BUDGET
    used = conversation_tokens + images * IMAGE_TOKENS + answer_tokens + MARGIN_TOKENS
    return max(0, context_length - used)


def approximate_tokens(text: str) -> int:
    """About four characters a token, as Llama tokenizers average on English prose."""
    return len(text) // 4 + 1


@dataclass(frozen=True)
class SentPages:
    """One document's share of a request."""

    name: str
    page_count: int
    text_pages: tuple[int, ...]
    image_pages: tuple[int, ...]
    tokens: int


@dataclass(frozen=True)
class DocumentContext:
    """The documents' part of a request: a text block and the pages to send as images."""

    whole: bool  # every page went as text
    text: str
    sources: tuple[SentPages, ...]
    tokens: int
    budget: int

    def summary(self) -> str:
        """One line a person reads: which pages went as text and which as images."""
        parts = []
        for source in self.sources:
            text = format_page_ranges(list(source.text_pages)) if source.text_pages else "none"
            part = f"{source.name}: pages {text} of {source.page_count} as text"
            if source.image_pages:
                part += f", {format_page_ranges(list(source.image_pages))} as images"
            parts.append(part)
        how = (
            "whole"
            if self.whole
            else (f"too long for the context ({self.budget:,} tokens): best-ranked pages")
        )
        return f"Documents ({how}) — " + "; ".join(parts)

    def sent(self, name: str, page: int) -> bool:
        return any(s.name == name and page in s.text_pages + s.image_pages for s in self.sources)


def cite_instruction(names: Sequence[str]) -> str:
    if len(names) == 1:
        return (
            "Answer from the document below. Cite the pages you use as [p. N], for example [p. 12]."
        )
    return (
        "Answer from the documents below. Cite the pages you use as [name p. N], "
        f"for example [{names[0]} p. 12]."
    )


def page_block(label: str, number: int, text: str) -> str:
    """A page with its marker: `[p. 3]`, or `[name p. 3]` among several documents."""
    marker = f"[{label} p. {number}]" if label else f"[p. {number}]"
    return f"{marker}\n{text.strip() or '(no text on this page)'}\n"


def plan_documents(
    documents: Sequence[DocumentIndex],
    question: str,
    *,
    budget_tokens: int,
    recent_turns: Sequence[str] = (),
    count_tokens: CountTokens = approximate_tokens,
    image_limit: int = 5,
    neighbours: int = 1,
) -> DocumentContext:
    """Choose what of `documents` goes with `question` within `budget_tokens` of text."""
    names = [doc.info.name for doc in documents]
    header = cite_instruction(names) + "\n\n"
    blocks: dict[tuple[int, int], tuple[str, int]] = {}
    total = count_tokens(header)
    for d, doc in enumerate(documents):
        label = doc.info.name if len(documents) > 1 else ""
        for number, text in doc.pages():
            block = page_block(label, number, text)
            cost = count_tokens(block)
            blocks[(d, number)] = (block, cost)
            total += cost
    scores = _scores(documents, question, recent_turns)
    if total <= budget_tokens:
        chosen = set(blocks)
        whole = True
    else:
        chosen = _best_pages(documents, scores, blocks, budget_tokens - count_tokens(header))
        whole = False
    images = _image_pages(documents, scores, chosen, image_limit, neighbours)
    return _assemble(documents, header, blocks, chosen, images, whole, budget_tokens)


def _scores(
    documents: Sequence[DocumentIndex], question: str, recent_turns: Sequence[str]
) -> dict[tuple[int, int], float]:
    """Relevance of each page (higher is better): bm25 for the question and recent turns."""
    scores: dict[tuple[int, int], float] = {}
    queries = [(question, 1.0)] + [(turn, RECENT_TURN_WEIGHT) for turn in recent_turns[-4:]]
    for d, doc in enumerate(documents):
        for text, weight in queries:
            for hit in doc.search(text, limit=200):
                # bm25() is negative, more negative for better matches
                scores[(d, hit.number)] = scores.get((d, hit.number), 0.0) - weight * hit.rank
    return scores


def _best_pages(
    documents: Sequence[DocumentIndex],
    scores: dict[tuple[int, int], float],
    blocks: dict[tuple[int, int], tuple[str, int]],
    budget: int,
) -> set[tuple[int, int]]:
    chosen: set[tuple[int, int]] = set()
    used = 0
    ranked = sorted(scores, key=lambda key: -scores[key])
    best = scores[ranked[0]] if ranked else 0.0
    # Best pages first; a page that ranks near the best brings its neighbours at once
    # (an answer often runs over a page break), as long as the budget lasts.
    for d, number in ranked:
        wanted = [(d, number)]
        if scores[(d, number)] >= NEIGHBOUR_SHARE * best:
            wanted += [(d, number - 1), (d, number + 1)]
        for key in wanted:
            if key in chosen or key not in blocks:
                continue
            cost = blocks[key][1]
            if used + cost > budget:
                continue
            chosen.add(key)
            used += cost
    if not chosen:  # no word matched: the first pages, as a person would start reading
        for key in sorted(blocks):
            if used + blocks[key][1] > budget:
                break
            chosen.add(key)
            used += blocks[key][1]
    return chosen


def _image_pages(
    documents: Sequence[DocumentIndex],
    scores: dict[tuple[int, int], float],
    chosen: set[tuple[int, int]],
    limit: int,
    neighbours: int,
) -> list[tuple[int, int]]:
    """Thin pages worth a picture: by their own or their neighbours' relevance."""
    candidates: list[tuple[float, int, int]] = []
    for d, doc in enumerate(documents):
        for number in doc.thin_pages():
            near = [scores.get((d, n), 0.0) for n in range(number - neighbours, number + 1 + 1)]
            in_text = any((d, n) in chosen for n in (number - 1, number, number + 1))
            candidates.append((-(max(near) + (0.01 if in_text else 0.0)), d, number))
    candidates.sort()
    return [(d, number) for _, d, number in candidates[:limit]]


def _assemble(
    documents: Sequence[DocumentIndex],
    header: str,
    blocks: dict[tuple[int, int], tuple[str, int]],
    chosen: set[tuple[int, int]],
    images: list[tuple[int, int]],
    whole: bool,
    budget: int,
) -> DocumentContext:
    parts = [header]
    sources = []
    total = 0
    for d, doc in enumerate(documents):
        pages = sorted(number for dd, number in chosen if dd == d)
        tokens = sum(blocks[(d, n)][1] for n in pages)
        total += tokens
        info = doc.info
        parts.append(f'<document name="{info.name}" pages="{info.page_count}">\n')
        parts.extend(blocks[(d, n)][0] for n in pages)
        parts.append("</document>\n")
        sources.append(
            SentPages(
                name=info.name,
                page_count=info.page_count,
                text_pages=tuple(pages),
                image_pages=tuple(sorted(n for dd, n in images if dd == d)),
                tokens=tokens,
            )
        )
    return DocumentContext(
        whole=whole, text="".join(parts), sources=tuple(sources), tokens=total, budget=budget
    )


def draw_image_pages(
    documents: Sequence[DocumentIndex],
    plan: DocumentContext,
    settings: ProcessorSettings,
    password: str | None = None,
) -> list[str]:
    """Draw the plan's image pages (thin text: figures, scans) for the model's tiles.

    Raises `PdfError` for a page that cannot be drawn, `StorageError` for the page cache.
    """
    paths: list[str] = []
    for doc, sent in zip(documents, plan.sources, strict=True):
        if not sent.image_pages or doc.info.kind != "pdf" or doc.source_path is None:
            continue
        with PdfFile(doc.source_path, password=password or doc.password) as pdf:
            paths += [str(page.image) for page in render_pages(pdf, sent.image_pages, settings)]
    return paths
