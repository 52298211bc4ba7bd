"""A kept answer with tool turns, opened again: its results and denials show, read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from app.ui.main_window import MainWindow
from app.ui.tools.tool_notice import ToolNotice
from app.ui.tools.tool_result_view import ToolResultView
from app.ui.transcript.conversation import Conversation, Message, Role


def test_an_opened_answer_shows_its_tool_calls(
    qtbot: Any, unstarted_window: MainWindow, tmp_path: Path
) -> None:
    picture = tmp_path / "square.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    call = {"id": "c1", "name": "red_square", "arguments": {"size": 8}}
    answer = Message(Role.ASSISTANT, "A red square.")
    answer.tool_turns = [
        {"role": "assistant", "text": "", "tool_calls": [call]},
        {"role": "tool", "text": "", "tool_call_id": "c1", "tool_name": "red_square",
         "server": "local", "is_error": False, "images": [str(picture)], "decision": "run",
         "reason": ""},
        {"role": "assistant", "text": "", "tool_calls": [{**call, "id": "c2"}]},
        {"role": "tool", "text": "The user declined.", "tool_call_id": "c2",
         "tool_name": "red_square", "server": "local", "is_error": True, "images": [],
         "decision": "deny", "reason": "one is enough"},
        "not a record",
    ]  # fmt: skip
    conversation = Conversation([Message(Role.USER, "Draw"), answer])
    unstarted_window.open_conversation(conversation)
    view = unstarted_window.assistant_views()[-1]
    results = [b for b in view.blocks() if isinstance(b, ToolResultView)]
    assert len(results) == 1 and results[0].thumbnails[0].path == picture
    notices = [b.text() for b in view.blocks() if isinstance(b, ToolNotice)]
    assert notices == ["The call to red_square was denied: one is enough"]
    assert view.message.text == "A red square."
