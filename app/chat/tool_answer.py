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

This is the one tool loop of the app: the command line's ``ask --tools`` prints what it
reports and asks on the terminal; the window (`app.ui.tools.tool_answer`) draws it and
asks on a card. Every call out to a front end (`deliver`, `on_turn`, `on_notice`,
`on_settings_changed`) goes through `post`, in order: a front end with a thread of its
own (the window's GUI thread) passes a `post` that queues them there.
"""

from __future__ import annotations

import dataclasses
import functools
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
from app.tools.catalog import OfferedTool, ToolCatalog
from app.tools.tool_loop import (
    Approval,
    Approver,
    LoopOutcome,
    LoopTurn,
    ModelTurn,
    ProposedCall,
    ToolLoop,
)
from app.tools.tool_settings import ToolSettings
from app.workers import protocol as p
from app.workers.client import describe_exit, new_request_id

if TYPE_CHECKING:  # the MCP SDK loads with the host
    from app.tools.host import ToolHost

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # for the enabled servers to start (or fail) before the first step
STOPPED = "The answer was stopped."
Post = Callable[[Callable[[], None]], None]


def _now(call: Callable[[], None]) -> None:
    call()


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
        on_turn: Callable[[LoopTurn, dict[str, Any]], None] = lambda turn, record: None,
        post: Post = _now,
    ) -> None:
        """`deliver` takes the answer's events (usually `ChatSession.handle`).

        `on_turn` hears each turn the loop adds with its record (`app.chat.tool_turns`);
        `on_notice` a sentence (a server that did not start, the loop's own notices).
        """
        self._engine = engine
        self._host = host
        self._settings = settings
        self._approver = approver
        self._deliver = deliver
        self._images = ToolImageFiles(image_dir)  # one file per image, however often sent
        self._on_settings_changed = on_settings_changed
        self._on_notice = on_notice
        self._image_budget = image_budget
        self._on_turn = on_turn
        self._post = post
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
        self.outcome: LoopOutcome | None = None  # how the loop ended (not when it failed)
        self.turns: list[LoopTurn] = []  # every turn the loop added, in order
        self.steps = 0  # model steps started

    def offered(self, tool_name: str) -> OfferedTool | None:
        """The tool the model called by `tool_name`, if it was offered."""
        return self._catalog.get(tool_name)

    @property
    def stopping(self) -> bool:
        """Whether `cancel` was called (an approver waiting for a person gives up)."""
        return self._stopping

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
            for _ in range(int(START_TIMEOUT_S)):  # in slices: Stop is not kept waiting
                if self._stopping or self._host.wait_started(1.0):
                    break
            for state in self._host.states():
                if state.status != "ready":
                    sentence = state.error or f"The tool server {state.name!r} did not start."
                    self._notice(f"{sentence} Its tools are not offered in this answer.")
            self._catalog = ToolCatalog(self._host.tools(), self._settings)
            loop = ToolLoop(
                self._catalog,
                self._host.call,
                self._approve,
                settings=self._settings,
                on_settings_changed=self._settings_changed,
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
            kind = exc.event.error_kind if isinstance(exc.event, p.Error) else "generation_failed"
            end: p.Message = self._failed(answer_id, str(exc), kind)
        except Exception as exc:
            log.exception("the tool loop of %s failed", answer_id)
            end = self._failed(
                answer_id,
                f"The answer with tools failed ({type(exc).__name__}: {exc}). "
                "The log has the details; press Retry to ask again.",
            )
        else:
            self.outcome = outcome
            for notice in outcome.notices:
                self._notice(notice)
            if outcome.ended == "stopped" or not last:
                end = p.Cancelled(answer_id, 0)
            else:
                end = dataclasses.replace(last[-1], request_id=answer_id)
        records = list(self.records)

        def ended() -> None:
            message.tool_turns = records
            self._deliver(end)

        self._post(ended)

    def _failed(self, answer_id: str, sentence: str, kind: str = "generation_failed") -> p.Message:
        if self._stopping:
            return p.Cancelled(answer_id, 0)
        return p.Error(answer_id, kind, sentence)

    def _notice(self, sentence: str) -> None:
        self._post(lambda: self._on_notice(sentence))

    def _settings_changed(self, settings: ToolSettings) -> None:
        self._post(lambda: self._on_settings_changed(settings))

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
            self.steps += 1
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
                        token = p.Token(request.request_id, event.text, event.token_ids)
                        self._post(functools.partial(self._deliver, token))
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
        self.turns.append(turn)
        if turn.role == "assistant":
            # The prose so far led to calls: it is kept with them, not as the answer. (Its
            # tokens were posted before this turn, so the front end has them all.)
            record = assistant_record(turn)
            self.records.append(record)
            self._post(lambda: self._took_prose(turn, record))
            return
        offered = self._catalog.get(turn.tool_name)
        decision, reason = self._decision
        self._decision = ("", "")
        if not decision and offered is not None:
            policy = self._settings.policy_for(offered.server, offered.name)
            decision = "policy" if policy in {"always", "never"} else ""
        server = offered.server if offered else ""
        record = tool_record(turn, server, self._images.paths(turn.images), decision, reason)
        self.records.append(record)
        self._post(lambda: self._on_turn(turn, record))

    def _took_prose(self, turn: LoopTurn, record: dict[str, Any]) -> None:
        self._on_turn(turn, record)  # a front end may take the prose shown first
        if self._message is not None:
            self._message.text = ""
