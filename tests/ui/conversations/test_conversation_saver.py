"""Saving from the window, with the real worker and a real SQLite file in the data dir."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QSize, Qt
from PySide6.QtWidgets import QApplication

from app.storage import ConversationStore, MessageStatus, Role
from app.storage.database import BUSY_TIMEOUT_S
from app.ui.bridge.bridge import WorkerBridge
from app.ui.conversations.conversation_library import ConversationLibrary, attach_conversations
from app.ui.conversations.conversation_saver import STREAM_SAVE_MS, ConversationSaver
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.ui.transcript.conversation import Message, Status
from app.ui.transcript.conversation import Role as WindowRole
from app.ui.window_state import WindowState

pytestmark = pytest.mark.slow

ANSWER_TIMEOUT_MS = 180_000
LOAD_TIMEOUT_MS = 120_000


@pytest.fixture
def library(window: MainWindow, data_dir: Path) -> ConversationLibrary:
    window.settings_panel.set_value("temperature", 0.0)
    return attach_conversations(window, data_dir)


@pytest.fixture
def restart(qtbot: object, demo_bf16: Path, data_dir: Path) -> Iterator[object]:
    """Builds a second window in the same data dir, as a restarted app would."""
    made: list[MainWindow] = []

    def build() -> tuple[MainWindow, ConversationLibrary, WindowState]:
        window = MainWindow(WorkerBridge(demo_bf16), SettingsStore(data_dir / "settings.ini"))
        library = attach_conversations(window, data_dir)
        state = WindowState(window, window.splitter)
        state.restore()
        window.show()
        made.append(window)
        with qtbot.waitSignal(window.bridge.model_ready, timeout=LOAD_TIMEOUT_MS):  # type: ignore[attr-defined]
            window.bridge.start()
        return window, library, state

    yield build
    for window in made:
        window.close()
        window.bridge.close()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def flush_savers() -> None:
    """Wait for every window's saver to write what it was handed, then deliver its signals."""
    for widget in QApplication.topLevelWidgets():
        for saver in widget.findChildren(ConversationSaver):
            saver.flush()
    QCoreApplication.processEvents()


def ask(qtbot: object, window: MainWindow, text: str, images: list[str] | None = None) -> str:
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:  # type: ignore[attr-defined]
        assert window.send(text, images)
    flush_savers()
    return str(ended.args[0])


def stored(data_dir: Path) -> list[tuple[str, str, str]]:
    """(role, text, status) of every message of the only conversation, read separately."""
    flush_savers()
    with ConversationStore.open(data_dir) as other:
        [summary] = other.list_conversations()
        return [
            (m.role.value, m.text, m.status.value)
            for m in other.load_conversation(summary.id).messages
        ]


def shown(window: MainWindow) -> list[tuple[str, str, str]]:
    return [(m.role.value, m.text, m.status.value) for m in window.conversation.messages]


def test_a_sent_question_and_its_answer_are_saved_and_listed(
    qtbot: object, window: MainWindow, library: ConversationLibrary, images: dict[str, Path]
) -> None:
    window.settings_panel.set_value("max_new_tokens", 12)
    assert ask(qtbot, window, "Describe the yellow circle", [str(images["wide"])]) == "complete"
    assert stored(library.store.folder) == shown(window)  # type: ignore[union-attr]
    with ConversationStore.open(library.store.folder) as other:  # type: ignore[union-attr]
        [summary] = other.list_conversations()
        question, answer = other.load_conversation(summary.id).messages
    assert summary.title == "Describe the yellow circle"
    assert question.role is Role.USER and question.attachments[0].width == 640
    assert answer.status is MessageStatus.COMPLETE and answer.text
    assert answer.stats["generated_tokens"] > 0 and answer.stats["image_tokens"] > 0
    assert library.current == summary.id
    assert library.sidebar.conversations.currentItem().text() == "Describe the yellow circle"

    # Ctrl+N: the next question starts a second saved conversation.
    window.new_chat_action.trigger()
    assert ask(qtbot, window, "A second chat") == "complete"
    listed = library.sidebar.conversations
    assert [listed.item(i).text() for i in range(listed.count())] == [
        "A second chat",
        "Describe the yellow circle",
    ]
    assert listed.currentItem().text() == "A second chat"


def test_a_streaming_answer_is_saved_during_the_stream_not_per_token(
    qtbot: object,
    window: MainWindow,
    library: ConversationLibrary,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    long_question: str,
) -> None:
    window.settings_panel.set_value("max_new_tokens", 4000)  # greedy: no end for a long time
    saves: list[float] = []
    threads: set[str] = set()
    real_append = ConversationStore.append_streaming_text

    def counted(store: ConversationStore, message_id: int, chunk: str) -> None:  # counted
        saves.append(time.monotonic())
        threads.add(threading.current_thread().name)
        real_append(store, message_id, chunk)

    monkeypatch.setattr(ConversationStore, "append_streaming_text", counted)
    tokens: list[str] = []
    window.bridge.token_received.connect(lambda rid, text: tokens.append(text))
    database = sqlite3.connect(data_dir / "conversations.sqlite3")

    def saved_answer() -> tuple[str, str]:
        row = database.execute(
            "SELECT status, text FROM messages WHERE role = 'assistant'"
        ).fetchone()
        return (row[0], row[1]) if row else ("", "")

    started = time.monotonic()
    assert window.send(long_question)
    view = window.assistant_views()[-1]
    qtbot.waitUntil(lambda: len(saved_answer()[1]) > 0, timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    status, first = saved_answer()
    assert status == "streaming" and view.message.text.startswith(first)
    qtbot.wait(1500)  # type: ignore[attr-defined]
    status, later = saved_answer()
    assert status == "streaming" and len(later) > len(first)
    assert view.message.text.startswith(later)
    assert len(view.message.text) - len(later) < len(view.message.text)  # not lagging far
    # Not one save per token: some save carries several. On a loaded machine tokens may
    # come about as slowly as the saves, so wait for it rather than count at one moment;
    # saving per token would never get there.
    qtbot.waitUntil(lambda: len(tokens) > len(saves), timeout=30_000)  # type: ignore[attr-defined]
    elapsed = time.monotonic() - started
    assert 3 <= len(saves) <= elapsed * 1000 / STREAM_SAVE_MS + 2
    gaps = [b - a for a, b in zip(saves, saves[1:], strict=False)]
    assert max(gaps) < 1.0  # at least once a second

    assert threads == {"store-writer"}  # never on the GUI thread
    with qtbot.waitSignal(window.answer_ended, timeout=60_000):  # type: ignore[attr-defined]
        window.stop()
    flush_savers()
    assert saved_answer() == ("stopped", view.message.text)
    database.close()


def test_reopen_after_a_restart_and_send_the_earlier_image_again(
    qtbot: object,
    window: MainWindow,
    library: ConversationLibrary,
    images: dict[str, Path],
    data_dir: Path,
    restart: object,
) -> None:
    window.settings_panel.set_value("max_new_tokens", 6)
    state = WindowState(window, window.splitter)
    # Inside the offscreen screen (800 × 600), and no narrower than the toolbar needs.
    size = QSize(max(720, window.minimumSizeHint().width()), 540)
    window.resize(size)
    assert window.size() == size
    assert ask(qtbot, window, "What is in this picture?", [str(images["wide"])]) == "complete"
    before = shown(window)
    window.close()  # saves the window's size; the library closes the store
    images["wide"].unlink()  # the saved conversation has its own copy

    again, library2, state2 = restart()  # type: ignore[operator]
    assert state.path == state2.path and again.size() == size
    assert shown(again) == before
    [image] = again.conversation.messages[0].images
    assert Path(image).is_file() and Path(image).is_relative_to(data_dir / "images")
    assert library2.sidebar.conversations.currentItem().text() == "What is in this picture?"

    again.settings_panel.set_value("max_new_tokens", 6)
    again.settings_panel.set_value("temperature", 0.0)
    assert ask(qtbot, again, "And the colours?") == "complete"
    assert again.conversation.turns()[0].images == [image]
    with ConversationStore.open(data_dir) as other:
        [summary] = other.list_conversations()
        messages = other.load_conversation(summary.id).messages
    assert [m.text for m in messages][:2] == [t for _, t, _ in before]
    assert messages[3].stats["image_tokens"] > 0  # the stored image went to the model again


def test_an_answers_tool_turns_are_saved_and_come_back_as_context_after_a_restart(
    qtbot: object,
    window: MainWindow,
    library: ConversationLibrary,
    images: dict[str, Path],
    data_dir: Path,
    restart: object,
) -> None:
    # The tools room fills `tool_turns` while the answer runs; the saver saves them at its end.
    window.settings_panel.set_value("max_new_tokens", 6)
    turns = [
        {
            "role": "assistant",
            "text": "",
            "tool_calls": [{"id": "c1", "name": "chart", "arguments": {"year": 2026}}],
        },
        {
            "role": "tool",
            "text": "The chart of 2026 rainfall.",
            "tool_call_id": "c1",
            "tool_name": "chart",
            "server": "plots",
            "images": [str(images["tall"])],
            "decision": "always",
        },
    ]

    def on_token(request_id: str, text: str) -> None:
        answer = window.conversation.messages[-1]
        if not answer.tool_turns:
            answer.tool_turns = [dict(turn) for turn in turns]

    window.bridge.token_received.connect(on_token)
    assert ask(qtbot, window, "Plot the rain") == "complete"
    window.bridge.token_received.disconnect(on_token)
    window.close()
    images["tall"].unlink()  # the store keeps its own copy of the tool's image

    with ConversationStore.open(data_dir) as other:
        [summary] = other.list_conversations()
        answer = other.load_conversation(summary.id).messages[-1]
    assert [(t.role, t.tool_name, t.decision) for t in answer.tool_turns] == [
        ("assistant", "", ""),
        ("tool", "chart", "always"),
    ]
    assert answer.attachments == () and answer.tool_turns[1].images[0].path.is_file()

    again, _, _ = restart()  # type: ignore[operator]
    reopened = again.conversation.messages[-1]
    assert [t["tool_name"] for t in reopened.tool_turns] == ["", "chart"]
    [chart] = reopened.tool_images()
    assert Path(chart).is_relative_to(data_dir / "images")
    again.settings_panel.set_value("max_new_tokens", 6)
    again.settings_panel.set_value("temperature", 0.0)
    assert ask(qtbot, again, "Thanks. And in 2025?") == "complete"
    context = again.conversation.turns()
    assert [t.role for t in context] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
    ]
    assert context[1].tool_calls[0]["arguments"] == {"year": 2026}
    assert context[2].images == [chart] and context[2].tool_call_id == "c1"
    with ConversationStore.open(data_dir) as other:
        [summary] = other.list_conversations()
        assert [h.message_id for h in other.search("rainfall")] == [answer.id]
        follow_up = other.load_conversation(summary.id).messages[-1]
    assert follow_up.stats["image_tokens"] > 0  # the tool's image went to the model again


def test_regenerate_and_edit_and_resend_keep_the_store_equal_to_the_window(
    qtbot: object, window: MainWindow, library: ConversationLibrary, data_dir: Path
) -> None:
    window.settings_panel.set_value("max_new_tokens", 6)
    assert ask(qtbot, window, "First question") == "complete"
    assert ask(qtbot, window, "Second question") == "complete"
    window.settings_panel.set_value("seed", 7)
    window.settings_panel.set_value("temperature", 1.0)
    view = window.assistant_views()[-1]
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        qtbot.mouseClick(view.regenerate_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert len(window.conversation.messages) == 4
    assert stored(data_dir) == shown(window)

    user_view = window.chat_view.views[window.conversation.messages[0].id]
    [edit] = [b for b in user_view.findChildren(type(view.copy_button)) if b.text() == "Edit"]
    saved_before = stored(data_dir)
    qtbot.mouseClick(edit, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert window.conversation.messages == [] and stored(data_dir) == saved_before  # kept
    window.composer.input.setPlainText("First question, edited")
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS):  # type: ignore[attr-defined]
        qtbot.keyClick(window.composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert stored(data_dir) == shown(window)
    assert stored(data_dir)[0] == ("user", "First question, edited", "complete")
    assert window.conversation.messages[0].version_label == "2 / 2"
    assert library.sidebar.search_box.isEnabled()
    library.search("edited")
    assert [h.message_id for h in library.sidebar.results.hits] != []


def test_a_storage_error_keeps_the_conversation_and_saving_resumes(
    qtbot: object, window: MainWindow, library: ConversationLibrary, data_dir: Path
) -> None:
    window.settings_panel.set_value("max_new_tokens", 6)
    assert ask(qtbot, window, "Saved before the trouble") == "complete"
    other = sqlite3.connect(data_dir / "conversations.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
    failed: list[str] = []
    ended: list[str] = []
    library.saver.save_failed.connect(failed.append)  # type: ignore[union-attr]
    window.answer_ended.connect(ended.append)
    started = time.monotonic()
    assert window.send("Sent while the database is locked")  # the writer waits, then fails
    assert time.monotonic() - started < BUSY_TIMEOUT_S  # the window did not wait for it
    notice = library.sidebar.notice
    qtbot.waitUntil(lambda: bool(failed), timeout=60_000)  # type: ignore[attr-defined]
    assert "Could not save your message" in notice.text
    assert "busy" in notice.text and "stays in the window" in notice.text
    assert notice.action_button.text() == "Try again"
    assert window.conversation.messages[2].text == "Sent while the database is locked"
    other.execute("ROLLBACK")
    other.close()

    qtbot.waitUntil(lambda: bool(ended), timeout=ANSWER_TIMEOUT_MS)  # type: ignore[attr-defined]
    assert ended == ["complete"]
    flush_savers()
    assert notice.text == "Saving works again; the conversation is saved."
    assert stored(data_dir) == shown(window)
    assert len(shown(window)) == 4 and window.conversation.messages[3].status is Status.COMPLETE


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "store-writer"]


@pytest.mark.parametrize("ending", ["close", "deleteLater"])
def test_the_writer_thread_starts_with_the_first_write_and_ends_with_the_window(
    qtbot: object, demo_bf16: Path, data_dir: Path, ending: str
) -> None:
    before = len(writer_threads())
    window = MainWindow(WorkerBridge(demo_bf16), SettingsStore(data_dir / "settings.ini"))
    library = attach_conversations(window, data_dir)
    assert library.saver is not None and len(writer_threads()) == before  # nothing saved yet
    window.conversation.add(Message(WindowRole.USER, "Saved from the writer thread"))
    library.saver.sync()
    library.saver.flush()
    assert len(writer_threads()) == before + 1
    assert stored(data_dir) == [("user", "Saved from the writer thread", "complete")]
    if ending == "close":
        window.close()
    else:  # never closed, only destroyed: the thread must not hold the process open
        window.bridge.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: len(writer_threads()) == before)  # type: ignore[attr-defined]
    if ending == "close":
        window.bridge.close()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
