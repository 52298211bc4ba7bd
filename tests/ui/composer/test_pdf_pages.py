"""PDFs in the window: the page picker, its password prompt, and pages sent to the worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from app.documents.tiling import ProcessorSettings, tile_grid
from app.ui.composer.pdf_page_dialog import PdfPageDialog
from app.ui.main_window import MainWindow
from tests.ui.drag_and_drop import drop_files

ANSWER_TIMEOUT_MS = 180_000
PASSWORD = "open sesame"


def _pages_pdf(path: Path, titles: list[str]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pages:
        for number, title in enumerate(titles, 1):
            fig, ax = plt.subplots(figsize=(8.27, 11.69))
            ax.bar(["A", "B", "C"], [number, 2, 3])
            ax.set_title(title)
            pages.savefig(fig)
            plt.close(fig)
    return path


@pytest.fixture
def pdfs(tmp_path: Path) -> dict[str, Path]:
    import pypdf

    two = _pages_pdf(tmp_path / "two.pdf", ["First page", "Second page"])
    locked = tmp_path / "locked.pdf"
    writer = pypdf.PdfWriter(clone_from=two)
    writer.encrypt(PASSWORD, algorithm="RC4-128")
    with open(locked, "wb") as out:
        writer.write(out)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(two.read_bytes()[:600])
    return {"two": two, "locked": locked, "broken": broken}


def _open_picker(qtbot: object, window: MainWindow, path: Path) -> PdfPageDialog:
    attacher = window.composer.pdf_attacher
    with qtbot.waitSignal(attacher.dialog_opened, timeout=5_000) as opened:  # type: ignore[attr-defined]
        drop_files(window, [path], over=window.composer)
    dialog = opened.args[0]
    assert isinstance(dialog, PdfPageDialog) and dialog is attacher.dialog
    return dialog


def test_drop_a_pdf_pick_page_two_and_the_worker_answers(
    qtbot: object, window: MainWindow, pdfs: dict[str, Path], demo_bf16: Path
) -> None:
    window.settings_panel.set_value("temperature", 0.0)
    window.settings_panel.set_value("max_new_tokens", 8)
    dialog = _open_picker(qtbot, window, pdfs["two"])
    assert dialog.page_count == 2 and dialog.pages() == [1, 2]  # both fit the image limit
    assert dialog.range_edit.text() == "1-2"
    # Thumbnails arrive from the background thread and replace the blank placeholders.
    first_icon = dialog.page_list.item(0).icon().cacheKey()
    qtbot.waitUntil(lambda: dialog.page_list.item(1).icon().cacheKey() != first_icon)  # type: ignore[attr-defined]
    qtbot.waitUntil(dialog.thumbnails_done)  # type: ignore[attr-defined]

    dialog.range_edit.clear()
    qtbot.keyClicks(dialog.range_edit, "2")  # type: ignore[attr-defined]
    assert dialog.pages() == [2] and dialog.ok_button.isEnabled()
    assert dialog.page_list.item(0).checkState() == Qt.CheckState.Unchecked
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    composer = window.composer
    qtbot.waitUntil(lambda: len(composer.chips()) == 1, timeout=20_000)  # type: ignore[attr-defined]
    [chip] = composer.chips()
    assert chip.label == "two.pdf, page 2"
    settings = ProcessorSettings.from_checkpoint(demo_bf16)
    assert chip.grid == tile_grid(chip.facts.width, chip.facts.height, settings)
    assert chip.grid.tiles > 1  # a page is drawn to fill the processor's tiles

    qtbot.keyClicks(composer.input, "What is the title of this page?")  # type: ignore[attr-defined]
    composer.refresh_context()
    before = composer.context_meter.estimate
    assert before is not None and before.image_tokens == chip.grid.image_tokens
    with qtbot.waitSignal(window.bridge.generation_finished, timeout=ANSWER_TIMEOUT_MS) as done:  # type: ignore[attr-defined]
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    figures = done.args[0]
    # What the chip and the meter said before sending is what the worker counted.
    assert figures.image_tokens == chip.grid.patch_tokens
    assert figures.prompt_tokens == before.prompt_tokens
    user, answer = window.conversation.messages
    assert user.images == [str(Path(chip.path).resolve())]
    assert answer.text
    assert window.bridge.ready is not None


def test_an_encrypted_pdf_asks_for_its_password(
    qtbot: object, unstarted_window: MainWindow, pdfs: dict[str, Path]
) -> None:
    dialog = _open_picker(qtbot, unstarted_window, pdfs["locked"])
    assert dialog.password_box.isVisibleTo(dialog)
    assert "locked.pdf is protected by a password" in dialog.password_message.text()
    assert not dialog.ok_button.isEnabled() and dialog.page_list.count() == 0

    qtbot.keyClicks(dialog.password_edit, "guess")  # type: ignore[attr-defined]
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "The password for locked.pdf is wrong" in dialog.password_message.text()
    assert dialog.page_list.count() == 0

    dialog.password_edit.clear()
    qtbot.keyClicks(dialog.password_edit, PASSWORD)  # type: ignore[attr-defined]
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert not dialog.password_box.isVisibleTo(dialog)
    assert dialog.page_count == 2 and dialog.ok_button.isEnabled()
    assert dialog.password == PASSWORD
    qtbot.waitUntil(dialog.thumbnails_done)  # type: ignore[attr-defined]
    dialog.set_pages([1])
    dialog.text_layer_check.setChecked(True)
    dialog.accept()
    composer = unstarted_window.composer
    qtbot.waitUntil(lambda: len(composer.chips()) == 1, timeout=20_000)  # type: ignore[attr-defined]
    assert composer.chips()[0].label == "locked.pdf, page 1"
    # The text layer goes before the question; matplotlib draws the title as text.
    composer.input.setPlainText("Title?")
    with qtbot.waitSignal(composer.send_requested) as sent:  # type: ignore[attr-defined]
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    text, images = sent.args
    assert text.startswith("[Text layer of locked.pdf, page 1]\n")
    assert "First page" in text and text.endswith("Title?")
    assert len(images) == 1


def test_a_broken_pdf_is_refused_without_a_dialog_and_ranges_are_checked(
    qtbot: object, unstarted_window: MainWindow, pdfs: dict[str, Path]
) -> None:
    composer = unstarted_window.composer
    drop_files(unstarted_window, [pdfs["broken"]], over=composer)
    assert composer.pdf_attacher.dialog is None and composer.chips() == []
    assert "broken.pdf is damaged or truncated" in composer.notice.text()

    unstarted_window.settings_panel.set_value("image_limit", 1)
    dialog = _open_picker(qtbot, unstarted_window, pdfs["two"])
    assert dialog.pages() == [1]  # the first page that fits the limit
    dialog.range_edit.clear()
    qtbot.keyClicks(dialog.range_edit, "1-2")  # type: ignore[attr-defined]
    assert not dialog.ok_button.isEnabled()
    assert "only 1 more image fit" in dialog.message.text()
    dialog.range_edit.clear()
    qtbot.keyClicks(dialog.range_edit, "5")  # type: ignore[attr-defined]
    assert not dialog.ok_button.isEnabled() and "5" in dialog.message.text()
    dialog.reject()
    assert dialog.result() == QDialog.DialogCode.Rejected
    assert composer.pdf_attacher.dialog is None and composer.chips() == []


def test_thumbnails_are_drawn_off_the_gui_thread(qtbot: object, pdfs: dict[str, Path]) -> None:
    from PySide6.QtCore import QThread

    dialog = PdfPageDialog(pdfs["two"], image_budget=5)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    assert dialog._job is not None
    threads: list[bool] = []
    gui = QThread.currentThread()
    dialog._job.signals.reported.connect(
        lambda drawn: threads.append(QThread.currentThread() is not gui),
        Qt.ConnectionType.DirectConnection,  # runs in the emitting thread
    )
    dialog.show()
    qtbot.waitUntil(dialog.thumbnails_done)  # type: ignore[attr-defined]
    dialog.reject()
    assert threads == [True, True]
