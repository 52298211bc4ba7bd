"""The status bar's figures after an answer, with the real worker and the demo checkpoint."""

from __future__ import annotations

import re

from app.ui.main_window import MainWindow

ANSWER_TIMEOUT_MS = 180_000
# Over one 512-token prefill chunk, so that the follow-up can reuse the kept KV cache.
LONG = "Summarise the table on this page and compare it with the chart. " * 24


def _ask(qtbot: object, window: MainWindow, text: str) -> str:
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        assert window.send(text)
    return window.status.figures_label.text()


def test_a_follow_up_says_how_many_prompt_tokens_came_from_the_cache(
    qtbot: object, window: MainWindow
) -> None:
    window.settings_panel.set_value("max_new_tokens", 4)
    window.settings_panel.set_value("temperature", 0.0)
    first = _ask(qtbot, window, LONG)
    assert "tokens/s" in first and "cached" not in first  # nothing was kept before it
    follow_up = _ask(qtbot, window, "And the chart alone?")
    found = re.search(r"([\d,]+) of ([\d,]+) prompt tokens cached", follow_up)
    assert found, follow_up
    cached, prompt = (int(n.replace(",", "")) for n in found.groups())
    assert 512 <= cached < prompt
