"""The Sources strip with the real window and worker: attach, index, ask, what went."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.ui.main_window import MainWindow
from tests.documents.long_pdf import write_pdf, write_report

pytestmark = pytest.mark.slow


def test_attach_a_document_index_it_and_ask_it_whole(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    lines = ["The lighthouse keeper logs the weather every evening at six."] * 5
    path = write_pdf(tmp_path / "log.pdf", [lines, ["The lamp was replaced in May.", *lines]])
    strip = window.sources
    assert strip.isHidden()
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(path)
    assert (
        "log.pdf · 2 pages · 2 with a text layer"
        in strip.findChild(type(strip.sent_label), "sourceLabel").text()
    )
    window.settings_panel.set_value("temperature", 0.0)
    window.settings_panel.set_value("max_new_tokens", 3)
    qtbot.keyClicks(window.composer.input, "When was the lamp replaced?")  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=180_000):  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert strip.sent_label.text().startswith("Documents (whole) — log.pdf: pages 1-2 of 2")
    figures = window.status.figures_label.text()
    assert "tokens/s" in figures
    # A new chat starts without the documents (they are not saved with a conversation yet).
    window.new_chat()
    assert window.session.documents.documents == [] and strip.isHidden()


def test_a_cancelled_index_adds_nothing_and_a_bad_file_says_why(
    qtbot: object, unstarted_window: MainWindow, tmp_path: Path
) -> None:
    strip = unstarted_window.sources
    path, _ = write_report(tmp_path / "long.pdf", pages=400, facts=1)
    notices: list[str] = []
    strip.attach_failed.connect(notices.append)
    strip.attach(path)
    strip.cancel()
    qtbot.waitUntil(lambda: not strip.indexing, timeout=60_000)  # type: ignore[attr-defined]
    assert unstarted_window.session.documents.documents == []
    assert notices == [] or "cancelled" in notices[-1]
    notices.clear()
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 broken")
    strip.attach(broken)
    qtbot.waitUntil(lambda: bool(notices), timeout=60_000)  # type: ignore[attr-defined]
    assert "damaged" in notices[-1]
