"""The server form: address, model name, the API key's environment variable, Test connection.

The key is never typed here: the form takes the *name* of the environment variable
that holds it, so nothing secret reaches the settings file, the screen or the log.
A preset (Together AI, OpenRouter, Azure, …; `preset_fields`) fills the form for a
provider, with the headers, query parameters and limits it needs.
Test connection lists ``/v1/models`` on the running asyncio loop (qasync's in the
window) and says what went wrong in a sentence: refused, 401, timeout, not
OpenAI-compatible.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engines.openai_client import ServerEngine, ServerSettings
from app.engines.presets import Preset
from app.engines.server_errors import ServerError
from app.ui.engine.preset_fields import PresetFields, PresetFormError

log = logging.getLogger(__name__)

_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
OK_STYLE = "color: #1a7f37;"
ERROR_STYLE = "color: #b42318;"


class ServerFormError(ValueError):
    """The form cannot be used as filled in; the message says what to change."""


class ServerPanel(QWidget):
    """Edits the server settings, tests them, and asks for them to be used."""

    server_chosen = Signal(object)  # ServerSettings: "Use this server" was pressed
    connection_tested = Signal(bool, str)  # it answered, and the sentence shown

    def __init__(self, settings: ServerSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("OpenAI-compatible server")
        self._test_task: asyncio.Task[None] | None = None
        self.base_url = QLineEdit(self)
        self.base_url.setAccessibleName("Server address")
        self.base_url.setPlaceholderText("http://gpu-host:8000/v1")
        self.model = QLineEdit(self)
        self.model.setAccessibleName("Model name on the server")
        self.model.setPlaceholderText("meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8")
        self.api_key_env = QLineEdit(self)
        self.api_key_env.setAccessibleName("Environment variable holding the API key")
        self.api_key_env.setPlaceholderText("e.g. MAVERICK_API_KEY (empty: no key)")
        self.timeout = QSpinBox(self)
        self.timeout.setAccessibleName("Longest wait for the server, in seconds")
        self.timeout.setRange(5, 24 * 3600)
        self.timeout.setSuffix(" s")
        key_hint = QLabel(
            "The name of an environment variable that holds the key, not the key: set it "
            "before starting the app. The key is never saved or logged.",
            self,
        )
        key_hint.setWordWrap(True)
        key_hint.setStyleSheet("color: #656d76;")

        self.test_button = QPushButton("Test connection", self)
        self.test_button.setAccessibleName("Test connection: list the server's models")
        self.test_button.clicked.connect(self.test_connection)
        self.use_button = QPushButton("Use this server", self)
        self.use_button.setAccessibleName("Answer with this server from now on")
        self.use_button.clicked.connect(self._on_use_clicked)
        self.result = QLabel(self)
        self.result.setAccessibleName("Result of the connection test")
        self.result.setWordWrap(True)
        self.models = QListWidget(self)
        self.models.setAccessibleName("Models the server serves")
        self.models.setMaximumHeight(110)
        self.models.itemActivated.connect(self._on_model_activated)
        self.models.itemClicked.connect(self._on_model_activated)
        self.models.hide()

        form = QFormLayout()
        self.presets = PresetFields(form, self)
        form.addRow("Address", self.base_url)
        form.addRow("Model", self.model)
        form.addRow("API key variable", self.api_key_env)
        form.addRow("Timeout", self.timeout)
        buttons = QHBoxLayout()
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(key_hint)
        layout.addLayout(buttons)
        layout.addWidget(self.result)
        layout.addWidget(self.models)
        layout.addStretch(1)
        self.set_settings(settings)
        self.presets.preset_chosen.connect(self._on_preset_chosen)
        self.presets.fill_in.textEdited.connect(self._on_fill_in_edited)

    # ------------------------------------------------------------ public
    def set_settings(self, settings: ServerSettings) -> None:
        self.base_url.setText(settings.base_url)
        self.model.setText(settings.model)
        self.api_key_env.setText(settings.api_key_env or "")
        self.timeout.setValue(int(settings.timeout_s))
        self.presets.show_saved(
            settings.preset, settings.headers, settings.query, settings.api_key_header,
            settings.max_images, settings.context_tokens,
        )  # fmt: skip

    def settings(self) -> ServerSettings:
        """The form as settings; raises `ServerFormError` with what to change."""
        url = self.base_url.text().strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url):
            raise ServerFormError(
                "The address must start with http:// or https://, e.g. http://gpu-host:8000/v1."
            )
        variable = self.api_key_env.text().strip()
        if variable and not _VARIABLE.match(variable):
            # Someone pasted the key itself: never keep it, not even in the field.
            self.api_key_env.clear()
            raise ServerFormError(
                "The API key field takes the name of an environment variable (letters, digits "
                "and _), not the key. Put the key in a variable, e.g. export MAVERICK_API_KEY=…, "
                "restart the app and type MAVERICK_API_KEY here."
            )
        if "{" in url:
            raise ServerFormError(
                f"Fill in {self.presets.fill_label.text()} (the address still has it)."
            )
        try:
            headers, query = self.presets.values()
        except PresetFormError as exc:
            raise ServerFormError(str(exc)) from exc
        preset = self.presets.preset
        return ServerSettings(
            base_url=url,
            model=self.model.text().strip(),
            api_key_env=variable or None,
            timeout_s=float(self.timeout.value()),
            headers=headers,
            query=query,
            api_key_header=self.presets.api_key_header,
            max_images=self.presets.max_images,
            context_tokens=self.presets.context_tokens,
            preset=preset.name if preset else None,
        )

    def settings_or_none(self) -> ServerSettings | None:
        try:
            return self.settings()
        except ServerFormError:
            return None

    def test_connection(self) -> None:
        """List the server's models (asynchronously); the answer shows below the buttons."""
        try:
            settings = self.settings()
            loop = asyncio.get_running_loop()
        except ServerFormError as exc:
            self._show_result(False, str(exc))
            return
        except RuntimeError:
            self._show_result(False, "Testing needs the app's event loop; this is a bug.")
            return
        self.test_button.setEnabled(False)
        self.result.setStyleSheet("")
        self.result.setText(f"Asking {settings.base_url} for its models…")
        self._test_task = loop.create_task(self._test(settings))

    def cancel_test(self) -> None:
        """Abandon a connection test in flight (the window is closing)."""
        if self._test_task is not None:
            self._test_task.cancel()
            self._test_task = None

    @property
    def testing(self) -> bool:
        return self._test_task is not None and not self._test_task.done()

    # ------------------------------------------------------------ internals
    async def _test(self, settings: ServerSettings) -> None:
        started = time.monotonic()
        try:
            engine = ServerEngine(settings)
        except ServerError as exc:
            self._show_result(False, exc.message)
            return
        try:
            models = await engine.list_models()
        except ServerError as exc:
            self._show_result(False, exc.message)
            return
        finally:
            await engine.aclose()
        seconds = time.monotonic() - started
        if models:
            listed = "; click one to use its name." if len(models) > 1 else "."
            text = f"Connected in {seconds:.2f} s. The server serves {len(models)} model(s){listed}"
        else:
            text = (
                f"Connected in {seconds:.2f} s. The server lists no model (transformers serve "
                "lists none for a folder): use the name or folder it was started with."
            )
        self._show_result(True, text, models)

    def _show_result(self, ok: bool, text: str, models: list[str] | None = None) -> None:
        self.test_button.setEnabled(True)
        self.result.setText(text)
        self.result.setStyleSheet(OK_STYLE if ok else ERROR_STYLE)
        self.models.clear()
        for name in models or []:
            self.models.addItem(QListWidgetItem(name))
        self.models.setVisible(bool(models))
        if ok and models and len(models) == 1 and not self.model.text().strip():
            self.model.setText(models[0])
        log.info("connection test: %s", text)
        self.connection_tested.emit(ok, text)

    def _on_preset_chosen(self, preset: Preset | None) -> None:
        if preset is None:
            return
        self.base_url.setText(preset.base_url)
        self.model.setText(preset.model)
        self.api_key_env.setText(preset.api_key_env or "")
        self.result.clear()

    def _on_fill_in_edited(self, _text: str) -> None:
        preset = self.presets.preset
        if preset is not None:
            self.base_url.setText(self.presets.address(preset.base_url))

    def _on_model_activated(self, item: QListWidgetItem) -> None:
        self.model.setText(item.text())

    def _on_use_clicked(self) -> None:
        try:
            settings = self.settings()
        except ServerFormError as exc:
            self._show_result(False, str(exc))
            return
        if not settings.model:
            self._show_result(False, "Give the model name; Test connection lists what it serves.")
            return
        self.server_chosen.emit(settings)
