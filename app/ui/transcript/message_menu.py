"""The right-click menu of a message: its text's own entries, then the branch entry.

The menu comes from each widget's `customContextMenuRequested` signal, not from an event
filter. A Python event filter on a message's text boxes was called with every event of a
widget being destroyed (ChildRemoved, Destroy) whenever the transcript dropped a message,
and PySide6 crashed converting the half-destroyed widget (a segmentation fault in the test
suite); a signal is only ever emitted by a live widget.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QTextEdit, QWidget

BRANCH_TEXT = "Branch into a new conversation"


class MessageMenu(QObject):
    """Adds the branch entry to right-clicks on a message view and on its text boxes."""

    def __init__(self, view: QWidget, on_branch: Callable[[], None]) -> None:
        super().__init__(view)
        self.branch_action = QAction(BRANCH_TEXT, view)
        self.branch_action.setToolTip("Copy the conversation up to this message into a new one")
        self.branch_action.triggered.connect(on_branch)
        self.watch([view])

    def watch(self, widgets: list[QWidget]) -> None:
        """Also catch right-clicks on these children (text boxes have menus of their own).

        A right-click on any other child (a label, a button) goes up to the view's menu.
        """
        for widget in widgets:
            if widget.contextMenuPolicy() is Qt.ContextMenuPolicy.CustomContextMenu:
                continue  # watched already
            widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            widget.customContextMenuRequested.connect(self._on_menu_requested)

    def build(self, widget: QWidget, pos: QPoint) -> QMenu:
        """The menu for a right-click at `pos` in `widget` (a text box keeps Copy, Select all).

        For a text box `pos` is in its viewport's coordinates, as Qt gives it.
        """
        if isinstance(widget, QTextEdit):
            # Its own menu wants the document's coordinates (a link under the pointer).
            scrolled = QPoint(
                widget.horizontalScrollBar().value(), widget.verticalScrollBar().value()
            )
            menu = widget.createStandardContextMenu(pos + scrolled)
            menu.addSeparator()
        else:
            menu = QMenu(widget)
        menu.addAction(self.branch_action)
        return menu

    def _on_menu_requested(self, pos: QPoint) -> None:
        widget = self.sender()
        if not isinstance(widget, QWidget):
            return
        # A text box's position is in its viewport (QAbstractScrollArea maps it there).
        origin = widget.viewport() if isinstance(widget, QTextEdit) else widget
        menu = self.build(widget, pos)
        menu.exec(origin.mapToGlobal(pos))
        menu.deleteLater()
