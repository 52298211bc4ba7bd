"""Noticing that an HTTP client went away while its request waits or streams.

After the request body has been read, the ASGI `receive` channel only ever says
``http.disconnect``. One task listens for it; `race` runs a step (the next piece of the
answer) against it, so a client that leaves stops its generation at the next token or
earlier, whether it is streaming, waiting for a whole answer, or still in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")
Receive = Callable[[], Awaitable[Any]]


class ClientGone(Exception):
    """The HTTP client closed the connection."""


class ClientWatch:
    """Listens for the client's disconnect; use as an async context manager."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ClientWatch:
        self._task = asyncio.create_task(self._listen())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            message = await self._receive()
            if message.get("type") == "http.disconnect":
                return

    async def race(self, step: Awaitable[T]) -> T:
        """The step's result; raises `ClientGone` (the step cancelled) if the client left first."""
        assert self._task is not None, "use ClientWatch as `async with`"
        work = asyncio.ensure_future(step)
        try:
            await asyncio.wait({work, self._task}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            raise
        if work.done():
            return work.result()
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        raise ClientGone

    async def each(self, pieces: AsyncIterator[T]) -> AsyncIterator[T]:
        """The pieces, until they end or the client leaves (then `ClientGone`)."""
        while True:
            found, piece = await self.race(_next(pieces))
            if not found:
                return
            yield piece


async def _next(pieces: AsyncIterator[T]) -> tuple[bool, Any]:
    # StopAsyncIteration cannot cross a task boundary cleanly; say it with a flag.
    try:
        return True, await anext(pieces)
    except StopAsyncIteration:
        return False, None
