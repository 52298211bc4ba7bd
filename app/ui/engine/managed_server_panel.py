"""Start a server from a command template, watch its log, use it, stop it.

The template (vLLM, SGLang or transformers serve by default, editable) is filled
and started by `ManagedServer` in its own process group. Its log lines arrive on a
reader thread; they are queued and moved into the log pane by a timer on the main
thread (no Qt call ever happens on that thread). `shutdown` stops the whole group;
the window calls it when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engines.managed_server import TEMPLATES, ManagedServer, ServerStartError
from app.ui.engine.engine_store import ManagedServerValues
from app.workers.client import describe_exit

log = logging.getLogger(__name__)

ENGINE_LABELS = {"vllm": "vLLM", "sglang": "SGLang", "transformers": "transformers serve"}
LOG_LINES = 2000
DRAIN_MS = 100


class ManagedServerPanel(QWidget):
    """The managed server's form, buttons, state and log."""

    server_ready = Signal(str, str)  # base URL, model name: it answers
    use_requested = Signal(str, str)  # base URL, model name: "Use this server" was pressed
    server_stopped = Signal(str)  # a sentence saying why
    values_changed = Signal(object)  # ManagedServerValues, when a server is started

    def __init__(self, values: ManagedServerValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Managed server")
        self.server: ManagedServer | None = None
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._wait: asyncio.Task[None] | None = None
        self._ready = False
        self._drain = QTimer(self)
        self._drain.setInterval(DRAIN_MS)
        self._drain.timeout.connect(self._on_drain_timeout)

        self.engine = QComboBox(self)
        self.engine.setAccessibleName("Server program")
        for key, label in ENGINE_LABELS.items():
            self.engine.addItem(label, key)
        self.template = QLineEdit(self)
        self.template.setAccessibleName(
            "Command template; placeholders {model} {gpus} {context} {port} {host}"
        )
        self.model = QLineEdit(self)
        self.model.setAccessibleName("Model to serve: a Hugging Face id or a folder")
        self.gpus = self._spin(1, 64, "GPUs (tensor parallel size)")
        self.context = self._spin(1024, 10_485_760, "Context length in tokens")
        self.context.setSingleStep(1024)
        self.port = self._spin(1, 65535, "Port")
        self.start_button = QPushButton("Start server", self)
        self.start_button.setAccessibleName("Start the server")
        self.start_button.clicked.connect(self.start_server)
        self.stop_button = QPushButton("Stop server", self)
        self.stop_button.setAccessibleName("Stop the server and everything it started")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_server)
        self.use_button = QPushButton("Use this server", self)
        self.use_button.setAccessibleName("Answer with the managed server")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._on_use_clicked)
        self.state = QLabel("Not running.", self)
        self.state.setAccessibleName("Managed server state")
        self.state.setWordWrap(True)
        self.log_view = QPlainTextEdit(self)
        self.log_view.setAccessibleName("Server log")
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setPlaceholderText("The server's output appears here.")

        form = QFormLayout()
        form.addRow("Program", self.engine)
        form.addRow("Command", self.template)
        form.addRow("Model", self.model)
        numbers = QHBoxLayout()
        for label, box in (("GPUs", self.gpus), ("Context", self.context), ("Port", self.port)):
            numbers.addWidget(QLabel(label, self))
            numbers.addWidget(box, 1)
        form.addRow("", numbers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.state)
        layout.addWidget(self.log_view, 1)

        self._show(values)
        self.engine.currentIndexChanged.connect(self._on_engine_changed)

    # ------------------------------------------------------------ public
    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    @property
    def ready(self) -> bool:
        return self._ready and self.running

    def values(self) -> ManagedServerValues:
        key = str(self.engine.currentData())
        template = self.template.text().strip()
        return ManagedServerValues(
            engine=key,
            template="" if template == TEMPLATES[key] else template,
            model=self.model.text().strip(),
            gpus=self.gpus.value(),
            context=self.context.value(),
            port=self.port.value(),
        )

    def start_server(self) -> None:
        """Start the server; the state line follows it until `/v1/models` answers."""
        if self.running:
            return
        values = self.values()
        if not values.model:
            self._set_state("Give the model to serve: a Hugging Face id or a checkpoint folder.")
            return
        try:
            loop = asyncio.get_running_loop()
            server = ManagedServer(
                self.template.text(), values.model, gpus=values.gpus, context=values.context,
                port=values.port, on_log_line=self._lines.put,
            )  # fmt: skip
            server.start()
        except (ServerStartError, RuntimeError) as exc:
            self._set_state(f"{exc}")
            return
        self.server = server
        self._ready = False
        self.values_changed.emit(values)
        self.log_view.clear()
        self.log_view.appendPlainText(f"$ {server.command}")
        self._drain.start()
        self._set_state(f"Starting (process group {server.pid}); waiting for {server.base_url}…")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._wait = loop.create_task(self._wait_until_ready(server))

    def stop_server(self) -> None:
        """Stop the server and every process it started (SIGTERM, then SIGKILL)."""
        if self._wait is not None:
            self._wait.cancel()
            self._wait = None
        server, self.server = self.server, None
        if server is None:
            return
        code = server.stop(grace_s=10)
        self._finish(f"Stopped ({describe_exit(code)}).")

    def shutdown(self) -> None:
        """Stop the server if one runs (the window calls this when it closes)."""
        self.stop_server()
        self._drain.stop()

    # ------------------------------------------------------------ internals
    async def _wait_until_ready(self, server: ManagedServer) -> None:
        def progress(seconds: float) -> None:
            self._set_state(f"Starting: {seconds:.0f} s, waiting for {server.base_url}…")

        try:
            models = await server.wait_until_ready_async(on_progress=progress)
        except ServerStartError as exc:
            self.server = None
            self._finish(str(exc).splitlines()[0] + " Its log is below.")
            return
        self._ready = True
        self.use_button.setEnabled(True)
        listed = ", ".join(models) or "none listed"
        self._set_state(f"Ready at {server.base_url} (models: {listed}).")
        self.server_ready.emit(server.base_url, self.values().model)

    def _finish(self, text: str) -> None:
        self._on_drain_timeout()
        self._drain.stop()
        self._ready = False
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self._set_state(text)
        self.server_stopped.emit(text)

    def _on_drain_timeout(self) -> None:
        lines: list[str] = []
        with contextlib.suppress(queue.Empty):
            while len(lines) < LOG_LINES:
                lines.append(self._lines.get_nowait())
        if lines:
            self.log_view.appendPlainText("\n".join(lines))
        server = self.server
        if server is not None and self._ready and not server.running:
            self.server = None
            code = server.stop(grace_s=0)
            self._finish(f"The server stopped by itself ({describe_exit(code)}); see its log.")

    def _on_use_clicked(self) -> None:
        if self.ready and self.server is not None:
            self.use_requested.emit(self.server.base_url, self.values().model)

    def _on_engine_changed(self, index: int) -> None:
        self.template.setText(TEMPLATES[str(self.engine.currentData())])
        self.template.setCursorPosition(0)

    def _show(self, values: ManagedServerValues) -> None:
        key = values.engine if values.engine in TEMPLATES else "vllm"
        self.engine.setCurrentIndex(list(ENGINE_LABELS).index(key))
        self.template.setText(values.template or TEMPLATES[key])
        self.template.setCursorPosition(0)
        self.model.setText(values.model)
        self.gpus.setValue(values.gpus)
        self.context.setValue(values.context)
        self.port.setValue(values.port)

    def _set_state(self, text: str) -> None:
        self.state.setText(text)

    def _spin(self, low: int, high: int, accessible: str) -> QSpinBox:
        box = QSpinBox(self)
        box.setRange(low, high)
        box.setAccessibleName(accessible)
        return box
