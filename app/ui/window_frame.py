"""The window's frame, built once: the chat column beside the settings, and the toolbar."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.chat.documents import DocumentShelf
from app.chat.session import ChatSession
from app.ui.bridge.bridge import WorkerBridge
from app.ui.capture.screen_capture import ScreenCapture
from app.ui.composer.composer import Composer
from app.ui.sources.sources_strip import SourcesStrip
from app.ui.transcript.transcript_view import COLUMN_MAX_WIDTH


def chat_splitter(
    window: QMainWindow, transcript: QWidget, composer: QWidget, settings: QWidget
) -> QSplitter:
    """The transcript over the composer (one centred column), the settings to the right."""
    chat = QWidget(window)
    chat.setObjectName("centralArea")
    chat_layout = QVBoxLayout(chat)
    chat_layout.setContentsMargins(0, 0, 0, 0)
    chat_layout.setSpacing(0)
    chat_layout.addWidget(transcript, 1)
    composer_row = QHBoxLayout()
    composer_row.setContentsMargins(24, 10, 24, 14)
    composer_row.addStretch(1)
    composer.setMaximumWidth(COLUMN_MAX_WIDTH)
    composer_row.addWidget(composer, 100)
    composer_row.addStretch(1)
    chat_layout.addLayout(composer_row)

    splitter = QSplitter(Qt.Orientation.Horizontal, window)
    splitter.setChildrenCollapsible(False)
    splitter.setHandleWidth(1)
    splitter.addWidget(chat)
    splitter.addWidget(settings)
    splitter.setStretchFactor(0, 1)
    window.setCentralWidget(splitter)
    return splitter


def action(window: QMainWindow, text: str, shortcut: str, slot: Callable[[], object]) -> QAction:
    """A window-wide action with its shortcut in the tooltip."""
    made = QAction(text, window)
    made.setShortcut(QKeySequence(shortcut))
    made.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    made.setToolTip(f"{text} ({QKeySequence(shortcut).toString()})")
    made.triggered.connect(slot)
    return made


def toolbar(window: QMainWindow, left: list[QAction], right: list[QAction]) -> QToolBar:
    """The main toolbar: `left` actions, a stretch, then `right` ones."""
    bar = QToolBar("Main", window)
    bar.setMovable(False)
    bar.setFloatable(False)
    bar.setAccessibleName("Main toolbar")
    bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
    bar.addActions(left)
    spacer = QWidget(bar)
    spacer.setSizePolicy(spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Preferred)
    bar.addWidget(spacer)
    bar.addActions(right)
    return bar


def capture_action(window: QMainWindow, composer: Composer) -> tuple[ScreenCapture, QAction]:
    """Capture (Ctrl+Shift+S): the region comes back to `composer` as a chip, like a paste."""
    capture = ScreenCapture(window)
    capture.captured.connect(lambda image: composer.add_image(image, "captured"))
    capture.failed.connect(composer.show_notice)
    return capture, action(window, "Capture", "Ctrl+Shift+S", capture.start)


def sources_column(
    window: QMainWindow, composer: Composer
) -> tuple[QWidget, SourcesStrip, QAction]:
    """The Sources strip over the message box, and Attach document… (Ctrl+Shift+D)."""
    column = QWidget(window)
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    strip = SourcesStrip(DocumentShelf(), column)
    strip.attach_failed.connect(composer.show_notice)
    layout.addWidget(strip)
    layout.addWidget(composer)

    def choose() -> None:
        path, _ = QFileDialog.getOpenFileName(
            window, "Attach a document", "", "Documents (*.pdf *.txt *.md *.markdown)"
        )
        if path:
            strip.attach(path)

    return column, strip, action(window, "Attach document…", "Ctrl+Shift+D", choose)


def sources_follow(
    strip: SourcesStrip,
    session: ChatSession,
    engine: WorkerBridge,
    answer_tokens: Callable[[], int],
) -> None:
    """The strip's documents become the session's, read between its answers."""
    session.documents = strip.shelf  # shown in the Sources strip
    strip.shelf.answer_tokens = answer_tokens
    session.observers.append(strip.watch)
    strip.engine = engine
    strip.busy = lambda: session.generating
