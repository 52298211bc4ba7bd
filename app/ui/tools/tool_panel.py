"""One tool of a server: its description, its input schema as JSON, on or off, its policy."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QPlainTextEdit, QWidget

from app.ui.tools.policy_box import AS_SERVER, PolicyBox

if TYPE_CHECKING:
    from app.tools.server_runner import ToolInfo
    from app.tools.tool_settings import ToolSettings


class ToolPanel(QWidget):
    """Shows a `ToolInfo` and the user's choices for it."""

    enabled_toggled = Signal(bool)
    policy_chosen = Signal(str)  # "" (AS_SERVER): follow the server's policy

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Tool details")
        self.title = QLabel(self)
        self.title.setObjectName("toolTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setAccessibleName("Tool description")
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.enabled = QCheckBox("Offer this tool to the model", self)
        self.enabled.toggled.connect(self.enabled_toggled)
        self.policy = PolicyBox(with_server_choice=True, parent=self)
        self.policy.setAccessibleName("Tool policy")
        self.policy.policy_chosen.connect(self.policy_chosen)
        self.schema = QPlainTextEdit(self)
        self.schema.setReadOnly(True)
        self.schema.setAccessibleName("Input schema")
        self.schema.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout = QFormLayout(self)
        layout.addRow(self.title)
        layout.addRow(self.description)
        layout.addRow(self.enabled)
        layout.addRow("Approval:", self.policy)
        layout.addRow(QLabel("Input schema (the arguments the model fills in):", self))
        layout.addRow(self.schema)

    def show_tool(self, tool: ToolInfo, settings: ToolSettings) -> None:
        self.title.setText(f"{tool.name}  —  on {tool.server}")
        self.description.setText(tool.description or "(The server gave no description.)")
        self.enabled.blockSignals(True)
        self.enabled.setChecked(settings.is_tool_enabled(tool.server, tool.name))
        self.enabled.blockSignals(False)
        entry = settings.servers.get(tool.server)
        server_policy = entry.policy if entry else "ask"
        own = entry.tool_policies.get(tool.name, AS_SERVER) if entry else AS_SERVER
        self.policy.set_server_policy(server_policy)
        self.policy.show_policy(own)
        self.schema.setPlainText(json.dumps(tool.input_schema, indent=2, ensure_ascii=False))
