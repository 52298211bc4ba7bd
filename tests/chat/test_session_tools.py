"""The session's tool loop without Qt: approve, deny, always, stop, and the worker's death.

A scripted engine answers each model step on a thread of its own (as a worker's reader
would), with calls on its `Done` as the local worker and the server engines send them;
the calls run on a real MCP server over stdio (tests/tools/mcp_test_server.py). PySide6
cannot be imported here (conftest.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from app.chat.conversation import Message
from app.chat.session import ChatSession, SessionObserver
from app.chat.tool_answer import ToolLoopAnswer
from app.chat.vocabulary import Status
from app.tools.host import ToolHost
from app.tools.tool_loop import Approval, ProposedCall
from app.tools.tool_settings import ToolSettings
from app.workers import protocol as p
from tests.tools.conftest import stdio_config

CALL = {"id": "call_1", "name": "echo", "arguments": {"text": "hi there"}}


class ToolEngine:
    """Step 1 asks for `echo`; a step after a tool's result answers with that result.

    `hold` keeps the first step waiting (to stop it, or to let the worker die).
    """

    def __init__(self, deliver: Callable[[p.Message], None]) -> None:
        self.deliver = deliver
        self.asked: list[list[p.ChatTurn]] = []
        self.tools: list[Sequence[dict[str, Any]]] = []
        self.cancelled: list[str] = []
        self.hold = False

    def generate(
        self,
        messages: Sequence[p.ChatTurn],
        *,
        request_id: str | None = None,
        tools: Sequence[dict[str, Any]] = (),
        **sampling: Any,
    ) -> str:
        assert request_id is not None
        self.asked.append(list(messages))
        self.tools.append(tools)
        if not self.hold:
            threading.Thread(target=self._answer, args=(request_id, messages)).start()
        return request_id

    def cancel(self, request_id: str) -> None:
        self.cancelled.append(request_id)
        self.deliver(p.Cancelled(request_id, 0))

    def _answer(self, rid: str, messages: Sequence[p.ChatTurn]) -> None:
        last = messages[-1]
        if last.role == "tool":
            self.deliver(p.Token(rid, f"The tool said: {last.text}", [1]))
            self.deliver(p.Done(rid, 30, 0, 5, 0.1, 50.0, "stop"))
            return
        self.deliver(p.Token(rid, "Let me ask the tool. ", [1]))
        self.deliver(p.Done(rid, 20, 0, 9, 0.1, 50.0, "tool_calls", tool_calls=[CALL]))


class Ended(SessionObserver):
    def __init__(self) -> None:
        self.ended = threading.Event()
        self.failures: list[str] = []

    def answer_ended(self, message: Message, event: p.Message | None) -> None:
        self.ended.set()

    def answer_failed(self, sentence: str) -> None:
        self.failures.append(sentence)


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolHost]:
    with ToolHost(logs=tmp_path_factory.mktemp("logs")) as host:
        host.start([stdio_config()])
        assert host.wait_ready(30)
        yield host


class Setup:
    def __init__(self, host: ToolHost, tmp_path: Path, approve: Callable[..., Approval]) -> None:
        self.session = ChatSession(None)  # type: ignore[arg-type]  # the engine is set below
        self.engine = ToolEngine(self.session.handle)
        self.session.engine = self.engine
        self.settings = ToolSettings()
        self.settings.set_enabled(stdio_config(), True)
        self.proposals: list[ProposedCall] = []
        self.saved: list[ToolSettings] = []
        self.notices: list[str] = []
        self.heard = Ended()
        self.session.observers.append(self.heard)

        def approver(proposal: ProposedCall) -> Approval:
            self.proposals.append(proposal)
            return approve(proposal)

        def strategy(request: object) -> ToolLoopAnswer:
            self.answer = ToolLoopAnswer(
                self.engine,
                host,
                self.settings,
                approver,
                self.session.handle,
                tmp_path,
                on_settings_changed=self.saved.append,
                on_notice=self.notices.append,
            )
            return self.answer

        self.session.choose_strategy = strategy

    def ask(self, text: str = "Echo 'hi there' please.") -> Message:
        self.session.send(text)
        assert self.heard.ended.wait(30), "the answer never ended"
        self.answer.join(10)
        return self.session.conversation.messages[-1]


def test_an_approved_call_runs_on_the_server_and_the_model_answers_with_it(
    host: ToolHost, tmp_path: Path
) -> None:
    setup = Setup(host, tmp_path, lambda proposal: Approval("run"))
    reply = setup.ask()
    assert [(c.server, c.tool, c.arguments) for c in setup.proposals] == [
        ("local", "echo", {"text": "hi there"})
    ]
    assert "echo" in {t["function"]["name"] for t in setup.engine.tools[0]}
    tool_turn = setup.engine.asked[1][-1]
    assert (tool_turn.role, tool_turn.text, tool_turn.tool_call_id) == (
        "tool",
        "hi there",
        "call_1",
    )
    assert reply.status is Status.COMPLETE and reply.text == "The tool said: hi there"
    assert [(t["role"], t.get("decision")) for t in reply.tool_turns] == [
        ("assistant", None),
        ("tool", "run"),
    ]
    assert reply.tool_turns[0]["text"] == "Let me ask the tool. "
    assert reply.stats["generated_tokens"] == 5  # the last step's figures


def test_a_denied_call_does_not_run_and_the_model_hears_why(host: ToolHost, tmp_path: Path) -> None:
    setup = Setup(host, tmp_path, lambda proposal: Approval("deny", reason="not today"))
    reply = setup.ask()
    tool_turn = setup.engine.asked[1][-1]
    assert "declined" in tool_turn.text and "not today" in tool_turn.text
    assert reply.status is Status.COMPLETE and reply.text.startswith("The tool said: ")
    assert (
        reply.tool_turns[1]["decision"] == "deny" and reply.tool_turns[1]["reason"] == "not today"
    )


def test_always_is_remembered_and_the_next_call_is_not_asked(
    host: ToolHost, tmp_path: Path
) -> None:
    setup = Setup(host, tmp_path, lambda proposal: Approval("always"))
    setup.ask()
    assert setup.saved and setup.saved[-1].policy_for("local", "echo") == "always"
    setup.heard.ended.clear()
    reply = setup.ask("Again.")
    assert len(setup.proposals) == 1  # the second answer's call ran without asking
    assert reply.tool_turns[1]["decision"] == "policy"


def test_stop_during_a_step_ends_the_answer_stopped(host: ToolHost, tmp_path: Path) -> None:
    setup = Setup(host, tmp_path, lambda proposal: Approval("run"))
    setup.engine.hold = True
    setup.session.send("Echo something.")
    while not setup.engine.asked:
        threading.Event().wait(0.01)
    setup.session.stop()
    assert setup.heard.ended.wait(10)
    setup.answer.join(10)
    assert setup.engine.cancelled and not setup.proposals
    assert setup.session.conversation.messages[-1].status is Status.STOPPED
    assert not setup.session.generating


def test_the_worker_dying_mid_step_fails_the_answer_and_ends_the_loop(
    host: ToolHost, tmp_path: Path
) -> None:
    setup = Setup(host, tmp_path, lambda proposal: Approval("run"))
    setup.engine.hold = True
    setup.session.send("Echo something.")
    while not setup.engine.asked:
        threading.Event().wait(0.01)
    setup.session.handle(p.WorkerDied(-9))
    setup.answer.join(10)
    assert setup.heard.failures and "stopped" in setup.heard.failures[0]
    assert "Retry" in setup.heard.failures[0]
    assert not setup.session.generating
    assert setup.session.conversation.messages[-1].role.value == "user"  # empty answer dropped
