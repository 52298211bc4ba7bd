"""The Sources strip with the real window and worker: attach, index, ask, what went."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QLabel

from app.ui.bridge.bridge import WorkerBridge
from app.ui.conversations.conversation_library import attach_conversations
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.ui.sources.sources_strip import SourcesStrip
from tests.documents.long_pdf import write_pdf, write_report

pytestmark = pytest.mark.slow


def test_attach_ask_and_reopen_the_conversation_with_its_documents(
    qtbot: object, window: MainWindow, tmp_path: Path, data_dir: Path
) -> None:
    library = attach_conversations(window, data_dir)
    lines = ["The lighthouse keeper logs the weather every evening at six."] * 5
    path = write_pdf(tmp_path / "log.pdf", [lines, ["The lamp was replaced in May.", *lines]])
    strip = window.sources
    assert strip.isHidden()
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(path)
    assert _rows(strip) == ["log.pdf · 2 pages · 2 with a text layer"]
    window.settings_panel.set_value("temperature", 0.0)
    window.settings_panel.set_value("max_new_tokens", 3)
    qtbot.keyClicks(window.composer.input, "When was the lamp replaced?")  # type: ignore[attr-defined]
    with qtbot.waitSignal(window.answer_ended, timeout=180_000):  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert strip.sent_label.text().startswith("Documents (whole) — log.pdf: pages 1-2 of 2")
    figures = window.status.figures_label.text()
    assert "tokens/s" in figures
    # The context meter counts the documents and says which pages went, and how.
    meter = window.composer.context_meter
    qtbot.waitUntil(lambda: "Last question: " in meter.label.toolTip(), timeout=60_000)  # type: ignore[attr-defined]
    assert "Documents: " in meter.label.toolTip()
    assert "Last question: Documents (whole) — log.pdf: pages 1-2 of 2 as text" in (
        meter.label.toolTip()
    )
    assert window.session.documents.context_length > 0  # the budget follows the model's context
    library.saver.flush()  # type: ignore[union-attr]
    cid = library.current
    assert cid is not None and [d.name for d in library.store.documents(cid)] == ["log.pdf"]  # type: ignore[union-attr]
    # A new chat starts without them; reopening the conversation brings them back.
    window.new_chat()
    assert window.session.documents.documents == [] and strip.isHidden()
    path.unlink()  # the conversation keeps its own copy
    assert library.open(cid)
    assert _rows(strip) == ["log.pdf · 2 pages · 2 with a text layer"] and strip.isVisible()
    library.close()
    # After a restart (another window on the same data folder) they are there again.
    again = MainWindow(WorkerBridge(window.bridge.model_path), SettingsStore(tmp_path / "s.ini"))
    try:
        attach_conversations(again, data_dir).reopen_last()
        assert _rows(again.sources) == ["log.pdf · 2 pages · 2 with a text layer"]
    finally:
        again.close()
        again.bridge.close()
        again.deleteLater()


def _rows(strip: SourcesStrip) -> list[str]:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # rows replaced
    return [label.text() for label in strip.findChildren(QLabel, "sourceLabel")]


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
    # A file changed on disk since it was indexed is indexed again, and the strip says so.
    notes = tmp_path / "notes.md"
    notes.write_text("The ferry leaves at nine.", encoding="utf-8")
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(notes)
    # document_added comes just before the job's end: attaching before it is refused.
    qtbot.waitUntil(lambda: not strip.indexing, timeout=60_000)  # type: ignore[attr-defined]
    notes.write_text("The ferry leaves at ten, from the north pier.", encoding="utf-8")
    with qtbot.waitSignal(strip.document_added, timeout=60_000):  # type: ignore[attr-defined]
        strip.attach(notes)
    assert notices[-1] == "notes.md changed since it was indexed; indexed again."
    assert _rows(strip) == ["notes.md · 1 pages · 0 with a text layer"]
