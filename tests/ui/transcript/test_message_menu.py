"""Right-clicks on a message: the menu that really opens, over text boxes and elsewhere."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.conversation import Message, Role, Status
from app.ui.transcript.message_menu import BRANCH_TEXT
from app.ui.transcript.user_message_view import UserMessageView


def right_click(target: QWidget) -> list[str]:
    """Right-click `target` as the mouse would; the entries of the menu that opened."""
    seen: list[str] = []

    def read_and_close() -> None:
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            seen.extend(a.text() for a in popup.actions() if not a.isSeparator())
            popup.close()

    QTimer.singleShot(0, read_and_close)
    pos = QPoint(4, 4)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, target.mapToGlobal(pos))
    QApplication.sendEvent(target, event)
    return seen


def answer_view(qtbot: object, text: str) -> AssistantMessageView:
    view = AssistantMessageView(Message(Role.ASSISTANT, text, status=Status.COMPLETE))
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.show()
    return view


def test_the_answers_text_keeps_its_own_entries_and_gets_the_branch_entry(qtbot: object) -> None:
    view = answer_view(qtbot, "A short answer.")
    [browser] = view.body.browsers()
    entries = right_click(browser.viewport())
    assert entries[-1] == BRANCH_TEXT
    assert any("Copy" in e for e in entries) and any("Select" in e for e in entries)
    # Anywhere else on the message (its status line, its buttons' row) gives the branch entry.
    assert right_click(view.actions_bar) == [BRANCH_TEXT]
    assert right_click(view) == [BRANCH_TEXT]


def test_the_questions_text_box_gets_the_branch_entry(qtbot: object) -> None:
    view = UserMessageView(Message(Role.USER, "Where do the roads meet?"))
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.show()
    entries = right_click(view.text_view.viewport())
    assert entries[-1] == BRANCH_TEXT and any("Copy" in e for e in entries)


def test_the_branch_entry_triggers_the_views_branch_signal(qtbot: object) -> None:
    view = answer_view(qtbot, "A short answer.")
    branched: list[str] = []
    view.branch_requested.connect(branched.append)
    view.menu.branch_action.trigger()
    assert branched == [view.message.id]


def test_new_text_boxes_after_a_restart_of_the_answer_get_the_entry_too(qtbot: object) -> None:
    # An answer that turned into tool calls is restarted: its text boxes are replaced, and
    # the new ones (which may reuse a dead one's address) must still offer the entry.
    view = answer_view(qtbot, "First try.")
    for attempt in range(5):
        view.set_status(Status.STREAMING)
        view.restart_text()
        view.append(f"Attempt {attempt}: a new text.")
        view.set_status(Status.COMPLETE)
        QApplication.processEvents()
        browsers = view.body.browsers()
        assert browsers, attempt
        assert right_click(browsers[-1].viewport())[-1] == BRANCH_TEXT, attempt


def test_dropping_many_messages_with_open_text_boxes_is_safe(qtbot: object) -> None:
    # The transcript drops message views with deleteLater (a switch of conversation); their
    # dying text boxes send Qt events that must not reach Python (they crashed PySide6).
    for i in range(60):
        view = AssistantMessageView(Message(Role.ASSISTANT, f"Answer {i}", status=Status.COMPLETE))
        view.show()
        view.body.browsers()[0].viewport().setFocus()
        right_click(view.body.browsers()[0].viewport())
        view.deleteLater()
        qtbot.wait(1)  # type: ignore[attr-defined]
    assert QApplication.activePopupWidget() is None
