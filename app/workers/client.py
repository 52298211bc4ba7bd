"""The one client of the worker process, used by the window and the command line.

Plain Python, no Qt: `app.ui.bridge.bridge` wraps it and re-emits its events as signals.
A reader thread turns the worker's stdout into protocol messages and hands each
to `on_event` (or to an internal queue that `events_for` reads). When the pipe
closes without a `shutdown`, the client reports `WorkerDied` with the exit code at
once, so nothing waits on a dead worker.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p

log = logging.getLogger(__name__)

EventCallback = Callable[[p.Message], None]
TERMINAL = (p.Ready, p.Done, p.Error, p.Cancelled, p.CacheFreed, p.WorkerDied)


class WorkerUnavailable(RuntimeError):
    """The worker process is not running, so a request could not be sent."""


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def _project_root() -> str:
    import app

    return str(Path(app.__file__).resolve().parent.parent)


class WorkerClient:
    """Starts, talks to and stops one worker process."""

    def __init__(
        self,
        on_event: EventCallback | None = None,
        env: dict[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self._queue: queue.Queue[p.Message] = queue.Queue()
        self._on_event = on_event or self._queue.put
        self._extra_env = env or {}
        self._python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._send_lock = threading.Lock()
        self._stopping = False
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=60)
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------ lifecycle
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and not self._stopping

    def start(self) -> None:
        """Start the worker process (a no-op if it is running)."""
        if self.alive:
            return
        env = dict(os.environ)
        env.update(self._extra_env)
        root = _project_root()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        env.setdefault("TOKENIZERS_PARALLELISM", "false")
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._stopping = False
        self._stderr_tail.clear()
        self._proc = subprocess.Popen(
            [self._python, "-m", "app.workers.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        proc = self._proc
        assert proc.stdout is not None and proc.stderr is not None
        self._threads = [
            threading.Thread(
                target=self._read_events, args=(proc,), daemon=True, name="worker-events"
            ),
            threading.Thread(
                target=self._read_stderr, args=(proc.stderr,), daemon=True, name="worker-stderr"
            ),
        ]
        for thread in self._threads:
            thread.start()

    def shutdown(self, timeout: float = 10.0) -> int | None:
        """Ask the worker to exit; kill it if it has not within `timeout`. Returns its exit code."""
        proc = self._proc
        if proc is None:
            return None
        self._stopping = True
        if proc.poll() is None:
            try:
                self._write(p.Shutdown())
                assert proc.stdin is not None
                proc.stdin.close()
            except (OSError, ValueError, WorkerUnavailable):
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        self._close_pipes(proc)
        return proc.returncode

    def kill(self) -> None:
        """Kill the worker at once (it will be reported as `WorkerDied`)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()

    # ------------------------------------------------------------- requests
    def send(self, message: p.Message) -> None:
        """Send a request; raise `WorkerUnavailable` if the worker is not running."""
        if not self.alive:
            raise WorkerUnavailable("The model worker is not running.")
        self._write(message)

    def load(
        self,
        checkpoint: str | Path,
        image_limit: int = 5,
        attn: str = "sdpa",
        create_demo_if_missing: bool = False,
        prompt_cache_entries: int = p.DEFAULT_PROMPT_CACHE_ENTRIES,
    ) -> str:
        rid = new_request_id()
        self.send(
            p.Load(
                rid,
                str(checkpoint),
                attn,
                image_limit,
                create_demo_if_missing,
                prompt_cache_entries=prompt_cache_entries,
            )
        )
        return rid

    def generate(
        self,
        messages: Sequence[p.ChatTurn],
        sampling: Sampling | None = None,
        *,
        request_id: str | None = None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        """Ask for an answer (constrained to `json_schema` if given); returns its request id."""
        rid = request_id or new_request_id()
        self.send(
            p.Generate(
                rid, list(messages), sampling or Sampling(), list(tools), json_schema=json_schema
            )
        )
        return rid

    def free_cache(self) -> str:
        """Ask the worker to forget its kept KV caches; answered by `CacheFreed`."""
        rid = new_request_id()
        self.send(p.FreeCache(rid))
        return rid

    def cancel(self, request_id: str) -> None:
        if self.alive:
            self._write(p.Cancel(request_id))

    # --------------------------------------------------------------- events
    def events_for(self, request_id: str, timeout: float | None = None) -> Iterator[p.Message]:
        """Yield the events of one request, ending with its terminal event.

        Only for clients made without `on_event`. `WorkerDied` ends every request.
        Raises `TimeoutError` if nothing arrives for `timeout` seconds.
        """
        while True:
            try:
                event = self._queue.get(timeout=timeout)
            except queue.Empty as exc:
                raise TimeoutError(f"no answer from the worker in {timeout} s") from exc
            rid = getattr(event, "request_id", None)
            if isinstance(event, p.WorkerDied) or rid == request_id:
                yield event
                if isinstance(event, TERMINAL):
                    return

    def next_event(self, timeout: float) -> p.Message | None:
        """The next event of any request, or None after `timeout` seconds.

        Only for clients made without `on_event`: a front end that follows several
        requests at once (a tool loop's steps) hands each to its session.
        """
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def stderr_tail(self) -> str:
        return "".join(self._stderr_tail)

    # ------------------------------------------------------------ internals
    def _write(self, message: p.Message) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise WorkerUnavailable("The model worker is not running.")
        data = p.encode(message)
        with self._send_lock:
            try:
                proc.stdin.write(data)
                proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise WorkerUnavailable("The model worker has stopped.") from exc

    def _read_events(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = p.decode(line)
            except p.ProtocolError as exc:
                log.error("unreadable line from the worker: %s", exc)
                continue
            self._deliver(event)
        code = proc.wait()
        if not self._stopping:
            # Let the stderr reader catch the last words before we quote them.
            time.sleep(0.05)
            self._deliver(p.WorkerDied(exit_code=code, stderr_tail=self.stderr_tail[-4000:]))

    def _read_stderr(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace")
            self._stderr_tail.append(line)
            log.debug("worker: %s", line.rstrip())

    def _deliver(self, event: p.Message) -> None:
        try:
            self._on_event(event)
        except Exception:
            log.exception("event handler failed for %s", event.kind)

    @staticmethod
    def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def describe_exit(code: int | None) -> str:
    """'exit code 1' or 'killed by signal 9 (SIGKILL)'."""
    if code is None:
        return "an unknown exit status"
    if code < 0:
        import signal

        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"
