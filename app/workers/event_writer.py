"""The worker's one writer of protocol events, which also turns token ids into text.

The generation thread only hands over token ids (a lock and a list append per token);
this thread decodes them and writes them. At most one write of tokens goes out per
frame (`FRAME_S`): on a small model the tokens come every few milliseconds, and
writing each one costs a JSON line, a pipe write and a wake-up of the app's reader
and main threads, all competing with torch for the same cores. The first tokens of a
request and every other event (`Done`, `Error`, ...) go out at once, so neither time
to first token nor the end of a request waits for a frame.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Protocol

from app.workers import protocol as p

log = logging.getLogger("maverick_desk.worker")

# One screen refresh: faster than anyone reads, and what the window repaints at anyway.
FRAME_S = 1 / 60


class TextDecoder(Protocol):
    """Turns a growing stream of token ids into text (`app.inference.engine.IncrementalDecoder`)."""

    def push(self, new_ids: Sequence[int]) -> str: ...

    def flush(self) -> str: ...


@dataclass
class _Tokens:
    """Token ids of one request not written yet; `last` flushes the decoder's tail."""

    request_id: str
    decoder: TextDecoder
    ids: list[int] = field(default_factory=list)
    last: bool = False


@dataclass
class _Amended:
    """An event completed on the writer, after the tokens before it were decoded."""

    message: p.Message
    amend: Callable[[p.Message], p.Message]


class EventWriter:
    """Serialises events onto the protocol pipe from one thread."""

    def __init__(self, stream: IO[bytes], frame_s: float = FRAME_S) -> None:
        self._stream = stream
        self._frame_s = frame_s
        self._cond = threading.Condition()
        self._items: list[p.Message | _Tokens | _Amended] = []
        self._urgent = False  # something must go out now, frame or not
        self._idle = False  # the thread waits for anything at all
        self._closing = False
        self._last_write = -frame_s
        self._failed: dict[str, tuple[str, str]] = {}  # request id -> message, traceback
        self._thread = threading.Thread(target=self._run, name="protocol-writer", daemon=True)
        self._thread.start()

    def send(
        self, message: p.Message, amend: Callable[[p.Message], p.Message] | None = None
    ) -> None:
        """Write `message` as soon as possible, after everything sent before it.

        `amend` completes it on the writer, once the text before it is decoded (the tool
        calls read from that text go on the `Done`).
        """
        with self._cond:
            self._items.append(message if amend is None else _Amended(message, amend))
            self._urgent = True
            self._cond.notify()

    def send_tokens(
        self, request_id: str, decoder: TextDecoder, ids: Sequence[int], now: bool = False
    ) -> None:
        """Queue new token ids of a request; `now` writes them without waiting for the frame."""
        with self._cond:
            last = self._items[-1] if self._items else None
            if (
                isinstance(last, _Tokens)
                and last.request_id == request_id
                and last.decoder is decoder
                and not last.last
            ):
                last.ids.extend(ids)
            else:
                self._items.append(_Tokens(request_id, decoder, list(ids)))
            if now:
                self._urgent = True
            # While the thread waits out a frame it needs no wake-up per token.
            if now or self._idle:
                self._cond.notify()

    def end_tokens(self, request_id: str, decoder: TextDecoder) -> None:
        """The request's tokens are all queued: the decoder's held-back tail goes out too."""
        self.send_tokens(request_id, decoder, [])
        with self._cond:
            last = self._items[-1]
            assert isinstance(last, _Tokens)
            last.last = True

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._cond:
            self._closing = True
            self._urgent = True
            self._cond.notify()
        self._thread.join(timeout=5)

    # ------------------------------------------------------------ writer thread
    def _take(self) -> list[p.Message | _Tokens | _Amended] | None:
        with self._cond:
            while not self._items and not self._closing:
                self._idle = True
                self._cond.wait()
            self._idle = False
            if not (self._urgent or self._closing):
                wait = self._last_write + self._frame_s - time.monotonic()
                if wait > 0:
                    self._cond.wait_for(lambda: self._urgent or self._closing, timeout=wait)
            batch, self._items = self._items, []
            self._urgent = False
            if not batch and self._closing:
                return None
            return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            data = b"".join(self._encode(item) for item in batch)
            self._last_write = time.monotonic()
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError, OSError):
                os._exit(0)  # the app is gone; nobody is left to tell

    def _encode(self, item: p.Message | _Tokens | _Amended) -> bytes:
        if isinstance(item, _Amended):
            item = item.amend(item.message)
        if not isinstance(item, _Tokens):
            why = self._failed.pop(getattr(item, "request_id", ""), None)
            if why is not None and isinstance(item, p.Done | p.Cancelled):
                # The one terminal event of a request whose text went wrong says so.
                item = p.Error(item.request_id, "generation_failed", *why)
            return p.encode(item)
        text = ""
        if item.request_id not in self._failed:
            try:
                text = item.decoder.push(item.ids) if item.ids else ""
                if item.last:
                    text += item.decoder.flush()
            except Exception as exc:
                log.exception("decoding the tokens of %s failed", item.request_id)
                message = f"Turning the tokens into text failed: {type(exc).__name__}: {exc}"
                self._failed[item.request_id] = (message, traceback.format_exc())
        if not text and not item.ids:
            return b""
        return p.encode(p.Token(item.request_id, text, item.ids))
