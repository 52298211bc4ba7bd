"""The main window: the frame around the chat; it wires the rooms together.

The chat (conversation, answer being written, versions) lives in a `ChatSession`
(app.chat) over the `WorkerBridge`; `ChatView` draws it; the window forwards the user's
actions to it. `add_sidebar` puts the saved conversations in front of the chat.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMainWindow, QWidget

from app.chat.conversation import Conversation, Message
from app.chat.session import AnswerStrategy, ChatSession, PlainAnswer
from app.chat.vocabulary import Request
from app.ui import window_frame as frame
from app.ui.bridge.bridge import WorkerBridge
from app.ui.chat_view import ChatView
from app.ui.composer.composer import Composer
from app.ui.composer.composer_input import attachable
from app.ui.engine.engine_dialog import EngineDialog
from app.ui.engine.status_bar import ModelStatusBar
from app.ui.help.help_menu import HelpMenu
from app.ui.markdown.render_warmup import RenderWarmUp
from app.ui.model_watch import ModelWatch
from app.ui.settings.settings_panel import SettingsPanel
from app.ui.settings.settings_store import SettingsStore
from app.ui.settings.theme_controller import ThemeController
from app.ui.tools.tools_dialog import ToolsDialog
from app.ui.tools.window_tools import WindowTools
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.error_block import ErrorBlock
from app.ui.transcript.transcript_view import TranscriptView
from app.ui.window_dialogs import WindowDialogs
from app.ui.window_frame import action, capture_action, chat_splitter, toolbar
from app.workers import protocol as p

WARM_UP_DELAY_MS = 150


class MainWindow(QMainWindow):
    """The Maverick Desk window."""

    answer_ended = Signal(str)  # status of the answer that just ended (complete/stopped/failed)
    messages_changed = Signal()  # a message was added or dropped, or another chat was shown
    version_requested = Signal(str, int)  # message id, -1 / +1: show another version
    branch_requested = Signal(str)  # message id: copy the path up to it into a new chat

    def __init__(self, bridge: WorkerBridge, store: SettingsStore | None = None) -> None:
        super().__init__()
        self.bridge = bridge
        self.tools: WindowTools | None = None  # set by `use_tools`: answers may call tools
        self.setWindowTitle("Maverick Desk")
        self.setAccessibleName("Maverick Desk")
        self.resize(1120, 780)
        self.setAcceptDrops(True)

        self.transcript = TranscriptView(self)
        self.composer = Composer(self)
        self.composer.send_requested.connect(self.send)
        self.composer.stop_requested.connect(self.stop)
        self.settings_store = store or SettingsStore()
        self.settings_panel = SettingsPanel(self.settings_store, self)
        self.settings_panel.changed.connect(self._update_image_budget)
        self.settings_panel.hide()

        column, self.sources, self.document_action = frame.sources_column(self, self.composer)
        self.splitter = chat_splitter(self, self.transcript, column, self.settings_panel)

        self.status = ModelStatusBar(self)
        self.setStatusBar(self.status)
        self.dialogs = WindowDialogs(self, bridge, self.settings_store, self.composer.set_tools)
        self._build_actions()
        self.help_menu = HelpMenu(bridge, self)
        self.menuBar().addMenu(self.help_menu)
        self.theme = ThemeController.following(self, self.settings_panel.appearance)

        self.session = ChatSession(
            bridge,
            sampling=lambda: self.settings_panel.values().sampling(),
            system_prompt=lambda: self.settings_panel.values().system_prompt,
        )
        self.session.choose_strategy = self._strategy_for
        self.session.server = lambda: bridge.server_settings  # fields: can it constrain?
        frame.sources_follow(
            self.sources, self.session, bridge, lambda: self.settings_panel.values().max_new_tokens
        )
        self.sources.documents_changed.connect(self._update_image_budget)
        self.chat_view = ChatView(self.session, self.transcript)
        self.chat_view.answer_ended.connect(self._on_answer_ended)
        self.chat_view.messages_changed.connect(self.messages_changed)
        self.chat_view.retry_requested.connect(self._on_retry_requested)
        self.chat_view.edit_requested.connect(self._on_edit_requested)
        self.chat_view.regenerate_requested.connect(self._on_regenerate_requested)
        self.chat_view.version_requested.connect(self.version_requested)
        self.chat_view.branch_requested.connect(self.branch_requested)
        self.chat_view.citation_clicked.connect(self.sources.open_page)
        self.sources.document_added.connect(self.chat_view.refresh_citations)

        self.model_watch = ModelWatch(
            bridge, self.status, self.composer, self.settings_panel, self.chat_view,
            self._update_image_budget,
        )  # fmt: skip
        self._follow(bridge)
        self.composer.set_model_folder(bridge.model_path)
        self._update_image_budget()
        self.composer.input.setFocus()
        # After the first paint, while the model loads.
        self.warm_up = RenderWarmUp(self)
        QTimer.singleShot(WARM_UP_DELAY_MS, self.warm_up.start)

    def _follow(self, engine: WorkerBridge) -> None:
        """Hand the engine's answer signals to the session (a tool loop's steps too)."""
        engine.token_received.connect(self.session.receive)
        engine.generation_finished.connect(self.session.finish)
        engine.generation_failed.connect(self.session.fail)
        engine.generation_cancelled.connect(self.session.cancelled)

    # ------------------------------------------------------------ layout hooks
    def add_sidebar(self, widget: QWidget) -> None:
        """Put a panel (e.g. the saved conversations) to the left of the chat."""
        self.splitter.insertWidget(0, widget)
        self.splitter.setStretchFactor(0, 0)

    def use_tools(self, tools: WindowTools) -> None:
        """Answer through the tool loop while `tools` has servers enabled."""
        self.tools = self.dialogs.tools = tools
        tools.tools_offered.connect(self.composer.set_tools)  # the meter counts them
        self.composer.set_tools(tools.offered())

    def _strategy_for(self, request: Request) -> AnswerStrategy:
        answer = self.session.answer
        view = self.chat_view.answer_view(answer) if answer is not None else None
        if self.tools is not None and self.tools.active and view is not None:
            return self.tools.answer_for(view, self.session.handle, self._image_limit())
        return PlainAnswer(self.bridge)

    def _build_actions(self) -> None:
        self.new_chat_action = action(self, "New chat", "Ctrl+N", self.new_chat)
        self.attach_action = action(
            self, "Attach images or PDFs", "Ctrl+O", self.composer.open_file_dialog
        )
        self.stop_action = action(self, "Stop", "Esc", self.stop)
        self.focus_action = action(self, "Focus the message box", "Ctrl+L", self.focus_composer)
        self.settings_action = action(self, "Settings", "Ctrl+,", self._on_settings_toggled)
        self.settings_action.setCheckable(True)
        self.engine_action = action(self, "Model and engine…", "Ctrl+M", self.open_engine_dialog)
        self.tools_action = action(self, "Tools…", "Ctrl+T", self.open_tools_dialog)
        self.capture, self.capture_action = capture_action(self, self.composer)
        self.batch_action = action(self, "Batch…", "Ctrl+B", self.dialogs.open_batch_window)
        right = [self.engine_action, self.tools_action, self.batch_action, self.settings_action]
        toolbar(self, [self.new_chat_action, self.capture_action, self.document_action], right)
        self.addActions([self.attach_action, self.stop_action, self.focus_action])

    # ------------------------------------------------------------ the chat
    @property
    def conversation(self) -> Conversation:
        return self.session.conversation

    @property
    def generating(self) -> bool:
        return self.session.generating

    def new_chat(self) -> None:
        self.chat_view.first_shown = 0
        self.session.new_chat()
        self.composer.clear()
        self._update_image_budget()
        self.focus_composer()

    def open_conversation(
        self, conversation: Conversation, first_shown: int = 0, keep_answer: bool = False
    ) -> dict[str, QWidget]:
        """Show a conversation from `first_shown` on; `keep_answer`: another version of it."""
        if not keep_answer:
            self.composer.clear()
            self.focus_composer()
        self.chat_view.first_shown = first_shown
        self.session.open(conversation, keep_answer)
        self._update_image_budget()
        return dict(self.chat_view.views)

    def show_earlier(self, count: int) -> list[QWidget]:
        """Build the views of up to `count` messages before the first one shown, at the top."""
        return self.chat_view.show_earlier(count)

    def stop(self) -> None:
        self.session.stop()

    def focus_composer(self) -> None:
        self.composer.input.setFocus()

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
        self.composer.clear()
        self.session.send(text, images, self.composer.fields.take())
        self._answer_started()
        return True

    def _answer_started(self) -> None:
        self.composer.set_generating(self.generating)
        self._update_image_budget()

    def _on_answer_ended(self, message: Message, event: p.Message | None) -> None:
        if isinstance(event, p.Done):
            ready = self.bridge.ready
            self.status.show_figures(event, ready.context_length if ready else 0)
        self.composer.set_generating(False)
        self._update_image_budget()  # the answer now counts in the context meter
        self.answer_ended.emit(message.status.value)

    # ------------------------------------------------------------ message actions
    def _on_retry_requested(self) -> None:
        if not self.generating:
            self.chat_view.clear_errors()
            self.session.retry()
            self._answer_started()

    def _on_regenerate_requested(self, message_id: str) -> None:
        if not self.generating:
            self.chat_view.clear_errors()
            self.session.regenerate(message_id)
            self._answer_started()

    def _on_edit_requested(self, message_id: str) -> None:
        message = self.session.edit(message_id)
        if message is not None:
            self.chat_view.clear_errors()
            self._update_image_budget()
            self.composer.load(message.text, message.images)

    # ------------------------------------------------------------ helpers
    def _image_limit(self) -> int:
        """The Settings limit, or less where the server in use takes fewer images."""
        limit = self.settings_panel.values().image_limit
        server = self.bridge.server_settings
        return min(limit, server.max_images) if server and server.max_images else limit

    def _update_image_budget(self) -> None:
        limit = self._image_limit()
        self.composer.set_image_budget(limit - self.conversation.image_count(), limit)
        settings = self.settings_panel.values()
        turns = self.conversation.turns(settings.system_prompt)
        self.composer.set_history(turns, settings.max_new_tokens)
        self.composer.set_documents(*self.session.documents.meter_share(turns))

    def error_blocks(self) -> list[ErrorBlock]:
        return self.chat_view.error_blocks()

    def assistant_views(self) -> list[AssistantMessageView]:
        return [w for w in self.transcript.items() if isinstance(w, AssistantMessageView)]

    @property
    def tools_dialog(self) -> ToolsDialog | None:
        return self.dialogs.tools_dialog

    def open_engine_dialog(self) -> EngineDialog:
        return self.dialogs.open_engine_dialog()

    def open_tools_dialog(self) -> ToolsDialog:
        return self.dialogs.open_tools_dialog()

    def _on_settings_toggled(self, checked: bool = False) -> None:
        visible = not self.settings_panel.isVisible()
        self.settings_panel.setVisible(visible)
        self.settings_action.setChecked(visible)
        if visible:
            self.settings_panel.system_prompt.setFocus()

    # ------------------------------------ drops (anywhere: as on the message box), closing
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt override)
        if attachable(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt override)
        if self.composer.input.attach(event.mimeData()):
            event.acceptProposedAction()
            self.focus_composer()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.composer.shutdown()
        self.dialogs.shutdown()
        self.warm_up.code.join()
        if self.tools is not None:
            self.tools.close()  # its servers stop with the window
        self.bridge.shutdown()
        super().closeEvent(event)
