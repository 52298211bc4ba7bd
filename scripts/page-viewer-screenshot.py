"""Make docs/page-viewer.png: an answer's page citations and the page viewer they open.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/page-viewer-screenshot.py docs \
        [CHECKPOINT, default .demo/bf16]

The real window and worker: a 12-page PDF is attached, the question is asked with a
context budget too small for the whole document, so that only the best pages go. The
demo checkpoint's words are random, so the answer's text is then set to what a real
model writes (with one citation of a page that was sent and one of a page that was
not) and its first citation is clicked. The window and the viewer are drawn side by side.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MAVERICK_DESK_DATA_DIR", tempfile.mkdtemp(prefix="page-viewer-"))

from PySide6.QtCore import QEventLoop, QPoint, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.ui.bridge.bridge import WorkerBridge  # noqa: E402
from app.ui.main_window import MainWindow  # noqa: E402
from app.ui.settings.settings_store import SettingsStore  # noqa: E402
from tests.documents.long_pdf import write_pdf  # noqa: E402

TOPICS = ["customs", "warehouse", "ferry", "fish market", "dry dock", "pilot station"]


def _pages() -> list[list[str] | object]:
    pages: list[list[str] | object] = []
    for number in range(1, 13):
        topic = "lighthouse" if number == 7 else TOPICS[number % len(TOPICS)]
        lines = [f"Harbour records, part {number}: the {topic}", ""]
        if number == 7:
            lines += [
                "The lighthouse was kept by Ada Lindqvist from 1921 to 1954.",
                "She logged the weather every evening at six and the lamp's oil",
                "every morning; her logs fill eleven ledgers in the archive.",
            ]
        lines += [f"Ledgers of the {topic} list ships, cargo and crews by season."] * 12
        pages.append(lines)
    return pages


def _wait(app: QApplication, done: object, timeout_ms: int) -> None:
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: loop.quit() if done() else None)  # type: ignore[operator]
    timer.start(50)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def main(out: Path, checkpoint: Path) -> None:
    app = QApplication(sys.argv[:1])
    work = Path(tempfile.mkdtemp(prefix="page-viewer-doc-"))
    pdf = write_pdf(work / "harbour.pdf", _pages())  # type: ignore[arg-type]
    bridge = WorkerBridge(checkpoint)
    window = MainWindow(bridge, SettingsStore(work / "settings.ini"))
    window.resize(1120, 760)
    window.show()
    bridge.start()
    _wait(app, lambda: bridge._ready is not None, 180_000)
    window.sources.attach(pdf)
    _wait(app, lambda: bool(window.session.documents.documents), 60_000)
    window.session.documents.budget = lambda: 900  # too small for all: the best pages go
    window.settings_panel.set_value("max_new_tokens", 3)
    window.send("Who kept the lighthouse, and how long?")
    _wait(app, lambda: not window.session.generating, 180_000)
    sent = window.session.documents.last
    assert sent is not None
    unsent = next(n for n in range(1, 13) if n not in sent.sources[0].text_pages)
    answer = window.session.conversation.messages[-1]
    answer.text = (
        "Ada Lindqvist kept the lighthouse from 1921 to 1954 [p. 7]. She logged the "
        f"weather every evening at six [p. 7]; the crews' ledgers are elsewhere [p. {unsent}]."
    )
    window.chat_view.refresh_citations()
    _wait(app, lambda: False, 500)
    window.sources.open_page("harbour.pdf", 7, window.chat_view.cited_pages.sources_of(answer.id))
    viewer = window.sources.viewer
    assert viewer is not None
    viewer.resize(900, 760)
    _wait(app, lambda: False, 500)
    left, right = window.grab(), viewer.grab()
    picture = QPixmap(left.width() + right.width() + 24, max(left.height(), right.height()))
    picture.fill(QColor("#5a6f8f"))
    painter = QPainter(picture)
    painter.drawPixmap(QPoint(0, 0), left)
    painter.drawPixmap(QPoint(left.width() + 24, 0), right)
    painter.end()
    picture.save(str(out / "page-viewer.png"))
    print(f"saved {out / 'page-viewer.png'}")
    window.close()
    bridge.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"
    model = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / ".demo" / "bf16"
    main(target, model)
