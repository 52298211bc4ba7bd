"""One chat, without Qt: the conversation, the answer being written, versions, the strategy.

A front end makes a `ChatSession` over an `Engine`, forwards the user's actions (`send`,
`stop`, `regenerate`, `edit`, `retry`) and the engine's events (`handle`), and watches
`SessionObserver` calls to show what happened. The window renders these; the saver and
the sidebar observe the session, not the window.

Events and actions are taken on one thread at a time (the window's main thread, or the
command line's loop); a lock keeps the state whole when a reader thread calls `handle`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from app.chat.conversation import Conversation, Message, Role, Status
from app.chat.documents import DocumentShelf
from app.chat.engine import Engine, start
from app.chat.structured_answer import Attempt, SchemaPolicies, ask_for, result
from app.chat.vocabulary import Request, Sampling, answer_figures
from app.documents.doc_plan import DocumentContext
from app.engines.openai_client import ServerSettings
from app.structured.answer import AnswerError
from app.structured.request import StructuredRequest
from app.workers import protocol as p
from app.workers.client import describe_exit, new_request_id

log = logging.getLogger(__name__)


class SessionObserver:
    """What a session tells its front ends; each method does nothing unless overridden."""

    def message_added(self, message: Message) -> None:
        """A question or an answer joined the conversation (at its end)."""

    def messages_dropped(self, messages: list[Message]) -> None:
        """These messages, the first named by the action, left the conversation's end."""

    def text_received(self, message: Message, text: str) -> None:
        """`text` was added to the answer being written (`message.text` holds it already)."""

    def answer_ended(self, message: Message, event: p.Message | None) -> None:
        """The answer stopped streaming: `message.status` says how; `event` is the engine's."""

    def answer_failed(self, sentence: str) -> None:
        """An answer could not be written: a sentence for the user (Retry sends it again)."""

    def conversation_replaced(self, conversation: Conversation) -> None:
        """Another conversation is shown (new chat, one opened)."""

    def documents_sent(self, context: DocumentContext) -> None:
        """An answer started with these pages of the attached documents (text and images)."""

    def documents_changed(self, problems: list[str]) -> None:
        """The conversation's documents changed; `problems`: sentences for those not opened."""


class AnswerStrategy(Protocol):
    """How an answer is produced: straight from the engine, or through a tool loop."""

    def start(self, request: Request, message: Message) -> str:
        """Begin `request` (for the answer `message`); returns the id its events carry."""
        ...

    def cancel(self, request_id: str) -> None:
        """Stop it; it still ends with exactly one terminal event."""
        ...

    def take(self, event: p.Message) -> bool:
        """Keep an engine event of its own (a tool loop's model step); True if kept."""
        ...


class PlainAnswer:
    """The engine writes the answer in one go."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, request: Request, message: Message) -> str:
        return start(self.engine, request)

    def cancel(self, request_id: str) -> None:
        self.engine.cancel(request_id)

    def take(self, event: p.Message) -> bool:
        return False  # its events carry the answer's own id


class ChatSession:
    """The conversation, the request in flight, and versions, driven by any front end."""

    def __init__(
        self,
        engine: Engine,
        sampling: Callable[[], Sampling] = Sampling,
        system_prompt: Callable[[], str] = str,
        keeps_versions: bool = False,
    ) -> None:
        """`sampling` and `system_prompt` are read when an answer starts (the settings)."""
        self.engine = engine
        self.sampling = sampling
        self.system_prompt = system_prompt
        # With a store that keeps them, Regenerate and Edit add versions; without one, a
        # new version simply replaces the old.
        self.keeps_versions = keeps_versions
        self.conversation = Conversation()
        self.observers: list[SessionObserver] = []
        # Picks the strategy of each answer (e.g. the tool loop while tools are enabled).
        self.choose_strategy: Callable[[Request], AnswerStrategy] = lambda _: PlainAnswer(engine)
        self.tools: Callable[[], list[dict[str, object]]] = list  # offered to the model
        self._lock = threading.RLock()
        self._request_id: str | None = None
        self._strategy: AnswerStrategy | None = None
        self._answer: Message | None = None  # the answer streaming, shown or not
        self.editing: Message | None = None  # the question Edit took back into the composer
        self._sampling_used: dict[str, object] = {}
        self._documents = DocumentShelf()
        self.documents = self._documents  # asked whole, or their best pages, by each answer
        # Questions asked to answer as fields, by message id (kept for Retry and Regenerate).
        self.structured: dict[str, StructuredRequest] = {}
        self._structuring: Attempt | None = None  # the answer in flight's fields, its try
        # The server the engine asks (None: the local worker), for the rule on fields.
        self.server: Callable[[], ServerSettings | None] = lambda: None
        self._policies = SchemaPolicies()

    # ------------------------------------------------------------ state
    @property
    def documents(self) -> DocumentShelf:
        """The conversation's documents, open (a front end may hand in its own shelf)."""
        return self._documents

    @documents.setter
    def documents(self, shelf: DocumentShelf) -> None:
        self._documents = shelf
        shelf.changed = self._on_documents_changed

    def _on_documents_changed(self) -> None:
        self.conversation.documents = self._documents.refs()
        for observer in list(self.observers):
            observer.documents_changed([])

    @property
    def generating(self) -> bool:
        return self._request_id is not None

    @property
    def request_id(self) -> str | None:
        """The id of the answer being written, or None."""
        return self._request_id

    @property
    def answer(self) -> Message | None:
        """The answer being written (on the conversation shown, or on another version)."""
        return self._answer

    def owns(self, request_id: str) -> bool:
        return request_id is not None and request_id == self._request_id

    # ------------------------------------------------------------ user actions
    def send(
        self,
        text: str,
        images: list[str] | None = None,
        structured: StructuredRequest | None = None,
    ) -> Message | None:
        """Ask a question (a new version of the one being edited); None while answering.

        With `structured`, the answer is JSON constrained to its schema, checked when done.
        """
        with self._lock:
            if self.generating:
                return None
            edited, self.editing = self.editing, None
            if edited is not None and self.keeps_versions:
                question = edited.next_version(text, images)
            else:
                question = Message(Role.USER, text, list(images or []))
            self.structured.pop(question.id, None)  # an edited question asks afresh
            if structured is not None:
                self.structured[question.id] = structured
            self._add(question)
            self._start_answer()
            return question

    def stop(self) -> None:
        """Stop the answer being written; it ends as `stopped` with the text so far."""
        with self._lock:
            if self._request_id is not None and self._strategy is not None:
                self._strategy.cancel(self._request_id)

    def regenerate(self, message_id: str) -> Message | None:
        """Write the answer `message_id` again (as its newest version); None while answering."""
        with self._lock:
            if self.generating:
                return None
            replaced = self.conversation.messages[self.conversation.index_of(message_id)]
            self.drop(message_id)
            return self._start_answer(replaced)

    def edit(self, message_id: str) -> Message | None:
        """Take a question back to be edited: it and what follows leave the conversation.

        Sent again, it becomes the question's newest version. Returns it (its text and
        images go back into the composer); None while answering.
        """
        with self._lock:
            if self.generating:
                return None
            message = self.conversation.messages[self.conversation.index_of(message_id)]
            self.drop(message_id)
            self.editing = message
            return message

    def retry(self) -> Message | None:
        """After a failure: answer the last question again; None if there is nothing to answer."""
        with self._lock:
            if self.generating:
                return None
            messages = self.conversation.messages
            last = messages[-1] if messages else None
            replaced = last if last is not None and last.role is Role.ASSISTANT else None
            if replaced is not None:
                self.drop(replaced.id)
            if messages and messages[-1].role is Role.USER:
                return self._start_answer(replaced)
            return None

    def new_chat(self) -> None:
        """Start an empty conversation; an answer being written is stopped."""
        self.open(Conversation())

    def open(self, conversation: Conversation, keep_answer: bool = False) -> None:
        """Show `conversation`.

        `keep_answer`: another version of the same one is shown, and an answer being
        written goes on (it may be on a version not shown).
        """
        with self._lock:
            if not keep_answer and self._request_id is not None:
                if self._strategy is not None:
                    self._strategy.cancel(self._request_id)
                self._end(Status.STOPPED, None)
            self.conversation = conversation
            self.editing = None  # a question taken back for editing belongs to the old view
            # Its documents, reopened (a new conversation has none); those that cannot be
            # stay saved with it, and each gets a sentence.
            problems = self._documents.load(list(conversation.documents))
            for observer in list(self.observers):
                observer.conversation_replaced(conversation)
            for observer in list(self.observers):
                observer.documents_changed(problems)

    def drop(self, message_id: str) -> list[Message]:
        """Remove a message and everything after it; returns them."""
        with self._lock:
            dropped = self.conversation.truncate(self.conversation.index_of(message_id))
            for observer in list(self.observers):
                observer.messages_dropped(dropped)
            return dropped

    # ------------------------------------------------------------ engine events
    def handle(self, event: p.Message) -> None:
        """Take an engine event; those of other requests are ignored."""
        with self._lock:
            if self._strategy is not None and self._strategy.take(event):
                return
            if isinstance(event, p.WorkerDied):
                if self._request_id is not None:
                    sentence = (
                        f"The model worker stopped ({describe_exit(event.exit_code)}) while "
                        "answering. Press Retry to start it again and resend."
                    )
                    self.fail(self._request_id, sentence, event)
                return
            if not self.owns(getattr(event, "request_id", "")):
                return
            if isinstance(event, p.Token):
                self.receive(event.request_id, event.text)
            elif isinstance(event, p.Done):
                self.finish(event)
            elif isinstance(event, p.Cancelled):
                self._end(Status.STOPPED, event)
            elif isinstance(event, p.Error):
                self.fail(event.request_id, event.message, event)

    def receive(self, request_id: str, text: str) -> None:
        """New text of the answer `request_id` (or of its strategy's own request)."""
        with self._lock:
            answer = self._answer
            if not self.owns(request_id):
                self._offer(p.Token(request_id, text, []))
                return
            if answer is None:
                return
            answer.text += text
            for observer in list(self.observers):
                observer.text_received(answer, text)

    def finish(self, done: p.Done) -> None:
        """The answer is complete; its figures and sampling are kept with it."""
        with self._lock:
            if not self.owns(done.request_id):
                self._offer(done)
                return
            if self._answer is None:
                return
            self._answer.stats = {**answer_figures(done), "sampling": self._sampling_used}
            attempt = self._structuring
            if attempt is not None:
                try:
                    value = result(self._answer.text, done, attempt.structured)
                except AnswerError as exc:  # the text stays to be read; it is no result
                    again = attempt.again()  # not constrained: asked for once more
                    if again is not None:
                        self._ask_again(again, done)
                        return
                    self._end(Status.ERROR, done)
                    for observer in list(self.observers):
                        observer.answer_failed(str(exc))
                    return
                self._answer.stats.update(attempt.marks(value))
            self._end(Status.COMPLETE, done)

    def cancelled(self, request_id: str, generated: int = 0) -> None:
        """The answer stopped at the user's request; its text so far stands."""
        with self._lock:
            if self.owns(request_id):
                self._end(Status.STOPPED, None)
            else:
                self._offer(p.Cancelled(request_id, generated))

    def fail(self, request_id: str, sentence: str, event: p.Message | None = None) -> None:
        """The answer failed: an empty one leaves the conversation, and observers are told."""
        with self._lock:
            if not self.owns(request_id):
                self._offer(event or p.Error(request_id, "generation_failed", sentence))
                return
            without = self._structuring.refused(sentence) if self._structuring else None
            if without is not None:  # the server refused response_format: the prompt only
                self._ask_again(without, event)
                return
            answer = self._end(Status.ERROR, event)
            if answer is not None and not answer.text and answer in self.conversation.messages:
                self.drop(answer.id)
            for observer in list(self.observers):
                observer.answer_failed(sentence)

    # ------------------------------------------------------------ internals
    def _offer(self, event: p.Message) -> None:
        """An event of another request: its strategy's own (a tool loop's step), or stale.

        A front end that forwards events one by one (`receive`, `finish`…) reaches the
        strategy this way, as `handle` does.
        """
        if self._strategy is not None:
            self._strategy.take(event)

    def _add(self, message: Message) -> None:
        self.conversation.add(message)
        for observer in list(self.observers):
            observer.message_added(message)

    def _ask_again(self, attempt: Attempt, event: p.Message | None) -> None:
        """Answer the question again as `attempt` says; the try before stays a version."""
        answer = self._end(Status.ERROR, event)
        if answer is not None and answer in self.conversation.messages:
            self.drop(answer.id)
        self._start_answer(answer, attempt)

    def _start_answer(
        self, replaced: Message | None = None, attempt: Attempt | None = None
    ) -> Message:
        sampling = self.sampling()
        turns = self.documents.apply(self.conversation.turns(self.system_prompt()))
        questions = [m for m in self.conversation.messages if m.role is Role.USER]
        structured = self.structured.get(questions[-1].id) if questions else None
        if structured is not None:
            turns, sampling = ask_for(turns, sampling, structured)
            if attempt is None or attempt.structured is not structured:
                attempt = Attempt.first(structured, self._policies.of(self.server()))
        else:
            attempt = None
        if replaced is not None and self.keeps_versions:
            answer = replaced.next_version("", status=Status.STREAMING)
        else:
            answer = Message(Role.ASSISTANT, "", status=Status.STREAMING)
        tools = [] if structured is not None else list(self.tools())  # JSON, or tool calls
        schema = attempt.schema() if attempt is not None else None
        request = Request(new_request_id(), turns, sampling, tools, schema)
        if self.documents.last is not None:
            for observer in list(self.observers):
                observer.documents_sent(self.documents.last)
        # The state is set before the engine is asked: its first event may come at once.
        self._answer = answer
        self._request_id = request.request_id
        self._sampling_used = sampling.to_dict()
        self._structuring = attempt
        self._add(answer)
        strategy = PlainAnswer(self.engine) if structured else self.choose_strategy(request)
        self._strategy = strategy
        try:
            self._request_id = self._strategy.start(request, answer)
        except Exception as exc:
            log.exception("starting answer %s failed", request.request_id)
            self.fail(request.request_id, f"The answer could not be started: {exc}")
        return answer

    def _end(self, status: Status, event: p.Message | None) -> Message | None:
        answer = self._answer
        self._request_id = self._strategy = self._answer = self._structuring = None
        if answer is not None:
            answer.status = status
            for observer in list(self.observers):
                observer.answer_ended(answer, event)
        return answer
