"""One answer with tools: the tool loop off the GUI thread, its model steps through the bridge.

`ToolLoop` is blocking, so it runs as a `PoolJob` on a pool thread of its own. Everything
it needs from the window it asks for with `job.report`, queued to the GUI thread, and it
waits for the reply on a queue: a model step (`BridgeSteps`: the bridge streams it), and
the user's decision on an `ApprovalCard`. Results and notices are added to the answer's
view as they come.

The answer looks like the bridge to the window: `token_received`, then exactly one of
`generation_finished`, `generation_failed` or `generation_cancelled`, with its own id.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QLabel
from shiboken6 import isValid

from app.chat.tool_turns import assistant_record, tool_record
from app.engines.tool_images import ToolImageFiles
from app.engines.tool_steps import StepFailed, chat_turns
from app.tools.catalog import ToolCatalog
from app.tools.tool_loop import Approval, LoopOutcome, LoopTurn, ModelTurn, ProposedCall, ToolLoop
from app.tools.tool_settings import ToolSettings
from app.ui.background.pool_job import PoolJob
from app.ui.bridge.bridge import WorkerBridge
from app.ui.tools.approval_card import ApprovalCard
from app.ui.tools.bridge_steps import BridgeSteps
from app.ui.tools.tool_notice import ToolNotice
from app.ui.tools.tool_result_view import ToolResultView
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.workers import protocol as p
from app.workers.client import new_request_id

if TYPE_CHECKING:  # the MCP SDK loads with the host, not with the window
    from app.tools.host import ToolHost

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
WAIT_SLICE_S = 0.2
_T = TypeVar("_T")
STOPPED = "The user stopped the answer before deciding."
_HOW = {"run": "", "always": " (always allowed now)", "policy": " (allowed in Settings)"}


class ToolAnswer(QObject):
    """Runs one answer through the tool loop; `stop` ends it (a running call is cancelled)."""

    token_received = Signal(str, str)  # answer id, text
    generation_finished = Signal(object)  # protocol.Done (the last step's, with the answer id)
    generation_failed = Signal(str, str)  # answer id, a sentence
    generation_cancelled = Signal(str, int)  # answer id, tokens generated

    def __init__(
        self,
        bridge: WorkerBridge,
        host: ToolHost,
        settings: ToolSettings,
        remember: Callable[[ToolSettings], None],
        view: AssistantMessageView,
        base: list[p.ChatTurn],
        sampling: dict[str, Any],
        image_dir: Path,
        pool: QThreadPool,
        parent: QObject | None = None,
        image_budget: int | None = None,
    ) -> None:
        super().__init__(parent)
        self._image_budget = image_budget
        self.request_id = new_request_id()
        self._bridge = bridge
        self._host = host
        self._settings = settings
        self._remember = remember
        self.view = view
        self.message = view.message
        self._base = base
        self._sampling = sampling
        # One file per image: the model's steps and the answer's record share it.
        self._images = ToolImageFiles(image_dir)
        self._stopping = False
        self.abandoned = False  # set when the window closes mid-answer
        self._loop: ToolLoop | None = None
        self._catalog = ToolCatalog(())
        self._steps = BridgeSteps(bridge, self._on_text, self)
        self._card: ApprovalCard | None = None
        self._card_reply: queue.SimpleQueue[Approval] | None = None
        self._decision: tuple[str, str] | None = None  # of the call about to run
        self.records: list[dict[str, Any]] = []
        self.cards: list[ApprovalCard] = []
        self.results: list[ToolResultView] = []
        # Every error ends the answer: a bug in the loop must not leave the window waiting.
        self._job = PoolJob(self._work, errors=(Exception,))
        self._job.signals.reported.connect(self._on_reported)
        self._job.signals.succeeded.connect(self._on_succeeded)
        self._job.signals.failed.connect(self._on_failed)
        self._job.start_on(pool)

    # ------------------------------------------------------------ the window's side
    def stop(self) -> None:
        """Stop: the model step, a running call and a waiting card all end; no step follows."""
        self._stopping = True
        if self._loop is not None:
            self._loop.stop()
        self._steps.cancel()
        self._answer_card(Approval("deny", reason=STOPPED), STOPPED)

    def _on_text(self, text: str) -> None:
        self.token_received.emit(self.request_id, text)

    # ------------------------------------------------------------ the pool thread's side
    def _work(self, job: PoolJob) -> LoopOutcome:
        for _ in range(int(START_TIMEOUT_S)):  # in slices, so that Stop is not kept waiting
            if self._stopping or self._host.wait_started(1.0):
                break
        catalog = ToolCatalog(self._host.tools(), self._settings)
        job.report(("catalog", catalog))
        self._loop = ToolLoop(
            catalog,
            self._host.call,
            self._approve,
            settings=self._settings,
            on_settings_changed=lambda settings: job.report(("settings", settings)),
            on_turn=lambda turn: job.report(("turn", turn)),
            image_budget=self._image_budget,
        )
        if self._stopping:
            self._loop.stop()
        definitions = catalog.definitions()
        return self._loop.run(lambda turns: self._step(job, turns, definitions))

    def _step(self, job: PoolJob, turns: list[LoopTurn], tools: list[dict[str, Any]]) -> ModelTurn:
        messages = chat_turns(self._base, turns, self._images)
        reply: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        job.report(("generate", messages, tools, reply))
        kind, value = self._wait(reply, ("stopped", "The answer was stopped."))
        if kind == "turn":
            turn: ModelTurn = value
            return turn
        raise StepFailed(str(value))

    def _approve(self, proposal: ProposedCall) -> Approval:
        reply: queue.SimpleQueue[Approval] = queue.SimpleQueue()
        self._job.report(("approve", proposal, reply))
        return self._wait(reply, Approval("deny", reason=STOPPED))

    def _wait(self, reply: queue.SimpleQueue[_T], if_stopped: _T) -> _T:
        """The GUI thread's reply, or `if_stopped` once Stop came first.

        The window may be closing: its GUI thread then no longer answers.
        """
        while True:
            try:
                return reply.get(timeout=WAIT_SLICE_S)
            except queue.Empty:
                if self._stopping:
                    return if_stopped

    # ------------------------------------------------------------ what the loop reports
    def _on_reported(self, piece: tuple[Any, ...]) -> None:
        if self.abandoned:
            return  # the window closed: its folders and views are gone
        handler = getattr(self, f"_handle_{piece[0]}")
        handler(*piece[1:])

    def _handle_catalog(self, catalog: ToolCatalog) -> None:
        self._catalog = catalog
        for state in self._host.states():
            if state.status != "ready":
                sentence = state.error or f"The tool server {state.name!r} did not start."
                self._add(ToolNotice(f"{sentence} Its tools are not offered in this answer."))

    def _handle_settings(self, settings: ToolSettings) -> None:
        self._remember(settings)

    def _handle_generate(
        self, messages: list[p.ChatTurn], tools: list[dict[str, Any]], reply: Any
    ) -> None:
        if self._stopping:
            reply.put(("stopped", "The answer was stopped."))
            return
        self._steps.start(messages, tools, self._sampling, reply)

    def _handle_approve(self, proposal: ProposedCall, reply: Any) -> None:
        if self._stopping:
            reply.put(Approval("deny", reason=STOPPED))
            return
        card = ApprovalCard(proposal)
        card.decided.connect(self._on_card_decided)
        card.destroyed.connect(self._on_card_destroyed)
        self._card, self._card_reply = card, reply
        self.cards.append(card)
        self._add(card)

    def _handle_turn(self, turn: LoopTurn) -> None:
        if turn.role == "assistant":
            # The text streamed so far led to calls: it is not the final answer.
            prose = self.view.restart_text().strip() if isValid(self.view) else ""
            if prose:
                label = QLabel(prose)
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setWordWrap(True)
                label.setObjectName("toolProse")
                self._add(label)
            self.records.append(assistant_record(turn))
            return
        offered = self._catalog.get(turn.tool_name)
        server = offered.server if offered else ""
        decision, reason = self._decision or ("", "")
        self._decision = None
        if not decision and offered is not None:
            policy = self._settings.policy_for(offered.server, offered.name)
            decision = "policy" if policy in {"always", "never"} else ""
        images = self._images.paths(turn.images)
        self.records.append(tool_record(turn, server, images, decision, reason))
        if decision == "deny":
            return  # the card says so already
        view = ToolResultView(
            offered.name if offered else turn.tool_name,
            server,
            turn.text,
            images,
            turn.is_error,
            _HOW.get(decision, ""),
        )
        self.results.append(view)
        self._add(view)

    # ------------------------------------------------------------ the loop's end
    def _on_succeeded(self, _key: object, outcome: LoopOutcome) -> None:
        for notice in outcome.notices:
            self._add(ToolNotice(notice))
        self._end()
        done = self._steps.last_done
        if outcome.ended == "stopped" or done is None:
            self.generation_cancelled.emit(self.request_id, 0)
            return
        self.generation_finished.emit(dataclasses.replace(done, request_id=self.request_id))

    def _on_failed(self, _key: object, error: Exception) -> None:
        self._end()
        if self._stopping or self._steps.cancelled:
            self.generation_cancelled.emit(self.request_id, 0)
        elif isinstance(error, StepFailed):
            self.generation_failed.emit(self.request_id, str(error))
        else:
            log.error("the tool loop failed", exc_info=error)
            self.generation_failed.emit(
                self.request_id,
                f"The answer with tools failed ({type(error).__name__}: {error}). "
                "The log has the details; press Retry to ask again.",
            )

    def _end(self) -> None:
        self._steps.close()
        self._answer_card(Approval("deny", reason=STOPPED), STOPPED)
        self.message.tool_turns = list(self.records)

    # ------------------------------------------------------------ cards
    def _on_card_decided(self, approval: Approval) -> None:
        if self._card is not None:
            self._card.destroyed.disconnect(self._on_card_destroyed)
        self._decision = (approval.decision, approval.reason)
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
