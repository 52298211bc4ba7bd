"""The Starlette application: ``GET /v1/models`` and ``POST /v1/chat/completions``.

Every refusal is OpenAI's error shape with its status (see `errors`). The request body
is refused past `max_body_bytes` from its Content-Length before anything is read, and
while it streams in when it has none. Before any of that, `request_guard` refuses a
request addressed to another host or a body that is not JSON (what a web page could
send). CORS headers are sent only for origins the user named; a key, when set, is
checked on every request and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.local_api.chat_request import ChatRequest, RequestLimits, parse_chat_request
from app.local_api.client_watch import ClientGone, ClientWatch
from app.local_api.completions import Completion
from app.local_api.errors import ApiError, bad_request
from app.local_api.event_stream import EventStream
from app.local_api.image_urls import MIB, ImagePolicy, resolve_images
from app.local_api.request_guard import RequestGuard
from app.local_api.shared_model import AskedSampling, Delta, Finish, SharedModel
from app.local_api.tool_answers import Calls, with_tool_calls
from app.workers import protocol as p
from app.workers.request_size import chars_problem, new_tokens_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiSettings:
    """What the server accepts. `api_key` is held in memory only (never in repr or logs)."""

    api_key: str | None = field(default=None, repr=False)
    max_body_bytes: int = 64 * MIB
    limits: RequestLimits = RequestLimits()
    images: ImagePolicy = ImagePolicy()
    cors_origins: tuple[str, ...] = ()
    host: str = "127.0.0.1"  # the address it listens on: requests must name it (or loopback)


def build_app(shared: SharedModel, settings: ApiSettings) -> Starlette:
    """The ASGI application serving `shared` under `settings`."""
    api = _Endpoints(shared, settings)
    middleware = [Middleware(RequestGuard, bound=settings.host)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    return Starlette(
        routes=[
            Route("/v1/models", api.models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", api.model, methods=["GET"]),
            Route("/v1/chat/completions", api.chat, methods=["POST"]),
        ],
        middleware=middleware,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, 500: _internal},
    )


class _Endpoints:
    def __init__(self, shared: SharedModel, settings: ApiSettings) -> None:
        self.shared = shared
        self.settings = settings

    async def models(self, request: Request) -> Response:
        self._check_key(request)
        return JSONResponse({"object": "list", "data": [self._card()]})

    async def model(self, request: Request) -> Response:
        self._check_key(request)
        card = self._card()
        if not self.shared.serves(request.path_params["model_id"]):
            raise _unknown_model(request.path_params["model_id"], card["id"])
        return JSONResponse(card)

    async def chat(self, request: Request) -> Response:
        self._check_key(request)
        body = await _read_json(request, self.settings.max_body_bytes)
        asked = parse_chat_request(body, self.settings.limits)
        card = self._card()
        if not self.shared.serves(asked.model):
            raise _unknown_model(asked.model, card["id"])
        self._check_size(asked)
        folder = tempfile.TemporaryDirectory(prefix="maverick-desk-api-")
        try:
            turns = await self._turns(asked, Path(folder.name))
        except BaseException:
            folder.cleanup()
            raise
        sampling = AskedSampling(
            asked.max_tokens, asked.temperature, asked.top_p, asked.seed, asked.extra
        )
        answer = self.shared.answer(
            turns,
            sampling,
            asked.stop,
            on_end=folder.cleanup,
            tools=asked.tools,
            json_schema=asked.json_schema,
        )
        pieces: AsyncIterator[Delta | Calls | Finish] = (
            with_tool_calls(answer, parallel=asked.parallel_tool_calls) if asked.tools else answer
        )
        completion = Completion(model=card["id"])
        if asked.stream:
            return EventStream(pieces, completion, asked.include_usage, request.receive)
        text: list[str] = []
        calls: tuple[dict[str, Any], ...] = ()
        finish: Finish | None = None
        try:
            async with ClientWatch(request.receive) as watch:
                async for piece in watch.each(pieces):
                    if isinstance(piece, Delta):
                        text.append(piece.text)
                    elif isinstance(piece, Calls):
                        calls = piece.calls
                    else:
                        finish = piece
        except ClientGone:
            log.info("a client left before its answer was ready; generation cancelled")
            return Response(status_code=204)
        assert finish is not None, "an answer always ends with a Finish"
        return JSONResponse(completion.whole("".join(text), finish, calls))

    # ------------------------------------------------------------ helpers
    def _card(self) -> dict[str, Any]:
        if self.shared.ready is None:
            raise self.shared.unavailable_error()
        return {
            "id": self.shared.model_id,
            "object": "model",
            "created": 0,
            "owned_by": "maverick-desk",
        }

    def _check_size(self, asked: ChatRequest) -> None:
        """Refuse what cannot fit the context before images are decoded or text tokenised."""
        context = self.shared.ready.context_length if self.shared.ready else 0
        problem = new_tokens_problem(asked.max_tokens, context)
        if problem:
            raise bad_request(problem, "max_tokens", code="context_length_exceeded")
        texts = (turn.text for turn in asked.turns)
        calls = (turn.tool_calls for turn in asked.turns)
        problem = chars_problem(texts, [asked.tools, *calls], context)
        if problem:
            raise bad_request(problem, "messages", code="context_length_exceeded")

    def _check_key(self, request: Request) -> None:
        key = self.settings.api_key
        if key is None:
            return
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if not given:
            raise ApiError(
                401,
                "This server needs an API key: send it as the header `Authorization: Bearer KEY`.",
                code="missing_api_key",
            )
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), key.encode()
        ):
            raise ApiError(401, "The API key is not valid for this server.", code="invalid_api_key")

    async def _turns(self, asked: ChatRequest, folder: Path) -> list[p.ChatTurn]:
        turns = []
        count = 0
        for turn in asked.turns:
            urls = list(turn.image_urls)
            paths = await resolve_images(urls, folder, self.settings.images, first=count)
            count += len(paths)
            turns.append(
                p.ChatTurn(
                    turn.role,
                    turn.text,
                    paths,
                    tool_calls=list(turn.tool_calls),
                    tool_call_id=turn.tool_call_id,
                )
            )
        return turns


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, "The Content-Length header is not a number.")
        if int(length) > limit:
            raise _too_large(int(length), limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _too_large(len(body), limit)
    if not body:
        raise ApiError(400, "The request has no body; send the request as JSON.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}"[:300]) from exc


def _too_large(size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is {size / MIB:.1f} MiB; this server accepts up to "
        f"{limit / MIB:.0f} MiB. Send fewer or smaller images.",
        code="request_too_large",
    )


def _unknown_model(asked: str, served: str) -> ApiError:
    return ApiError(
        404,
        f"The model {asked!r:.120} is not served here; this server serves {served!r}.",
        param="model",
        code="model_not_found",
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"There is no {request.url.path!r:.120} here; the API is under /v1."
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path!r:.120}."
    else:
        message = str(exc.detail)
    error = ApiError(exc.status_code, message)
    return JSONResponse(error.body(), status_code=exc.status_code, headers=exc.headers)


async def _internal(request: Request, exc: Exception) -> Response:
    log.error("the local API failed on %s", request.url.path, exc_info=exc)
    error = ApiError(500, f"The server failed: {type(exc).__name__}: {exc}"[:300])
    return JSONResponse(error.body(), status_code=500)
