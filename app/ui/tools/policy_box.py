"""A choice of approval policy: ask, always, never (and, for a tool, "as its server")."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

from app.tools.tool_settings import POLICIES

LABELS = {
    "ask": "Ask before each call",
    "always": "Always run (no asking)",
    "never": "Never run (not offered to the model)",
}
AS_SERVER = ""  # a tool without a policy of its own follows its server's


class PolicyBox(QComboBox):
    """The policies as a drop-down; `policy_chosen` carries the stored string."""

    policy_chosen = Signal(str)

    def __init__(self, with_server_choice: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._with_server_choice = with_server_choice
        if with_server_choice:
            self.addItem("As its server", AS_SERVER)
        for policy in POLICIES:
            self.addItem(LABELS[policy], policy)
        self.activated.connect(self._on_activated)

    def set_server_policy(self, policy: str) -> None:
        """Name the server's policy in the "as its server" entry."""
        if self._with_server_choice:
            self.setItemText(0, f"As its server ({policy})")

    def show_policy(self, policy: str) -> None:
        """Select `policy` without telling anyone (it is what is stored already)."""
        index = self.findData(policy)
        self.blockSignals(True)
        self.setCurrentIndex(max(index, 0))
        self.blockSignals(False)

    def policy(self) -> str:
        return str(self.currentData())

    def _on_activated(self, index: int) -> None:
        self.policy_chosen.emit(str(self.itemData(index)))
