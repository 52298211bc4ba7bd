"""One answer with tools in the window: the chat's `ToolLoopAnswer`, drawn in the answer's view.

The loop itself is `app.chat.tool_answer.ToolLoopAnswer` (the command line runs the same
one); it runs on a thread of its own. This is the session's strategy while tools are
enabled: it hands the loop a `post` that queues each call out (tokens, turns, notices,
the end) to the GUI thread in order, an engine that starts the loop's model steps on
the GUI thread through the bridge, and an approver that shows an `ApprovalCard` and waits
for the user's decision. It draws what the loop reports: the prose that led to calls,
each result, notices.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel
from shiboken6 import isValid

from app.chat.conversation import Message
from app.chat.engine import start
from app.chat.tool_answer import ToolLoopAnswer
from app.chat.vocabulary import Request, Sampling
from app.tools.tool_loop import Approval, LoopTurn, ProposedCall
from app.tools.tool_settings import ToolSettings
from app.ui.bridge.bridge import WorkerBridge
from app.ui.tools.approval_card import ApprovalCard
from app.ui.tools.tool_notice import ToolNotice
from app.ui.tools.tool_result_view import ToolResultView
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.workers import protocol as p

if TYPE_CHECKING:  # the MCP SDK loads with the host, not with the window
    from app.tools.host import ToolHost

log = logging.getLogger(__name__)

WAIT_SLICE_S = 0.2
STOPPED = "The user stopped the answer before deciding."
_HOW = {"run": "", "always": " (always allowed now)", "policy": " (allowed in Settings)"}
_TERMINAL = (p.Done, p.Error, p.Cancelled)


class _BridgeOnGuiThread:
    """The bridge as the loop's engine: its model steps start on the GUI thread."""

    def __init__(self, answer: ToolAnswer) -> None:
        self._answer = answer

    def generate(
        self,
        messages: Sequence[p.ChatTurn],
        sampling: Sampling | None = None,
        *,
        request_id: str | None = None,
        tools: Sequence[dict[str, Any]] = (),
        json_schema: dict[str, Any] | None = None,
    ) -> str:
        assert request_id is not None  # the loop names its steps
        step = Request(request_id, list(messages), sampling or Sampling(), list(tools), json_schema)
        self._answer.posted.emit(lambda: self._answer.start_step(step))
        return request_id

    def cancel(self, request_id: str) -> None:
        self._answer.posted.emit(lambda: self._answer.bridge.cancel(request_id))


class ToolAnswer(QObject):
    """Answers one request through the tool loop; `stop` ends it (a running call is cancelled)."""

    posted = Signal(object)  # a call from the loop's thread, run on the GUI thread in order
    ended = Signal()  # the answer's last event reached the session

    def __init__(
        self,
        bridge: WorkerBridge,
        host: ToolHost,
        settings: ToolSettings,
        remember: Callable[[ToolSettings], None],
        view: AssistantMessageView,
        deliver: Callable[[p.Message], None],
        image_dir: Path,
        image_limit: int,
        parent: QObject | None = None,
    ) -> None:
        """`deliver` takes the answer's events (the session's `handle`)."""
        super().__init__(parent)
        self.bridge = bridge
        self._host = host
        self._settings = settings
        self._remember = remember
        self.view = view
        self._deliver = deliver
        self._image_dir = image_dir
        self._image_limit = image_limit
        self.request_id = ""
        self.abandoned = False  # set when the window closes mid-answer
        self.loop: ToolLoopAnswer | None = None
        self._card: ApprovalCard | None = None
        self._card_reply: queue.SimpleQueue[Approval] | None = None
        self.cards: list[ApprovalCard] = []
        self.results: list[ToolResultView] = []
        self.posted.connect(self._run_posted, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ the strategy
    def start(self, request: Request, message: Message) -> str:
        images = sum(len(turn.images) for turn in request.turns)  # earlier tool images too
        self.loop = ToolLoopAnswer(
            _BridgeOnGuiThread(self),
            self._host,
            self._settings,
            self._approve,
            self._delivered,
            self._image_dir,
            on_settings_changed=self._remember,
            on_notice=lambda sentence: self._add(ToolNotice(sentence)),
            image_budget=max(0, self._image_limit - images),
            on_turn=self._on_turn,
            post=self.posted.emit,
        )
        self.request_id = self.loop.start(request, message)
        return self.request_id

    def cancel(self, request_id: str) -> None:
        self.stop()

    def take(self, event: p.Message) -> bool:
        return self.loop is not None and self.loop.take(event)

    @property
    def records(self) -> list[dict[str, Any]]:
        """The answer's tool turns so far (`app.chat.tool_turns`)."""
        return list(self.loop.records) if self.loop is not None else []

    def stop(self) -> None:
        """Stop: the model step, a running call and a waiting card all end; no step follows."""
        if self.loop is not None:
            self.loop.cancel(self.request_id)
        self._answer_card(Approval("deny", reason=STOPPED), STOPPED)

    def join(self, timeout: float) -> None:
        if self.loop is not None:
            self.loop.join(timeout)

    # ------------------------------------------------------------ on the GUI thread
    def _run_posted(self, call: Callable[[], None]) -> None:
        if not self.abandoned:  # the window closed: its session and views are gone
            call()

    def start_step(self, step: Request) -> None:
        try:
            start(self.bridge, step)
        except Exception as exc:  # the step still ends, so the loop is not left waiting
            log.exception("a model step of the tools' answer could not start")
            self._deliver(p.Error(step.request_id, "generation_failed", f"The step failed: {exc}"))

    def _delivered(self, event: p.Message) -> None:
        self._deliver(event)
        if isinstance(event, _TERMINAL) and getattr(event, "request_id", None) == self.request_id:
            self._answer_card(Approval("deny", reason=STOPPED), STOPPED)
            self.ended.emit()

    def _on_turn(self, turn: LoopTurn, record: dict[str, Any]) -> None:
        if turn.role == "assistant":
            # The text streamed so far led to calls: it is not the final answer.
            prose = self.view.restart_text().strip() if isValid(self.view) else ""
            if prose:
                label = QLabel(prose)
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setWordWrap(True)
                label.setObjectName("toolProse")
                self._add(label)
            return
        decision = record["decision"]
        if decision == "deny":
            return  # the card says so already
        offered = self.loop.offered(turn.tool_name) if self.loop is not None else None
        view = ToolResultView(
            offered.name if offered else turn.tool_name,
            record["server"],
            turn.text,
            record["images"],
            turn.is_error,
            _HOW.get(decision, ""),
        )
        self.results.append(view)
        self._add(view)

    # ------------------------------------------------------------ approval
    def _approve(self, proposal: ProposedCall) -> Approval:
        """On the loop's thread: a card on the GUI thread, and the user's decision."""
        reply: queue.SimpleQueue[Approval] = queue.SimpleQueue()
        self.posted.emit(lambda: self._show_card(proposal, reply))
        while True:  # the window may be closing: its GUI thread then no longer answers
            try:
                return reply.get(timeout=WAIT_SLICE_S)
            except queue.Empty:
                if self.loop is None or self.loop.stopping or self.abandoned:
                    return Approval("deny", reason=STOPPED)

    def _show_card(self, proposal: ProposedCall, reply: queue.SimpleQueue[Approval]) -> None:
        if self.loop is None or self.loop.stopping:
            reply.put(Approval("deny", reason=STOPPED))
            return
        card = ApprovalCard(proposal)
        card.decided.connect(self._on_card_decided)
        card.destroyed.connect(self._on_card_destroyed)
        self._card, self._card_reply = card, reply
        self.cards.append(card)
        self._add(card)

    def _on_card_decided(self, approval: Approval) -> None:
        if self._card is not None:
            self._card.destroyed.disconnect(self._on_card_destroyed)
        self._reply_card(approval)

    def _on_card_destroyed(self) -> None:
        # The view went away (another version is shown): nothing may run unseen.
        self._card = None
        self.stop()
        self._reply_card(Approval("deny", reason=STOPPED))

    def _answer_card(self, approval: Approval, sentence: str) -> None:
        if self._card is not None:
            self._card.destroyed.disconnect(self._on_card_destroyed)
            self._card.close_unanswered(sentence)
        self._reply_card(approval)

    def _reply_card(self, approval: Approval) -> None:
        reply, self._card_reply, self._card = self._card_reply, None, None
        if reply is not None:
            reply.put(approval)

    def _add(self, widget: QLabel | ApprovalCard | ToolResultView) -> None:
        if isValid(self.view):
            self.view.add_block(widget)
        else:  # the answer is on a version no longer shown
            widget.deleteLater()
