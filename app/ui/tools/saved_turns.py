"""A kept answer's tool turns (`Message.tool_turns`) shown again, read-only.

Each call's result is a `ToolResultView`, a denied call a sentence.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from app.ui.tools.tool_notice import ToolNotice
from app.ui.tools.tool_result_view import ToolResultView

_HOW = {"always": " (always allowed)", "policy": " (allowed in Settings)"}


def saved_turn_blocks(turns: list[dict[str, Any]]) -> list[QWidget]:
    """The blocks for an answer's kept tool turns, in order; records of other shapes are skipped."""
    blocks: list[QWidget] = []
    for turn in turns:
        if not isinstance(turn, dict):
            continue
        if turn.get("role") == "assistant" and str(turn.get("text", "")).strip():
            blocks.append(ToolNotice(str(turn["text"]).strip()))
        if turn.get("role") != "tool":
            continue
        tool, server = str(turn.get("tool_name", "")), str(turn.get("server", ""))
        decision = str(turn.get("decision", ""))
        if decision == "deny":
            reason = str(turn.get("reason", "")).strip()
            blocks.append(
                ToolNotice(f"The call to {tool} was denied{': ' + reason if reason else '.'}")
            )
            continue
        images = [str(path) for path in turn.get("images", []) if isinstance(path, str)]
        blocks.append(
            ToolResultView(
                tool, server, str(turn.get("text", "")), images, bool(turn.get("is_error")),
                _HOW.get(decision, ""),
            )
        )  # fmt: skip
    return blocks
