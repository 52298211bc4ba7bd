"""Tables and ```csv blocks in a Markdown answer, as CSV text to copy or save.

markdown-it-py (the parser the transcript renders with) finds the blocks, so a table
here is exactly a table on screen: pipe tables (cells as plain text, formatting marks
dropped) and fenced code blocks tagged csv or tsv. An unfinished answer works too; a
fence still streaming counts as running to the end.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from app.storage.atomic import atomic_write_bytes

_FENCE_DELIMITERS = {"csv": ",", "tsv": "\t"}
_FENCE_TAG = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*(csv|tsv)\b", re.MULTILINE | re.IGNORECASE)


@dataclass(frozen=True)
class CsvBlock:
    """One table of an answer."""

    kind: str  # "table" (a Markdown pipe table) or "csv"/"tsv" (a fenced block)
    rows: tuple[tuple[str, ...], ...]
    first_line: int  # 0-based source lines the block spans, [first_line, end_line)
    end_line: int

    @property
    def csv_text(self) -> str:
        """The rows as CSV: comma-separated, quoted where needed, one row a line."""
        return rows_to_csv(self.rows)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns), counting the header row."""
        return len(self.rows), max((len(row) for row in self.rows), default=0)


def may_hold_csv_blocks(markdown: str) -> bool:
    """A cheap test: False when `markdown` surely has no table and no csv/tsv fence."""
    return "|" in markdown or _FENCE_TAG.search(markdown) is not None


def find_csv_blocks(markdown: str) -> list[CsvBlock]:
    """Every table and csv/tsv block in `markdown`, in order."""
    if not may_hold_csv_blocks(markdown):
        return []  # parsing a long answer costs seconds; most have no table at all
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    blocks: list[CsvBlock] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.type == "table_open":
            index, rows = _table_rows(tokens, index)
            if rows:
                blocks.append(CsvBlock("table", rows, *_lines(token)))
            continue
        if token.type == "fence":
            language = (token.info or "").strip().split(maxsplit=1)
            kind = language[0].lower() if language else ""
            if kind in _FENCE_DELIMITERS:
                rows = _parse_delimited(token.content, _FENCE_DELIMITERS[kind])
                if rows:
                    blocks.append(CsvBlock(kind, rows, *_lines(token)))
        index += 1
    return blocks


def rows_to_csv(rows: tuple[tuple[str, ...], ...] | list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def save_csv(path: Path | str, block: CsvBlock) -> None:
    """Write the block as a .csv file, atomically; raise `StorageError`.

    UTF-8 with a byte-order mark and CRLF line ends: what spreadsheet programs need to
    read accents correctly.
    """
    data = block.csv_text.replace("\n", "\r\n").encode("utf-8-sig")
    atomic_write_bytes(Path(path), data, "save the table as CSV")


def _table_rows(tokens: list[Any], index: int) -> tuple[int, tuple[tuple[str, ...], ...]]:
    rows: list[tuple[str, ...]] = []
    row: list[str] = []
    index += 1
    while index < len(tokens) and tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "tr_open":
            row = []
        elif token.type == "inline":
            row.append(_plain_text(token))
        elif token.type == "tr_close":
            rows.append(tuple(row))
        index += 1
    return index + 1, tuple(rows)


def _plain_text(inline: Any) -> str:
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # the alt text
    return "".join(parts).strip()


def _parse_delimited(content: str, delimiter: str) -> tuple[tuple[str, ...], ...]:
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    rows = [tuple(cell.strip() for cell in row) for row in reader]
    while rows and not any(rows[-1]):
        rows.pop()
    return tuple(row for row in rows if row)


def _lines(token: Any) -> tuple[int, int]:
    start, end = token.map or (0, 0)
    return int(start), int(end)
