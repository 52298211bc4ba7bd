"""The session's reports the conversations room acts on, as two plain callbacks (no Qt)."""

from __future__ import annotations

from collections.abc import Callable

from app.chat.conversation import Conversation, Message, Role
from app.chat.session import SessionObserver
from app.workers import protocol as p


class SessionChanges(SessionObserver):
    """Calls back when messages come or go, another chat is shown, or an answer ends."""

    def __init__(
        self,
        messages_changed: Callable[[], None],
        answer_ended: Callable[[], None] = lambda: None,
    ) -> None:
        self._messages_changed = messages_changed
        self._answer_ended = answer_ended

    def message_added(self, message: Message) -> None:
        # A question is followed at once by its answer: one change, reported with it.
        if message.role is Role.ASSISTANT:
            self._messages_changed()

    def messages_dropped(self, messages: list[Message]) -> None:
        self._messages_changed()

    def conversation_replaced(self, conversation: Conversation) -> None:
        self._messages_changed()

    def answer_ended(self, message: Message, event: p.Message | None) -> None:
        self._answer_ended()

    def documents_changed(self, problems: list[str]) -> None:
        self._messages_changed()  # saved with the conversation
