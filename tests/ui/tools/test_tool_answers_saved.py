"""An answer with tools, run in the window, is saved with its calls, approvals and images.

The image result is written to one file: the model's later steps and the saved record use it.

The real path: the window's tool loop fills the answer's tool_turns, the conversations
saver writes them through the store's writer thread, a separate connection reads them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from app.storage import ConversationStore
from app.ui.conversations.conversation_library import attach_conversations
from app.ui.conversations.conversation_saver import ConversationSaver
from app.ui.main_window import MainWindow
from app.ui.tools.tool_answer import ToolAnswer
from tests.scripted_openai import Scripted, text_reply, tool_call_reply
from tests.ui.tools.conftest import ANSWER_TIMEOUT_MS


def test_the_windows_tool_calls_and_an_image_result_are_saved_and_searchable(
    qtbot: Any, tool_window: MainWindow, scripted: tuple[Scripted, str], data_dir: Path
) -> None:
    window, (state, _url) = tool_window, scripted
    library = attach_conversations(window, data_dir)
    state.replies += [
        tool_call_reply("red_square", '{"size": 8}'),
        tool_call_reply("echo", '{"text": "zanzibar"}'),
        text_reply("A red square, and the echo said zanzibar."),
    ]
    answer_views: list[ToolAnswer] = []
    assert window.tools is not None
    window.tools.answer_started.connect(answer_views.append)
    assert window.send("Draw a square, then echo")
    qtbot.waitUntil(lambda: bool(answer_views and answer_views[0].cards), timeout=ANSWER_TIMEOUT_MS)
    qtbot.mouseClick(answer_views[0].cards[0].run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(answer_views[0].cards) > 1, timeout=ANSWER_TIMEOUT_MS)
    second = answer_views[0].cards[1]
    qtbot.waitUntil(second.isVisible)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        qtbot.mouseClick(second.deny_button, Qt.MouseButton.LeftButton)
    assert ended.args == ["complete"]
    # Three model steps, two of them after the image: it was still written once, and that
    # file is the one the answer's record hands to the store.
    assert len(state.bodies) == 3
    image_dir = window.tools.image_dir
    assert image_dir is not None
    written = [path for path in image_dir.rglob("*") if path.is_file()]
    record = window.assistant_views()[-1].message.tool_turns[1]
    assert written == [Path(record["images"][0])]
    for saver in window.findChildren(ConversationSaver):
        saver.flush()

    with ConversationStore.open(data_dir) as other:
        [summary] = other.list_conversations()
        answer = other.load_conversation(summary.id).messages[-1]
        hits = other.search("zanzibar")
    assert answer.text == "A red square, and the echo said zanzibar."
    kinds = [(t.role, t.tool_name, t.decision) for t in answer.tool_turns]
    assert kinds == [
        ("assistant", "", ""),
        ("tool", "red_square", "run"),
        ("assistant", "", ""),
        ("tool", "echo", "deny"),
    ]
    (square,) = answer.tool_turns[1].images
    assert (square.width, square.height) == (8, 8) and square.path.is_file()
    assert square.path.read_bytes() == written[0].read_bytes()
    assert answer.tool_turns[2].tool_calls[0]["arguments"] == {"text": "zanzibar"}
    assert answer.tool_turns[3].is_error
    assert answer.id in {h.message_id for h in hits}
    assert library.current == summary.id
