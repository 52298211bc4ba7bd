"""`‹ 2 / 3 ›` under a message that has other versions (Regenerate and Edit make them)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from app.ui.transcript.conversation import Message


class VersionSwitcher(QWidget):
    """Previous / next version buttons around "2 / 3"; Alt+Left / Alt+Right in `owner`.

    Hidden while the message has no other versions. It only asks (`step_requested`);
    the conversations room switches the version shown and rebuilds the transcript.
    """

    step_requested = Signal(int)  # -1: the older version, +1: the newer one

    def __init__(self, message: Message, owner: QWidget) -> None:
        super().__init__(owner)  # never a window of its own, even before it is laid out
        self.message = message
        self.previous_button = self._button("‹", "Show the previous version", -1)
        self.next_button = self._button("›", "Show the next version", +1)
        self.label = QLabel()
        self.label.setObjectName("versionLabel")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.label)
        layout.addWidget(self.next_button)
        # When the message (or anything in it) has focus, so each message has its own pair.
        for key, step in (("Alt+Left", -1), ("Alt+Right", +1)):
            shortcut = QShortcut(QKeySequence(key), owner)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda step=step: self._step(step))
        self.refresh()

    def refresh(self) -> None:
        """Show the message's version label, or hide when it has only one version."""
        message = self.message
        self.label.setText(f" {message.version} / {message.version_count} ")
        self.setAccessibleName(f"Version {message.version} of {message.version_count}")
        self.previous_button.setEnabled(message.version > 1)
        self.next_button.setEnabled(message.version < message.version_count)
        self.setVisible(message.version_count > 1)

    def _button(self, text: str, accessible: str, step: int) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName("messageAction")
        button.setText(text)
        button.setAccessibleName(accessible)
        button.setToolTip(f"{accessible} ({'Alt+Left' if step < 0 else 'Alt+Right'})")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(lambda: self._step(step))
        return button

    def _step(self, step: int) -> None:
        target = self.message.version + step
        if self.message.version_count > 1 and 1 <= target <= self.message.version_count:
            self.step_requested.emit(step)
