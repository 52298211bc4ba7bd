"""One server: what it runs (seen before it is enabled), its state, why it failed, its log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QPlainTextEdit, QWidget

from app.ui.tools.policy_box import PolicyBox

if TYPE_CHECKING:
    from app.tools.config import ServerConfig
    from app.tools.server_runner import ServerState
    from app.tools.tool_settings import ToolSettings

LOG_LINES = 40


def status_sentence(enabled: bool, state: ServerState | None) -> str:
    """The server's state in a few words, for the panel and the server list."""
    if not enabled:
        return "Not enabled: it does not run."
    if state is None or state.status == "stopped":
        return "Enabled, not running."
    if state.status == "starting":
        return "Starting…" if not state.restarts else f"Restarting (attempt {state.restarts + 1})…"
    if state.status == "ready":
        count = len(state.tools)
        return f"Running, {count} tool{'' if count == 1 else 's'}."
    return "Failed; the app keeps trying to start it again."


class ServerPanel(QWidget):
    """Shows a `ServerConfig`, the user's choices for it and its `ServerState`."""

    enabled_toggled = Signal(bool)
    policy_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Server details")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.title = QLabel(self)
        self.title.setObjectName("serverTitle")
        self.command = QLabel(self)
        self.command.setAccessibleName("Server command")
        self.command.setFont(mono)
        self.command.setWordWrap(True)
        self.command.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.enabled = QCheckBox("Enabled: the app runs the command above", self)
        self.enabled.setAccessibleName("Enable server")
        self.enabled.toggled.connect(self.enabled_toggled)
        self.policy = PolicyBox(with_server_choice=False, parent=self)
        self.policy.setAccessibleName("Server policy")
        self.policy.policy_chosen.connect(self.policy_chosen)
        self.status = QLabel(self)
        self.status.setAccessibleName("Server status")
        self.error = QLabel(self)
        self.error.setObjectName("serverError")
        self.error.setAccessibleName("Why the server failed")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setAccessibleName("Server log")
        self.log_view.setFont(mono)
        self.log_view.setPlaceholderText("Nothing logged yet.")
        layout = QFormLayout(self)
        layout.addRow(self.title)
        layout.addRow("Runs:", self.command)
        layout.addRow(self.enabled)
        layout.addRow("Approval:", self.policy)
        layout.addRow("State:", self.status)
        layout.addRow(self.error)
        layout.addRow(QLabel("Log (the newest lines):", self))
        layout.addRow(self.log_view)

    def show_server(
        self, config: ServerConfig, settings: ToolSettings, state: ServerState | None
    ) -> None:
        enabled = settings.is_enabled(config)
        kind = "a local command (stdio)" if config.transport == "stdio" else "a URL (HTTP)"
        self.title.setText(f"{config.name}  —  {kind}")
        facts = [config.describe()]
        if config.cwd:
            facts.append(f"in {config.cwd}")
        if config.env:
            facts.append("with " + ", ".join(sorted(config.env)) + " set")
        self.command.setText("\n".join(facts))
        self.enabled.blockSignals(True)
        self.enabled.setChecked(enabled)
        self.enabled.blockSignals(False)
        entry = settings.servers.get(config.name)
        self.policy.show_policy(entry.policy if entry else "ask")
        self.show_state(enabled, state)

    def show_state(self, enabled: bool, state: ServerState | None) -> None:
        """Refresh what changes while it runs: the state, the error, the log's tail."""
        self.status.setText(status_sentence(enabled, state))
        error = state.error if enabled and state is not None and state.status != "ready" else None
        self.error.setText(error or "")
        self.error.setVisible(bool(error))
        lines = "\n".join(state.log_tail(LOG_LINES)) if state is not None else ""
        if lines != self.log_view.toPlainText():
            self.log_view.setPlainText(lines)
            bar = self.log_view.verticalScrollBar()
            bar.setValue(bar.maximum())
