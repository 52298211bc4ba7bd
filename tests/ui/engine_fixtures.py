"""Fixtures for the engine tests: the window under a qasync loop, and a scripted HTTP server.

`qt_event_loop` makes a qasync loop the running asyncio loop while pytest-qt spins Qt,
as `qasync.run` does in the app, so the server engine and the managed server run on
the same loop as in the app. `scripted_server` answers every request with a chosen
status and body (a 401, or a page that is not OpenAI's) on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow
from tests.local_http import serving


@pytest.fixture
def qt_event_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    try:
        yield loop
    finally:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            if not pending:
                break
            if time.monotonic() > deadline - 10:
                for task in pending:
                    task.cancel()
            qapp.processEvents()
            time.sleep(0.01)
        assert not [t for t in asyncio.all_tasks(loop) if not t.done()], "tasks left running"
        # Not loop.stop(): it calls QApplication.exit(), after which every nested Qt
        # event loop (qtbot.waitSignal) returns at once for the rest of the session.
        loop._QEventLoop__is_running = False  # what stop() would set
        qapp.aboutToQuit.disconnect(loop._after_run_forever)
        loop._after_run_forever()
        asyncio.events._set_running_loop(None)
        loop.close()
        # close() only flags qasync's timer object as stopped: its Qt timers (call_later
        # of the HTTP client's timeouts) stay registered and fire on a dead receiver once
        # the object is collected. Kill them now.
        timer = loop._timer
        for timer_id in list(timer._SimpleTimer__callbacks):
            timer.killTimer(timer_id)
        timer._SimpleTimer__callbacks.clear()


@pytest.fixture
def engine_window(
    qt_event_loop: qasync.QEventLoop, unstarted_window: MainWindow
) -> Iterator[MainWindow]:
    """The window (worker not started) with the asyncio loop running; closed before the loop."""
    yield unstarted_window


@dataclass
class Scripted:
    status: int = 401
    body: bytes = b'{"error": {"message": "Invalid API key", "type": "invalid_request_error"}}'
    content_type: str = "application/json"
    base_url: str = ""
    silent_s: float = 0.0  # wait this long (or until teardown) before answering
    release: threading.Event = field(default_factory=threading.Event)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def scripted_server() -> Iterator[Scripted]:
    state = Scripted()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            if state.silent_s:
                state.release.wait(state.silent_s)
            self.send_response(state.status)
            self.send_header("Content-Type", state.content_type)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        do_POST = do_GET

    with serving(Handler, state.release, "scripted-http") as base_url:
        state.base_url = base_url
        yield state
