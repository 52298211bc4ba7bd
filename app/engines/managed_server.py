"""Starting and stopping an OpenAI-compatible server from an editable command template.

`ManagedServer` fills a template such as ``vllm serve {model} --port {port} …`` with
the placeholders ``{model} {gpus} {context} {port} {host}``, starts it in its own
process group, keeps the last lines of its log (and hands each line to a callback
for the window to show), waits until ``GET /v1/models`` answers, and stops the whole
group with SIGTERM, then SIGKILL. Servers still running when the app exits are
stopped by an atexit hook, so none is left behind.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

from app.workers.client import describe_exit

log = logging.getLogger(__name__)

LineCallback = Callable[[str], None]

TEMPLATES: dict[str, str] = {
    "vllm": (
        "vllm serve {model} --tensor-parallel-size {gpus} --max-model-len {context} "
        """--limit-mm-per-prompt '{"image": 5}' """
        # Tool use: the server reads Maverick's pythonic calls into OpenAI tool_calls.
        "--enable-auto-tool-choice --tool-call-parser llama4_pythonic --host {host} --port {port}"
    ),
    "sglang": (
        "python3 -m sglang.launch_server --model-path {model} --tp {gpus} "
        "--context-length {context} --enable-multimodal --chat-template llama-4 "
        "--host {host} --port {port}"
    ),
    "transformers": "transformers serve {model} --dtype bfloat16 --host {host} --port {port}",
}
PLACEHOLDERS = ("model", "gpus", "context", "port", "host")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


class ServerStartError(RuntimeError):
    """The server could not be started or did not become ready; the message says why."""


def fill_template(template: str, values: Mapping[str, object]) -> list[str]:
    """The command line for `template` with each placeholder replaced (shell-quoted).

    Only the five known placeholders are replaced, so JSON such as ``'{"image": 5}'``
    stays as written.
    """
    missing = sorted({m.group(1) for m in _PLACEHOLDER.finditer(template)} - set(values))
    if missing:
        raise ServerStartError(f"The command template needs a value for {{{missing[0]}}}.")
    text = _PLACEHOLDER.sub(lambda m: shlex.quote(str(values[m.group(1)])), template)
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ServerStartError(f"The command template cannot be read: {exc}.") from exc
    if not argv:
        raise ServerStartError("The command template is empty.")
    return argv


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _resolve_program(name: str) -> str:
    """`name` from PATH, or from this Python's bin folder (a venv that is not activated)."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        raise ServerStartError(
            f"The program “{name}” was not found. Install it (e.g. pip install {name}) or put "
            "its full path in the command template."
        )
    return found


class ManagedServer:
    """One server process (group) started from a command template."""

    def __init__(
        self,
        template: str,
        model: str,
        *,
        gpus: int = 8,
        context: int = 430_000,
        host: str = "127.0.0.1",
        port: int = 8000,
        env: Mapping[str, str] | None = None,
        on_log_line: LineCallback | None = None,
        log_lines: int = 2000,
    ) -> None:
        values = {"model": model, "gpus": gpus, "context": context, "port": port, "host": host}
        self.argv = fill_template(template, values)
        self.host = host
        self.port = port
        self._env = dict(env or {})
        self._on_log_line = on_log_line
        self._log: collections.deque[str] = collections.deque(maxlen=log_lines)
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._stopped = False

    # ------------------------------------------------------------ state
    @property
    def base_url(self) -> str:
        """The address to give the OpenAI client (a wildcard host is reached on loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        return f"http://{host}:{self.port}/v1"

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def exit_code(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(list(self._log)[-lines:])

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the process in a new process group (a no-op while it runs)."""
        if self.running:
            return
        argv = [_resolve_program(self.argv[0]), *self.argv[1:]]
        env = dict(os.environ)
        env.update(self._env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self._log.clear()
        self._stopped = False
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        except OSError as exc:
            raise ServerStartError(f"Could not start “{self.argv[0]}”: {exc.strerror}.") from exc
        _RUNNING.add(self)
        assert self._proc.stdout is not None
        self._reader = threading.Thread(
            target=self._read_log, args=(self._proc.stdout,), daemon=True, name="server-log"
        )
        self._reader.start()

    def probe(self, timeout_s: float = 2.0) -> list[str] | None:
        """The model ids if ``GET /v1/models`` answers 200 now, else None."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=timeout_s) as reply:
                body = json.loads(reply.read())
        except (OSError, urllib.error.URLError, ValueError):
            return None
        data = body.get("data", []) if isinstance(body, dict) else []
        return [str(item.get("id")) for item in data if isinstance(item, dict)]

    def wait_until_ready(
        self,
        timeout_s: float = 1800.0,
        poll_s: float = 0.5,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[str]:
        """Poll until the server answers; return its model ids.

        Raises `ServerStartError` (with the last lines of the log) if the process exits
        first or `timeout_s` passes; the process is stopped in the second case.
        `on_progress(seconds_waited)` is called after each unanswered poll.
        """
        started = time.monotonic()
        while True:
            models = self._check(self.probe(), started, timeout_s, on_progress)
            if models is not None:
                return models
            time.sleep(poll_s)

    async def wait_until_ready_async(
        self,
        timeout_s: float = 1800.0,
        poll_s: float = 0.5,
        on_progress: Callable[[float], None] | None = None,
    ) -> list[str]:
        """`wait_until_ready` for an event loop (the window's, under qasync).

        The blocking parts run in threads; `on_progress` is called on the loop's thread.
        """
        started = time.monotonic()
        while True:
            probed = await asyncio.to_thread(self.probe)
            models = await asyncio.to_thread(self._check, probed, started, timeout_s, None)
            if models is not None:
                return models
            if on_progress is not None:
                on_progress(time.monotonic() - started)
            await asyncio.sleep(poll_s)

    def _check(
        self,
        models: list[str] | None,
        started: float,
        timeout_s: float,
        on_progress: Callable[[float], None] | None,
    ) -> list[str] | None:
        """`models` if the server answered; raises if it died or the wait is over."""
        if models is not None:
            return models
        if not self.running:
            raise ServerStartError(self._exit_message())
        waited = time.monotonic() - started
        if waited >= timeout_s:
            tail = self.log_tail()
            self.stop()
            raise ServerStartError(
                f"The server did not answer at {self.base_url} within {timeout_s:g} s and "
                f"was stopped. Raise the wait, or check its log:\n{tail}"
            )
        if on_progress is not None:
            on_progress(waited)
        return None

    def stop(self, grace_s: float = 15.0) -> int | None:
        """SIGTERM to the whole group, SIGKILL after `grace_s`; returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        if self._stopped:
            return proc.returncode
        pgid = proc.pid  # start_new_session made the server the leader of its group
        _signal_group(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            proc.wait()
        # Children that ignored SIGTERM outlive their leader; take them too.
        _signal_group(pgid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if proc.stdout is not None:
            with contextlib.suppress(OSError):
                proc.stdout.close()
        self._stopped = True  # the group id may be reused from now on: never signal it again
        _RUNNING.discard(self)
        return proc.returncode

    # ------------------------------------------------------------ internals
    def _read_log(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self._log.append(line)
            if self._on_log_line is not None:
                try:
                    self._on_log_line(line)
                except Exception:  # the log must keep draining, or the server blocks
                    log.exception("the log line callback failed")

    def _exit_message(self) -> str:
        if self._reader is not None:
            self._reader.join(timeout=2)  # let the last words arrive
        code = self.stop(grace_s=0)  # the leader is gone; take any children it left
        return (
            f"The server stopped before it was ready ({describe_exit(code)}). "
            f"The last lines of its log:\n{self.log_tail()}"
        )


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group is still there (zombies excepted)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# Strong references: a server the app forgot about must still be stopped at exit.
_RUNNING: set[ManagedServer] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop(grace_s=5)
