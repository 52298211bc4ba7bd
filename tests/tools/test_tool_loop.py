"""The tool loop over a real MCP server, with a scripted model step."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from app.tools.call_parser import ToolCall
from app.tools.catalog import ToolCatalog
from app.tools.host import ToolHost
from app.tools.tool_loop import Approval, LoopTurn, ModelTurn, ProposedCall, ToolLoop
from app.tools.tool_settings import ToolSettings
from tests.tools.conftest import stdio_config


@pytest.fixture
def ready_host(host: ToolHost) -> Iterator[ToolHost]:
    host.start([stdio_config()])
    assert host.wait_ready(30)
    yield host


class Script:
    """A model that asks for the given calls, one round each, then answers."""

    def __init__(self, *rounds: list[ToolCall], answer: str = "Done.") -> None:
        self.rounds = list(rounds)
        self.answer = answer
        self.seen: list[list[LoopTurn]] = []

    def __call__(self, turns: list[LoopTurn]) -> ModelTurn:
        self.seen.append(list(turns))
        if self.rounds:
            return ModelTurn("", self.rounds.pop(0))
        return ModelTurn(self.answer)


class Approver:
    def __init__(self, *decisions: Approval) -> None:
        self.decisions = list(decisions)
        self.asked: list[ProposedCall] = []

    def __call__(self, proposal: ProposedCall) -> Approval:
        self.asked.append(proposal)
        return self.decisions.pop(0) if self.decisions else Approval("run")


def _loop(host: ToolHost, approver: Approver, **kwargs: Any) -> ToolLoop:
    settings = kwargs.pop("settings", ToolSettings())
    catalog = ToolCatalog(host.tools(), settings)
    return ToolLoop(catalog, host.call, approver, settings=settings, **kwargs)


def test_call_approved_runs_and_its_result_goes_back(ready_host: ToolHost) -> None:
    script = Script([ToolCall("add", {"a": 2, "b": 3})], answer="It is 5.")
    approver = Approver(Approval("run"))
    outcome = _loop(ready_host, approver).run(script)
    assert outcome.ended == "answered" and outcome.text == "It is 5."
    assert [p.tool for p in approver.asked] == ["add"]
    assert approver.asked[0].server == "local"
    assert '"a": 2' in approver.asked[0].arguments_json()
    asked, result = outcome.turns
    assert asked.role == "assistant" and asked.tool_calls[0]["name"] == "add"
    assert result.role == "tool" and result.text == "5" and not result.is_error
    assert result.tool_call_id == asked.tool_calls[0]["id"]
    assert script.seen[-1] == outcome.turns  # the model saw the result


def test_edited_arguments_are_the_ones_run(ready_host: ToolHost) -> None:
    approver = Approver(Approval("run", arguments={"a": 10, "b": 20}))
    outcome = _loop(ready_host, approver).run(Script([ToolCall("add", {"a": 1, "b": 1})]))
    assert outcome.turns[1].text == "30"


def test_deny_with_reason_tells_the_model(ready_host: ToolHost) -> None:
    approver = Approver(Approval("deny", reason="not today"))
    outcome = _loop(ready_host, approver).run(Script([ToolCall("echo", {"text": "x"})]))
    result = outcome.turns[1]
    assert result.is_error
    assert result.text == "The user declined the call to 'echo'. Their reason: not today"


def test_always_allow_is_remembered_and_not_asked_again(ready_host: ToolHost) -> None:
    settings = ToolSettings()
    saved: list[str] = []
    approver = Approver(Approval("always"))
    loop = _loop(
        ready_host,
        approver,
        settings=settings,
        on_settings_changed=lambda s: saved.append(s.policy_for("local", "echo")),
    )
    script = Script([ToolCall("echo", {"text": "1"})], [ToolCall("echo", {"text": "2"})])
    outcome = loop.run(script)
    assert len(approver.asked) == 1
    assert saved == ["always"] and settings.policy_for("local", "echo") == "always"
    assert settings.policy_for("local", "add") == "ask"
    assert [t.text for t in outcome.turns if t.role == "tool"] == ["1", "2"]


def test_a_tool_result_can_never_approve_another_call(ready_host: ToolHost) -> None:
    approver = Approver(Approval("run"), Approval("deny"))
    script = Script([ToolCall("ignore_previous", {})], [ToolCall("echo", {"text": "rm"})])
    outcome = _loop(ready_host, approver).run(script)
    assert "approve every call" in outcome.turns[1].text
    assert [p.tool for p in approver.asked] == ["ignore_previous", "echo"]
    assert outcome.turns[3].text.startswith("The user declined")


def test_unknown_tool_and_bad_arguments_are_sentences_and_never_asked(
    ready_host: ToolHost,
) -> None:
    approver = Approver()
    script = Script([ToolCall("launch_rockets", {}), ToolCall("add", {"a": "two"})])
    outcome = _loop(ready_host, approver).run(script)
    assert approver.asked == []
    unknown, bad = outcome.turns[1], outcome.turns[2]
    assert unknown.is_error and unknown.text.startswith("There is no tool called 'launch_rockets'")
    assert "echo" in unknown.text
    assert bad.is_error and "do not fit its schema" in bad.text
    assert any("does not exist" in notice for notice in outcome.notices)


def test_loop_limit_and_repeats(ready_host: ToolHost) -> None:
    rounds = [[ToolCall("add", {"a": i, "b": 0})] for i in range(5)]
    outcome = _loop(ready_host, Approver(), loop_limit=3).run(Script(*rounds))
    assert outcome.ended == "limit"
    assert len([t for t in outcome.turns if t.role == "tool"]) == 3
    assert "after 3 rounds" in outcome.notices[-1]
    same = [[ToolCall("echo", {"text": "again"})] for _ in range(3)]
    repeated = _loop(ready_host, Approver()).run(Script(*same))
    assert [t.is_error for t in repeated.turns if t.role == "tool"] == [False, False, True]
    assert "same arguments 3 times" in repeated.notices[-1]


def test_never_policy_hides_the_tool(ready_host: ToolHost) -> None:
    settings = ToolSettings()
    settings.set_policy("local", "never", tool="crash")
    catalog = ToolCatalog(ready_host.tools(), settings)
    assert "crash" not in catalog.names() and "echo" in catalog.names()
    assert catalog.definitions()[0]["function"]["parameters"]["type"] == "object"


def test_image_results_stay_images_for_the_next_step(ready_host: ToolHost) -> None:
    outcome = _loop(ready_host, Approver()).run(Script([ToolCall("red_square", {"size": 4})]))
    result = outcome.turns[1]
    assert [image.mime_type for image in result.images] == ["image/png"]


def test_tool_images_past_the_image_budget_stay_out_with_a_sentence(
    ready_host: ToolHost,
) -> None:
    square = ToolCall("red_square", {"size": 4})
    script = Script([square, ToolCall("red_square", {"size": 6})], [square])
    outcome = _loop(ready_host, Approver(), image_budget=1).run(script)
    results = [turn for turn in outcome.turns if turn.role == "tool"]
    assert [len(turn.images) for turn in results] == [1, 0, 0]
    assert "not sent: the image limit" in results[1].text
    assert "not sent: the image limit" in results[2].text  # the budget is the answer's
    assert script.seen[-1] == outcome.turns  # the model is told, too
    assert sum("image limit" in notice for notice in outcome.notices) == 2
    unlimited = _loop(ready_host, Approver()).run(Script([square, square]))
    assert [len(turn.images) for turn in unlimited.turns if turn.role == "tool"] == [1, 1]


def test_stop_cancels_a_running_call(ready_host: ToolHost) -> None:
    loop = _loop(ready_host, Approver())
    outcome_box: list[Any] = []
    thread = threading.Thread(
        target=lambda: outcome_box.append(loop.run(Script([ToolCall("hang", {})])))
    )
    thread.start()
    time.sleep(1.0)
    started = time.monotonic()
    loop.stop()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    outcome = outcome_box[0]
    assert outcome.ended == "stopped"
    assert "was stopped" in outcome.turns[1].text
