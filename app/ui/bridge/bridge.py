"""The one object between the window and the worker process.

`WorkerBridge` wraps the plain-Python `WorkerClient`. The client hands each protocol
message to a callback on its reader thread; the bridge re-emits it as a queued Qt
signal so that every handler runs on the main thread, then dispatches it to a
``_handle_<kind>`` method that emits the public, past-tense signals.

A dead worker does not stay dead: the next `generate` starts a new process, loads the
model again and sends the request once the model is ready.

The bridge presents a second engine the same way: after `use_server`, requests go to
an OpenAI-compatible server through `ServerEngine` (on the running asyncio loop, which
is qasync's in the window). Its events are the worker's protocol events and travel the
same inbox, so the window sees the same signals; "connected" is a `Ready`.

The worker's events pass an `EventRouter` first: while the Local API serves the loaded
model (`share_with`), its requests' events go to the API and the rest come here; the
window's questions then wait their turn in the scheduler's window lane (`WindowLane`).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from app.chat.vocabulary import Request, Sampling
from app.engines.openai_client import ServerSettings
from app.engines.server_errors import ServerError
from app.local_api.event_router import EventRouter
from app.local_api.scheduler import Scheduler, ServingState
from app.ui.bridge.error_advice import error_sentence
from app.ui.bridge.server_link import ServerLink, closing
from app.ui.bridge.window_lane import WindowLane
from app.workers import protocol as p
from app.workers.client import WorkerClient, WorkerUnavailable, describe_exit, new_request_id

log = logging.getLogger(__name__)

DEFAULT_ATTENTION = "sdpa"
CANCELLED_LOAD = "Loading the model was cancelled. Press Retry to load it again."


class WorkerBridge(QObject):
    """Turns protocol messages into signals; owns the worker's lifecycle."""

    model_loading = Signal(str, int, int)  # stage, done, total
    model_ready = Signal(object)  # protocol.Ready
    model_failed = Signal(str)  # a sentence for the user
    token_received = Signal(str, str)  # request id, text
    generation_finished = Signal(object)  # protocol.Done
    generation_failed = Signal(str, str)  # request id, a sentence for the user
    generation_cancelled = Signal(str, int)  # request id, tokens generated
    worker_died = Signal(object, str)  # exit code (int or None), a sentence for the user
    serving_changed = Signal(object)  # local_api ServingState, while the Local API is on
    cache_freed = Signal(int)  # bytes the worker's kept KV caches held

    def __init__(
        self,
        model: Path,
        create_demo_if_missing: bool = False,
        image_limit: int = 5,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self._create_demo = create_demo_if_missing
        self._image_limit = image_limit
        # The reader thread never touches Qt (emitting a signal from a thread Qt did not
        # start crashes PySide6 6.12 at exit): it queues the message and writes a byte to
        # a socket pair whose notifier wakes the main thread.
        self._inbox: queue.SimpleQueue[p.Message | ServingState] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._notifier = QSocketNotifier(self._wake_read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_messages_waiting)
        self.router = EventRouter(fallback=self._on_event)
        self._client = WorkerClient(on_event=self.router)
        self._lane: WindowLane | None = None
        self._held: Request | None = None  # waiting for its turn in the lane
        self._load_id: str | None = None
        self._ready: p.Ready | None = None
        self._pending: Request | None = None
        self._running: str | None = None
        self._server_settings: ServerSettings | None = None
        self.attention = DEFAULT_ATTENTION  # used by the next local load
        self.prompt_cache_entries = p.DEFAULT_PROMPT_CACHE_ENTRIES  # likewise
        self._server: ServerLink | None = None

    # ------------------------------------------------------------ state
    @property
    def client(self) -> WorkerClient:
        return self._client

    @property
    def ready(self) -> p.Ready | None:
        """The loaded model's description, or None while none is loaded."""
        return self._ready

    @property
    def running_request(self) -> str | None:
        """The generation in flight (sent or waiting for the model), if any."""
        return self._running

    @property
    def model_path(self) -> Path:
        return self._model

    @property
    def server_settings(self) -> ServerSettings | None:
        """The server in use, or None while the local worker is the engine."""
        return self._server_settings

    @property
    def idle(self) -> bool:
        """No engine process or connection is open (every server task has finished)."""
        return not self._client.alive and self._server is None and not closing()

    def share_with(self, scheduler: Scheduler | None) -> None:
        """Take turns with the Local API's requests from now on (None: the API stopped)."""
        if self._lane is not None:
            self._lane.close()
            self._lane = None
        held, self._held = self._held, None
        if scheduler is not None:
            self._lane = WindowLane(scheduler, self._on_event)
        else:
            self.serving_changed.emit(None)
        if held is not None:
            self._send(held)

    # ------------------------------------------------------------ engine choice
    def use_model(
        self, model: Path, attention: str | None = None, prompt_cache_entries: int | None = None
    ) -> None:
        """Make the local worker the engine, with `model`; reloads it in a fresh process.

        `prompt_cache_entries`: how many conversations' KV caches the worker keeps (0: none).
        """
        self._stop_engine()
        self._model = model
        if attention is not None:
            self.attention = attention
        if prompt_cache_entries is not None:
            self.prompt_cache_entries = max(0, prompt_cache_entries)
        self._create_demo = False
        self.start()

    def use_server(self, settings: ServerSettings, start: bool = True) -> None:
        """Make an OpenAI-compatible server the engine; the local worker is stopped."""
        self._stop_engine()
        self._server_settings = settings
        if start:
            self.start()

    # ------------------------------------------------------------ requests
    def start(self, image_limit: int | None = None) -> None:
        """Start the worker (if it is not running) and load the model."""
        if image_limit is not None:
            self._image_limit = image_limit
        if self._server_settings is not None:
            self._start_server(self._server_settings)
            return
        if self._client.alive and (self._load_id is not None or self._ready is not None):
            return
        self._ready = None
        try:
            self._client.start()
            self._load_id = self._client.load(
                self._model,
                image_limit=self._image_limit,
                attn=self.attention,
                create_demo_if_missing=self._create_demo,
                prompt_cache_entries=self.prompt_cache_entries,
            )
        except (OSError, WorkerUnavailable) as exc:
            log.exception("starting the worker failed")
            self._load_id = None
            self.model_failed.emit(
                f"The model worker could not be started ({exc}). Check the log, then press Retry."
            )
            return
        self.model_loading.emit("starting the model worker", 0, 0)

    def generate(
        self,
        messages: Sequence[p.ChatTurn],
        sampling: Sampling | None = None,
        *,
        request_id: str | None = None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        """Queue a generation; returns its request id. Restarts a dead worker first.

        With `tools` (function definitions), the answer's `Done` may carry tool calls.
        The bridge is an `app.chat.engine.Engine`: its events come as its signals.
        """
        rid = request_id or new_request_id()
        request = Request(rid, list(messages), sampling or Sampling(), list(tools), json_schema)
        self._running = request.request_id
        engine_up = self._server is not None or self._client.alive
        if self._ready is not None and engine_up:
            self._send(request)
        else:
            self._pending = request
            self.start()
        return request.request_id

    def cancel_load(self) -> None:
        """Stop a model load in progress; it ends with `model_failed` saying so."""
        if self._load_id is None:
            return
        if self._server is not None:
            self._stop_loading("Connecting to the server was cancelled.")
            return
        try:
            self._client.cancel(self._load_id)
        except WorkerUnavailable:
            log.warning("cancel load: the worker has already stopped")

    def free_cache(self) -> bool:
        """Ask the local worker to forget its kept KV caches; `cache_freed` says how much.

        False (nothing asked) where no local model is loaded: a server keeps its own cache.
        The worker answers after the generation it is running, if any.
        """
        if self._server_settings is not None or self._ready is None or not self._client.alive:
            return False
        try:
            self._client.free_cache()
        except WorkerUnavailable:
            return False
        return True

    def cancel(self, request_id: str) -> None:
        """Stop a generation; it ends with `generation_cancelled` (or finished, if too late)."""
        held = self._held is not None and self._held.request_id == request_id
        if held or (self._pending is not None and self._pending.request_id == request_id):
            self._pending = self._held = None
            self._release_lane(False)
            self._running = None
            self.generation_cancelled.emit(request_id, 0)
            return
        if self._server is not None:
            self._server.cancel(request_id)
            return
        try:
            self._client.cancel(request_id)
        except WorkerUnavailable:
            log.warning("cancel %s: the worker has already stopped", request_id)

    def shutdown(self) -> None:
        """Stop the worker process and wait for it (used when the window closes)."""
        self._pending = self._held = None
        self._release_lane(False)
        self._client.shutdown(timeout=5)
        self._close_server()

    def close(self) -> None:
        """Stop the worker and release the wake-up sockets; the bridge is done after this."""
        self.shutdown()
        self._notifier.setEnabled(False)
        # A closed bridge must never be woken again: its socket's number will be reused.
        self._notifier.activated.disconnect(self._on_messages_waiting)
        self._notifier.deleteLater()
        self._on_messages_waiting()
        self._wake_read.close()
        self._wake_write.close()

    # ------------------------------------------------------------ internals
    def _stop_engine(self) -> None:
        """Stop whichever engine runs; a request in flight ends as cancelled."""
        running, self._running = self._running, None
        self._pending = self._held = None
        self._release_lane(False)
        self._client.shutdown(timeout=5)
        self._close_server()
        self._server_settings = None
        self._ready = None
        self._load_id = None
        if running is not None:
            self.generation_cancelled.emit(running, 0)

    def _start_server(self, settings: ServerSettings) -> None:
        if self._server is not None and (self._load_id is not None or self._ready is not None):
            return
        self._ready = None
        try:
            self._server = ServerLink(settings, self._on_event)
        except (RuntimeError, ServerError) as exc:
            text = exc.message if isinstance(exc, ServerError) else f"{exc}."
            log.warning("the server engine could not start: %s", text)
            self.model_failed.emit(f"The server cannot be used: {text}")
            return
        self._load_id = new_request_id()
        self._server.connect(self._load_id)
        self.model_loading.emit(f"connecting to {settings.base_url}", 0, 0)

    def _close_server(self) -> None:
        link, self._server = self._server, None
        if link is not None:
            link.close()

    def _send(self, request: Request) -> None:
        if self._server is not None:
            self._server.generate(request.to_generate())
            return
        if self._lane is not None and not self._lane.ask():
            self._held = request  # sent when the running API request ends
            return
        try:
            self._client.generate(
                request.turns,
                request.sampling,
                request_id=request.request_id,
                tools=request.tools,
                json_schema=request.json_schema,
            )
        except WorkerUnavailable as exc:
            self._running = None
            self._release_lane(False)
            self.generation_failed.emit(
                request.request_id, f"{exc} Press Retry to start it again and resend."
            )

    def _on_event(self, message: p.Message | ServingState) -> None:
        """On the client's (or the API's) thread: queue the message, wake the main thread."""
        self._inbox.put(message)
        # A full socket means a wake-up is pending anyway; a closed one, that the app is exiting.
        with contextlib.suppress(OSError):
            self._wake_write.send(b"\0")

    def _on_messages_waiting(self, *args: Any) -> None:
        try:
            while self._wake_read.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while True:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._dispatch(message)

    def _dispatch(self, message: p.Message | ServingState) -> None:
        if isinstance(message, ServingState):
            self._on_serving_state(message)
            return
        handler = getattr(self, f"_handle_{message.kind}", None)
        if handler is None:
            log.warning("no handler for %s", message.kind)
            return
        handler(message)

    def _handle_hello(self, message: p.Hello) -> None:
        log.info("worker %s is up (Python %s)", message.pid, message.python)

    def _handle_load_progress(self, message: p.LoadProgress) -> None:
        self.model_loading.emit(message.stage, message.done, message.total)

    def _handle_ready(self, message: p.Ready) -> None:
        if message.request_id != self._load_id:
            return  # from an engine the user has since switched away from
        self._load_id = None
        self._ready = message
        self.model_ready.emit(message)
        pending, self._pending = self._pending, None
        if pending is not None:
            self._send(pending)

    def _handle_cache_freed(self, message: p.CacheFreed) -> None:
        self.cache_freed.emit(message.freed_bytes)

    def _handle_token(self, message: p.Token) -> None:
        if message.text:
            self.token_received.emit(message.request_id, message.text)

    def _on_serving_state(self, state: ServingState) -> None:
        held = self._held
        if held is not None and self._lane is not None and self._lane.granted():
            self._held = None
            self._send(held)
        self.serving_changed.emit(state)

    def _handle_done(self, message: p.Done) -> None:
        self._finish(message.request_id, served=True)
        self.generation_finished.emit(message)

    def _handle_cancelled(self, message: p.Cancelled) -> None:
        if message.request_id and message.request_id == self._load_id:
            self._stop_loading(CANCELLED_LOAD)
            return
        self._finish(message.request_id)
        self.generation_cancelled.emit(message.request_id, message.generated_tokens)

    def _handle_error(self, message: p.Error) -> None:
        log.error(
            "worker error (%s): %s\n%s", message.error_kind, message.message, message.traceback
        )
        if message.request_id and message.request_id == self._load_id:
            self._load_id = None
            pending, self._pending = self._pending, None
            if self._server_settings is not None:
                self._close_server()
                text = f"The server cannot be used: {error_sentence(message)}"
            else:
                text = f"The model could not be loaded: {error_sentence(message)}"
            self.model_failed.emit(text)
            if pending is not None:
                self._running = None
                self.generation_failed.emit(pending.request_id, text)
            return
        self._finish(message.request_id)
        self.generation_failed.emit(message.request_id, error_sentence(message))

    def _stop_loading(self, text: str) -> None:
        """End the load in progress with `text`; a question waiting for it is cancelled."""
        self._load_id = None
        if self._server is not None:
            self._close_server()
        pending, self._pending = self._pending, None
        if pending is not None:  # first, so the window is idle when it explains
            self._running = None
            self.generation_cancelled.emit(pending.request_id, 0)
        self.model_failed.emit(text)

    def _handle_worker_died(self, message: p.WorkerDied) -> None:
        log.error("worker died (%s): %s", describe_exit(message.exit_code), message.stderr_tail)
        self._ready = None
        self._load_id = None
        running, self._running = self._running, None
        self._pending = self._held = None
        self._release_lane(False)
        text = (
            f"The model worker stopped unexpectedly ({describe_exit(message.exit_code)}). "
            "It will restart when you send or press Retry."
        )
        self.worker_died.emit(message.exit_code, text)
        if running is not None:
            self.generation_failed.emit(running, text)

    def _finish(self, request_id: str, served: bool = False) -> None:
        if self._running == request_id:
            self._running = None
            self._release_lane(served)

    def _release_lane(self, served: bool) -> None:
        if self._lane is not None:
            self._lane.release(served)
