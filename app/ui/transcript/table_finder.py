"""Finding an answer's tables block by block, while it streams (plain Python, no Qt).

The answer is cut into the blocks the transcript renders (`MarkdownStream`), and only
blocks that may hold a table or a csv fence are parsed (`find_csv_blocks`), each with
its first line so the result numbers lines as a whole parse would. While an answer
streams, each finished block that may hold a table is parsed as it finishes (a
millisecond or so); what is left when the answer ends is the tail and any block too
long to parse between two tokens. So finishing a long answer with many tables no
longer means parsing all of it at once (a 16,000-character answer with ten tables held
the window for 14 ms).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from app.documents.csv_blocks import CsvBlock, find_csv_blocks, may_hold_csv_blocks
from app.ui.markdown.markdown_stream import MarkdownStream

PARSE_NOW_CHARS = 4_000  # longer blocks wait for the end (and maybe a pool thread)

Candidates = list[tuple[int, str]]  # (first line, Markdown source) of blocks to parse


class TableFinder:
    """Collects the tables of a growing answer; `eager` parses short blocks as they finish."""

    def __init__(self, eager: bool = True) -> None:
        self._eager = eager
        self._stream = MarkdownStream()
        self._position = 0  # where the next finished block starts in the text
        self._line = 0  # the line at `_position`
        self.found: list[CsvBlock] = []
        self.left: Candidates = []  # blocks that may hold a table, not parsed yet

    @property
    def text(self) -> str:
        return self._stream.text

    def append(self, text: str) -> None:
        self._stream.append(text)
        self._take(self._stream.take_finished(), self._eager)

    def close(self) -> Candidates:
        """The answer is complete: returns what is left to parse, the tail included."""
        self._stream.close()
        self._take(self._stream.take_finished(), parse=False)
        return self.left

    def _take(self, blocks: list[str], parse: bool) -> None:
        text = self._stream.text
        for block in blocks:
            start = text.index(block, self._position)
            self._line += text.count("\n", self._position, start)
            if may_hold_csv_blocks(block):
                if parse and len(block) <= PARSE_NOW_CHARS:
                    self.found.extend(find_tables([(self._line, block)]))
                else:
                    self.left.append((self._line, block))
            self._line += block.count("\n")
            self._position = start + len(block)


def candidate_blocks(markdown: str) -> Candidates:
    """The blocks of a whole answer that may hold a table or a csv fence, with their line."""
    finder = TableFinder(eager=False)
    finder.append(markdown)
    return finder.close()


def find_tables(candidates: Sequence[tuple[int, str]]) -> list[CsvBlock]:
    """The tables and csv blocks in `candidates`, numbered by the answer's lines."""
    return [
        replace(found, first_line=found.first_line + line, end_line=found.end_line + line)
        for line, block in candidates
        for found in find_csv_blocks(block)
    ]
