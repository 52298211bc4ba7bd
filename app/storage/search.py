"""Full-text search over messages with SQLite FTS5; hits come back with marked matches."""

from __future__ import annotations

import re
import sqlite3
import unicodedata

from app.storage.records import Role, SearchHit

# Markers around each match in SearchHit.snippet. Control characters, so they never
# collide with anything a person types; split with `hit_segments`.
HIT_START = "\x02"
HIT_END = "\x03"
ELLIPSIS = "…"
SNIPPET_CHARS = 200  # an excerpt is at most about this long
LEAD_CHARS = 60  # context kept before the first hit

# What FTS5's unicode61 tokenizer calls a token: a run of letters and digits.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def fold(token: str) -> str:
    """A token as the index sees it (remove_diacritics 2, case-folded)."""
    if token.isascii():
        return token.lower()
    decomposed = unicodedata.normalize("NFD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def query_terms(query: str) -> tuple[list[str], bool]:
    """The words of a query and whether the last one is a prefix (still being typed)."""
    words = _TOKEN.findall(query)
    return words, bool(words) and query[-1:].isalnum()


def match_expression(query: str) -> str:
    """Turn what the user typed into an FTS5 query: every word must appear, last as a prefix.

    Words are quoted, so FTS5 syntax in the query (AND, NEAR, quotes, *) is taken
    literally rather than raising a syntax error.
    """
    words, prefix = query_terms(query)
    quoted = [f'"{w}"' for w in words]
    if prefix:
        quoted[-1] += "*"  # still typing: "mave" finds "maverick"
    return " ".join(quoted)


def search_messages(
    conn: sqlite3.Connection, query: str, limit: int = 50, include_trash: bool = False
) -> list[SearchHit]:
    """Messages matching `query`, best first (bm25), with highlighted excerpts.

    FTS5 finds and ranks the messages. The excerpts are marked here rather than with
    FTS5's highlight()/snippet(): for a word found in most messages those re-read the
    word's whole index entry for every hit, which measured 5 ms a hit (see
    bench/store_search.py); the marking uses the same token rules as the index.
    """
    expression = match_expression(query)
    if not expression:
        return []
    trash = "" if include_trash else "AND c.deleted_at IS NULL"
    rows = conn.execute(
        f"""
        SELECT m.conversation, m.id, c.title, m.role, m.created, m.text, m.tool_text
        FROM messages_fts
        JOIN messages AS m ON m.id = messages_fts.rowid
        JOIN conversations AS c ON c.id = m.conversation
        WHERE messages_fts MATCH ? {trash}
        ORDER BY messages_fts.rank, m.id DESC
        LIMIT ?
        """,
        (expression, limit),
    ).fetchall()
    words, prefix = query_terms(query)
    terms = [fold(w) for w in words]
    return [
        SearchHit(
            conversation_id=conversation,
            message_id=message,
            conversation_title=title,
            role=Role(role),
            snippet=_best_excerpt(text, tool_text, terms, prefix),
            created=created,
        )
        for conversation, message, title, role, created, text, tool_text in rows
    ]


def _best_excerpt(text: str, tool_text: str, terms: list[str], prefix: bool) -> str:
    """The excerpt of the answer's text, or of its tool calls and results if only they match."""
    marked = excerpt(text, terms, prefix)
    if HIT_START in marked or not tool_text:
        return marked
    from_tools = excerpt(tool_text, terms, prefix)
    return from_tools if HIT_START in from_tools else marked


def _is_hit(token: str, terms: list[str], prefix: bool) -> bool:
    folded = fold(token)
    if prefix and folded.startswith(terms[-1]):
        return True
    return folded in terms


def excerpt(text: str, terms: list[str], prefix: bool) -> str:
    """One line of `text` around its first hit, every hit inside wrapped in markers."""
    first = next((m.start() for m in _TOKEN.finditer(text) if _is_hit(m.group(), terms, prefix)), 0)
    start = 0
    if first > LEAD_CHARS:
        start = first - LEAD_CHARS
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else first
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text):
        space = text.rfind(" ", start + SNIPPET_CHARS // 2, end)
        end = space if space != -1 else end
    window = text[start:end]
    marked = _TOKEN.sub(
        lambda m: (
            f"{HIT_START}{m.group()}{HIT_END}" if _is_hit(m.group(), terms, prefix) else m.group()
        ),
        window,
    )
    line = " ".join(marked.split())
    return (ELLIPSIS if start else "") + line + (ELLIPSIS if end < len(text) else "")


def hit_segments(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet into (text, is_match) pieces, for drawing highlights."""
    segments: list[tuple[str, bool]] = []
    for i, part in enumerate(re.split(f"{HIT_START}|{HIT_END}", snippet)):
        if part:
            segments.append((part, i % 2 == 1))
    return segments
