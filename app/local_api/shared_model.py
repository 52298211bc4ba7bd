"""The worker's loaded model, shared: one request at a time, in the scheduler's order.

`answer` is an async generator of `Delta`s ending with one `Finish`. It waits for its
turn, sends `Generate`, turns the worker's events into text and refuses (with an
`ApiError`) what failed. If its caller stops iterating early (the HTTP client went
away, or the caller is cancelled) the worker is told to cancel at once, and the slot
is given to the next request only when the worker confirms, so two generations never
overlap on the worker. Events are delivered by the worker client's reader thread.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.local_api.errors import ApiError
from app.local_api.event_router import EventRouter
from app.local_api.scheduler import Lane, QueueFull, Scheduler, Ticket
from app.local_api.stop_text import StopMatcher
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers.client import (
    TERMINAL,
    WorkerClient,
    WorkerUnavailable,
    describe_exit,
    new_request_id,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AskedSampling:
    """How a client asked to sample one answer; None takes the loaded model's default.

    OpenAI's own parameters by name; `extra`: the other settings it sent (vLLM's, in
    extra_body: min_p…), by their name in the app's vocabulary (`app.vocabulary.sampling`).
    """

    max_new_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def given(self) -> dict[str, Any]:
        """The settings the client sent, by their vocabulary names."""
        named = {
            "max_new_tokens": self.max_new_tokens or None,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
            **self.extra,
        }
        return {name: value for name, value in named.items() if value is not None}


@dataclass(frozen=True)
class Delta:
    """New text of the answer."""

    text: str


@dataclass(frozen=True)
class Finish:
    """The answer ended: OpenAI's finish reason ("stop", "length", "tool_calls") and counts."""

    reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0  # of prompt_tokens: whose KV came from the worker's prompt cache
    # With tools offered: the calls the worker read from the answer, as `Done` carries them.
    calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class Abandoned:
    """A generation whose caller left: tokens the worker had sent by then, and in all."""

    tokens_when_left: int
    tokens_generated: int


class _Run:
    """The sink of one generation's events, on the reader thread, until its caller leaves."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, on_abandoned_end: Callable[[p.Message, int], None]
    ) -> None:
        self.events: asyncio.Queue[p.Message] = asyncio.Queue()
        self._loop = loop
        self._on_abandoned_end = on_abandoned_end
        self._lock = threading.Lock()
        self._ended = False
        self._abandoned = False
        self._tokens = 0  # token ids received before the caller left

    def __call__(self, event: p.Message) -> None:
        terminal = isinstance(event, TERMINAL)
        with self._lock:
            self._ended = self._ended or terminal
            abandoned = self._abandoned
            if isinstance(event, p.Token) and not abandoned:
                self._tokens += len(event.token_ids)
        if abandoned:
            if terminal:
                self._on_abandoned_end(event, self._tokens)
            return
        self._loop.call_soon_threadsafe(self.events.put_nowait, event)

    def abandon(self) -> bool:
        """From now on the reader thread ends the run; True if it has already ended."""
        with self._lock:
            self._abandoned = True
            return self._ended


class SharedModel:
    """The loaded model behind the API: load it, then `answer` requests one at a time."""

    def __init__(self, client: WorkerClient, router: EventRouter, scheduler: Scheduler) -> None:
        self.client = client
        self.router = router
        self.scheduler = scheduler
        self.ready: p.Ready | None = None
        self.unavailable = "The model is still loading; try again when it is ready."
        self.retry_after_s = 5  # what a 503 tells the client to wait
        # Called when a request finds no model (serve reloads a dead worker's model).
        self.revive: Callable[[], None] | None = None
        # The last generations whose callers left, for the log and the tests.
        self.abandoned: collections.deque[Abandoned] = collections.deque(maxlen=16)

    @property
    def model_id(self) -> str:
        """The name clients send as `model`: the checkpoint's name, spaces and brackets as '-'."""
        if self.ready is None:
            return ""
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.ready.name).strip("-") or "model"

    def serves(self, name: str) -> bool:
        """True if `name` means the loaded model (its id, or its name as the window shows it)."""
        return self.ready is not None and name in {self.model_id, self.ready.name}

    async def load(
        self,
        checkpoint: str,
        image_limit: int,
        create_demo: bool = False,
        prompt_cache_entries: int = p.DEFAULT_PROMPT_CACHE_ENTRIES,
        prompt_cache_bytes: int = 0,
    ) -> p.Ready:
        """Load `checkpoint` on the worker; raises `RuntimeError` with the worker's sentence."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[p.Message] = asyncio.Queue()
        rid = new_request_id()

        def sink(event: p.Message) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        self.router.route(rid, sink)
        try:
            self.client.send(
                p.Load(
                    rid,
                    checkpoint,
                    "sdpa",
                    image_limit,
                    create_demo,
                    prompt_cache_entries=prompt_cache_entries,
                    prompt_cache_bytes=prompt_cache_bytes,
                )
            )
            while True:
                event = await events.get()
                if isinstance(event, p.Ready):
                    self.ready = event
                    return event
                if isinstance(event, p.Error | p.Cancelled | p.WorkerDied):
                    self.unavailable = "The model could not be loaded: " + _sentence(event)
                    raise RuntimeError(self.unavailable)
        finally:
            self.router.drop(rid)

    def unavailable_error(self) -> ApiError:
        """The 503 for a request that found no model (after asking for it to be revived)."""
        if self.revive is not None:
            self.revive()
        return ApiError(
            503, self.unavailable, code="model_not_loaded", retry_after_s=self.retry_after_s
        )

    def worker_died(self, event: p.WorkerDied) -> None:
        self.ready = None
        self.unavailable = f"The model worker stopped ({describe_exit(event.exit_code)})."

    def sampling_for(self, asked: AskedSampling) -> Sampling:
        """The worker request's sampling: what was asked, else the model's defaults."""
        defaults = self.ready.generation_defaults if self.ready else {}
        return Sampling.from_dict({**defaults, **asked.given()})

    async def answer(
        self,
        turns: Sequence[p.ChatTurn],
        sampling: AskedSampling,
        stop: tuple[str, ...] = (),
        lane: Lane = Lane.API,
        on_end: Callable[[], None] = lambda: None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> AsyncIterator[Delta | Finish]:
        """Generate an answer when its turn comes; `on_end` runs once the worker is done.

        `tools` go to the chat template; the calls the worker reads out of the answer come
        on its `Finish` (`tool_answers` turns them into OpenAI's). With `json_schema` the
        worker constrains the answer to it as it is generated.
        """
        if self.ready is None:
            on_end()
            raise self.unavailable_error()
        try:
            ticket = self.scheduler.submit(lane)
        except QueueFull as exc:
            on_end()
            raise ApiError(
                429,
                f"The model is busy: {exc.waiting} requests are already waiting. "
                f"Try again in {exc.retry_after_s} s.",
                code="busy",
                retry_after_s=exc.retry_after_s,
            ) from exc
        rid = new_request_id()
        served = False

        def end(served: bool) -> None:
            self.router.drop(rid)
            self.scheduler.release(ticket, served)
            on_end()

        def abandoned_end(event: p.Message, tokens_when_left: int) -> None:
            generated = event.generated_tokens if isinstance(event, p.Cancelled) else -1
            self.abandoned.append(Abandoned(tokens_when_left, generated))
            log.info(
                "a client left after %d tokens; the worker stopped after %d",
                tokens_when_left,
                generated,
            )
            end(False)

        run = _Run(asyncio.get_running_loop(), abandoned_end)
        sent = False
        finished = False
        try:
            await ticket.wait_async()
            self.router.route(rid, run)
            settings = self.sampling_for(sampling)
            try:
                self.client.send(
                    p.Generate(rid, list(turns), settings, list(tools), json_schema=json_schema)
                )
            except WorkerUnavailable as exc:
                raise ApiError(503, str(exc), code="model_not_loaded") from exc
            sent = True
            async for piece in self._pieces(rid, run, StopMatcher(stop)):
                if isinstance(piece, Finish):
                    finished = served = True
                yield piece
        except ApiError:
            finished = True  # the worker's terminal event raised it
            raise
        finally:
            if not sent or finished or run.abandon():
                end(served)
            else:
                self.client.cancel(rid)

    async def _pieces(
        self, rid: str, run: _Run, matcher: StopMatcher
    ) -> AsyncIterator[Delta | Finish]:
        completion = 0
        while True:
            event = await run.events.get()
            if isinstance(event, p.Token):
                completion += len(event.token_ids)
                text = matcher.feed(event.text)
                if text:
                    yield Delta(text)
                if matcher.stopped:
                    self.client.cancel(rid)
                    final = await _terminal(run)
                    if isinstance(final, p.Done | p.Cancelled):
                        yield Finish(
                            "stop", final.prompt_tokens, completion, final.cached_prompt_tokens
                        )
                    else:
                        yield Finish("stop", 0, completion)
                    return
            elif isinstance(event, p.Done):
                tail = matcher.flush()
                if tail:
                    yield Delta(tail)
                reason = event.finish_reason
                reason = reason if reason in {"length", "tool_calls"} else "stop"
                yield Finish(
                    reason,
                    event.prompt_tokens,
                    event.generated_tokens,
                    event.cached_prompt_tokens,
                    tuple(event.tool_calls),
                )
                return
            elif isinstance(event, TERMINAL):
                if isinstance(event, p.WorkerDied):
                    self.worker_died(event)
                raise _failure(event)


async def _terminal(run: _Run) -> p.Message:
    while True:
        event = await run.events.get()
        if isinstance(event, TERMINAL):
            return event


def _failure(event: p.Message) -> ApiError:
    if isinstance(event, p.Error) and event.error_kind == "bad_input":
        return ApiError(400, event.message, code="bad_input")
    sentence = _sentence(event)
    sentence = sentence[:1].upper() + sentence[1:]
    if isinstance(event, p.WorkerDied):
        return ApiError(503, sentence, code="model_not_loaded")
    return ApiError(500, sentence, code="generation_failed")


def _sentence(event: p.Message) -> str:
    if isinstance(event, p.Error):
        return event.message
    if isinstance(event, p.WorkerDied):
        return f"the model worker stopped ({describe_exit(event.exit_code)})."
    if isinstance(event, p.Cancelled):
        return "the request was cancelled on the server."
    return f"unexpected {event.kind} from the worker."


__all__ = ["Delta", "Finish", "AskedSampling", "SharedModel", "Ticket"]
