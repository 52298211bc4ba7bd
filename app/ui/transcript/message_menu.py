"""The right-click menu of a message: its text's own entries, then the branch entry."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QMenu, QTextEdit, QWidget

BRANCH_TEXT = "Branch into a new conversation"


class MessageMenu(QObject):
    """Adds the branch entry to right-clicks on a message view and on its text boxes."""

    def __init__(self, view: QWidget, on_branch: Callable[[], None]) -> None:
        super().__init__(view)
        self.view = view
        self.branch_action = QAction(BRANCH_TEXT, view)
        self.branch_action.setToolTip("Copy the conversation up to this message into a new one")
        self.branch_action.triggered.connect(on_branch)
        self._watched: set[int] = set()
        view.installEventFilter(self)

    def watch(self, widgets: list[QWidget]) -> None:
        """Also catch right-clicks on these children (text boxes have menus of their own)."""
        for widget in widgets:
            # A text box gets its right-clicks on its viewport.
            target = widget.viewport() if isinstance(widget, QTextEdit) else widget
            if id(target) not in self._watched:
                self._watched.add(id(target))
                target.installEventFilter(self)

    def build(self, widget: QWidget, pos: QPoint) -> QMenu:
        """The menu for a right-click at `pos` in `widget` (a text box keeps Copy, Select all)."""
        if isinstance(widget, QTextEdit):
            menu = widget.createStandardContextMenu(pos)
            menu.addSeparator()
        else:
            menu = QMenu(widget)
        menu.addAction(self.branch_action)
        return menu

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.ContextMenu and isinstance(watched, QWidget):
            assert isinstance(event, QContextMenuEvent)
            parent = watched.parentWidget()
            widget = parent if isinstance(parent, QTextEdit) else watched
            menu = self.build(widget, event.pos())
            menu.exec(event.globalPos())
            menu.deleteLater()
            return True
        return False
