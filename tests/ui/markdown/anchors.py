"""Finding and clicking the links a rendered message shows, as a person would."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QTextCursor

from app.ui.markdown.safe_browser import SafeTextBrowser


@dataclass(frozen=True)
class Anchor:
    href: str
    text: str
    tooltip: str
    color: QColor
    position: int  # where its text starts in the document


def anchors(browser: SafeTextBrowser) -> list[Anchor]:
    found = []
    block = browser.document().begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isAnchor() and fmt.anchorHref():
                color = fmt.foreground().color()
                found.append(
                    Anchor(fmt.anchorHref(), fragment.text(), fmt.toolTip(), color,
                           fragment.position())
                )  # fmt: skip
            it += 1
        block = block.next()
    return found


def click_anchor(qtbot: object, browser: SafeTextBrowser, anchor: Anchor) -> None:
    """A left click in the middle of the first character of `anchor`'s text."""
    cursor = QTextCursor(browser.document())
    cursor.setPosition(anchor.position + 1)
    rect = browser.cursorRect(cursor)
    point = QPoint(rect.left() - 2, rect.center().y())
    viewport = browser.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=point)  # type: ignore[attr-defined]
