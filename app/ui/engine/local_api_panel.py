"""Model and engine → Local API: serve the model the window has loaded to other programs.

The switch starts `app.local_api.LocalApi` on the window's own worker client and event
router, so editors and scripts use the same loaded model as the window (no second copy).
The window's questions then take turns with the API's requests in the scheduler's
window lane (see `app.ui.bridge.window_lane`), so they are never starved.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.local_api.addresses import is_loopback
from app.local_api.scheduler import ServingState
from app.ui.bridge.bridge import WorkerBridge
from app.ui.engine.engine_store import EngineStore, LocalApiValues
from app.workers import protocol as p

if TYPE_CHECKING:
    from app.local_api.serving import LocalApi

log = logging.getLogger(__name__)

NETWORK_WARNING = (
    "Bound to {host}: the model is reachable from the network by anyone who has the key in ${env}."
)


class LocalApiPanel(QWidget):
    """The Local API switch, where it listens, its address and how many requests it served."""

    serving_toggled = Signal(bool)  # the API started (True) or stopped (False)

    def __init__(
        self, bridge: WorkerBridge, store: EngineStore, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.store = store
        saved = store.local_api()
        self.api: LocalApi | None = None
        self.switch = QCheckBox("Serve the loaded model as an OpenAI-compatible API", self)
        self.switch.setAccessibleName("Serve the loaded model")
        self.host = QLineEdit(saved.host, self)
        self.host.setAccessibleName("Local API host")
        self.port = QSpinBox(self)
        self.port.setRange(1, 65535)
        self.port.setValue(saved.port)
        self.port.setAccessibleName("Local API port")
        self.key_env = QLineEdit(saved.key_env, self)
        self.key_env.setPlaceholderText("needed for any address but 127.0.0.1, e.g. DESK_API_KEY")
        self.key_env.setAccessibleName("API key environment variable")
        self.address = QLineEdit(self)
        self.address.setReadOnly(True)
        self.address.setAccessibleName("Local API address")
        self.address.setPlaceholderText("not serving")
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setAccessibleName("Copy the Local API address")
        self.copy_button.setEnabled(False)
        self.served = QLabel("Requests served: 0", self)
        self.served.setAccessibleName("Requests served")
        self.warning = QLabel(self)
        self.warning.setAccessibleName("Local API network warning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color: #b54708;")
        self.warning.hide()
        self.notice = QLabel(self)
        self.notice.setAccessibleName("Local API notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b42318;")
        self.notice.hide()

        form = QFormLayout()
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("API key variable:", self.key_env)
        address_row = QHBoxLayout()
        address_row.addWidget(self.address, 1)
        address_row.addWidget(self.copy_button)
        form.addRow("Address:", address_row)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Editors, notebooks and scripts can use the model this window has loaded, through "
            "any OpenAI client. The window's own questions go first when the model is free.",
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        layout.addWidget(self.switch)
        layout.addLayout(form)
        layout.addWidget(self.warning)
        layout.addWidget(self.notice)
        layout.addWidget(self.served)
        layout.addStretch(1)

        self.switch.toggled.connect(self._on_switch_toggled)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        bridge.serving_changed.connect(self._on_serving_changed)
        bridge.model_ready.connect(self._on_model_ready)
        bridge.model_loading.connect(self._on_model_gone)
        bridge.model_failed.connect(self._on_model_gone)
        bridge.worker_died.connect(self._on_model_gone)

    # ------------------------------------------------------------ public
    @property
    def running(self) -> bool:
        return self.api is not None

    def start(self) -> bool:
        """Serve the loaded model; False (with the reason shown) if it cannot."""
        self.notice.hide()
        problem, key = self._check()
        if problem:
            return self._refuse(problem)
        host = self.host.text().strip()
        # The HTTP stack (uvicorn, Starlette) loads only when the user turns the API on.
        from app.local_api.serving import LocalApi, ServeOptions

        options = ServeOptions(host=host, port=self.port.value(), api_key=key)
        api = LocalApi(options, client=self.bridge.client, router=self.bridge.router)
        self._set_ready(api, self.bridge.ready)
        try:
            api.start()
        except OSError as exc:
            log.warning("the local API did not start: %s", exc)
            return self._refuse(f"{exc}. Choose another port, then switch it on again.")
        self.api = api
        self.bridge.share_with(api.scheduler)
        self.store.save_local_api(LocalApiValues(host, options.port, self.key_env.text().strip()))
        self.address.setText(api.base_url)
        self.copy_button.setEnabled(True)
        self._show_served(api.scheduler.state())
        if not is_loopback(host):
            self.warning.setText(NETWORK_WARNING.format(host=host, env=self.key_env.text().strip()))
            self.warning.show()
        self._set_editable(False)
        self._set_switch(True)
        self.serving_toggled.emit(True)
        return True

    def stop(self) -> None:
        """Close the port; requests in flight are cancelled."""
        api, self.api = self.api, None
        if api is not None:
            final = api.close()
            self.bridge.share_with(None)
            self._show_served(final)
            self.serving_toggled.emit(False)
        self.address.clear()
        self.copy_button.setEnabled(False)
        self.warning.hide()
        self._set_editable(True)
        self._set_switch(False)

    def shutdown(self) -> None:
        self.stop()

    # ------------------------------------------------------------ internals
    def _check(self) -> tuple[str, str | None]:
        if self.bridge.server_settings is not None:
            return "The Local API serves the local worker's model: choose Local worker first.", None
        host = self.host.text().strip()
        if not host:
            return "Give the address to listen on (127.0.0.1 keeps it on this machine).", None
        env = self.key_env.text().strip()
        if is_loopback(host) and not env:
            return "", None
        if not env:
            return (
                f"Listening on {host} makes the model reachable from the network: name an "
                "environment variable that holds the API key clients must send.",
                None,
            )
        key = os.environ.get(env, "")
        if not key:
            return f"The environment variable {env} is not set (or empty): set it to the key.", None
        return "", key

    def _refuse(self, text: str) -> bool:
        self.notice.setText(text)
        self.notice.show()
        self._set_switch(False)
        return False

    def _set_switch(self, on: bool) -> None:
        self.switch.blockSignals(True)
        self.switch.setChecked(on)
        self.switch.blockSignals(False)

    def _set_editable(self, editable: bool) -> None:
        for widget in (self.host, self.port, self.key_env):
            widget.setEnabled(editable)

    def _show_served(self, state: ServingState) -> None:
        self.served.setText(f"Requests served: {state.served_api:,}")

    @staticmethod
    def _set_ready(api: LocalApi, ready: p.Ready | None) -> None:
        api.model.ready = ready if ready is not None and ready.quantisation != "server" else None

    def _on_switch_toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.address.text())

    def _on_serving_changed(self, state: ServingState | None) -> None:
        if state is not None and self.api is not None:
            self._show_served(state)

    def _on_model_ready(self, ready: p.Ready) -> None:
        if self.api is not None:
            self._set_ready(self.api, ready)

    def _on_model_gone(self, *args: object) -> None:
        if self.api is not None:
            self.api.model.ready = None
            self.api.model.unavailable = "The window is loading the model; try again soon."
