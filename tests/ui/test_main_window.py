"""The window with a real worker and the demo checkpoint: ask, stream, stop, fail, recover."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.ui.bridge.bridge import CANCELLED_LOAD
from app.ui.main_window import MainWindow
from app.ui.transcript.conversation import Role, Status
from tests.ui.drag_and_drop import drop_files

pytestmark = pytest.mark.slow

ANSWER_TIMEOUT_MS = 180_000
QUESTION = "What is in these two pictures?"


def _ask_cli(demo: Path, images: list[Path], max_new_tokens: int) -> str:
    command = [sys.executable, "-m", "app", "ask", QUESTION, "--model", str(demo)]
    for image in images:
        command += ["--image", str(image)]
    command += ["--temperature", "0", "--max-new-tokens", str(max_new_tokens), "--quiet"]
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    done = subprocess.run(command, capture_output=True, env=env, timeout=300, check=True)
    out = done.stdout.decode("utf-8")
    assert out.endswith("\n")
    return out[:-1]  # the command ends the answer with a newline of its own


def _settle(window: MainWindow, qtbot: object, **values: object) -> None:
    for name, value in values.items():
        window.settings_panel.set_value(name, value)


def test_drop_two_images_type_and_enter_streams_the_cli_answer(
    qtbot: object, window: MainWindow, images: dict[str, Path], demo_bf16: Path
) -> None:
    _settle(window, qtbot, temperature=0.0, max_new_tokens=24)
    drop_files(window, [images["wide"], images["tall"]], over=window.transcript)
    chips = window.composer.chips()
    assert [chip.path for chip in chips] == [str(images["wide"]), str(images["tall"])]
    assert chips[0].facts_text.startswith("640 × 360 · ")
    assert chips[1].facts_text.startswith("150 × 500 · ")

    qtbot.keyClicks(window.composer.input, QUESTION)  # type: ignore[attr-defined]
    tokens: list[str] = []
    window.bridge.token_received.connect(lambda rid, text: tokens.append(text))
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
        assert window.composer.send_button.text() == "Stop"
        assert window.composer.chips() == []
    assert ended.args == ["complete"]

    user, answer = window.conversation.messages
    assert user.role is Role.USER and user.text == QUESTION
    assert user.images == [str(images["wide"].resolve()), str(images["tall"].resolve())]
    assert answer.status is Status.COMPLETE
    assert answer.text == "".join(tokens) and answer.text
    view = window.assistant_views()[-1]
    assert view.body.text == answer.text
    assert view.body.plain_text().strip()
    assert window.composer.send_button.text() == "Send"
    assert "tokens/s" in window.status.figures_label.text()
    assert window.status.demo_tag.isVisible()

    assert answer.text == _ask_cli(demo_bf16, [images["wide"], images["tall"]], 24)


def test_stop_mid_stream_keeps_the_partial_answer(
    qtbot: object, window: MainWindow, long_question: str
) -> None:
    _settle(window, qtbot, temperature=0.0, max_new_tokens=4000)
    assert window.send(long_question)
    view = window.assistant_views()[-1]
    qtbot.waitUntil(lambda: len(view.message.text) > 20, timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=60_000) as ended:  # type: ignore[attr-defined]
        qtbot.mouseClick(window.composer.send_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert ended.args == ["stopped"]
    assert view.message.status is Status.STOPPED
    assert view.status_tag.text() == "stopped" and view.status_tag.isVisible()
    assert 20 < len(view.message.text) < 4000 * 8
    assert window.composer.send_button.text() == "Send"
    assert window.conversation.turns()[-1].text == view.message.text  # it stays in context


def test_esc_stops_too(qtbot: object, window: MainWindow) -> None:
    # Greedy: a sampled answer can end early, before Esc is pressed.
    _settle(window, qtbot, temperature=0.0, max_new_tokens=4000)
    assert window.send("Another long one.")
    view = window.assistant_views()[-1]
    qtbot.waitUntil(lambda: bool(view.message.text), timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=60_000) as ended:  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Escape)  # type: ignore[attr-defined]
    assert ended.args == ["stopped"]


def test_killed_worker_shows_an_error_and_the_next_send_works(
    qtbot: object, window: MainWindow
) -> None:
    _settle(window, qtbot, temperature=0.0, max_new_tokens=4000)
    first_pid = window.bridge.client.pid
    assert window.send("Tell me everything.")
    view = window.assistant_views()[-1]
    qtbot.waitUntil(lambda: bool(view.message.text), timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=60_000) as ended:  # type: ignore[attr-defined]
        window.bridge.client.kill()
    assert ended.args == ["error"]
    [block] = window.error_blocks()
    assert "stopped unexpectedly" in block.text and "SIGKILL" in block.text
    qtbot.waitUntil(block.retry_button.isVisible)  # type: ignore[attr-defined]
    assert view.message.status is Status.ERROR
    assert window.status.model_label.text() == "Model worker stopped"

    _settle(window, qtbot, max_new_tokens=8)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:  # type: ignore[attr-defined]
        assert window.send("And now?")
    assert ended.args == ["complete"]
    assert window.bridge.client.pid != first_pid
    assert window.assistant_views()[-1].message.text


def test_retry_after_a_kill_resends_the_question(qtbot: object, window: MainWindow) -> None:
    _settle(window, qtbot, max_new_tokens=4000)
    assert window.send("Count to a million.")
    view = window.assistant_views()[-1]
    qtbot.waitUntil(lambda: bool(view.message.text), timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=60_000):  # type: ignore[attr-defined]
        window.bridge.client.kill()
    _settle(window, qtbot, max_new_tokens=6)
    [block] = window.error_blocks()
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:  # type: ignore[attr-defined]
        qtbot.mouseClick(block.retry_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert ended.args == ["complete"]
    assert window.error_blocks() == []
    roles = [(m.role, m.text) for m in window.conversation.messages]
    assert roles[0] == (Role.USER, "Count to a million.")
    assert len(roles) == 2 and roles[1][1]


def test_paste_an_image_from_the_clipboard(
    qtbot: object, unstarted_window: MainWindow, data_dir: Path
) -> None:
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    QApplication.clipboard().setImage(image)
    unstarted_window.composer.input.setFocus()
    qtbot.keyClick(
        unstarted_window.composer.input, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier
    )  # type: ignore[attr-defined]
    [chip] = unstarted_window.composer.chips()
    saved = Path(chip.path)
    assert saved.parent == data_dir / "attachments" and saved.suffix == ".png"
    assert chip.facts_text.startswith("320 × 200 · ")
    assert QImage(str(saved)).pixelColor(5, 5) == QColor("#3366cc")
    assert unstarted_window.composer.input.toPlainText() == ""


def test_corrupt_image_and_text_file_are_refused_with_a_message(
    unstarted_window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("just words\n", encoding="utf-8")
    composer = unstarted_window.composer
    drop_files(unstarted_window, [images["truncated"], notes, images["wide"]], over=composer)
    assert [chip.path for chip in composer.chips()] == [str(images["wide"])]
    notice = composer.notice.text()
    assert composer.notice.isVisible()
    assert "truncated.png is damaged or truncated" in notice
    assert "notes.txt is not an image that can be read" in notice


def test_image_limit_is_enforced_with_a_message(
    qtbot: object, unstarted_window: MainWindow, images: dict[str, Path], tmp_path: Path
) -> None:
    unstarted_window.settings_panel.set_value("image_limit", 2)
    copies = []
    for index in range(3):
        copy = tmp_path / f"copy{index}.png"
        copy.write_bytes(images["wide"].read_bytes())
        copies.append(copy)
    drop_files(unstarted_window, copies, over=unstarted_window.transcript)
    composer = unstarted_window.composer
    assert len(composer.chips()) == 2
    assert "Not attached: copy2.png. The limit is 2 images per request" in composer.notice.text()

    qtbot.mouseClick(composer.chips()[0].remove_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert len(composer.chips()) == 1 and not composer.notice.isVisible()
    drop_files(unstarted_window, [copies[2]], over=unstarted_window.transcript)
    assert len(composer.chips()) == 2


def test_regenerate_and_edit_and_resend(
    qtbot: object, window: MainWindow, images: dict[str, Path]
) -> None:
    _settle(window, qtbot, temperature=0.0, max_new_tokens=6)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        assert window.send("First question", [str(images["wide"])])
    first_answer = window.conversation.messages[1].text

    view = window.assistant_views()[-1]
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        qtbot.mouseClick(view.regenerate_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert len(window.conversation.messages) == 2
    assert window.conversation.messages[1].text == first_answer  # greedy: same again
    assert len(window.assistant_views()) == 1

    user_view = window.transcript.items()[0]
    edit = [b for b in user_view.findChildren(type(view.copy_button)) if b.text() == "Edit"][0]
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert window.conversation.messages == []
    assert window.composer.text() == "First question"
    assert window.composer.attachments() == [str(images["wide"])]


def test_shortcuts(qtbot: object, unstarted_window: MainWindow, images: dict[str, Path]) -> None:
    window = unstarted_window
    window.composer.add_files([str(images["wide"])])
    window.composer.input.setPlainText("draft")
    window.settings_panel.hide()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.settings_panel.isVisible()
    qtbot.keyClick(
        window.settings_panel.system_prompt, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier
    )  # type: ignore[attr-defined]
    assert window.composer.input.hasFocus()
    qtbot.keyClick(window.composer.input, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.composer.text() == "" and window.composer.chips() == []
    assert window.conversation.messages == []
    qtbot.keyClick(window.composer.input, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)  # type: ignore[attr-defined]
    assert window.composer.text() == "\n"  # Shift+Enter breaks the line, does not send
    assert window.conversation.messages == []


def test_cancelling_the_load_explains_and_retry_loads_the_model(
    qtbot: Any, unstarted_window: MainWindow
) -> None:
    window, bridge = unstarted_window, unstarted_window.bridge
    status = window.status
    bridge.start()
    assert status.cancel_button.isVisible()
    assert status.cancel_button.accessibleName() == "Cancel loading the model"
    assert window.send("Are you there?")  # waits for the model
    with qtbot.waitSignal(bridge.model_failed, timeout=120_000) as failed:
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert failed.args == [CANCELLED_LOAD]
    assert not status.cancel_button.isVisible() and not window.generating
    assert bridge.ready is None and bridge.client.alive  # the worker stays, idle
    [block] = window.error_blocks()
    assert "Loading the model was cancelled" in block.text
    with qtbot.waitSignal(bridge.model_ready, timeout=120_000):
        block.retry_button.click()
    assert not status.cancel_button.isVisible()
