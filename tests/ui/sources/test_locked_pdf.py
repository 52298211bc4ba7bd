"""An encrypted PDF attached in the window: its password is asked; cancel loses nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QInputDialog

from app.ui.main_window import MainWindow
from tests.documents.long_pdf import write_locked_pdf, write_pdf


def answer_password_dialogs(replies: list[str | None]) -> tuple[list[str], Callable[[], None]]:
    """Answer the next password dialogs with `replies` (None: Cancel); their labels."""
    labels: list[str] = []
    timer = QTimer()
    timer.setInterval(20)

    def answer() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, QInputDialog) or not replies:
            return
        labels.append(dialog.labelText())
        reply = replies.pop(0)
        if reply is None:
            dialog.reject()
        else:
            dialog.setTextValue(reply)
            dialog.accept()

    timer.timeout.connect(answer)
    timer.start()
    return labels, timer.stop


def test_a_locked_pdf_asks_for_its_password_says_when_it_is_wrong_and_cancel_keeps_all(
    qtbot: object, unstarted_window: MainWindow, tmp_path: Path
) -> None:
    strip = unstarted_window.sources
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(write_pdf(tmp_path / "open.pdf", [["An open page."]]))
    # The job's last signal comes just after the document: then the strip takes another.
    qtbot.waitUntil(lambda: not strip.indexing)  # type: ignore[attr-defined]
    locked = write_locked_pdf(tmp_path / "locked.pdf", "The vault code is 4417.", "pässwörd")
    notices: list[str] = []
    strip.attach_failed.connect(notices.append)
    labels, stop = answer_password_dialogs(["guess", None])
    strip.attach(locked)
    qtbot.waitUntil(lambda: len(labels) == 2 and not strip.indexing, timeout=60_000)  # type: ignore[attr-defined]
    stop()
    assert labels[0] == "locked.pdf is protected by a password. Enter its password to open it."
    assert labels[1].startswith("The password for locked.pdf is wrong.")
    names = [d.info.name for d in unstarted_window.session.documents.documents]
    assert names == ["open.pdf"] and notices == []  # cancelled: the conversation as it was
    labels, stop = answer_password_dialogs(["pässwörd"])
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(locked)
    stop()
    qtbot.waitUntil(lambda: not strip.indexing)  # type: ignore[attr-defined]
    doc = unstarted_window.session.documents.documents[-1]
    assert doc.info.name == "locked.pdf" and "4417" in doc.page_text(1)
    strip.open_page("locked.pdf", 1)  # drawn with the password given
    assert strip.viewer is not None and not strip.viewer.image.pixmap().isNull()
    # Attached again later (the index is kept, the password is not): asked again.
    unstarted_window.session.documents.remove(doc.info.sha256)
    labels, stop = answer_password_dialogs([None])
    strip.attach(locked)
    qtbot.waitUntil(lambda: bool(labels) and not strip.indexing, timeout=60_000)  # type: ignore[attr-defined]
    stop()
    assert "protected by a password" in labels[0]
