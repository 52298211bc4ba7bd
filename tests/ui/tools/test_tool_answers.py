"""Tool calls in the window: the server engine asks (a scripted server on 127.0.0.1 that
answers with a tool call, then text), the user approves on the card, a real MCP server runs
the call, and the result goes back to the model."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from app.paths import config_dir
from app.tools.tool_settings import default_settings_path, load_settings, save_settings
from app.ui.main_window import MainWindow
from app.ui.tools.approval_card import ApprovalCard
from app.ui.tools.tool_answer import ToolAnswer
from app.ui.tools.tool_notice import ToolNotice
from app.ui.tools.tool_result_view import ToolResultView
from app.ui.transcript.conversation import Status
from tests.scripted_openai import Scripted, text_reply, tool_call_reply
from tests.ui.tools.conftest import ANSWER_TIMEOUT_MS

CLICK = Qt.MouseButton.LeftButton


def _answer(window: MainWindow) -> ToolAnswer:
    assert window.tools is not None and window.tools.answer is not None
    return window.tools.answer


def _card(qtbot: Any, window: MainWindow, index: int = 0) -> ApprovalCard:
    """The answer's card number `index`, once it is shown."""
    answer = _answer(window)
    qtbot.waitUntil(lambda: len(answer.cards) > index, timeout=ANSWER_TIMEOUT_MS)
    card = answer.cards[index]
    assert card in window.assistant_views()[-1].blocks()
    qtbot.waitUntil(card.isVisible)  # shown with its layout's next pass
    return card


def _tool_message(body: dict[str, Any]) -> dict[str, Any]:
    """The newest tool result sent (earlier answers' results come first, as context)."""
    return [m for m in body["messages"] if m["role"] == "tool"][-1]


def test_the_card_shows_the_arguments_and_the_edited_ones_reach_the_tool(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [tool_call_reply("echo", '{"text": "hello"}'), text_reply("It said edited.")]
    assert window.send("Echo hello")
    card = _card(qtbot, window)
    assert "echo" in card.title.text() and "local" in card.title.text()
    assert card.arguments.toPlainText() == json.dumps({"text": "hello"}, indent=2)
    assert {t["function"]["name"] for t in state.bodies[0]["tools"]} >= {"echo", "add"}

    # Bad JSON: a sentence on the card, and nothing runs.
    card.arguments.setPlainText('{"text": "edited"')
    qtbot.mouseClick(card.run_button, CLICK)
    assert card.pending and card.problem.isVisible()
    assert "not valid JSON" in card.problem.text() and "line 1" in card.problem.text()
    qtbot.wait(300)
    assert len(state.bodies) == 1

    card.arguments.setPlainText('{"text": "edited"}')
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        qtbot.mouseClick(card.run_button, CLICK)
    assert ended.args == ["complete"]
    assert not card.pending and card.arguments.isReadOnly()
    assert _tool_message(state.bodies[1]) == {
        "role": "tool",
        "tool_call_id": "call_abc",
        "content": "edited",
    }
    view = window.assistant_views()[-1]
    results = [b for b in view.blocks() if isinstance(b, ToolResultView)]
    assert len(results) == 1 and results[0].text == "edited" and not results[0].is_error
    assert not results[0].expanded  # folded until opened
    qtbot.mouseClick(results[0].toggle, CLICK)
    assert results[0].expanded
    message = view.message
    assert message.text == "It said edited." and message.status is Status.COMPLETE
    assert message.tool_turns == [
        {
            "role": "assistant",
            "text": "",
            "tool_calls": [{"id": "call_abc", "name": "echo", "arguments": {"text": "hello"}}],
        },
        {
            "role": "tool",
            "text": "edited",
            "tool_call_id": "call_abc",
            "tool_name": "echo",
            "server": "local",
            "is_error": False,
            "images": [],
            "decision": "run",
            "reason": "",
        },
    ]


def test_deny_sends_the_reason_to_the_model(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [tool_call_reply("add", '{"a": 1, "b": 2}'), text_reply("Fine, no sums.")]
    assert window.send("Add 1 and 2")
    card = _card(qtbot, window)
    card.reason.setText("I can add that myself")
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):
        qtbot.mouseClick(card.deny_button, CLICK)
    sent = _tool_message(state.bodies[1])["content"]
    assert "declined" in sent and "I can add that myself" in sent
    assert "Denied: I can add that myself" in card.outcome.text()
    turns = window.assistant_views()[-1].message.tool_turns
    assert turns[1]["decision"] == "deny" and turns[1]["reason"] == "I can add that myself"
    assert turns[1]["is_error"] is True


def test_always_allow_is_remembered_and_saved(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    tools = window.tools
    assert tools is not None
    host = tools.host
    state.replies += [
        tool_call_reply("add", '{"a": 19, "b": 23}'),
        text_reply("42."),
        tool_call_reply("add", '{"a": 2, "b": 3}', call_id="call_2"),
        text_reply("5."),
    ]
    assert window.send("Add 19 and 23")
    card = _card(qtbot, window)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):
        qtbot.mouseClick(card.always_button, CLICK)
    saved = load_settings(default_settings_path(config_dir() / "mcp.json"))
    assert saved.policy_for("local", "add") == "always"
    assert saved.policy_for("local", "echo") == "ask"  # only that tool
    assert window.assistant_views()[-1].message.tool_turns[1]["decision"] == "always"

    qtbot.wait(600)  # the settings file changed: read again, the same servers keep running
    assert tools.host is host
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("Add 2 and 3")
        answer = _answer(window)
    assert ended.args == ["complete"] and answer.cards == []
    assert _tool_message(state.bodies[3])["content"] == "5"
    # The first answer's call and result went along as context, before the new question.
    earlier = [m["content"] for m in state.bodies[3]["messages"] if m["role"] == "tool"]
    assert earlier == ["42", "5"]
    view = window.assistant_views()[-1]
    assert view.message.text == "5." and view.message.tool_turns[1]["decision"] == "policy"
    result = next(b for b in view.blocks() if isinstance(b, ToolResultView))
    assert "always" in result.header.text() or "Settings" in result.header.text()


def test_an_image_result_is_a_thumbnail_and_goes_to_the_model(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [tool_call_reply("red_square", '{"size": 8}'), text_reply("A red square.")]
    assert window.send("Draw a red square")
    card = _card(qtbot, window)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):
        qtbot.mouseClick(card.run_button, CLICK)
    view = window.assistant_views()[-1]
    result = next(b for b in view.blocks() if isinstance(b, ToolResultView))
    assert len(result.thumbnails) == 1
    thumbnail = result.thumbnails[0]
    assert thumbnail.icon().availableSizes()
    qtbot.waitUntil(thumbnail.isVisible)
    image = Path(view.message.tool_turns[1]["images"][0])
    assert window.tools is not None and window.tools.image_dir is not None
    assert image.parent == window.tools.image_dir and thumbnail.path == image
    assert image.read_bytes().startswith(b"\x89PNG")
    last = state.bodies[1]["messages"][-1]
    assert last["role"] == "user" and last["content"][1]["image_url"]["url"].startswith(
        "data:image/png;base64,"
    )


def test_stop_during_a_hanging_call_ends_the_answer(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [tool_call_reply("hang", '{"seconds": 3600}')]
    assert window.send("Wait forever")
    card = _card(qtbot, window)
    qtbot.mouseClick(card.run_button, CLICK)
    qtbot.wait(500)  # the call is running on the MCP server
    assert window.generating
    started = time.monotonic()
    with qtbot.waitSignal(window.answer_ended, timeout=10_000) as ended:
        window.stop_action.trigger()  # Esc
    assert ended.args == ["stopped"] and time.monotonic() - started < 5
    assert len(state.bodies) == 1  # no model step after Stop
    turns = window.assistant_views()[-1].message.tool_turns
    assert turns[1]["is_error"] and "stopped" in turns[1]["text"]
    assert not window.generating and window.tools is not None and window.tools.answer is None


def test_stop_while_the_card_waits_closes_it(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [tool_call_reply("echo", '{"text": "x"}')]
    assert window.send("Echo x")
    card = _card(qtbot, window)
    with qtbot.waitSignal(window.answer_ended, timeout=10_000) as ended:
        window.stop()
    assert ended.args == ["stopped"] and not card.pending
    assert not card.run_button.isEnabled() and "stopped" in card.outcome.text()
    assert len(state.bodies) == 1


def test_errors_and_unknown_tools_are_sentences_and_the_answer_goes_on(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [
        tool_call_reply("no_such_tool", "{}"),
        tool_call_reply("fail", '{"why": "testing"}', call_id="call_2"),
        text_reply("Both went wrong."),
    ]
    assert window.send("Try things")
    card = _card(qtbot, window)  # the unknown tool ran into no card: this one is for `fail`
    assert "fail" in card.title.text()
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        qtbot.mouseClick(card.run_button, CLICK)
    assert ended.args == ["complete"]
    view = window.assistant_views()[-1]
    results = [b for b in view.blocks() if isinstance(b, ToolResultView)]
    assert [r.is_error for r in results] == [True, True]
    assert "There is no tool called 'no_such_tool'" in results[0].text
    assert "Error executing tool fail" in results[1].text and results[1].expanded  # its words
    notices = [b.text() for b in view.blocks() if isinstance(b, ToolNotice)]
    assert any("does not exist" in n for n in notices)
    assert view.message.text == "Both went wrong."


def test_disabling_the_server_turns_tools_off_and_stops_it(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    tools = window.tools
    assert tools is not None and tools.host is not None
    settings_path = default_settings_path(config_dir() / "mcp.json")
    settings = load_settings(settings_path)
    settings.servers["local"].enabled_fingerprint = None
    save_settings(settings, settings_path)
    qtbot.waitUntil(lambda: not tools.active, timeout=5_000)
    state.replies += [text_reply("No tools now.")]
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("Hi")
    assert ended.args == ["complete"] and "tools" not in state.bodies[0]
    assert window.assistant_views()[-1].message.text == "No tools now."


def test_closing_the_window_while_a_card_waits_stops_everything(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str]
) -> None:
    window, (state, _url) = tool_window, scripted
    state.replies += [tool_call_reply("echo", '{"text": "x"}')]
    assert window.send("Echo x")
    _card(qtbot, window)
    tools = window.tools
    assert tools is not None and tools.image_dir is not None
    image_dir = tools.image_dir
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 10
    assert tools.host is None and not image_dir.exists()
    qtbot.wait(500)  # what the loop reported while the window closed writes nothing
    assert not image_dir.exists() and len(state.bodies) == 1


def test_a_tool_image_past_the_image_limit_stays_out_with_a_sentence(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str], tmp_path: Path
) -> None:
    from PIL import Image

    window, (state, _url) = tool_window, scripted
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 48), (20, 90, 200)).save(photo)
    window.settings_panel.set_value("image_limit", 1)  # the question's photo takes it
    state.replies += [tool_call_reply("red_square", '{"size": 8}'), text_reply("No room.")]
    assert window.send("Draw a red square", [photo])
    card = _card(qtbot, window)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):
        qtbot.mouseClick(card.run_button, CLICK)
    sent = [
        part
        for message in state.bodies[1]["messages"]
        if isinstance(message["content"], list)
        for part in message["content"]
        if part["type"] == "image_url"
    ]
    assert len(sent) == 1  # the photo; the tool's image did not go
    assert "not sent: the image limit" in _tool_message(state.bodies[1])["content"]
    view = window.assistant_views()[-1]
    notices = [b.text() for b in view.blocks() if isinstance(b, ToolNotice)]
    assert any("image limit" in n for n in notices)
    assert view.message.tool_turns[1]["images"] == [] and view.message.text == "No room."
