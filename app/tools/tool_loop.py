"""The tool loop: the model asks for calls, the user approves, the calls run, results go back.

Engine-neutral: `step` is any function that runs one model turn over the conversation
(the local worker with `ToolCallStream`, or an OpenAI-compatible server's tool_calls).

Approval comes only from the `approver` callback (the window's inline card, or the
command line's flag) and from the policies the user set. A tool's result is data for
the model, never read by this loop: text in it that looks like an instruction cannot
approve anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from app.tools.call_parser import ToolCall
from app.tools.catalog import OfferedTool, ToolCatalog, argument_problem
from app.tools.results import ToolImage, ToolResult
from app.tools.tool_settings import DEFAULT_LOOP_LIMIT, ToolSettings

if TYPE_CHECKING:  # the MCP SDK (and pydantic) load only when a server runs
    from app.tools.host import PendingCall

REPEAT_LIMIT = 2  # the same call with the same arguments, more often than this, is a loop


@dataclass
class LoopTurn:
    """A turn the loop adds to the conversation (and the store keeps)."""

    role: Literal["assistant", "tool"]
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    images: list[ToolImage] = field(default_factory=list)
    tool_call_id: str = ""
    tool_name: str = ""
    is_error: bool = False


@dataclass(frozen=True)
class ModelTurn:
    """What one model step produced: prose and the calls it asked for."""

    text: str
    calls: Sequence[ToolCall] = ()
    problems: Sequence[str] = ()
    call_ids: Sequence[str] = ()  # the server engine's ids for the calls, if any


@dataclass(frozen=True)
class ProposedCall:
    """A call waiting for the user's decision: shown with its server and full arguments."""

    server: str
    tool: str
    model_name: str
    arguments: dict[str, Any]

    def arguments_json(self) -> str:
        return json.dumps(self.arguments, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Approval:
    """The user's decision: run (with `arguments` if edited), always run this tool, or deny."""

    decision: Literal["run", "always", "deny"]
    arguments: dict[str, Any] | None = None
    reason: str = ""


Approver = Callable[[ProposedCall], Approval]
Step = Callable[[list[LoopTurn]], ModelTurn]
CallRunner = Callable[[str, str, dict[str, Any]], "PendingCall"]


@dataclass
class LoopOutcome:
    """How an answer with tools ended."""

    text: str  # the model's last prose
    turns: list[LoopTurn]  # every turn the loop added, in order
    ended: Literal["answered", "limit", "stopped"]
    notices: list[str] = field(default_factory=list)  # sentences for the transcript


class ToolLoop:
    """Runs model steps and tool calls until the model answers in prose, or the limit."""

    def __init__(
        self,
        catalog: ToolCatalog,
        run_call: CallRunner,
        approver: Approver,
        settings: ToolSettings | None = None,
        on_settings_changed: Callable[[ToolSettings], None] = lambda settings: None,
        loop_limit: int | None = None,
        on_turn: Callable[[LoopTurn], None] = lambda turn: None,
        image_budget: int | None = None,
    ) -> None:
        """Set up a loop; nothing runs until `run`.

        `image_budget`: how many tool images the answer's requests may still take (the
        model's image limit less the conversation's images); None for no limit.
        """
        self._catalog = catalog
        self._run_call = run_call
        self._approver = approver
        self._settings = settings or ToolSettings()
        self._on_settings_changed = on_settings_changed
        self._limit = loop_limit or (settings.loop_limit if settings else DEFAULT_LOOP_LIMIT)
        self._on_turn = on_turn
        self._image_budget = image_budget
        self._stopped = threading.Event()
        self._running: PendingCall | None = None
        self._lock = threading.Lock()

    @property
    def stop_requested(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Stop: cancel the running call (if any) and take no further step."""
        self._stopped.set()
        with self._lock:
            running = self._running
        if running is not None:
            running.cancel()

    def run(self, step: Step) -> LoopOutcome:
        turns: list[LoopTurn] = []
        notices: list[str] = []
        seen: dict[str, int] = {}
        rounds = 0
        budget = self._image_budget
        while True:
            if self.stop_requested:
                return LoopOutcome("", turns, "stopped", notices)
            turn = step(turns)
            notices.extend(turn.problems)
            if not turn.calls or self.stop_requested:
                ended: Literal["answered", "stopped"] = (
                    "stopped" if self.stop_requested else "answered"
                )
                return LoopOutcome(turn.text, turns, ended, notices)
            if rounds >= self._limit:
                notices.append(
                    f"The model asked for more tools after {self._limit} rounds of tool calls, "
                    "the limit for one answer (a setting); its last calls were not run."
                )
                return LoopOutcome(turn.text, turns, "limit", notices)
            rounds += 1
            ids = list(turn.call_ids) or [f"call_{rounds}_{i}" for i in range(len(turn.calls))]
            asked = LoopTurn(
                "assistant",
                turn.text,
                tool_calls=[
                    {"id": ids[i], "name": call.name, "arguments": call.arguments}
                    for i, call in enumerate(turn.calls)
                ],
            )
            self._add(turns, asked)
            for call_id, call in zip(ids, turn.calls, strict=True):
                result = self._one_call(call, seen, notices)
                images, text = list(result.images), result.text
                if budget is not None and len(images) > budget:
                    images, text = self._over_budget(call.name, images, text, budget, notices)
                if budget is not None:
                    budget -= len(images)
                self._add(
                    turns,
                    LoopTurn(
                        "tool",
                        text,
                        images=images,
                        tool_call_id=call_id,
                        tool_name=call.name,
                        is_error=result.is_error,
                    ),
                )

    @staticmethod
    def _over_budget(
        name: str, images: list[ToolImage], text: str, budget: int, notices: list[str]
    ) -> tuple[list[ToolImage], str]:
        """The images that still fit, and the result's text saying what was left out."""
        left = len(images) - budget
        notices.append(
            f"{name!r} returned {len(images)} image(s); {left} of them did not go to the "
            "model, since one request takes only so many images (the image limit)."
        )
        note = f"[{left} more image(s) of this result were not sent: the image limit.]"
        return images[:budget], f"{text}\n{note}" if text else note

    def _add(self, turns: list[LoopTurn], turn: LoopTurn) -> None:
        turns.append(turn)
        self._on_turn(turn)

    def _one_call(self, call: ToolCall, seen: dict[str, int], notices: list[str]) -> ToolResult:
        if self.stop_requested:
            return ToolResult.failure("The user stopped the answer before this call ran.")
        if call.problem:
            notices.append(call.problem)
            return ToolResult.failure(call.problem)
        tool = self._catalog.get(call.name)
        if tool is None:
            names = ", ".join(self._catalog.names()) or "none"
            sentence = f"There is no tool called {call.name!r}. The tools are: {names}."
            notices.append(f"The model asked for a tool that does not exist ({call.name!r}).")
            return ToolResult.failure(sentence)
        problem = argument_problem(tool, call.arguments)
        if problem:
            notices.append(problem)
            return ToolResult.failure(problem)
        key = json.dumps([call.name, call.arguments], sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > REPEAT_LIMIT:
            sentence = (
                f"The model asked for {call.name!r} with the same arguments "
                f"{seen[key]} times in one answer; the repeat was not run."
            )
            notices.append(sentence)
            return ToolResult.failure(sentence + " Use the earlier results.")
        arguments = self._approved_arguments(tool, call, notices)
        if isinstance(arguments, ToolResult):
            return arguments
        pending = self._run_call(tool.server, tool.name, arguments)
        with self._lock:
            self._running = pending
        if self.stop_requested:
            pending.cancel()
        try:
            return pending.result()
        finally:
            with self._lock:
                self._running = None

    def _approved_arguments(
        self, tool: OfferedTool, call: ToolCall, notices: list[str]
    ) -> dict[str, Any] | ToolResult:
        policy = self._settings.policy_for(tool.server, tool.name)
        if policy == "never":
            return ToolResult.failure(f"The user does not allow the tool {call.name!r}.")
        if policy == "always":
            return call.arguments
        proposal = ProposedCall(tool.server, tool.name, tool.model_name, dict(call.arguments))
        approval = self._approver(proposal)
        if approval.decision == "deny":
            why = f" Their reason: {approval.reason}" if approval.reason.strip() else ""
            return ToolResult.failure(f"The user declined the call to {call.name!r}.{why}")
        if approval.decision == "always":
            self._settings.set_policy(tool.server, "always", tool=tool.name)
            self._on_settings_changed(self._settings)
        arguments = approval.arguments if approval.arguments is not None else call.arguments
        if approval.arguments is not None:
            problem = argument_problem(tool, arguments)
            if problem:
                notices.append(f"The edited arguments were not used: {problem}")
                return ToolResult.failure(problem)
        return arguments
