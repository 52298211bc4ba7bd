"""A streamed chat completion: Server-Sent Events in OpenAI's chunk format.

The first piece of the answer is awaited before the response starts, so a request that
fails before any text (busy, bad image, too long) still gets its HTTP status. After
that an error is sent as a last ``data: {"error": …}`` event, as OpenAI does. If the
client leaves, the generation is cancelled (see `client_watch`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from app.local_api.client_watch import ClientGone, ClientWatch
from app.local_api.completions import DONE, Completion, sse
from app.local_api.errors import ApiError
from app.local_api.shared_model import Delta, Finish
from app.local_api.tool_answers import Calls

log = logging.getLogger(__name__)


class EventStream(Response):
    """``text/event-stream`` of `pieces`, ending with ``data: [DONE]``."""

    media_type = "text/event-stream"

    def __init__(
        self,
        pieces: AsyncIterator[Delta | Calls | Finish],
        completion: Completion,
        include_usage: bool,
        receive: Receive,
    ) -> None:
        super().__init__(headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        # A stream has no length: drop the `content-length: 0` of the empty body.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self._pieces = pieces
        self._completion = completion
        self._include_usage = include_usage
        self._receive = receive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with ClientWatch(self._receive) as watch:
                await self._stream(watch, scope, send)
        except ClientGone:
            log.info("a client left mid-stream; its generation was cancelled")

    async def _stream(self, watch: ClientWatch, scope: Scope, send: Send) -> None:
        pieces = watch.each(self._pieces)
        try:
            first = await anext(pieces, None)
        except ApiError as exc:
            error = JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())
            await error(scope, self._receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})

        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        completion = self._completion
        await body(completion.chunk({"role": "assistant", "content": ""}))
        piece = first
        try:
            while piece is not None:
                if isinstance(piece, Delta):
                    await body(completion.chunk({"content": piece.text}))
                elif isinstance(piece, Calls):
                    await body(completion.calls_chunk(piece.calls))
                else:
                    await body(completion.chunk({}, piece.reason))
                    if self._include_usage:
                        await body(completion.usage_chunk(piece))
                piece = await anext(pieces, None)
        except ApiError as exc:
            await body(sse(exc.body()))
        else:
            await body(DONE)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
