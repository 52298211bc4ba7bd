"""Splitting a stdio server's output into messages without holding more than a bound.

MCP over stdio sends one JSON-RPC message a line. `LineSplitter` keeps a line whole up to
`MESSAGE_LIMIT_BYTES`; past that it keeps only the line's head and last few bytes and
counts (then discards) the rest, so a tool that prints 200 MB costs a few MB of memory.
`oversized_reply` turns such a line into a reply the session can match to its request:
the text it began with, marked with the true size, or an error when no text can be had.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mcp.types import INTERNAL_ERROR

MESSAGE_LIMIT_BYTES = 16 * 1024 * 1024
TAIL_BYTES = 4096
OVERSIZED_META = "maverick-desk/oversized-bytes"

_ID = re.compile(r'"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")')
_RESULT = re.compile(r'"result"\s*:')
_TEXT = re.compile(r'"text"\s*:\s*"')


@dataclass(frozen=True)
class Oversized:
    """A line past the limit: its first and last bytes and its full size."""

    head: bytes
    tail: bytes
    size: int


class LineSplitter:
    """Feeds chunks in, gets whole lines (or `Oversized`) out; memory stays under the bound."""

    def __init__(self, limit: int = MESSAGE_LIMIT_BYTES, head_bytes: int = 256 * 1024) -> None:
        self.limit = limit
        self.head_bytes = min(head_bytes, limit)
        self._parts: list[bytes] = []
        self._size = 0
        self._over: tuple[bytes, bytes] | None = None  # head, tail once past the limit

    def feed(self, chunk: bytes) -> list[bytes | Oversized]:
        lines: list[bytes | Oversized] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            self._add(chunk[start:] if end < 0 else chunk[start:end])
            if end < 0:
                return lines
            lines.append(self._take())
            start = end + 1

    def _add(self, piece: bytes) -> None:
        if not piece:
            return
        self._size += len(piece)
        if self._over is not None:
            head, tail = self._over
            self._over = head, (tail + piece)[-TAIL_BYTES:]
        elif self._size <= self.limit:
            self._parts.append(piece)
        else:
            whole = b"".join([*self._parts, piece])
            self._parts = []
            self._over = whole[: self.head_bytes], whole[-TAIL_BYTES:]

    def _take(self) -> bytes | Oversized:
        line: bytes | Oversized
        if self._over is not None:
            line = Oversized(self._over[0], self._over[1], self._size)
        else:
            line = b"".join(self._parts)
        self._parts, self._size, self._over = [], 0, None
        return line


def _find_id(head: str, tail: str) -> Any:
    result = _RESULT.search(head)
    before = head[: result.start()] if result else head
    found = _ID.search(before)
    if found is None:  # some SDKs write the id last
        matches = list(_ID.finditer(tail))
        found = matches[-1] if matches else None
    return json.loads(found.group(1)) if found else None


def _text_prefix(head: str) -> str:
    """The first text block's text, as far as `head` has it."""
    result = _RESULT.search(head)
    found = _TEXT.search(head, result.end() if result else 0)
    if found is None:
        return ""
    rest = head[found.end() :]
    decoder = json.JSONDecoder(strict=False)
    for cut in range(7):  # a trailing half of an escape like \u00e9 cannot be decoded
        try:
            text, _ = decoder.raw_decode('"' + rest[: len(rest) - cut] + '"')
        except ValueError:
            continue
        return str(text)
    return ""


def oversized_reply(line: Oversized) -> dict[str, Any] | None:
    """A JSON-RPC reply standing in for `line`; None when it answers no request."""
    head = line.head.decode("utf-8", errors="ignore")
    tail = line.tail.decode("utf-8", errors="ignore")
    request_id = _find_id(head, tail)
    if request_id is None:
        return None
    if _RESULT.search(head):
        # Marked as an error only so the SDK does not check it against the tool's output
        # schema (its structured content was cut off); the runner reads OVERSIZED_META.
        result = {
            "content": [{"type": "text", "text": _text_prefix(head)}],
            "isError": True,
            "_meta": {OVERSIZED_META: line.size},
        }
        return {"jsonrpc": "2.0", "id": request_id, "result": result}
    message = (
        f"its reply was {line.size:,} bytes, more than the "
        f"{MESSAGE_LIMIT_BYTES // (1024 * 1024)} MiB the app reads from a tool server"
    )
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "error": {"code": INTERNAL_ERROR, "message": message},
    }
