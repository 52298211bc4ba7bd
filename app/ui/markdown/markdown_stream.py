"""Split a Markdown answer that is still arriving into finished blocks and a live tail.

Plain Python, no Qt. While an answer streams, only its tail changes; the blocks before
it are final as soon as a later block has started. Re-rendering just the tail keeps the
cost of a frame flat however long the answer gets.

A boundary is a blank line outside a code fence followed by a line that starts in the
first column (so list continuations and indented code stay with their block).
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class MarkdownStream:
    """Accumulates streamed text; `take_finished` hands out the blocks that can no longer change."""

    def __init__(self) -> None:
        self._text = ""
        self._tail_start = 0  # where the part that may still change begins
        self._scan_pos = 0  # start of the first line not yet scanned
        self._fence: str | None = None  # the open fence's marker, e.g. "```"
        self._after_blank = False
        self._finished: list[str] = []

    @property
    def text(self) -> str:
        return self._text

    @property
    def tail(self) -> str:
        """The text after the last finished block."""
        return self._text[self._tail_start :]

    def append(self, text: str) -> None:
        self._text += text
        self._scan()

    def take_finished(self) -> list[str]:
        """Blocks finished since the last call, in order (each a Markdown source)."""
        blocks, self._finished = self._finished, []
        return blocks

    def close(self) -> None:
        """The text is complete: the tail becomes a finished block too."""
        if self.tail.strip():
            self._finished.append(self.tail)
        self._tail_start = len(self._text)

    def _scan(self) -> None:
        text = self._text
        while True:
            end = text.find("\n", self._scan_pos)
            if end < 0:
                return
            start = self._scan_pos
            self._scan_line(text[start:end], start)
            self._scan_pos = end + 1

    def _scan_line(self, line: str, start: int) -> None:
        fence = _FENCE.match(line)
        if self._fence is not None:
            if (
                fence
                and fence.group(1)[0] == self._fence[0]
                and len(fence.group(1)) >= len(self._fence)
                and not line[fence.end() :].strip()
            ):
                self._fence = None
            return
        if not line.strip():
            self._after_blank = True
            return
        if self._after_blank and not line[0].isspace() and start > self._tail_start:
            block = self._text[self._tail_start : start]
            if block.strip():
                self._finished.append(block)
            self._tail_start = start
        self._after_blank = False
        if fence:
            self._fence = fence.group(1)
