"""A chat engine that talks to an OpenAI-compatible server (vLLM, SGLang, transformers serve).

`ServerEngine` speaks in the local worker's protocol events: `Token`s, then exactly
one of `Done`, `Error` or `Cancelled` per request, so the window handles both engines
alike. It is async (the window runs it under qasync; events are delivered on the event
loop's thread) and `ask_server` / `list_server_models` wrap it for synchronous callers
such as the command line.

The API key lives only in memory: `ServerSettings` stores the *name* of the
environment variable that holds it, error messages are scrubbed of it, and the
engine's repr never shows it. A hosted provider's extra headers and query parameters
(`app.engines.presets`) are part of the settings; they never carry the key, which goes
in `Authorization: Bearer …` or, for Azure, in the header named by `api_key_header`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

from app.engines.chat_messages import openai_messages
from app.engines.server_errors import (
    ServerError,
    classify,
    content_filtered,
    malformed_reply,
    redact,
    stream_ended_early,
)
from app.engines.streamed_tool_calls import PartialCalls, absorb_tool_calls, finished_tool_calls
from app.inference.images import ImageError
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import new_request_id

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

EventCallback = Callable[[p.Message], None]
# Sent when no key is configured: never fall back to OPENAI_API_KEY, which would hand
# a real OpenAI key to whatever server the user typed in.
NO_KEY = "no-key"
# Presets whose server does not, or may not, honour `response_format: {"type":
# "json_schema"}` for Maverick: `transformers serve` 5.23 ignores the field (it logs a
# warning); Azure AI model inference, Vercel's gateway and OpenRouter route to providers
# that may not. (Together documents it for Maverick FP8; vLLM and SGLang constrain with
# xgrammar or llguidance.) For these the schema goes in the prompt and the answer is
# checked afterwards ("not constrained").
PRESETS_WITHOUT_JSON_SCHEMA = frozenset({"transformers", "azure", "vercel", "openrouter"})


def constrains_json(settings: ServerSettings) -> bool:
    """Whether the server is asked to constrain answers to a schema (`response_format`)."""
    return settings.preset not in PRESETS_WITHOUT_JSON_SCHEMA


def response_format(schema: Mapping[str, Any]) -> dict[str, Any]:
    """OpenAI's `response_format` for an answer that must be valid for `schema`."""
    return {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": dict(schema), "strict": True},
    }


@dataclass(frozen=True)
class ServerSettings:
    """Where the server is and which model to ask; safe to save (it holds no key)."""

    base_url: str
    model: str
    api_key_env: str | None = None  # the name of the environment variable holding the key
    timeout_s: float = 600.0  # longest silence while waiting for the next part of an answer
    connect_timeout_s: float = 10.0
    headers: Mapping[str, str] = field(default_factory=dict)  # never the key
    query: Mapping[str, str] = field(default_factory=dict)  # e.g. Azure's api-version
    api_key_header: str | None = None  # send the key in this header instead of Bearer
    max_images: int | None = None  # images per request the provider takes
    context_tokens: int | None = None  # the context window it documents, for the meter
    preset: str | None = None  # the `presets.Preset` these came from, if any

    def api_key(self) -> str | None:
        """The key from the named environment variable; raises `ServerError` if it is unset."""
        if not self.api_key_env:
            return None
        value = os.environ.get(self.api_key_env)
        if not value:
            raise ServerError(
                "unauthorized",
                f"The environment variable {self.api_key_env} that should hold the API key is "
                "not set. Set it before starting the app, or clear the key setting.",
            )
        return value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServerSettings:
        names = {
            "base_url", "model", "api_key_env", "timeout_s", "connect_timeout_s",
            "api_key_header", "max_images", "context_tokens", "preset",
        }  # fmt: skip
        values = {k: v for k, v in data.items() if k in names}
        for name in ("headers", "query"):
            pairs = data.get(name) or {}
            if not isinstance(pairs, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in pairs.items()
            ):
                raise ValueError(f"The server setting “{name}” must map names to text.")
            values[name] = dict(pairs)
        return cls(**values)

    def key_headers(self, secret: str | None) -> dict[str, str]:
        """The header that carries `secret` when it is not `Authorization: Bearer`."""
        if secret and self.api_key_header:
            return {self.api_key_header: secret}
        return {}


@dataclass
class _Progress:
    """What a streaming answer has produced so far."""

    pieces: int = 0
    first: float | None = None
    last: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int | None = None
    finish_reason: str | None = None
    # Streamed tool calls by index: id, name and the arguments' JSON text so far.
    tool_calls: PartialCalls = field(default_factory=dict)

    @property
    def generated(self) -> int:
        return self.completion_tokens if self.completion_tokens is not None else self.pieces


class ServerEngine:
    """One OpenAI-compatible server and model; any number of requests, each its own task."""

    def __init__(
        self,
        settings: ServerSettings,
        on_event: EventCallback | None = None,
        api_key: str | None = None,
    ) -> None:
        """Use `api_key` if given (e.g. typed into the window), else `settings.api_key()`."""
        self.settings = settings
        self._secret = api_key if api_key is not None else settings.api_key()
        self._on_event = on_event
        import openai  # 0.4 s of imports: only once a server is used, not at start-up

        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=self._secret or NO_KEY,
            max_retries=0,  # a retry would replay a half-streamed answer
            timeout=openai.Timeout(settings.timeout_s, connect=settings.connect_timeout_s),
            default_headers={**settings.headers, **settings.key_headers(self._secret)},
            default_query=dict(settings.query) or None,
        )
        # With the key in its own header, Authorization is left out altogether.
        self._request_headers: dict[str, Any] = (
            {"Authorization": openai.Omit()} if settings.api_key_header else {}
        )
        self._tasks: dict[str, asyncio.Task[p.Message]] = {}

    def __repr__(self) -> str:
        key = "set" if self._secret else "none"
        return f"ServerEngine({self.settings.base_url!r}, model={self.settings.model!r}, key={key})"

    # ------------------------------------------------------------ requests
    async def list_models(self) -> list[str]:
        """The model ids the server serves (``GET /v1/models``); raises `ServerError`."""
        try:
            page = await self._client.models.list(extra_headers=self._request_headers or None)
            return [model.id async for model in page]
        except (AttributeError, TypeError) as exc:
            # The library could not parse the body as a model list (e.g. an HTML page).
            error = malformed_reply(self.settings.base_url, f"{type(exc).__name__}: {exc}")
            raise error from None
        except Exception as exc:
            raise self._classify(exc, started=False) from None

    def generate(
        self,
        messages: Sequence[p.ChatTurn],
        sampling: Sampling | None = None,
        *,
        request_id: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        """Start a request on the running event loop; its events go to `on_event`.

        Call it from code running on the loop (a Qt slot under qasync is). Returns the
        request id for `cancel`. With `tools`, a `Done` may carry the calls the model made.
        """
        rid = request_id or new_request_id()
        request = p.Generate(
            rid, list(messages), sampling or Sampling(), list(tools), json_schema=json_schema
        )
        deliver = self._on_event or (lambda event: None)
        task = asyncio.get_running_loop().create_task(self.run(request, deliver, extra_body))
        self._tasks[rid] = task
        task.add_done_callback(lambda _: self._tasks.pop(rid, None))
        return rid

    def cancel(self, request_id: str) -> None:
        """Stop a request: the stream is closed, the text so far stands, `Cancelled` follows."""
        task = self._tasks.get(request_id)
        if task is not None:
            task.cancel()

    async def wait(self, request_id: str) -> p.Message | None:
        """The terminal event of a request started with `generate` (None if it was cancelled)."""
        task = self._tasks.get(request_id)
        if task is None:
            return None
        with contextlib.suppress(asyncio.CancelledError):
            return await task
        return None

    async def aclose(self) -> None:
        """Cancel what is running and close the connections."""
        for task in list(self._tasks.values()):
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.close()

    async def run(
        self,
        request: p.Generate,
        deliver: EventCallback,
        extra_body: Mapping[str, Any] | None = None,
    ) -> p.Message:
        """Stream one answer, delivering `Token`s and then the terminal event, which it returns.

        If the task running this is cancelled, the stream is closed, `Cancelled` is
        delivered and the cancellation propagates.
        """
        import openai

        rid = request.request_id
        progress = _Progress()
        stream: openai.AsyncStream[Any] | None = None
        started = time.perf_counter()
        try:
            too_many = self._too_many_images(request.messages)
            if too_many:
                return _finish(deliver, p.Error(rid, "bad_input", too_many))
            try:
                body = openai_messages(request.messages)
            except ImageError as exc:
                return _finish(deliver, p.Error(rid, "bad_input", str(exc)))
            log.info("request %s to %s (%s)", rid, self.settings.base_url, self.settings.model)
            # The standard parameters, and vLLM's own (min_p…) for extra_body.
            standard, extras = request.sampling.server_params()
            stream = await self._client.chat.completions.create(
                model=self.settings.model,
                messages=cast("list[ChatCompletionMessageParam]", body),
                stream=True,
                stream_options={"include_usage": True},
                **standard,
                tools=cast("Any", request.tools) if request.tools else openai.omit,
                response_format=(
                    cast("Any", response_format(request.json_schema))
                    if request.json_schema is not None
                    else openai.omit
                ),
                extra_body=_with_extras(extra_body, extras),
                extra_headers=self._request_headers or None,
            )
            async for chunk in stream:
                for text in self._absorb(chunk, progress):
                    deliver(p.Token(rid, text, []))
            if progress.finish_reason is None:
                raise stream_ended_early(self.settings.base_url)
            if progress.finish_reason == "content_filter":
                raise content_filtered(self.settings.base_url)
        except asyncio.CancelledError:
            await _close(stream)
            deliver(p.Cancelled(rid, progress.generated))
            raise
        except ServerError as exc:
            await _close(stream)
            return self._fail(deliver, rid, exc)
        except Exception as exc:
            await _close(stream)
            return self._fail(deliver, rid, self._classify(exc, started=stream is not None))
        return _finish(deliver, _done(rid, progress, started))

    # ------------------------------------------------------------ internals
    def _too_many_images(self, turns: Sequence[p.ChatTurn]) -> str | None:
        """The sentence for a request with more images than the provider takes, if it has."""
        limit = self.settings.max_images
        count = sum(len(turn.images) for turn in turns)
        if limit is None or count <= limit:
            return None
        return (
            f"This request sends {count} images, and {self.settings.base_url} takes at most "
            f"{limit} per request (every image of the conversation is sent again). Start a new "
            "conversation, or send fewer images."
        )

    def _absorb(self, chunk: Any, progress: _Progress) -> list[str]:
        """The texts in one chunk; records usage and the finish reason."""
        choices = getattr(chunk, "choices", None)
        if not isinstance(choices, list):
            raise ServerError(
                "malformed_stream",
                f"The server at {self.settings.base_url} sent a chunk without choices; check "
                "that the address points at an OpenAI-compatible server. The text so far is kept.",
            )
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            progress.prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion = getattr(usage, "completion_tokens", None)
            progress.completion_tokens = int(completion) if completion is not None else None
        texts = []
        for choice in choices:
            delta = getattr(choice, "delta", None)
            text = getattr(delta, "content", None) if delta is not None else None
            if isinstance(text, str) and text:
                now = time.perf_counter()
                progress.first = progress.first or now
                progress.last = now
                progress.pieces += 1
                texts.append(text)
            if delta is not None:
                absorb_tool_calls(getattr(delta, "tool_calls", None), progress.tool_calls)
            reason = getattr(choice, "finish_reason", None)
            if reason:
                progress.finish_reason = str(reason)
        return texts

    def _classify(self, exc: BaseException, started: bool) -> ServerError:
        return classify(
            exc,
            base_url=self.settings.base_url,
            model=self.settings.model,
            timeout_s=self.settings.timeout_s,
            started=started,
            secret=self._secret,
        )

    def _fail(self, deliver: EventCallback, rid: str, error: ServerError) -> p.Message:
        message = redact(error.message, self._secret)
        log.warning("request %s failed (%s): %s", rid, error.kind, message)
        return _finish(deliver, p.Error(rid, error.kind, message))


def _done(rid: str, progress: _Progress, started: float) -> p.Done:
    first = progress.first if progress.first is not None else time.perf_counter()
    last = progress.last if progress.last is not None else first
    generated = progress.generated
    rate = (generated - 1) / (last - first) if generated > 1 and last > first else 0.0
    return p.Done(
        request_id=rid,
        prompt_tokens=progress.prompt_tokens,
        image_tokens=0,  # servers report the prompt as a whole
        generated_tokens=generated,
        time_to_first_token_s=first - started,
        tokens_per_s=rate,
        finish_reason=progress.finish_reason or "stop",
        tool_calls=finished_tool_calls(progress.tool_calls),
    )


async def _close(stream: openai.AsyncStream[Any] | None) -> None:
    """Close a stream, which tells the server to stop generating; it may already be gone."""
    if stream is not None:
        with contextlib.suppress(Exception):
            await stream.close()


def _finish(deliver: EventCallback, event: p.Message) -> p.Message:
    deliver(event)
    return event


# ------------------------------------------------------------ synchronous wrappers
def list_server_models(settings: ServerSettings, api_key: str | None = None) -> list[str]:
    """`ServerEngine.list_models` for synchronous callers; raises `ServerError`."""

    async def main() -> list[str]:
        engine = ServerEngine(settings, api_key=api_key)
        try:
            return await engine.list_models()
        finally:
            await engine.aclose()

    return asyncio.run(main())


def ask_server(
    settings: ServerSettings,
    messages: Sequence[p.ChatTurn],
    on_event: EventCallback,
    sampling: Sampling | None = None,
    *,
    api_key: str | None = None,
    extra_body: Mapping[str, Any] | None = None,
    tools: Sequence[dict[str, Any]] = (),
    json_schema: dict[str, Any] | None = None,
) -> p.Message:
    """Run one request to the end in a fresh event loop; returns the terminal event.

    With `json_schema`, the server is asked (`response_format`) to answer with JSON valid for it.

    Ctrl+C closes the stream, delivers `Cancelled` and raises `KeyboardInterrupt`.
    """

    async def main() -> p.Message:
        engine = ServerEngine(settings, api_key=api_key)
        try:
            request = p.Generate(
                new_request_id(),
                list(messages),
                sampling or Sampling(),
                list(tools),
                json_schema=json_schema,
            )
            return await engine.run(request, on_event, extra_body)
        finally:
            await engine.aclose()

    return asyncio.run(main())


def _with_extras(
    extra_body: Mapping[str, Any] | None, extras: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The request's extra fields; settings servers take there (vLLM, SGLang, llama.cpp) join.

    A field the caller set in `extra_body` itself wins.
    """
    body = {**extras, **(extra_body or {})}
    return body or None
