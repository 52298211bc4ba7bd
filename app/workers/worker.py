"""The worker process: owns the model, reads requests on stdin, writes events on stdout.

Run as ``python -m app.workers.worker``. Three threads:

- the reader parses requests; a `Cancel` takes effect at once (it sets a flag the
  running generation checks after every token), everything else is queued;
- the main thread loads and generates, one request at a time;
- the writer (`app.workers.event_writer`) decodes token ids into text and sends
  events, at most one write of tokens per frame, so a fast model never floods the
  app nor steals its cores from torch.

The protocol owns file descriptor 1; anything a library prints goes to stderr.
If stdin closes (the app is gone) the worker exits.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from typing import IO, Any

from app.workers import protocol as p
from app.workers.event_writer import EventWriter, TextDecoder
from app.workers.memory import give_back_memory
from app.workers.request_size import size_problem
from app.workers.tool_text import CallReadingDecoder

log = logging.getLogger("maverick_desk.worker")

# Test hook: "raise-after-tokens:N" raises inside model.generate after N tokens.
FAULT_ENV = "MAVERICK_DESK_INJECT_FAULT"
# How much the worker yields the CPU to the window: added to its nice value.
NICE_ENV = "MAVERICK_DESK_WORKER_NICE"
DEFAULT_NICE = 10


class InjectedFault(RuntimeError):
    """Raised by the fault-injection hook, to prove errors reach the app."""


class Worker:
    """Handles requests; the model lives here and only here."""

    def __init__(self, writer: EventWriter) -> None:
        self._writer = writer
        self._send = writer.send
        self._engine: Any = None
        self._jobs: queue.Queue[p.Message] = queue.Queue()
        self._cancelled: set[str] = set()
        self._running: str | None = None
        self._lock = threading.Lock()
        self._fault_after = _fault_tokens()

    # ---- reader thread
    def read_requests(self, stream: IO[bytes]) -> None:
        while line := stream.readline():
            if self._take(line) is p.Shutdown:
                # Stop reading: a thread still blocked in stdin's read while the main
                # thread exits makes the interpreter abort ("_enter_buffered_busy").
                return
            # Drop the line now, not when the next one comes: it may be megabytes.
            del line
        self._jobs.put(p.Shutdown())  # stdin closed: the app has gone

    def _take(self, line: bytes) -> type[p.Message] | None:
        """Decode one request and queue it (a `Cancel` takes effect at once); its type."""
        if not line.strip():
            return None
        try:
            message = p.decode(line)
        except p.ProtocolError as exc:
            self._send(p.Error(request_id="", error_kind="protocol", message=str(exc)))
            return None
        if isinstance(message, p.Cancel):
            with self._lock:
                self._cancelled.add(message.request_id)
        else:
            self._jobs.put(message)
        return type(message)

    # ---- main thread
    def serve(self) -> None:
        while True:
            job = self._jobs.get()
            if isinstance(job, p.Shutdown):
                return
            with self._lock:
                self._running = getattr(job, "request_id", None)
            refused = False
            try:
                if isinstance(job, p.Load):
                    self._load(job)
                elif isinstance(job, p.Generate):
                    refused = self._refuse_oversized(job)
                    if not refused:
                        self._generate(job)
                elif isinstance(job, p.FreeCache):
                    self._free_cache(job.request_id)
            finally:
                with self._lock:
                    self._running = None
            del job  # it may hold megabytes of text: not kept while the worker waits
            if refused:
                give_back_memory()

    def _load(self, job: p.Load) -> None:
        from app.checkpoints.checkpoint import CheckpointError
        from app.inference.engine import Engine
        from app.inference.loader import LoadCancelled, load_model, runtime_versions

        started = time.perf_counter()
        rid = job.request_id
        self._free_cache(None)  # the caches belong to the model being replaced
        if refusal := _runtime_refusal():
            self._send(p.Error(rid, "load_failed", refusal))
            return

        def progress(stage: str, done: int, total: int, nbytes: int = 0, of: int = 0) -> None:
            self._send(p.LoadProgress(rid, stage, done, total, nbytes, of))

        try:
            self._write_demo_if_asked(job, progress)
            loaded = load_model(
                job.checkpoint,
                progress=progress,
                attn_implementation=job.attn_implementation,
                should_stop=lambda: self._is_cancelled(rid),
            )
        except LoadCancelled:
            self._send(p.Cancelled(rid, 0))
            return
        except CheckpointError as exc:
            self._send(p.Error(job.request_id, "bad_checkpoint", str(exc), traceback.format_exc()))
            return
        except Exception as exc:
            log.exception("loading %s failed", job.checkpoint)
            message = f"Loading the model failed: {type(exc).__name__}: {exc}"
            self._send(p.Error(job.request_id, "load_failed", message, traceback.format_exc()))
            return
        finally:
            with self._lock:
                self._cancelled.discard(rid)
        self._engine = Engine(loaded, job.image_limit, _prompt_cache(job, loaded))
        gen = loaded.model.generation_config
        info = loaded.info
        self._send(
            p.Ready(
                request_id=job.request_id,
                name=info.name,
                path=str(info.path),
                parameters=info.total_parameters,
                active_parameters=info.active_parameters,
                quantisation=loaded.quantisation,
                devices=loaded.devices,
                context_length=info.context_length,
                is_demo=info.is_demo,
                load_seconds=time.perf_counter() - started,
                generation_defaults={
                    "temperature": gen.temperature if gen.do_sample else 0.0,
                    "top_p": gen.top_p if gen.top_p is not None else 1.0,
                    "max_new_tokens": gen.max_new_tokens or 512,
                },
                warnings=loaded.warnings,
                runtime={
                    **runtime_versions(),
                    "attention": loaded.attention,
                    "experts": loaded.experts,
                    # Compiled decode step or transformers' generate (MAVERICK_DESK_COMPILE).
                    "decode": loaded.decode,
                    # Chunked layers in a prefill: window by window, or transformers' mask.
                    "chunked_attention": loaded.chunked_attention,
                    # How many conversations' KV caches are kept ("0": none), within how
                    # many bytes ("0": half of the free device memory).
                    "prompt_cache": str(self._engine.prompt_cache.max_entries),
                    "prompt_cache_bytes": str(self._engine.prompt_cache.budget_bytes),
                },
            )
        )

    @staticmethod
    def _write_demo_if_asked(job: p.Load, progress: Any) -> None:
        from pathlib import Path

        folder = Path(job.checkpoint)
        if not job.create_demo_if_missing or folder.exists() or folder.name not in {"bf16", "fp8"}:
            return
        from app.generators.demo import write_demo_checkpoint

        progress("writing the demo checkpoint", 0, 1)
        write_demo_checkpoint(folder.parent)
        progress("writing the demo checkpoint", 1, 1)

    def _free_cache(self, request_id: str | None) -> None:
        freed = self._engine.free_memory() if self._engine is not None else 0
        if freed:
            log.info("prompt cache: freed %d bytes", freed)
        if request_id is not None:
            self._send(p.CacheFreed(request_id, freed))

    def _refuse_oversized(self, job: p.Generate) -> bool:
        """Refuse (True) a request too long for the context, before it is tokenised."""
        if self._engine is None:
            return False
        problem = size_problem(
            (turn.text for turn in job.messages),
            [job.tools, *(turn.tool_calls for turn in job.messages)],
            job.sampling.max_new_tokens,
            self._engine.context_length,
        )
        if problem is None:
            return False
        with self._lock:
            self._cancelled.discard(job.request_id)
        self._send(p.Error(job.request_id, "bad_input", problem))
        return True

    def _is_cancelled(self, request_id: str) -> bool:
        with self._lock:
            return request_id in self._cancelled

    def _generate(self, job: p.Generate) -> None:
        from app.inference.engine import ChatMessage, ImageError, InputError

        rid = job.request_id
        if self._engine is None:
            self._send(p.Error(rid, "not_loaded", "No model is loaded yet; load one first."))
            return
        if self._is_cancelled(rid):  # cancelled while it waited in the queue
            with self._lock:
                self._cancelled.discard(rid)
            self._send(p.Cancelled(rid, 0))
            return
        count = 0
        # With tools offered, the calls are read from the text here, once (`tool_text`).
        decoder: TextDecoder = self._engine.decoder()
        reader = CallReadingDecoder(decoder) if job.tools else None
        decoder = reader or decoder

        def on_tokens(ids: list[int]) -> None:
            # On the generation thread: only hand the ids over; the writer decodes them.
            nonlocal count
            count += len(ids)
            if self._fault_after is not None and count > self._fault_after:
                raise InjectedFault(f"fault injected after {self._fault_after} tokens")
            self._writer.send_tokens(rid, decoder, ids, now=count == len(ids))

        messages = [
            ChatMessage(t.role, t.text, tuple(t.images), tuple(t.tool_calls)) for t in job.messages
        ]
        problem = job.sampling.problem()
        if problem:
            self._send(p.Error(rid, "bad_input", problem))
            return
        end: p.Message
        try:
            result = self._engine.generate(
                messages,
                job.sampling,
                on_tokens,
                lambda: self._is_cancelled(rid),
                tools=job.tools,
                json_schema=job.json_schema,
            )
        except (ImageError, InputError) as exc:
            end = p.Error(rid, "bad_input", str(exc), traceback.format_exc())
        except Exception as exc:
            log.exception("generation %s failed", rid)
            message = f"Generation failed: {type(exc).__name__}: {exc}"
            end = p.Error(rid, "generation_failed", message, traceback.format_exc())
        else:
            if result.finish_reason == "cancelled":
                end = p.Cancelled(
                    rid,
                    result.generated_tokens,
                    result.prompt_tokens,
                    result.cached_prompt_tokens,
                )
            else:
                end = p.Done(
                    request_id=rid,
                    prompt_tokens=result.prompt_tokens,
                    image_tokens=result.image_tokens,
                    generated_tokens=result.generated_tokens,
                    time_to_first_token_s=result.time_to_first_token_s,
                    tokens_per_s=result.tokens_per_s,
                    finish_reason=result.finish_reason,
                    cached_prompt_tokens=result.cached_prompt_tokens,
                    tool_tokens=result.tool_tokens,
                )
        finally:
            with self._lock:
                self._cancelled.discard(rid)
        if reader is None:
            self._writer.end_tokens(rid, decoder)
            self._send(end)
            return
        if isinstance(end, p.Cancelled):
            reader.cancelled()
        self._writer.end_tokens(rid, decoder)
        self._writer.send(end, reader.amend)


def _runtime_refusal() -> str | None:
    """A sentence if the installed transformers is outside the range the engine runs on.

    Checked from the package metadata before transformers is imported: a release outside
    the range would fail later, inside a request, with a TypeError or a shape mismatch.
    """
    from app.checkpoints.transformers_range import installed_transformers, transformers_problem

    return transformers_problem(installed_transformers())


def _prompt_cache(job: p.Load, loaded: Any) -> Any:
    from app.inference.prompt_cache import (
        PromptCache,
        free_memory_bytes,
        model_devices,
        prefill_reserve,
    )

    devices = model_devices(loaded.model)  # the cache spreads over every GPU with the layers
    return PromptCache(
        job.prompt_cache_entries,
        job.prompt_cache_bytes,
        lambda: free_memory_bytes(devices),
        reserve_bytes=prefill_reserve(devices),
    )


def _fault_tokens() -> int | None:
    spec = os.environ.get(FAULT_ENV, "")
    if spec.startswith("raise-after-tokens:"):
        return int(spec.split(":", 1)[1])
    return None


def lower_priority(environ: Mapping[str, str] | None = None) -> int:
    """Make this process yield the CPU to the window's; returns the nice value now in force.

    On a machine with few cores torch's threads fill every core while an answer streams,
    and the window's main thread, which needs a few milliseconds at a time, would wait
    behind them for a scheduler slice (36-200 ms stalls were measured on 2 cores). A
    higher nice value lets it run at once; with cores to spare it changes nothing. Called
    first thing, so every thread the worker starts afterwards (torch's too) inherits it.
    """
    raw = (os.environ if environ is None else environ).get(NICE_ENV, "").strip()
    try:
        increment = int(raw) if raw else DEFAULT_NICE
    except ValueError:
        log.warning("%s=%r is not a whole number; using %d", NICE_ENV, raw, DEFAULT_NICE)
        increment = DEFAULT_NICE
    if not hasattr(os, "nice"):
        return 0
    try:
        return os.nice(max(0, increment))
    except OSError as exc:
        log.warning("could not lower the worker's priority: %s", exc)
        return os.nice(0)


def main() -> int:
    """Entry point of the worker process."""
    # Keep fd 1 for the protocol; send stray prints (and C-level output) to stderr.
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="worker %(levelname)s %(name)s: %(message)s"
    )
    niceness = lower_priority()  # before any thread starts, so that all inherit it
    writer = EventWriter(os.fdopen(protocol_fd, "wb", buffering=0))
    log.info("worker %d running at nice %d", os.getpid(), niceness)
    writer.send(p.Hello(pid=os.getpid(), python=sys.version.split()[0]))
    worker = Worker(writer)
    reader = threading.Thread(
        target=worker.read_requests, args=(sys.stdin.buffer,), name="protocol-reader", daemon=True
    )
    reader.start()
    worker.serve()
    writer.close()
    reader.join(timeout=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
