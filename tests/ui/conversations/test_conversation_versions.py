"""Versions in the window, with the real worker and a real SQLite file in the data dir.

Regenerate and Edit add versions; `‹ 2 / 3 ›` (buttons, Alt+Left / Alt+Right) switches
them; "Branch into a new conversation"; a search hit in a hidden version opens it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QWidget

from app.storage import ConversationStore, MessageStatus
from app.ui.conversations.conversation_library import ConversationLibrary, attach_conversations
from app.ui.main_window import MainWindow
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.message_menu import BRANCH_TEXT
from app.ui.transcript.user_message_view import UserMessageView
from tests.ui.conversations.test_conversation_saver import (  # noqa: F401 (fixtures)
    ANSWER_TIMEOUT_MS,
    ask,
    flush_savers,
    library,
    restart,
)

pytestmark = pytest.mark.slow


def view_at(window: MainWindow, index: int) -> QWidget:
    return window.chat_view.views[window.conversation.messages[index].id]


def labels(window: MainWindow) -> list[str]:
    return [m.version_label for m in window.conversation.messages]


def texts(window: MainWindow) -> list[str]:
    return [m.text for m in window.conversation.messages]


def store_path(data_dir: Path, cid: int) -> list[tuple[str, str]]:
    """(text, "2 / 3") of the shown path, read by another connection."""
    flush_savers()
    with ConversationStore.open(data_dir) as other:
        assert other.check_tree(cid) == []
        return [
            (m.text, f"{m.version} / {m.version_count}" if m.version_count > 1 else "")
            for m in other.shown_path(cid)
        ]


def activate(qtbot: object, window: MainWindow) -> None:
    """Shortcuts and focus go to the active window."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)  # type: ignore[attr-defined]


def alt_key(qtbot: object, window: MainWindow, index: int, key: Qt.Key) -> None:
    """Alt+Left / Alt+Right on message `index`, once it has the focus a switch gives it."""
    view = view_at(window, index)
    qtbot.waitUntil(view.hasFocus)  # type: ignore[attr-defined]
    qtbot.keyClick(view, key, Qt.KeyboardModifier.AltModifier)  # type: ignore[attr-defined]


def regenerate(qtbot: object, window: MainWindow, seed: int) -> None:
    window.settings_panel.set_value("seed", seed)
    view = window.assistant_views()[-1]
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        qtbot.mouseClick(view.regenerate_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]


def test_regenerate_switch_edit_and_reopen_keep_every_version(
    qtbot: object,
    window: MainWindow,
    library: ConversationLibrary,  # noqa: F811
    data_dir: Path,
    restart: object,  # noqa: F811
) -> None:
    activate(qtbot, window)
    window.settings_panel.set_value("max_new_tokens", 6)
    window.settings_panel.set_value("temperature", 1.0)
    window.settings_panel.set_value("seed", 1)
    assert ask(qtbot, window, "First question") == "complete"
    assert ask(qtbot, window, "Second question") == "complete"
    cid = library.current
    assert cid is not None and window.session.keeps_versions
    answers = [window.conversation.messages[3].text]
    for seed in (2, 3, 4):  # Regenerate three times: four versions of the answer
        regenerate(qtbot, window, seed)
        answers.append(window.conversation.messages[3].text)
        assert labels(window)[3] == f"{seed} / {seed}"
    answer_view = view_at(window, 3)
    assert isinstance(answer_view, AssistantMessageView)
    assert answer_view.versions.isVisible() and answer_view.versions.label.text() == " 4 / 4 "
    assert not answer_view.versions.next_button.isEnabled()
    assert store_path(data_dir, cid)[3] == (answers[3], "4 / 4")
    # What goes to the model and the context meter: the version shown, nothing else.
    assert [t.text for t in window.conversation.turns()][-1] == answers[3]

    # The ‹ button, then Alt+Left and Alt+Right with the answer focused.
    qtbot.mouseClick(answer_view.versions.previous_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert labels(window)[3] == "3 / 4" and texts(window)[3] == answers[2]
    focused = view_at(window, 3)
    assert focused is not answer_view
    qtbot.waitUntil(focused.hasFocus)  # type: ignore[attr-defined]  # once it is shown
    qtbot.keyClick(focused, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)  # type: ignore[attr-defined]
    assert labels(window)[3] == "2 / 4" and texts(window)[3] == answers[1]
    alt_key(qtbot, window, 3, Qt.Key.Key_Right)
    assert labels(window)[3] == "3 / 4" and texts(window)[3] == answers[2]
    assert store_path(data_dir, cid)[3] == (answers[2], "3 / 4")
    assert window.conversation.turns()[-1].text == answers[2]

    # Edit the middle question: a second version of it, answered; the first stays.
    question_view = view_at(window, 2)
    [edit] = [
        b for b in question_view.findChildren(type(answer_view.copy_button)) if b.text() == "Edit"
    ]
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert len(window.conversation.messages) == 2
    window.composer.input.setPlainText("Second question, edited")
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert texts(window)[2] == "Second question, edited"
    assert labels(window) == ["", "", "2 / 2", ""]
    edited_answer = texts(window)[3]
    assert store_path(data_dir, cid) == [
        (t, lab) for t, lab in zip(texts(window), labels(window), strict=True)
    ]

    # Back to the first question: its answer is shown as it was left (version 3 of 4).
    edited_view = view_at(window, 2)
    assert isinstance(edited_view, UserMessageView)
    qtbot.mouseClick(edited_view.versions.previous_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert texts(window)[2:] == ["Second question", answers[2]]
    assert labels(window)[2:] == ["1 / 2", "3 / 4"]
    qtbot.mouseClick(view_at(window, 2).versions.next_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert texts(window)[2:] == ["Second question, edited", edited_answer]
    alt_key(qtbot, window, 2, Qt.Key.Key_Left)
    before = (texts(window), labels(window))
    with ConversationStore.open(data_dir) as other:
        tree = other.load_tree(cid)
        assert len(tree.messages) == 2 + 1 + 4 + 2  # nothing was thrown away
    window.close()

    again, library2, _ = restart()  # type: ignore[operator]
    assert library2.current == cid
    assert (texts(again), labels(again)) == before
    assert view_at(again, 3).versions.label.text() == " 3 / 4 "  # type: ignore[attr-defined]


def test_branch_into_a_new_conversation_from_the_right_click_menu(
    qtbot: object,
    window: MainWindow,
    library: ConversationLibrary,  # noqa: F811
    data_dir: Path,
) -> None:
    window.settings_panel.set_value("max_new_tokens", 6)
    assert ask(qtbot, window, "Where do the roads meet?") == "complete"
    assert ask(qtbot, window, "And after that?") == "complete"
    old = library.current
    first_answer = view_at(window, 1)
    assert isinstance(first_answer, AssistantMessageView)
    menu = first_answer.menu.build(first_answer.body.browsers()[0], QPoint(2, 2))
    entries = [a.text() for a in menu.actions()]
    assert BRANCH_TEXT in entries and any("Copy" in e for e in entries)  # the text's own too
    question_menu = view_at(window, 0).menu.build(view_at(window, 0), QPoint(2, 2))  # type: ignore[attr-defined]
    assert [a.text() for a in question_menu.actions()] == [BRANCH_TEXT]
    kept_text = texts(window)[:2]
    [branch] = [a for a in menu.actions() if a.text() == BRANCH_TEXT]
    branch.trigger()

    assert library.current is not None and library.current != old
    assert texts(window) == kept_text
    listed = library.sidebar.conversations
    assert listed.currentItem().text() == "Where do the roads meet? (branch)"
    assert listed.count() == 2
    assert store_path(data_dir, library.current) == [(t, "") for t in kept_text]
    assert len(store_path(data_dir, old)) == 4  # type: ignore[arg-type]
    # The branch goes on by itself.
    assert ask(qtbot, window, "A new way") == "complete"
    assert len(store_path(data_dir, library.current)) == 4
    assert len(store_path(data_dir, old)) == 4  # type: ignore[arg-type]


def test_a_search_hit_in_a_hidden_version_opens_that_version(
    qtbot: object, unstarted_window: MainWindow, data_dir: Path
) -> None:
    with ConversationStore.open(data_dir) as store:
        cid = store.create_conversation()
        store.add_user_message(cid, "Name an animal")
        first = store.begin_assistant_message(cid)
        store.finish_assistant_message(first, MessageStatus.COMPLETE, text="A striped zebra.")
        second = store.add_answer_version(first)
        store.finish_assistant_message(second, MessageStatus.COMPLETE, text="A grey heron.")
    shelf = attach_conversations(unstarted_window, data_dir)
    window = unstarted_window
    shelf.open(cid)
    assert texts(window) == ["Name an animal", "A grey heron."]
    assert labels(window) == ["", "2 / 2"]

    qtbot.keyClicks(shelf.sidebar.search_box, "zebra")  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: shelf.sidebar.results.count() == 1)  # type: ignore[attr-defined]
    [hit] = shelf.sidebar.results.hits
    assert hit.message_id == first and not hit.shown
    shelf.sidebar.results.hit_chosen.emit(cid, first)
    assert texts(window) == ["Name an animal", "A striped zebra."]
    assert labels(window) == ["", "1 / 2"]
    assert shelf.anchor is not None and shelf.anchor.target is view_at(window, 1)
    assert store_path(data_dir, cid)[1] == ("A striped zebra.", "1 / 2")


def test_an_answer_keeps_streaming_and_saving_on_a_version_no_longer_shown(
    qtbot: object,
    window: MainWindow,
    library: ConversationLibrary,  # noqa: F811
    data_dir: Path,
) -> None:
    activate(qtbot, window)
    window.settings_panel.set_value("max_new_tokens", 6)
    assert ask(qtbot, window, "Short question") == "complete"
    window.settings_panel.set_value("max_new_tokens", 4000)  # greedy: streams a long time
    regenerate_view = window.assistant_views()[-1]
    qtbot.mouseClick(regenerate_view.regenerate_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert window.generating and labels(window) == ["", "2 / 2"]
    qtbot.waitUntil(lambda: len(texts(window)[1]) > 20, timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    streaming = window.conversation.messages[1]
    # Show version 1 while version 2 is still being written.
    qtbot.mouseClick(view_at(window, 1).versions.previous_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert labels(window) == ["", "1 / 2"] and window.generating
    length = len(streaming.text)
    qtbot.waitUntil(lambda: len(streaming.text) > length + 20, timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    cid = library.current
    assert cid is not None
    with ConversationStore.open(data_dir) as other:
        [_, hidden] = other.load_tree(cid).children(other.shown_path(cid)[0].id)
    assert hidden.status is MessageStatus.STREAMING and hidden.text  # saved while hidden

    # Back to it: the same answer, still streaming into its view; Stop ends it.
    alt_key(qtbot, window, 1, Qt.Key.Key_Right)
    assert window.conversation.messages[1] is streaming
    shown_view = view_at(window, 1)
    assert isinstance(shown_view, AssistantMessageView)
    with qtbot.waitSignal(window.answer_ended, timeout=60_000):  # type: ignore[attr-defined]
        window.stop()
    assert shown_view.body.text == streaming.text or streaming.text.startswith(shown_view.body.text)
    assert store_path(data_dir, cid)[1] == (streaming.text, "2 / 2")
    with ConversationStore.open(data_dir) as other:
        assert other.shown_path(cid)[1].status is MessageStatus.STOPPED
