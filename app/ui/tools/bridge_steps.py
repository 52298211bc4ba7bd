"""The tool loop's model steps, run by the window's bridge (local worker or server engine).

A step is asked for from the loop's thread and started here, on the GUI thread: the
bridge streams it with the tools offered, and either engine's calls come on its `Done`
(the local worker holds a call's text back and reads it, `app.workers.tool_text`). The
step's outcome goes back to the waiting thread on its queue.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from app.engines.tool_steps import model_turn
from app.ui.bridge.bridge import WorkerBridge
from app.workers import protocol as p

STOPPED = "The answer was stopped."
Reply = queue.SimpleQueue[tuple[str, Any]]  # ("turn", ModelTurn) | ("failed" | "stopped", str)


class BridgeSteps(QObject):
    """Runs one step at a time through `bridge`; shown text goes to `on_text`."""

    def __init__(
        self,
        bridge: WorkerBridge,
        on_text: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self._on_text = on_text
        self._rid: str | None = None
        self._reply: Reply | None = None
        self._shown: list[str] = []
        self.last_done: p.Done | None = None  # of the last step that finished
        self.cancelled = False  # a step was cancelled (Stop, or another engine was chosen)
        bridge.token_received.connect(self._on_token_received)
        bridge.generation_finished.connect(self._on_generation_finished)
        bridge.generation_failed.connect(self._on_generation_failed)
        bridge.generation_cancelled.connect(self._on_generation_cancelled)

    def start(
        self,
        messages: list[p.ChatTurn],
        tools: list[dict[str, Any]],
        sampling: dict[str, Any],
        reply: Reply,
    ) -> None:
        self._shown = []
        self._reply = reply
        self._rid = self._bridge.generate(messages, tools=tools, **sampling)

    def cancel(self) -> None:
        """Stop the running step; its thread hears at once, not when the engine confirms."""
        if self._rid is not None:
            self._bridge.cancel(self._rid)
            self.cancelled = True
            self._done(("stopped", STOPPED))

    def close(self) -> None:
        self.cancel()
        self._bridge.token_received.disconnect(self._on_token_received)
        self._bridge.generation_finished.disconnect(self._on_generation_finished)
        self._bridge.generation_failed.disconnect(self._on_generation_failed)
        self._bridge.generation_cancelled.disconnect(self._on_generation_cancelled)

    def _on_token_received(self, request_id: str, text: str) -> None:
        if request_id != self._rid:
            return
        if text:
            self._show(text)

    def _on_generation_finished(self, done: p.Done) -> None:
        if done.request_id != self._rid:
            return
        self.last_done = done
        self._done(("turn", model_turn("".join(self._shown), done)))

    def _on_generation_failed(self, request_id: str, text: str) -> None:
        if request_id == self._rid:
            self._done(("failed", text))

    def _on_generation_cancelled(self, request_id: str, generated: int) -> None:
        if request_id == self._rid:
            self.cancelled = True
            self._done(("stopped", STOPPED))

    def _show(self, text: str) -> None:
        self._shown.append(text)
        self._on_text(text)

    def _done(self, outcome: tuple[str, Any]) -> None:
        reply, self._reply, self._rid = self._reply, None, None
        if reply is not None:
            reply.put(outcome)
