"""The main window: transcript, composer, settings, status bar, and the chat flow.

Layout: a horizontal splitter with the chat (transcript over composer) and the settings
panel; `add_sidebar` puts a conversation list in front of the chat. The window keeps
the conversation as plain data (`Conversation`) and talks to the model only through
the `WorkerBridge`.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QMainWindow,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.ui.bridge.bridge import WorkerBridge
from app.ui.capture.screen_capture import ScreenCapture
from app.ui.composer.composer import Composer
from app.ui.composer.composer_input import local_files
from app.ui.engine.engine_dialog import EngineDialog
from app.ui.engine.status_bar import ModelStatusBar
from app.ui.help.help_menu import HelpMenu
from app.ui.markdown.render_warmup import RenderWarmUp
from app.ui.settings.settings_panel import SettingsPanel
from app.ui.settings.settings_store import SettingsStore
from app.ui.settings.theme_controller import ThemeController
from app.ui.tools.saved_turns import saved_turn_blocks
from app.ui.tools.tools_dialog import ToolsDialog
from app.ui.tools.window_tools import WindowTools
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.conversation import Conversation, Message, Role, Status, answer_figures
from app.ui.transcript.error_block import ErrorBlock
from app.ui.transcript.transcript_view import COLUMN_MAX_WIDTH, TranscriptView
from app.ui.transcript.user_message_view import UserMessageView
from app.workers import protocol as p

log = logging.getLogger(__name__)

WARM_UP_DELAY_MS = 150


class MainWindow(QMainWindow):
    """The Maverick Desk window."""

    conversation_changed = Signal(object)  # Conversation, after a message is complete
    answer_ended = Signal(str)  # status of the answer that just ended (complete/stopped/failed)
    messages_changed = Signal()  # a message was added or dropped, or another chat was shown
    version_requested = Signal(str, int)  # message id, -1 / +1: show another version
    branch_requested = Signal(str)  # message id: copy the path up to it into a new chat

    def __init__(self, bridge: WorkerBridge, store: SettingsStore | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.conversation = Conversation()
        self.first_shown = 0
        self._current_rid: str | None = None
        self._current_view: AssistantMessageView | None = None  # None: on a hidden branch
        self._current_message: Message | None = None  # the answer streaming, shown or not
        self._editing: Message | None = None  # the question Edit took into the composer
        # Set by the conversations room when a store keeps the versions Regenerate and
        # Edit make; without one, a new version simply replaces the old.
        self.keeps_versions = False
        self._views: dict[str, QWidget] = {}
        self.tools: WindowTools | None = None  # set by `use_tools`: answers may call tools
        self.setWindowTitle("Maverick Desk")
        self.setAccessibleName("Maverick Desk")
        self.resize(1120, 780)
        self.setAcceptDrops(True)

        self.transcript = TranscriptView(self)
        self.composer = Composer(self)
        self.composer.send_requested.connect(self._on_send_requested)
        self.composer.stop_requested.connect(self.stop)
        self.settings_store = store or SettingsStore()
        self.engine_dialog: EngineDialog | None = None  # made when first opened
        self.tools_dialog: ToolsDialog | None = None  # made when first opened
        self.settings_panel = SettingsPanel(self.settings_store, self)
        self.settings_panel.changed.connect(self._update_image_budget)
        self.settings_panel.hide()

        chat = QWidget(self)
        chat.setObjectName("centralArea")
        chat_layout = QVBoxLayout(chat)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.setSpacing(0)
        chat_layout.addWidget(self.transcript, 1)
        composer_row = QHBoxLayout()
        composer_row.setContentsMargins(24, 10, 24, 14)
        composer_row.addStretch(1)
        self.composer.setMaximumWidth(COLUMN_MAX_WIDTH)
        composer_row.addWidget(self.composer, 100)
        composer_row.addStretch(1)
        chat_layout.addLayout(composer_row)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(1)
        self.splitter.addWidget(chat)
        self.splitter.addWidget(self.settings_panel)
        self.splitter.setStretchFactor(0, 1)
        self.setCentralWidget(self.splitter)

        self.status = ModelStatusBar(self)
        self.setStatusBar(self.status)
        self._build_actions()
        self.help_menu = HelpMenu(bridge, self)
        self.menuBar().addMenu(self.help_menu)
        look = self.settings_panel.appearance
        self.theme = ThemeController(self, look.theme_mode, look.font_size.value())
        self.theme.apply_theme()
        look.theme_changed.connect(self.theme.set_mode)
        look.font_size_changed.connect(self.theme.set_font_size)

        bridge.model_loading.connect(self._on_model_loading)
        bridge.model_ready.connect(self._on_model_ready)
        bridge.model_failed.connect(self._on_model_failed)
        bridge.token_received.connect(self._on_token_received)
        bridge.generation_finished.connect(self._on_generation_finished)
        bridge.generation_failed.connect(self._on_generation_failed)
        bridge.generation_cancelled.connect(self._on_generation_cancelled)
        bridge.worker_died.connect(self._on_worker_died)
        bridge.serving_changed.connect(self.status.show_serving)
        self.status.cancel_load_requested.connect(bridge.cancel_load)
        self.composer.set_model_folder(bridge.model_path)
        self._update_image_budget()
        self.composer.input.setFocus()
        # After the first paint, while the model loads.
        self.warm_up = RenderWarmUp(self)
        QTimer.singleShot(WARM_UP_DELAY_MS, self.warm_up.start)

    # ------------------------------------------------------------ layout hooks
    def add_sidebar(self, widget: QWidget) -> None:
        """Put a panel (e.g. the saved conversations) to the left of the chat."""
        self.splitter.insertWidget(0, widget)
        self.splitter.setStretchFactor(0, 0)

    def use_tools(self, tools: WindowTools) -> None:
        """Answer through the tool loop while `tools` has servers enabled."""
        self.tools = tools
        tools.token_received.connect(self._on_token_received)
        tools.generation_finished.connect(self._on_generation_finished)
        tools.generation_failed.connect(self._on_generation_failed)
        tools.generation_cancelled.connect(self._on_generation_cancelled)
        tools.tools_offered.connect(self.composer.set_tools)  # the meter counts them
        self.composer.set_tools(tools.offered())

    def _cancel(self, request_id: str) -> None:
        if self.tools is not None and self.tools.owns(request_id):
            self.tools.cancel(request_id)
        else:
            self.bridge.cancel(request_id)

    # ------------------------------------------------------------ actions
    def _build_actions(self) -> None:
        toolbar = QToolBar("Main", self)
        toolbar.setMovable(False)
        toolbar.setFloatable(False)
        toolbar.setAccessibleName("Main toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

        self.new_chat_action = self._action("New chat", "Ctrl+N", self.new_chat)
        self.attach_action = self._action(
            "Attach images or PDFs", "Ctrl+O", self.composer.open_file_dialog
        )
        self.stop_action = self._action("Stop", "Esc", self.stop)
        self.focus_action = self._action("Focus the message box", "Ctrl+L", self.focus_composer)
        self.settings_action = self._action("Settings", "Ctrl+,", self._on_settings_toggled)
        self.settings_action.setCheckable(True)
        self.engine_action = self._action("Model and engine…", "Ctrl+M", self.open_engine_dialog)
        self.tools_action = self._action("Tools…", "Ctrl+T", self.open_tools_dialog)
        self.capture = ScreenCapture(self)  # the region comes back as a chip, like a paste
        self.capture.captured.connect(lambda image: self.composer.add_image(image, "captured"))
        self.capture.failed.connect(self.composer.show_notice)
        self.capture_action = self._action("Capture", "Ctrl+Shift+S", self.capture.start)
        toolbar.addAction(self.new_chat_action)
        toolbar.addAction(self.capture_action)
        spacer = QWidget(toolbar)
        spacer.setSizePolicy(
            spacer.sizePolicy().Policy.Expanding, spacer.sizePolicy().Policy.Preferred
        )
        toolbar.addWidget(spacer)
        toolbar.addAction(self.engine_action)
        toolbar.addAction(self.tools_action)
        toolbar.addAction(self.settings_action)
        for action in (self.attach_action, self.stop_action, self.focus_action):
            self.addAction(action)

    def _action(self, text: str, shortcut: str, slot: object) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{text} ({QKeySequence(shortcut).toString()})")
        action.triggered.connect(slot)
        return action

    def new_chat(self) -> None:
        if self._current_rid is not None:
            self._cancel(self._current_rid)
            self._end_answer(Status.STOPPED)
        self.conversation = Conversation()
        self._clear_views()
        self.composer.clear()
        self._update_image_budget()
        self.focus_composer()
        self.messages_changed.emit()

    def _clear_views(self) -> None:
        self.first_shown = 0  # index of the first message with a view
        self._views.clear()
        self._current_view = None
        self._editing = None
        self.transcript.clear()

    def open_conversation(
        self, conversation: Conversation, first_shown: int = 0, keep_answer: bool = False
    ) -> dict[str, QWidget]:
        """Show a saved conversation from message `first_shown` on; returns the views made.

        Long conversations open with only their end built (views are costly);
        `show_earlier` adds the messages before it. `keep_answer`: another version of
        the same conversation is shown; an answer being written goes on (shown again if
        `conversation` holds its message) and the composer keeps its draft.
        """
        if keep_answer:
            self._clear_views()
        else:
            self.new_chat()
        self.conversation = conversation
        self.first_shown = first_shown
        for message in conversation.messages[first_shown:]:
            view = self._message_view(message)
            self.transcript.add(view)
            if message is self._current_message and isinstance(view, AssistantMessageView):
                self._current_view = view
        self._update_image_budget()
        self.messages_changed.emit()
        return dict(self._views)

    def show_earlier(self, count: int) -> list[QWidget]:
        """Build the views of up to `count` messages before the first one shown, at the top."""
        start = max(0, self.first_shown - count)
        views = []
        for message in self.conversation.messages[start : self.first_shown]:
            views.append(self._message_view(message))
            if message is self._current_message and isinstance(views[-1], AssistantMessageView):
                self._current_view = views[-1]
        for index, view in enumerate(views):
            self.transcript.insert(index, view)
        self.first_shown = start
        return views

    def stop(self) -> None:
        if self._current_rid is not None:
            self._cancel(self._current_rid)

    def focus_composer(self) -> None:
        self.composer.input.setFocus()

    def open_engine_dialog(self) -> EngineDialog:
        """Show Model and engine: the model picker, the server engine, the managed server."""
        if self.engine_dialog is None:
            self.engine_dialog = EngineDialog(self.bridge, self.settings_store, self)
        self.engine_dialog.show()
        self.engine_dialog.raise_()
        self.engine_dialog.activateWindow()
        return self.engine_dialog

    def open_tools_dialog(self) -> ToolsDialog:
        """Show Tools: the MCP servers of mcp.json, their tools, policies, the JSON."""
        if self.tools_dialog is None:
            # With the window's tools it shows their host: each server runs once.
            tools = self.tools
            self.tools_dialog = (
                ToolsDialog(tools.config_path, parent=self, tools=tools)
                if tools is not None
                else ToolsDialog(parent=self)
            )
            self.tools_dialog.tools_changed.connect(self._on_tools_changed)
            self.tools_dialog.finished.connect(self._on_tools_dialog_finished)
        self.tools_dialog.show()
        self.tools_dialog.raise_()
        self.tools_dialog.activateWindow()
        return self.tools_dialog

    def _on_tools_changed(self) -> None:
        if self.tools is not None:  # answers use the new choices (after a running one);
            self.tools.reload()  # its `tools_offered` gives the meter the definitions
        elif self.tools_dialog is not None:
            self.composer.set_tools(self.tools_dialog.catalog().definitions())

    def _on_tools_dialog_finished(self, _result: int = 0) -> None:
        # With the window's tools the dialog shares their host (closing it stops nothing);
        # alone it runs the servers on a host of its own, which closing it stops.
        dialog, self.tools_dialog = self.tools_dialog, None
        if dialog is not None:
            dialog.shutdown()
            dialog.deleteLater()

    def _on_settings_toggled(self, checked: bool = False) -> None:
        visible = not self.settings_panel.isVisible()
        self.settings_panel.setVisible(visible)
        self.settings_action.setChecked(visible)
        if visible:
            self.settings_panel.system_prompt.setFocus()

    # ------------------------------------------------------------ sending
    @property
    def generating(self) -> bool:
        return self._current_rid is not None

    def send(self, text: str, images: list[str] | None = None) -> bool:
        """Send a message as if typed; False (with a notice) if it cannot go now."""
        images = images or []
        limit = self._image_limit()
        if self.generating:
            return False
        total = self.conversation.image_count() + len(images)
        if total > limit:
            self.composer.show_notice(
                f"This request would carry {total} images; the limit is {limit}. Remove some, "
                "start a new chat (Ctrl+N) or raise the limit in Settings."
            )
            return False
        edited, self._editing = self._editing, None
        if edited is not None and self.keeps_versions:
            message = self.conversation.add(edited.next_version(text, images))
        else:
            message = self.conversation.add(Message(Role.USER, text, list(images)))
        self.transcript.add(self._user_view(message))
        self.composer.clear()
        self._start_answer()
        return True

    def _on_send_requested(self, text: str, images: list[str]) -> None:
        self.send(text, images)

    def _start_answer(self, replaced: Message | None = None) -> None:
        """Answer the last question; `replaced`: the answer this one is a new version of."""
        settings = self.settings_panel.values()
        turns = self.conversation.turns(settings.system_prompt)
        if replaced is not None and self.keeps_versions:
            message = replaced.next_version("", status=Status.STREAMING)
        else:
            message = Message(Role.ASSISTANT, "", status=Status.STREAMING)
        self.conversation.add(message)
        view = self._assistant_view(message)
        self.transcript.add(view)
        self.transcript.scroll_to_bottom()
        self._current_view = view
        self._current_message = message
        sampling: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "seed": settings.seed,
        }
        if self.tools is not None and self.tools.active:
            images = sum(len(turn.images) for turn in turns)  # earlier tool images too
            budget = max(0, self._image_limit() - images)
            self._current_rid = self.tools.generate(view, turns, image_budget=budget, **sampling)
        else:
            self._current_rid = self.bridge.generate(turns, **sampling)
        self.composer.set_generating(True)
        self._update_image_budget()
        self.messages_changed.emit()

    def _message_view(self, message: Message) -> QWidget:
        if message.role is Role.USER:
            return self._user_view(message)
        return self._assistant_view(message)

    def _user_view(self, message: Message) -> UserMessageView:
        view = UserMessageView(message)
        view.edit_requested.connect(self._on_edit_requested)
        view.version_requested.connect(self.version_requested)
        view.branch_requested.connect(self.branch_requested)
        self._views[message.id] = view
        return view

    def _assistant_view(self, message: Message) -> AssistantMessageView:
        view = AssistantMessageView(message)
        if message.status is not Status.STREAMING:  # a kept answer: its tool calls again
            for block in saved_turn_blocks(message.tool_turns):
                view.add_block(block)
        view.regenerate_requested.connect(self._on_regenerate_requested)
        view.link_clicked.connect(self._on_link_clicked)
        view.version_requested.connect(self.version_requested)
        view.branch_requested.connect(self.branch_requested)
        self._views[message.id] = view
        return view

    def _end_answer(self, status: Status) -> Message | None:
        view, message = self._current_view, self._current_message
        self._current_rid = None
        self._current_view = None
        self._current_message = None
        self.composer.set_generating(False)
        if view is not None:
            view.set_status(status)
        elif message is not None:  # it streamed on a version no longer shown
            message.status = status
        if message is not None:
            self.conversation_changed.emit(self.conversation)
            self._update_image_budget()  # the answer now counts in the context meter
        self.answer_ended.emit(status.value)
        return message

    # ------------------------------------------------------------ bridge signals
    def _on_model_loading(self, stage: str, done: int, total: int) -> None:
        self.status.show_loading(stage, done, total)

    def _on_model_ready(self, ready: p.Ready) -> None:
        self.status.show_ready(ready)
        self.composer.set_context_limit(ready.context_length if self.bridge.server_settings else 0)
        self._update_image_budget()
        self.composer.set_model_folder(self.bridge.model_path)  # it may exist only now
        self.settings_panel.apply_model_defaults(ready.generation_defaults)
        for warning in ready.warnings:
            self.transcript.add(ErrorBlock(f"Warning: {warning}", retry=False))

    def _on_model_failed(self, text: str) -> None:
        on_server = self.bridge.server_settings is not None
        self.status.show_failed("Server not reachable" if on_server else "Model not loaded")
        if not self.generating:
            self._add_error(text, self._on_reload_requested)

    def _on_token_received(self, request_id: str, text: str) -> None:
        if request_id != self._current_rid:
            return
        if self._current_view is not None:
            self._current_view.append(text)
        elif self._current_message is not None:
            self._current_message.text += text

    def _on_generation_finished(self, done: p.Done) -> None:
        if done.request_id != self._current_rid:
            return
        ready = self.bridge.ready
        self.status.show_figures(done, ready.context_length if ready else 0)
        if self._current_message is not None:
            self._current_message.stats = answer_figures(done)
        self._end_answer(Status.COMPLETE)

    def _on_generation_cancelled(self, request_id: str, generated: int) -> None:
        if request_id == self._current_rid:
            self._end_answer(Status.STOPPED)

    def _on_generation_failed(self, request_id: str, text: str) -> None:
        if request_id != self._current_rid:
            return
        message = self._end_answer(Status.ERROR)
        if message is not None and not message.text and message in self.conversation.messages:
            self._drop_message(message.id)
        self._add_error(text, self._on_retry_requested)

    def _on_worker_died(self, exit_code: object, text: str) -> None:
        self.status.show_stopped_worker()
        if not self.generating:
            self._add_error(text, self._on_reload_requested)

    # ------------------------------------------------------------ message actions
    def _on_retry_requested(self) -> None:
        if self.generating:
            return
        last = self.conversation.messages[-1] if self.conversation.messages else None
        replaced = last if last is not None and last.role is Role.ASSISTANT else None
        if replaced is not None:
            self._drop_message(replaced.id)
        self._clear_errors()
        if self.conversation.messages and self.conversation.messages[-1].role is Role.USER:
            self._start_answer(replaced)

    def _on_reload_requested(self) -> None:
        self._clear_errors()
        self.bridge.start(self.settings_panel.values().image_limit)

    def _on_regenerate_requested(self, message_id: str) -> None:
        if self.generating:
            return
        replaced = self.conversation.messages[self.conversation.index_of(message_id)]
        self._drop_message(message_id)
        self._clear_errors()
        self._start_answer(replaced)

    def _on_edit_requested(self, message_id: str) -> None:
        if self.generating:
            return
        message = self.conversation.messages[self.conversation.index_of(message_id)]
        self._drop_message(message_id)
        self._editing = message  # sent again, it becomes the question's newest version
        self._clear_errors()
        self._update_image_budget()
        self.composer.load(message.text, message.images)

    def _on_link_clicked(self, url: QUrl) -> None:
        QDesktopServices.openUrl(url)

    # ------------------------------------------------------------ helpers
    def _drop_message(self, message_id: str) -> None:
        """Remove a message and everything after it, from the data and the transcript."""
        index = self.conversation.index_of(message_id)
        for message in self.conversation.truncate(index):
            view = self._views.pop(message.id, None)
            if view is not None and message.id == message_id:
                self.transcript.remove_from(view)
        self._update_image_budget()
        self.messages_changed.emit()

    def _add_error(self, text: str, on_retry: object) -> ErrorBlock:
        block = ErrorBlock(text)
        block.retry_requested.connect(on_retry)
        self.transcript.add(block)
        self.transcript.scroll_to_bottom()
        return block

    def _clear_errors(self) -> None:
        for widget in self.transcript.items():
            if isinstance(widget, ErrorBlock):
                self.transcript.remove(widget)

    def _image_limit(self) -> int:
        """The Settings limit, or less where the server in use takes fewer images."""
        limit = self.settings_panel.values().image_limit
        server = self.bridge.server_settings
        return min(limit, server.max_images) if server and server.max_images else limit

    def _update_image_budget(self) -> None:
        limit = self._image_limit()
        self.composer.set_image_budget(limit - self.conversation.image_count(), limit)
        settings = self.settings_panel.values()
        self.composer.set_history(
            self.conversation.turns(settings.system_prompt), settings.max_new_tokens
        )

    def error_blocks(self) -> list[ErrorBlock]:
        return [w for w in self.transcript.items() if isinstance(w, ErrorBlock)]

    def assistant_views(self) -> list[AssistantMessageView]:
        return [w for w in self.transcript.items() if isinstance(w, AssistantMessageView)]

    # ------------------------------------------------------------ drops and closing
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        mime = event.mimeData()
        if local_files(mime) or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        mime = event.mimeData()
        files = local_files(mime)
        if files:
            self.composer.add_files(files)
        elif mime.hasImage() and isinstance(mime.imageData(), QImage):
            self.composer.add_image(mime.imageData())
        else:
            return
        event.acceptProposedAction()
        self.focus_composer()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.composer.shutdown()
        if self.engine_dialog is not None:
            self.engine_dialog.shutdown()  # a managed server stops with the window
            self.engine_dialog.close()
        if self.tools_dialog is not None:
            self.tools_dialog.shutdown()  # the tool servers stop with the window
            self.tools_dialog.close()
        self.warm_up.code.join()
        if self.tools is not None:
            self.tools.close()  # its servers stop with the window
        self.bridge.shutdown()
        super().closeEvent(event)
