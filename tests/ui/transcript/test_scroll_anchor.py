"""The scroll anchor keeps a message at the top until the user scrolls or clicks."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QLabel

from app.ui.transcript.scroll_anchor import ScrollAnchor
from app.ui.transcript.transcript_view import TranscriptView


def transcript_with_lines(qtbot: object, count: int = 80) -> TranscriptView:
    view = TranscriptView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.resize(500, 300)
    for i in range(count):
        view.add(QLabel(f"Line {i}"))
    view.show()
    QApplication.processEvents()
    return view


def wheel(view: TranscriptView) -> None:
    at = QPointF(20, 20)
    event = QWheelEvent(
        at, QPointF(view.viewport().mapToGlobal(QPoint(20, 20))), QPoint(0, 0), QPoint(0, -120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
        False,
    )  # fmt: skip
    QApplication.sendEvent(view.viewport(), event)


def press(view: TranscriptView) -> None:
    at = QPointF(20, 20)
    event = QMouseEvent(
        QMouseEvent.Type.MouseButtonPress, at, QPointF(view.viewport().mapToGlobal(QPoint(20, 20))),
        Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(view.viewport(), event)


def test_the_anchor_places_its_target_and_holds_until_the_wheel_turns(qtbot: object) -> None:
    view = transcript_with_lines(qtbot)
    target = view.items()[40]
    anchor = ScrollAnchor(view, target)
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0)  # type: ignore[attr-defined]
    assert anchor.active and abs(anchor.target_top() - view.verticalScrollBar().value()) < 40
    wheel(view)
    assert not anchor.active


def test_a_click_on_the_page_lets_go_too(qtbot: object) -> None:
    view = transcript_with_lines(qtbot)
    anchor = ScrollAnchor(view, view.items()[30])
    assert anchor.active
    press(view)
    assert not anchor.active
    # Let go, it no longer moves the page when the content grows.
    view.verticalScrollBar().setValue(0)
    anchor.place()
    assert view.verticalScrollBar().value() == 0


def test_an_anchor_whose_message_went_lets_go_and_a_later_close_is_safe(qtbot: object) -> None:
    # A conversation opened at a message, then another one opened (its messages dropped),
    # then the window closed: the anchor lets go by itself, and nothing calls the released
    # one (it no longer listens to its message's `destroyed`).
    view = transcript_with_lines(qtbot)
    first = ScrollAnchor(view, view.items()[30])
    press(view)
    del first  # its wrapper goes once Qt has deleted it
    anchor = ScrollAnchor(view, view.items()[50])
    view.clear()
    qtbot.waitUntil(lambda: not anchor.active)  # type: ignore[attr-defined]
    view.close()
    view.deleteLater()
    qtbot.wait(10)  # type: ignore[attr-defined]
