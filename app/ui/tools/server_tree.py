"""The servers of mcp.json and, under each running one, its tools (checked: offered)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem, QWidget

from app.ui.tools.server_panel import status_sentence

if TYPE_CHECKING:
    from app.tools.config import ServerConfig
    from app.tools.server_runner import ServerState
    from app.tools.tool_settings import ToolSettings

ROLE = Qt.ItemDataRole.UserRole  # (server, tool) on every row; tool is "" on a server's row


class ServerTree(QTreeWidget):
    """Servers as top rows, their listed tools below; a tool's check box turns it on or off."""

    server_selected = Signal(str)
    tool_selected = Signal(str, str)
    tool_toggled = Signal(str, str, bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Tool servers")
        self.setColumnCount(2)
        self.setHeaderLabels(["Server / tool", "State"])
        self.setColumnWidth(0, 200)
        self._rows: dict[str, QTreeWidgetItem] = {}
        self._listed: dict[str, tuple[str, ...]] = {}  # the tools each row shows
        self.currentItemChanged.connect(self._on_current_item_changed)
        self.itemChanged.connect(self._on_item_changed)

    def show_servers(
        self,
        servers: list[ServerConfig],
        settings: ToolSettings,
        states: dict[str, ServerState],
    ) -> None:
        """Show these servers; rows that stay keep their selection and open state."""
        self.blockSignals(True)
        names = [server.name for server in servers]
        for name in list(self._rows):
            if name not in names:
                self.takeTopLevelItem(self.indexOfTopLevelItem(self._rows.pop(name)))
                self._listed.pop(name, None)
        for position, server in enumerate(servers):
            row = self._rows.get(server.name)
            if row is None:
                row = QTreeWidgetItem([server.name, ""])
                row.setData(0, ROLE, (server.name, ""))
                self.insertTopLevelItem(position, row)
                self._rows[server.name] = row
            self._update_row(row, server, settings, states.get(server.name))
        self.blockSignals(False)

    def _update_row(
        self,
        row: QTreeWidgetItem,
        server: ServerConfig,
        settings: ToolSettings,
        state: ServerState | None,
    ) -> None:
        enabled = settings.is_enabled(server)
        row.setText(1, status_sentence(enabled, state))
        row.setToolTip(1, row.text(1))  # the whole sentence where the column cuts it
        row.setToolTip(0, server.describe())
        row.setToolTip(1, (state.error if state is not None else None) or "")
        tools = state.tools if enabled and state is not None and state.status == "ready" else []
        names = tuple(tool.name for tool in tools)
        if names != self._listed.get(server.name):
            self._listed[server.name] = names
            row.takeChildren()
            for tool in tools:
                child = QTreeWidgetItem([tool.name, ""])
                child.setData(0, ROLE, (server.name, tool.name))
                child.setToolTip(0, tool.description)
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                row.addChild(child)
            row.setExpanded(bool(tools))
        for child in self._children(row):
            tool_name = child.text(0)
            on = settings.is_tool_enabled(server.name, tool_name)
            child.setCheckState(0, Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            child.setText(1, settings.policy_for(server.name, tool_name) if on else "off")

    def tool_row(self, server: str, tool: str) -> QTreeWidgetItem | None:
        row = self._rows.get(server)
        if row is None:
            return None
        return next((child for child in self._children(row) if child.text(0) == tool), None)

    @staticmethod
    def _children(row: QTreeWidgetItem) -> list[QTreeWidgetItem]:
        children = (row.child(index) for index in range(row.childCount()))
        return [child for child in children if child is not None]

    def server_row(self, server: str) -> QTreeWidgetItem | None:
        return self._rows.get(server)

    def _on_current_item_changed(
        self, current: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None
    ) -> None:
        if current is None:
            return
        server, tool = current.data(0, ROLE)
        if tool:
            self.tool_selected.emit(server, tool)
        else:
            self.server_selected.emit(server)

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        server, tool = item.data(0, ROLE)
        if tool and column == 0:
            on = item.checkState(0) == Qt.CheckState.Checked
            self.tool_toggled.emit(server, tool, on)
