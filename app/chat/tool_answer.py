"""An answer through the tool loop, without Qt: the session's strategy while tools are on.

`ToolLoop` blocks, so it runs on a thread of its own. Each model step goes to the session's
engine with the tools offered; its events reach the strategy through the session
(`ChatSession.handle` hands a step's events to `take`), and either engine's calls come
on the step's `Done` (`app.engines.tool_steps.model_turn`). The calls are approved by the
`approver` (a front end's prompt, a command-line flag) and the policies the user set, and
run on the `ToolHost`'s servers.

To the session the answer looks like any engine's: `deliver` gets `Token`s of its prose,
then exactly one of `Done` (the last step's figures), `Error` or `Cancelled`, with the
answer's id. Before that end, the answer's `Message.tool_turns` holds the calls and their
results (`app.chat.tool_turns`).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.chat.conversation import Message
from app.chat.engine import Engine, start
from app.chat.tool_turns import assistant_record, tool_record
from app.chat.vocabulary import Request
from app.engines.tool_images import ToolImageFiles
from app.engines.tool_steps import StepFailed, chat_turns, model_turn
from app.tools.catalog import ToolCatalog
from app.tools.tool_loop import Approval, Approver, LoopTurn, ModelTurn, ProposedCall, ToolLoop
from app.tools.tool_settings import ToolSettings
from app.workers import protocol as p
from app.workers.client import describe_exit, new_request_id

if TYPE_CHECKING:  # the MCP SDK loads with the host
    from app.tools.host import ToolHost

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # for the enabled servers to start (or fail) before the first step
STOPPED = "The answer was stopped."


class ToolLoopAnswer:
    """Answers one request through the tool loop; `cancel` stops the step, a call, the loop."""

    def __init__(
        self,
        engine: Engine,
        host: ToolHost,
        settings: ToolSettings,
        approver: Approver,
        deliver: Callable[[p.Message], None],
        image_dir: Path,
        on_settings_changed: Callable[[ToolSettings], None] = lambda settings: None,
        on_notice: Callable[[str], None] = lambda sentence: None,
        image_budget: int | None = None,
    ) -> None:
        """`deliver` takes the answer's events (usually `ChatSession.handle`)."""
        self._engine = engine
        self._host = host
        self._settings = settings
        self._approver = approver
        self._deliver = deliver
        self._images = ToolImageFiles(image_dir)  # one file per image, however often sent
        self._on_settings_changed = on_settings_changed
        self._on_notice = on_notice
        self._image_budget = image_budget
        self._lock = threading.Lock()
        self._events: queue.SimpleQueue[p.Message | None] = queue.SimpleQueue()
        self._step_id: str | None = None
        self._stopping = False
        self._loop: ToolLoop | None = None
        self._catalog = ToolCatalog(())
        self.records: list[dict[str, Any]] = []
        self._decision = ("", "")  # of the call about to run: the user's, and their reason
        self._message: Message | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ the strategy
    def start(self, request: Request, message: Message) -> str:
        self._message = message
        self._thread = threading.Thread(
            target=self._run, args=(request, message), name="tool-loop", daemon=True
        )
        self._thread.start()
        return request.request_id

    def cancel(self, request_id: str) -> None:
        with self._lock:
            self._stopping = True
            loop, step = self._loop, self._step_id
        if loop is not None:
            loop.stop()
        if step is not None:
            self._engine.cancel(step)
        self._events.put(None)  # a step waiting for events hears at once

    def take(self, event: p.Message) -> bool:
        """Keep `event` if it belongs to the running step (the session then ignores it)."""
        if isinstance(event, p.WorkerDied):
            self._events.put(event)
            return False  # the session fails the answer too
        rid = getattr(event, "request_id", None)
        with self._lock:
            mine = rid is not None and rid == self._step_id
        if mine:
            self._events.put(event)
        return mine

    def join(self, timeout: float | None = None) -> None:
        """Wait for the loop's thread to end (tests, and a front end closing)."""
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------ the loop's thread
    def _run(self, request: Request, message: Message) -> None:
        answer_id = request.request_id
        last: list[p.Done] = []
        try:
            self._host.wait_started(START_TIMEOUT_S)
            self._catalog = ToolCatalog(self._host.tools(), self._settings)
            loop = ToolLoop(
                self._catalog,
                self._host.call,
                self._approve,
                settings=self._settings,
                on_settings_changed=self._on_settings_changed,
                on_turn=self._record,
                image_budget=self._image_budget,
            )
            with self._lock:
                self._loop = loop
                if self._stopping:
                    loop.stop()
            tools = self._catalog.definitions()
            outcome = loop.run(lambda turns: self._step(request, turns, tools, last))
        except StepFailed as exc:
            end: p.Message = self._failed(answer_id, str(exc))
        except Exception as exc:
            log.exception("the tool loop of %s failed", answer_id)
            end = self._failed(
                answer_id,
                f"The answer with tools failed ({type(exc).__name__}: {exc}). "
                "The log has the details; press Retry to ask again.",
            )
        else:
            for notice in outcome.notices:
                self._on_notice(notice)
            if outcome.ended == "stopped" or not last:
                end = p.Cancelled(answer_id, 0)
            else:
                end = dataclasses.replace(last[-1], request_id=answer_id)
        message.tool_turns = list(self.records)
        self._deliver(end)

    def _failed(self, answer_id: str, sentence: str) -> p.Message:
        if self._stopping:
            return p.Cancelled(answer_id, 0)
        return p.Error(answer_id, "generation_failed", sentence)

    def _step(
        self,
        request: Request,
        turns: list[LoopTurn],
        tools: list[dict[str, Any]],
        last: list[p.Done],
    ) -> ModelTurn:
        messages = chat_turns(request.turns, turns, self._images)
        step = Request(new_request_id(), messages, request.sampling, tools)
        with self._lock:
            if self._stopping:
                raise StepFailed(STOPPED)
            self._step_id = step.request_id
        try:
            start(self._engine, step)
            shown: list[str] = []
            while True:
                event = self._events.get()
                if event is None:
                    raise StepFailed(STOPPED)
                if isinstance(event, p.Token):
                    if event.text:
                        shown.append(event.text)
                        self._deliver(p.Token(request.request_id, event.text, event.token_ids))
                elif isinstance(event, p.Done):
                    last.append(event)
                    return model_turn("".join(shown), event)
                elif isinstance(event, p.Error):
                    raise StepFailed(event.message, event)
                elif isinstance(event, p.Cancelled):
                    raise StepFailed(STOPPED, event)
                elif isinstance(event, p.WorkerDied):
                    raise StepFailed(
                        f"The model worker stopped mid-answer ({describe_exit(event.exit_code)}).",
                        event,
                    )
        finally:
            with self._lock:
                self._step_id = None

    def _approve(self, proposal: ProposedCall) -> Approval:
        if self._stopping:
            return Approval("deny", reason=STOPPED)
        approval = self._approver(proposal)
        self._decision = (approval.decision, approval.reason)
        return approval

    def _record(self, turn: LoopTurn) -> None:
        if turn.role == "assistant":
            # The prose so far led to calls: it is kept with them, not as the answer. (Its
            # tokens were delivered on this thread, before this turn.)
            self.records.append(assistant_record(turn))
            if self._message is not None:
                self._message.text = ""
            return
        offered = self._catalog.get(turn.tool_name)
        decision, reason = self._decision
        self._decision = ("", "")
        if not decision and offered is not None:
            policy = self._settings.policy_for(offered.server, offered.name)
            decision = "policy" if policy in {"always", "never"} else ""
        server = offered.server if offered else ""
        self.records.append(
            tool_record(turn, server, self._images.paths(turn.images), decision, reason)
        )
