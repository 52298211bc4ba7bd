"""Untrusted Markdown in the real widgets: nothing is fetched, javascript: does nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QTextCursor, QTextDocument
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from app.ui.markdown.markdown_view import MarkdownView
from app.ui.markdown.safe_browser import SafeTextBrowser

HOSTILE = (
    "Look: ![remote](https://evil.example/pixel.png) and ![disk](file:///etc/hosts)\n\n"
    '<img src="http://evil.example/raw.png"> <img src="file:///etc/passwd">\n\n'
    "[click me](javascript:alert(document.cookie)) and [safe link](https://example.org/page)\n\n"
    "[local](file:///etc/shadow)\n"
)


class UrlRecorder(QObject):
    """Stands in for the system browser: records every URL the app asks to open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def recorder() -> Iterator[UrlRecorder]:
    recorder = UrlRecorder()
    schemes = ("http", "https", "file", "javascript")
    for scheme in schemes:
        QDesktopServices.setUrlHandler(scheme, recorder, "open")
    yield recorder
    for scheme in schemes:
        QDesktopServices.unsetUrlHandler(scheme)


@pytest.fixture
def view(qtbot: object) -> Iterator[MarkdownView]:
    host = QWidget()
    qtbot.addWidget(host)  # type: ignore[attr-defined]
    layout = QVBoxLayout(host)
    view = MarkdownView(host)
    layout.addWidget(view)
    host.resize(700, 500)
    host.show()
    view.link_clicked.connect(QDesktopServices.openUrl)  # as the window does
    yield view
    host.close()


def _click_text(qtbot: object, view: MarkdownView, text: str) -> bool:
    for browser in view.browsers():
        cursor = browser.document().find(text)
        if cursor.isNull():
            continue
        cursor.setPosition(cursor.selectionStart() + 2)
        rect = browser.cursorRect(QTextCursor(cursor))
        qtbot.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]
        return True
    return False


def test_the_guard_refuses_and_records_resource_loads(qtbot: object) -> None:
    # The control: an <img> put straight into the browser is asked for, and refused.
    browser = SafeTextBrowser()
    qtbot.addWidget(browser)  # type: ignore[attr-defined]
    browser.setHtml('<p>x</p><img src="http://evil.example/a.png"><img src="file:///etc/hosts">')
    browser.resize(300, 200)
    browser.show()
    QApplication.processEvents()
    assert "http://evil.example/a.png" in browser.resource_requests
    assert "file:///etc/hosts" in browser.resource_requests


def test_hostile_markdown_fetches_nothing_and_runs_nothing(
    qtbot: object, view: MarkdownView, recorder: UrlRecorder
) -> None:
    for piece in (HOSTILE[i : i + 7] for i in range(0, len(HOSTILE), 7)):
        view.append(piece)
    view.finish()
    qtbot.waitUntil(lambda: view.settled)  # type: ignore[attr-defined]
    browsers = view.browsers()
    for browser in browsers:
        assert browser.resource_requests == []
        html = browser.document().toHtml()
        assert "<img" not in html
        assert "javascript:" not in html.replace("javascript:alert(document.cookie)", "")
        assert 'href="file:' not in html
    shown = view.plain_text()
    assert "[image: remote]" in shown
    assert "![disk](file:///etc/hosts)" in shown  # a file: image stays inert text
    assert '<img src="http://evil.example/raw.png">' in shown  # shown as text, inert

    assert _click_text(qtbot, view, "click me")
    assert _click_text(qtbot, view, "[local]")
    assert _click_text(qtbot, view, "![disk]")
    assert recorder.opened == []

    # The control: a web link does open, on click.
    assert _click_text(qtbot, view, "safe link")
    assert recorder.opened == ["https://example.org/page"]


def test_copy_link_of_a_code_block_copies_its_code(qtbot: object, view: MarkdownView) -> None:
    view.set_text("Intro\n\n```python\nprint('one')\n```\n\nthen\n\n```sh\necho two\n```\n")
    qtbot.waitUntil(lambda: view.settled)  # type: ignore[attr-defined]
    QApplication.clipboard().clear()
    copies = []
    view.code_copied.connect(copies.append)
    # Click the second block's "Copy" link like a user would.
    targets = [b for b in view.browsers() if not b.document().find("echo two").isNull()]
    assert targets
    document = targets[0].document()
    echo = document.find("echo two")
    copy = document.find("Copy", echo.selectionStart(), QTextDocument.FindFlag.FindBackward)
    copy.setPosition(copy.selectionStart() + 2)
    rect = targets[0].cursorRect(copy)
    qtbot.mouseClick(targets[0].viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # type: ignore[attr-defined]
    assert copies == [1]
    assert QApplication.clipboard().text() == "echo two\n"


def test_arabic_paragraph_lays_out_right_to_left(qtbot: object, view: MarkdownView) -> None:
    view.set_text("English first.\n\nمرحبا بالعالم، هذه فقرة عربية.\n\nนี่คือภาษาไทย\n")
    qtbot.waitUntil(lambda: view.settled)  # type: ignore[attr-defined]
    directions = {}
    for browser in view.browsers():
        block = browser.document().begin()
        while block.isValid():
            if block.text().strip():
                directions[block.text().strip()[:5]] = block.blockFormat().layoutDirection()
            block = block.next()
    assert directions["English"[:5]] == Qt.LayoutDirection.LeftToRight
    assert directions["مرحبا"] == Qt.LayoutDirection.RightToLeft
    assert directions["นี่คือ"[:5]] == Qt.LayoutDirection.LeftToRight
