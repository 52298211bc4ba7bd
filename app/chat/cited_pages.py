"""Which pages each answer was sent, so that its citations can be checked.

A `CitedPages` watches a `ChatSession`: the documents' plan it reports when an answer
starts (`documents_sent`) is kept under that answer's id. `sources_of` tells a front end
what an answer may cite: the documents of its request and the pages that went, or, for
an answer this session did not ask (one reopened from storage), the documents attached
now, with the pages unknown (then no citation is marked as unsent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.chat.conversation import Conversation, Message, Role
from app.chat.session import SessionObserver
from app.documents.citations import AnswerSources
from app.documents.doc_plan import DocumentContext


class CitedPages(SessionObserver):
    """Per answer, the documents and pages its request carried."""

    def __init__(self, attached: Callable[[], Sequence[str]] = tuple) -> None:
        """`attached`: the names of the documents attached now (for answers not seen asked)."""
        self.attached = attached
        self._answers: dict[str, AnswerSources] = {}
        self._pending: AnswerSources | None = None

    def sources_of(self, message_id: str) -> AnswerSources:
        known = self._answers.get(message_id)
        return known if known is not None else AnswerSources(tuple(self.attached()))

    def documents_sent(self, context: DocumentContext) -> None:
        self._pending = AnswerSources.from_context(context)

    def message_added(self, message: Message) -> None:
        # The session reports the plan just before it adds the answer the plan is for.
        if message.role is Role.ASSISTANT and self._pending is not None:
            self._answers[message.id] = self._pending
        self._pending = None

    def conversation_replaced(self, conversation: Conversation) -> None:
        self._pending = None
