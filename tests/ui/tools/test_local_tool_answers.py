"""An answer with tools through the local worker (the demo checkpoint): the loop runs,
the tool definitions reach Llama 4's chat template, and the answer ends as usual."""

from __future__ import annotations

from typing import Any

from app.paths import config_dir
from app.ui.main_window import MainWindow
from app.ui.tools.window_tools import WindowTools
from app.ui.transcript.conversation import Status
from tests.ui.tools.conftest import ANSWER_TIMEOUT_MS, write_tool_config


def test_the_local_worker_answers_with_the_tools_offered(qtbot: Any, window: MainWindow) -> None:
    write_tool_config(config_dir())
    window.use_tools(WindowTools(window.bridge, parent=window))
    tools = window.tools
    assert tools is not None and tools.active
    assert tools.host is not None and tools.host.wait_ready(30)
    window.settings_panel.set_value("max_new_tokens", 8)
    window.settings_panel.set_value("temperature", 0.0)
    steps: list[Any] = []  # the model steps' ends, as the bridge hands them to the session
    window.bridge.generation_finished.connect(steps.append)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:
        assert window.send("What is 19 + 23?")
    assert ended.args == ["complete"]
    assert steps and steps[-1].tool_tokens > 0  # the definitions went into the prompt
    view = window.assistant_views()[-1]
    assert view.message.status is Status.COMPLETE and not window.generating
    assert view.message.text and tools.answer is None
