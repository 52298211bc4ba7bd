"""The session drawn in the transcript: a view per message shown, error blocks, Retry.

`ChatView` observes the window's `ChatSession` and renders what it reports; it never
changes the conversation. The buttons on the views become its signals, which the window
forwards to the session (Edit, Regenerate) or to the conversations room (versions,
branching).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from app.chat.cited_pages import CitedPages
from app.chat.conversation import Conversation, Message, Role, Status
from app.chat.session import ChatSession, SessionObserver
from app.chat.structured_answer import note_of, value_of
from app.ui.markdown.markdown_html import FindCitations
from app.ui.structured.answer_table import AnswerTable
from app.ui.tools.saved_turns import saved_turn_blocks
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.earlier_messages_button import EarlierMessagesButton
from app.ui.transcript.error_block import ErrorBlock
from app.ui.transcript.scroll_anchor import ScrollAnchor
from app.ui.transcript.transcript_view import TranscriptView
from app.ui.transcript.user_message_view import UserMessageView
from app.workers import protocol as p


class ChatView(QObject):
    """Renders a `ChatSession` into a `TranscriptView`."""

    answer_ended = Signal(object, object)  # Message, the engine's last event (or None)
    messages_changed = Signal()  # a message was added or dropped, or another chat shown
    failed = Signal(str)  # an answer failed: a sentence for the user
    retry_requested = Signal()  # Retry on an error block
    edit_requested = Signal(str)  # message id
    regenerate_requested = Signal(str)  # message id
    version_requested = Signal(str, int)  # message id, -1 / +1
    branch_requested = Signal(str)  # message id
    citation_clicked = Signal(str, int, object)  # document name, page, AnswerSources

    def __init__(self, session: ChatSession, transcript: TranscriptView) -> None:
        super().__init__(transcript)
        self.session = session
        self.transcript = transcript
        self.first_shown = 0  # index of the first message with a view
        self.views: dict[str, QWidget] = {}
        self.anchor: ScrollAnchor | None = None  # keeps a view in place while others change
        self.earlier_button: EarlierMessagesButton | None = None
        self.earlier_page = 40  # views built a click on "Show earlier messages"
        # Before the renderer: an answer's pages are known when its view is made.
        self.cited_pages = CitedPages(
            lambda: [doc.info.name for doc in session.documents.documents]
        )
        session.observers.append(self.cited_pages)
        session.observers.append(_Renderer(self))

    # ------------------------------------------------------------ what is shown
    def rebuild(self, conversation: Conversation) -> None:
        """Views for `conversation` from message `first_shown` on (it was just opened)."""
        self.views.clear()
        self.transcript.clear()
        for message in conversation.messages[self.first_shown :]:
            self.transcript.add(self.view_of(message))

    def show_earlier(self, count: int) -> list[QWidget]:
        """Build the views of up to `count` messages before the first one shown, at the top."""
        start = max(0, self.first_shown - count)
        views = [
            self.view_of(m) for m in self.session.conversation.messages[start : self.first_shown]
        ]
        for index, view in enumerate(views):
            self.transcript.insert(index, view)
        self.first_shown = start
        return views

    def offer_earlier(self) -> None:
        """Put "Show earlier messages (N more)" on top if messages are left unbuilt."""
        hidden = self.first_shown
        if hidden:
            self.earlier_button = EarlierMessagesButton(hidden)
            self.earlier_button.requested.connect(self._on_earlier_requested)
            self.transcript.insert(0, self.earlier_button)

    def _on_earlier_requested(self) -> None:
        """Build a page of earlier messages, keeping the message that was on top in place."""
        button = self.earlier_button
        items = self.transcript.items()
        if button is None or button not in items:
            return
        was_top = items[1] if len(items) > 1 else None
        self.transcript.remove(button)
        self.earlier_button = None
        self.show_earlier(self.earlier_page)
        self.offer_earlier()
        if was_top is not None:
            self.keep_in_place(was_top)

    def keep_in_place(self, view: QWidget) -> ScrollAnchor:
        """Scroll to `view` and hold it there while the views around it are laid out."""
        self.anchor = ScrollAnchor(self.transcript, view)
        return self.anchor

    def scroll_to_bottom(self) -> None:
        self.transcript.scroll_to_bottom()

    def view_of(self, message: Message) -> QWidget:
        """A new view of `message`, its buttons wired to this object's signals."""
        view: UserMessageView | AssistantMessageView
        if message.role is Role.USER:
            view = UserMessageView(message)
            view.edit_requested.connect(self.edit_requested)
        else:
            view = AssistantMessageView(message, citations=self._citations_of(message))
            if message.status is not Status.STREAMING:  # a kept answer: its tool calls again
                for block in saved_turn_blocks(message.tool_turns):
                    view.add_block(block)
                add_table(view, message)
            view.regenerate_requested.connect(self.regenerate_requested)
            view.link_clicked.connect(_open_link)
            view.citation_clicked.connect(
                lambda name, page, m=message: self._on_citation_clicked(m, name, page)
            )
        view.version_requested.connect(self.version_requested)
        view.branch_requested.connect(self.branch_requested)
        self.views[message.id] = view
        return view

    def refresh_citations(self) -> None:
        """Link the answers' citations again (the documents attached have changed)."""
        for view in self.views.values():
            if isinstance(view, AssistantMessageView):
                view.set_citations(self._citations_of(view.message))

    def _citations_of(self, message: Message) -> FindCitations:
        return self.cited_pages.sources_of(message.id).find

    def _on_citation_clicked(self, message: Message, name: str, page: int) -> None:
        self.citation_clicked.emit(name, page, self.cited_pages.sources_of(message.id))

    def answer_view(self, message: Message) -> AssistantMessageView | None:
        """The view of an answer, if it is shown."""
        view = self.views.get(message.id)
        return view if isinstance(view, AssistantMessageView) else None

    def add_error(self, text: str, on_retry: object) -> ErrorBlock:
        block = ErrorBlock(text)
        block.retry_requested.connect(on_retry)
        self.transcript.add(block)
        self.transcript.scroll_to_bottom()
        return block

    def clear_errors(self) -> None:
        for widget in self.error_blocks():
            self.transcript.remove(widget)

    def error_blocks(self) -> list[ErrorBlock]:
        return [w for w in self.transcript.items() if isinstance(w, ErrorBlock)]


class _Renderer(SessionObserver):
    """The session's reports, drawn (kept apart so ChatView's Qt base stays simple)."""

    def __init__(self, chat: ChatView) -> None:
        self.chat = chat

    def message_added(self, message: Message) -> None:
        chat = self.chat
        chat.transcript.add(chat.view_of(message))
        if message.role is Role.ASSISTANT:
            chat.transcript.scroll_to_bottom()
            chat.messages_changed.emit()

    def messages_dropped(self, messages: list[Message]) -> None:
        chat = self.chat
        for message in messages:
            view = chat.views.pop(message.id, None)
            if view is not None and message is messages[0]:
                chat.transcript.remove_from(view)  # it and everything under it
        chat.messages_changed.emit()

    def text_received(self, message: Message, text: str) -> None:
        view = self.chat.answer_view(message)
        if view is not None:
            view.show_appended(text)

    def answer_ended(self, message: Message, event: p.Message | None) -> None:
        view = self.chat.answer_view(message)
        if view is not None:
            view.set_status(message.status)
            add_table(view, message)
        self.chat.answer_ended.emit(message, event)

    def answer_failed(self, sentence: str) -> None:
        self.chat.add_error(sentence, self.chat.retry_requested)
        self.chat.failed.emit(sentence)

    def conversation_replaced(self, conversation: Conversation) -> None:
        self.chat.rebuild(conversation)
        self.chat.messages_changed.emit()


def add_table(view: AssistantMessageView, message: Message) -> None:
    """An answer given as fields is shown as a table too, with Copy CSV."""
    value = value_of(message.stats)
    if value is not None and message.status is Status.COMPLETE:
        view.add_block(AnswerTable(value, note_of(message.stats), view))


def _open_link(url: QUrl) -> None:
    QDesktopServices.openUrl(url)
