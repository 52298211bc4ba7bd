"""``--screenshot``: wait for the model, optionally ask a question, save the window as a PNG."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import SignalInstance
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow

LOAD_TIMEOUT_S = 600
ANSWER_TIMEOUT_S = 1200


async def next_emission(
    signals: Sequence[SignalInstance], timeout: float
) -> tuple[int, tuple[Any, ...]]:
    """Wait for the first of `signals` to fire; returns its index and arguments."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[int, tuple[Any, ...]]] = loop.create_future()
    slots = []
    for index, signal in enumerate(signals):

        def slot(*args: Any, _index: int = index) -> None:
            if not future.done():
                future.set_result((_index, args))

        signal.connect(slot)
        slots.append((signal, slot))
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        for signal, slot in slots:
            signal.disconnect(slot)


def _fail(message: str) -> int:
    print(f"maverick-desk --screenshot: {message}", file=sys.stderr)
    return 1


async def take_screenshot(
    window: MainWindow, out: Path, question: str | None, images: Sequence[str]
) -> int:
    bridge = window.bridge
    try:
        if bridge.ready is None:
            which, args = await next_emission(
                [bridge.model_ready, bridge.model_failed, bridge.worker_died], LOAD_TIMEOUT_S
            )
            if which != 0:
                return _fail(str(args[-1]))
        if question:
            window.new_chat()  # a new conversation, not appended to the reopened one
            window.composer.add_files(list(images))
            if window.composer.notice.isVisible():
                return _fail(window.composer.notice.text())
            window.composer.input.setPlainText(question)
            ended = next_emission([window.answer_ended], ANSWER_TIMEOUT_S)
            task = asyncio.ensure_future(ended)
            await asyncio.sleep(0)
            if not window.send(question, window.composer.attachments()):
                task.cancel()
                return _fail(window.composer.notice.text() or "the question could not be sent.")
            _, (status,) = await task
            if status != "complete":
                errors = [block.text for block in window.error_blocks()]
                return _fail(f"the answer ended as {status}: {' '.join(errors)}")
    except TimeoutError:
        return _fail("timed out waiting for the model.")
    # Let the last render and the layout settle before taking the picture.
    for _ in range(5):
        QApplication.processEvents()
        await asyncio.sleep(0.05)
    window.transcript.scroll_to_bottom()
    await asyncio.sleep(0.1)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        return _fail(f"could not write {out}.")
    print(f"saved {out}")
    return 0
