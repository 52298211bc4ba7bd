"""The sidebar with a real SQLite store: list, open, rename, Trash and Undo, search, export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QFileDialog, QLineEdit

from app.storage import ConversationStore, MessageStatus
from app.ui.conversations.conversation_library import (
    SHOWN_AT_OPEN,
    ConversationLibrary,
    attach_conversations,
)
from app.ui.main_window import MainWindow
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.conversation import Role, Status
from app.ui.transcript.user_message_view import UserMessageView


def save_chat(
    store: ConversationStore, pairs: list[tuple[str, str]], images: Sequence[Path] = ()
) -> int:
    """A saved conversation of question/answer pairs; the first question carries `images`."""
    cid = store.create_conversation()
    for index, (question, answer) in enumerate(pairs):
        store.add_user_message(cid, question, images if index == 0 else [])
        mid = store.begin_assistant_message(cid)
        store.finish_assistant_message(mid, MessageStatus.COMPLETE, text=answer)
    return cid


@pytest.fixture
def saved(data_dir: Path, images: dict[str, Path]) -> dict[str, int]:
    """Three conversations written before the window opens (the last one is newest)."""
    with ConversationStore.open(data_dir) as store:
        return {
            "horses": save_chat(
                store,
                [("What colour is the horse?", "Brown, with a white blaze.")],
                [images["wide"]],
            ),
            "long": save_chat(
                store,
                [(f"Question {i} about the harbour", "A long answer. " * 60) for i in range(14)]
                + [("Where is the lighthouse keeper?", "He is asleep upstairs.")]
                + [(f"Later question {i}", "More words. " * 60) for i in range(14)],
            ),
            "bread": save_chat(store, [("How long should bread dough rise?", "About an hour.")]),
        }


@pytest.fixture
def library(unstarted_window: MainWindow, data_dir: Path) -> Iterator[ConversationLibrary]:
    yield attach_conversations(unstarted_window, data_dir)


def titles(library: ConversationLibrary) -> list[str]:
    listed = library.sidebar.conversations
    return [listed.item(i).text() for i in range(listed.count())]


def test_the_sidebar_lists_saved_conversations_newest_first_and_opens_one(
    qtbot: object, saved: dict[str, int], library: ConversationLibrary, images: dict[str, Path]
) -> None:
    assert titles(library) == [
        "How long should bread dough rise?",
        "Question 0 about the harbour",
        "What colour is the horse?",
    ]
    window = library.window
    listed = library.sidebar.conversations
    images["wide"].unlink()  # the conversation keeps its own copy
    where = listed.visualItemRect(listed.item(2)).center()
    qtbot.mouseClick(listed.viewport(), Qt.MouseButton.LeftButton, pos=where)  # type: ignore[attr-defined]
    assert library.current == saved["horses"]
    user, answer = window.conversation.messages
    assert (user.role, user.text, answer.text) == (
        Role.USER,
        "What colour is the horse?",
        "Brown, with a white blaze.",
    )
    [image] = user.images
    assert Path(image).is_file() and Path(image).parent.parent == library.store.images.root  # type: ignore[union-attr]
    views = window.transcript.items()
    assert isinstance(views[0], UserMessageView) and len(views[0].thumbnails) == 1
    assert isinstance(views[1], AssistantMessageView)
    qtbot.waitUntil(lambda: "white blaze" in views[1].body.plain_text())  # type: ignore[attr-defined]
    assert listed.currentItem().text() == "What colour is the horse?"

    window.new_chat_action.trigger()  # Ctrl+N still starts an empty chat
    assert window.conversation.messages == [] and window.transcript.items() == []
    assert library.current is None and listed.currentItem() is None


def test_rename_in_place_then_trash_undo_restore_and_empty(
    qtbot: object, saved: dict[str, int], library: ConversationLibrary, data_dir: Path
) -> None:
    listed = library.sidebar.conversations
    library.open(saved["bread"])
    listed.start_rename(saved["bread"])
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit)
    editor.selectAll()
    qtbot.keyClicks(editor, "Sourdough timing")  # type: ignore[attr-defined]
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: listed.state() != QAbstractItemView.State.EditingState)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: titles(library)[0] == "Sourdough timing")  # type: ignore[attr-defined]
    with ConversationStore.open(data_dir) as other:
        assert other.load_conversation(saved["bread"]).title == "Sourdough timing"

    # Delete moves the open conversation to the Trash; the window starts a new chat.
    listed.setCurrentItem(listed.item_for(saved["bread"]))
    listed.setFocus()
    qtbot.keyClick(listed, Qt.Key.Key_Delete)  # type: ignore[attr-defined]
    notice = library.sidebar.notice
    assert notice.text == "Moved “Sourdough timing” to the Trash."
    assert notice.action_button.text() == "Undo" and notice.action_button.isVisible()
    assert saved["bread"] not in listed.ids()
    assert library.window.conversation.messages == [] and library.current is None
    assert library.sidebar.trash_button.text() == "Trash (1)"

    qtbot.mouseClick(notice.action_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert listed.ids()[0] == saved["bread"] and not notice.isVisible()
    assert library.current == saved["bread"]  # Undo reopens what was open
    assert library.window.conversation.messages[0].text == "How long should bread dough rise?"

    # Through the context menu this time, then restore from the Trash view.
    menu = listed.context_menu(saved["horses"])
    [trash_action] = [a for a in menu.actions() if a.text() == "Move to Trash"]
    trash_action.trigger()
    qtbot.mouseClick(library.sidebar.trash_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert library.sidebar.stack.currentIndex() == 2
    assert library.sidebar.trash_list.ids() == [saved["horses"]]
    library.sidebar.trash_list.setCurrentRow(0)
    qtbot.mouseClick(library.sidebar.restore_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert library.sidebar.trash_list.ids() == []
    assert saved["horses"] in listed.ids()

    # Empty the Trash: asks first, then deletes for good.
    library.move_to_trash(saved["horses"])
    qtbot.mouseClick(library.sidebar.empty_trash_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "for good? This cannot be undone." in notice.text
    qtbot.mouseClick(notice.action_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert notice.text == "Deleted 1 conversation(s) for good."
    assert library.sidebar.trash_list.ids() == []
    with sqlite3.connect(data_dir / "conversations.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 2


def test_search_highlights_matches_and_opens_the_conversation_at_the_message(
    qtbot: object, saved: dict[str, int], library: ConversationLibrary
) -> None:
    window = library.window
    window.resize(1100, 700)
    sidebar = library.sidebar
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert sidebar.search_box.hasFocus()
    qtbot.keyClicks(sidebar.search_box, "lighthouse keep")  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: sidebar.results.count() == 1)  # type: ignore[attr-defined]
    assert sidebar.stack.currentIndex() == 1
    [hit] = sidebar.results.hits
    label = sidebar.results.itemWidget(sidebar.results.item(0))
    assert 'font-weight:600">lighthouse</span>' in label.text()  # type: ignore[union-attr]
    assert 'font-weight:600">keeper</span>' in label.text()  # type: ignore[union-attr]

    qtbot.keyClick(sidebar.search_box, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert sidebar.results.hasFocus()
    qtbot.keyClick(sidebar.results, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert library.current == saved["long"]
    [target] = [
        w
        for w in window.transcript.items()
        if isinstance(w, UserMessageView) and w.message.text == "Where is the lighthouse keeper?"
    ]
    bar = window.transcript.verticalScrollBar()

    def target_on_screen() -> bool:
        top = target.mapTo(window.transcript.viewport(), target.rect().topLeft()).y()
        return 0 <= top < window.transcript.viewport().height() // 2

    qtbot.wait(1700)  # type: ignore[attr-defined]  # the answers above finish rendering
    assert target_on_screen()
    assert 0 < bar.value() < bar.maximum()

    # Another hit in the conversation already shown scrolls there without rebuilding it.
    first_view = window.transcript.items()[1]
    with ConversationStore.open(library.store.folder) as other:  # type: ignore[union-attr]
        later = other.load_conversation(saved["long"]).messages[36]
    assert later.text == "Later question 3"
    assert library.open(saved["long"], later.id)
    assert window.transcript.items()[1] is first_view
    assert library.anchor is not None
    assert library.anchor.target.message.text == "Later question 3"  # type: ignore[attr-defined]

    qtbot.keyClicks(sidebar.search_box, "zzzz")  # type: ignore[attr-defined]
    qtbot.waitUntil(sidebar.no_results.isVisible)  # type: ignore[attr-defined]


def test_export_and_import_from_the_window(
    qtbot: object,
    saved: dict[str, int],
    library: ConversationLibrary,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed = library.sidebar.conversations
    out = tmp_path / "horse.json"
    # The file dialog is the platform's; answer it as the user would.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))
    menu = listed.context_menu(saved["horses"])
    [export_menu] = [a.menu() for a in menu.actions() if a.text() == "Export as"]
    [json_action] = [a for a in export_menu.actions() if a.text() == "JSON…"]
    json_action.trigger()
    document = json.loads(out.read_text(encoding="utf-8"))
    assert [m["text"] for m in document["conversations"][0]["messages"]] == [
        "What colour is the horse?",
        "Brown, with a white blaze.",
    ]
    assert len(document["images"]) == 1
    assert library.sidebar.notice.text == f"Exported to {out}."

    library.open(saved["bread"])
    folder = tmp_path / "bread-md"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(folder), ""))
    library.sidebar.export_actions["md"].trigger()
    assert "About an hour." in (folder / "conversation.md").read_text(encoding="utf-8")
    html_out = library.transfer.export_to(saved["long"], "html", tmp_path / "long.html")
    assert html_out is not None and "lighthouse keeper" in html_out.read_text(encoding="utf-8")

    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(out), ""))
    library.sidebar.import_action.trigger()
    assert titles(library).count("What colour is the horse?") == 2
    assert library.sidebar.notice.text == "Imported 1 conversation(s) from horse.json."

    hostile = tmp_path / "hostile.json"
    document["version"] = 99
    hostile.write_text(json.dumps(document), encoding="utf-8")
    assert library.transfer.import_from(hostile) == []
    assert "newer version of Maverick Desk" in library.sidebar.notice.text
    assert library.sidebar.notice.property("problem") == "true"
    assert titles(library).count("What colour is the horse?") == 2


def test_a_damaged_database_is_moved_aside_and_the_sidebar_says_where(
    unstarted_window: MainWindow, data_dir: Path
) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "conversations.sqlite3").write_bytes(b"SQLite format 3\x00" + b"\x07" * 5000)
    library = attach_conversations(unstarted_window, data_dir)
    text = library.sidebar.notice.text
    assert "damaged" in text and str(data_dir) in text
    assert titles(library) == []


def test_a_newer_database_is_left_untouched_and_the_window_still_works(
    unstarted_window: MainWindow, data_dir: Path
) -> None:
    data_dir.mkdir(parents=True)
    path = data_dir / "conversations.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    before = path.read_bytes()
    library = attach_conversations(unstarted_window, data_dir)
    text = library.sidebar.notice.text
    assert "newer version of Maverick Desk" in text
    assert "Conversations are not saved in this session." in text
    assert library.store is None and not library.sidebar.search_box.isEnabled()
    assert unstarted_window.send("Still usable?")
    assert [m.status for m in unstarted_window.conversation.messages] == [
        Status.COMPLETE,
        Status.STREAMING,
    ]
    unstarted_window.new_chat()
    assert path.read_bytes() == before


def test_an_answer_cut_off_by_a_crash_reopens_as_interrupted_and_stays_in_context(
    unstarted_window: MainWindow, data_dir: Path
) -> None:
    with ConversationStore.open(data_dir) as store:
        cid = store.create_conversation()
        store.add_user_message(cid, "Tell me about tides")
        answer = store.begin_assistant_message(cid)
        store.append_streaming_text(answer, "Tides come from the moon's")
        store.set_last_opened_conversation(cid)
    # The process "died" with the answer streaming: the next start finds it unfinished.
    library = attach_conversations(unstarted_window, data_dir)
    assert "1 answer(s) were being written" in library.sidebar.notice.text
    assert library.current == cid  # the last conversation is reopened
    view = unstarted_window.assistant_views()[-1]
    assert view.message.status is Status.INTERRUPTED
    assert view.status_tag.isVisibleTo(view) and view.status_tag.text().startswith("interrupted")
    assert unstarted_window.conversation.turns()[-1].text == "Tides come from the moon's"


def test_a_long_conversation_opens_with_its_end_and_shows_earlier_messages_on_request(
    qtbot: object, unstarted_window: MainWindow, data_dir: Path
) -> None:
    with ConversationStore.open(data_dir) as store:
        cid = save_chat(store, [(f"Question {i}", f"Answer {i}") for i in range(60)])
    library = attach_conversations(unstarted_window, data_dir)
    window = library.window
    library.open(cid)
    assert len(window.conversation.messages) == 120  # all of it is in context
    button = window.chat_view.earlier_button
    assert button is not None and button.button.text() == "↑  Show earlier messages (80 more)"
    items = window.transcript.items()
    assert items[0] is button and len(items) == 1 + SHOWN_AT_OPEN
    first = items[1]
    assert isinstance(first, UserMessageView) and first.message.text == "Question 40"

    qtbot.mouseClick(button.button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    items = window.transcript.items()
    assert len(items) == 1 + SHOWN_AT_OPEN + window.chat_view.earlier_page
    assert (
        items[0] is window.chat_view.earlier_button
        and "(40 more)" in window.chat_view.earlier_button.button.text()
    )
    bar = window.transcript.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.value() > 0)  # type: ignore[attr-defined]
    top = first.mapTo(window.transcript.viewport(), first.rect().topLeft()).y()
    assert 0 <= top < window.transcript.viewport().height()  # where the reader was

    qtbot.mouseClick(window.chat_view.earlier_button.button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    items = window.transcript.items()
    assert len(items) == 120 and window.chat_view.earlier_button is None
    assert isinstance(items[0], UserMessageView) and items[0].message.text == "Question 0"
