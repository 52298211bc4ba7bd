"""Cited pages in the real window: a citation opens the page viewer; unsent pages are marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QToolButton

from app.documents.citations import UNSENT_NOTE
from app.ui.main_window import MainWindow
from app.ui.sources.scan_reading import BUSY_RETRY_MS
from app.ui.sources.sources_strip import SourcesStrip
from app.ui.transcript.assistant_message_view import AssistantMessageView
from tests.documents.long_pdf import write_pdf
from tests.ui.markdown.anchors import anchors, click_anchor

pytestmark = pytest.mark.slow


def harbour_pdf(folder: Path) -> Path:
    filler = ["The archive keeps ledgers, maps and letters from the old harbour."] * 8
    pages: list = [[f"Page {n}: {'lighthouse' if n == 7 else 'warehouse'} records.", *filler]
                   for n in range(1, 13)]  # fmt: skip
    return write_pdf(folder / "harbour.pdf", pages)


def read_button(strip: SourcesStrip) -> QPushButton | None:
    """The strip's Read scanned pages button now (rows are rebuilt: old ones linger a turn)."""
    shown = [b for b in strip.findChildren(QPushButton, "readScansButton") if b.isEnabled()]
    return shown[0] if shown else None


def test_a_citation_in_an_answer_opens_the_page_and_an_unsent_one_is_marked(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    strip = window.sources
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(harbour_pdf(tmp_path))
    window.session.documents.budget = lambda: 400  # too small for all 12 pages
    window.settings_panel.set_value("temperature", 0.0)
    window.settings_panel.set_value("max_new_tokens", 3)
    qtbot.keyClicks(window.composer.input, "Who kept the lighthouse?")  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=180_000):  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    sent = window.session.documents.last
    assert sent is not None and not sent.whole
    text_pages = sent.sources[0].text_pages
    assert 7 in text_pages
    unsent = next(n for n in range(1, 13) if n not in text_pages)
    # The demo's weights are random: give its answer the words a real model would write.
    answer = window.session.conversation.messages[-1]
    view = window.chat_view.answer_view(answer)
    assert isinstance(view, AssistantMessageView)
    answer.text = f"Ada kept the lighthouse [p. 7]; the stores are elsewhere [p. {unsent}]."
    window.chat_view.refresh_citations()
    qtbot.waitUntil(lambda: view.body.settled and bool(view.body.text), timeout=30_000)  # type: ignore[attr-defined]
    browser = view.body.browsers()[0]
    cited, other = anchors(browser)
    assert (cited.tooltip, other.tooltip) == ("", UNSENT_NOTE)
    click_anchor(qtbot, browser, cited)
    viewer = strip.viewer
    assert viewer is not None
    qtbot.waitUntil(viewer.isVisible, timeout=30_000)  # type: ignore[attr-defined]
    assert viewer.page == 7 and viewer.title.text() == "harbour.pdf — page 7 of 12"
    assert viewer.text.toPlainText().startswith("Page 7: lighthouse records.")
    assert not viewer.image.pixmap().isNull() and viewer.note.isHidden()
    click_anchor(qtbot, browser, other)
    assert viewer.page == unsent and viewer.note.isVisible()
    viewer.next_button.click()
    assert viewer.page == unsent + 1
    remove = strip.findChild(QToolButton)
    assert remove is not None and remove.text() == "×"
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert viewer.isHidden() and viewer.doc is None  # the closed document is not shown


def test_scanned_pages_are_read_by_the_model_stopped_and_resumed(
    qtbot: object, window: MainWindow, tmp_path: Path
) -> None:
    from tests.documents.long_pdf import scanned_page

    text = ["A page with a text layer, long enough to stand for itself."] * 6
    path = write_pdf(tmp_path / "scans.pdf", [text, scanned_page("A"), scanned_page("B")])
    strip = window.sources
    strip.scan_tokens = 4  # the demo's words mean nothing; a few show the path
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(path)
    doc = window.session.documents.documents[0]
    notices: list[str] = []
    strip.attach_failed.connect(notices.append)
    button = read_button(strip)
    assert button is not None and button.text() == "Read scanned pages (2)"
    answering = [True]  # the conversation's own answer is being written: reading waits
    strip.busy = lambda: answering[0]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert strip.reading is not None and strip.scan_label.text() == "reading page 2…"
    qtbot.wait(BUSY_RETRY_MS * 2)  # type: ignore[attr-defined]
    assert strip.reading.request_id is None
    answering[0] = False
    with qtbot.waitSignal(strip.reading.progressed, timeout=120_000):  # type: ignore[attr-defined]
        pass
    assert strip.scan_stop_button.isVisible() and "read page 2 (1 of 2" in strip.scan_label.text()
    strip.stop_reading()
    qtbot.waitUntil(lambda: strip.reading is None, timeout=60_000)  # type: ignore[attr-defined]
    assert notices[-1].startswith("Reading scanned pages stopped.") and "kept" in notices[-1]
    sources = doc.page_sources()
    assert (sources[1], sources[2], sources[3]) == ("layer", "model", "")  # page 3 dropped
    button = read_button(strip)
    assert button is not None and button.text() == "Read scanned pages (1)"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: strip.reading is None, timeout=120_000)  # type: ignore[attr-defined]
    assert notices[-1].startswith("scans.pdf: 1 page read")
    assert doc.page_sources()[3] == "model"
    assert read_button(strip) is None  # nothing left to read
