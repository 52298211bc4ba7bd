"""``maverick-desk docs``: index a document, show its pages, search it (for scripts)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli import docs_read
from app.documents.doc_index import DocumentError, DocumentIndex, open_document


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "docs",
        help="index a PDF, text or Markdown file for whole-document questions; show, search",
        description=(
            "Documents are indexed once (page text and a full-text index, kept in the data "
            "folder by the file's SHA-256), then asked whole with `ask --doc`."
        ),
    )
    verbs = parser.add_subparsers(dest="docs_verb", metavar="VERB", required=True)
    index = verbs.add_parser("index", help="index FILE (again only if its bytes changed)")
    show = verbs.add_parser("show", help="pages, text layers and size of FILE; --page N: its text")
    show.add_argument("--page", type=int, metavar="N", help="print page N's text")
    search = verbs.add_parser("search", help="pages of FILE that match QUERY, best first")
    read = verbs.add_parser(
        "read-scans",
        help="the model reads FILE's pages that have no text layer (resumes where it stopped)",
    )
    docs_read.add_arguments(read)
    for verb in (index, show, search, read):
        verb.add_argument("file", metavar="FILE")
        verb.add_argument("--password", help="the password of an encrypted PDF")
    search.add_argument("query", metavar="QUERY")
    search.add_argument("--limit", type=int, default=10, metavar="N")
    parser.set_defaults(handler=run)


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty() or done == total:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done == total else ""
        bar = "#" * filled + "." * (width - filled)
        print(f"\rIndexing [{bar}] {done}/{total} pages", end=end, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    try:
        doc = open_document(args.file, password=args.password, progress=_progress)
    except KeyboardInterrupt:
        print("\nIndexing stopped; nothing was saved.", file=sys.stderr)
        return 130
    except DocumentError as exc:
        hint = " (give it with --password)" if exc.password_wanted else ""
        print(f"maverick-desk docs: {exc}{hint}", file=sys.stderr)
        return 1
    with doc:
        if doc.changed:
            print(f"{doc.info.name} changed since it was indexed; indexed again.", file=sys.stderr)
        return _VERBS[args.docs_verb](doc, args)


def _index(doc: DocumentIndex, _args: argparse.Namespace) -> int:
    info = doc.info
    print(
        f"{info.name}: {info.page_count} pages, {info.text_pages} with a text layer, "
        f"{info.chars:,} characters; index {doc.path}"
    )
    return 0


def _show(doc: DocumentIndex, args: argparse.Namespace) -> int:
    if args.page is not None:
        try:
            print(doc.page_text(args.page))
        except DocumentError as exc:
            print(f"maverick-desk docs: {exc}", file=sys.stderr)
            return 1
        return 0
    _index(doc, args)
    sources = doc.page_sources()
    for number, text in doc.pages():
        how = {"layer": "text layer", "model": "read by the model"}.get(sources[number], "no text")
        print(f"  p. {number}: {len(text):,} characters ({how})")
    return 0


def _search(doc: DocumentIndex, args: argparse.Namespace) -> int:
    hits = doc.search(args.query, limit=args.limit)
    if not hits:
        print(f"No page of {doc.info.name} matches {args.query!r}.")
        return 1
    for hit in hits:
        excerpt = " ".join(hit.excerpt.split())
        print(f"p. {hit.number}\t{-hit.rank:.2f}\t{excerpt}")
    return 0


_VERBS = {"index": _index, "show": _show, "search": _search, "read-scans": docs_read.read_scans}
