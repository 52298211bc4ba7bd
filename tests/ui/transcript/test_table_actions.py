"""Tables in an answer: Copy CSV and Save as CSV give exactly the table's rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.conversation import Message, Role, Status

ANSWER = """Here are the figures.

| Region | Sales (k€) |
| --- | --- |
| North | 12 |
| **South** | 7 |

And as CSV:

```csv
quarter,value
Q1,"1,200"
Q2,950
```
"""


def _view(qtbot: object, text: str, status: Status) -> AssistantMessageView:
    view = AssistantMessageView(Message(Role.ASSISTANT, text, status=status))
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.show()
    return view


def test_copy_puts_each_table_on_the_clipboard_as_csv(qtbot: object) -> None:
    view = _view(qtbot, ANSWER, Status.COMPLETE)
    assert view.tables.isVisible() and len(view.tables.copy_buttons) == 2
    qtbot.mouseClick(view.tables.copy_buttons[0], Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert QApplication.clipboard().text() == "Region,Sales (k€)\nNorth,12\nSouth,7\n"
    qtbot.mouseClick(view.tables.copy_buttons[1], Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert QApplication.clipboard().text() == 'quarter,value\nQ1,"1,200"\nQ2,950\n'
    assert view.tables.message.text() == "Copied as CSV."


def test_save_as_csv_writes_the_file_the_user_names(
    qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = _view(qtbot, ANSWER, Status.COMPLETE)
    target = tmp_path / "sales"  # no suffix: .csv is added
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), "CSV files (*.csv)")
    )
    qtbot.mouseClick(view.tables.save_buttons[1], Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    saved = tmp_path / "sales.csv"
    assert saved.read_bytes() == '\ufeffquarter,value\r\nQ1,"1,200"\r\nQ2,950\r\n'.encode()
    assert view.tables.message.text() == "Saved sales.csv."


def test_a_save_that_fails_says_so(qtbot: object, tmp_path: Path) -> None:
    view = _view(qtbot, ANSWER, Status.COMPLETE)
    folder = tmp_path / "taken.csv"
    folder.mkdir()
    assert not view.tables.save(view.tables.blocks[0], folder)
    assert view.tables.message.text().startswith("The table was not saved:")


def test_buttons_come_once_the_answer_is_finished(qtbot: object) -> None:
    view = _view(qtbot, "", Status.STREAMING)
    view.append(ANSWER[:60])
    assert not view.tables.isVisible()
    view.append(ANSWER[60:])
    view.set_status(Status.COMPLETE)
    assert view.tables.isVisible() and len(view.tables.save_buttons) == 2
    plain = _view(qtbot, "No table here.", Status.COMPLETE)
    assert not plain.tables.isVisible()


def test_a_long_table_is_searched_off_the_gui_thread(qtbot: object) -> None:
    from app.ui.transcript.table_actions import BACKGROUND_CHARS

    rows = "".join(f"| row {i} | {i * 7} |\n" for i in range(1500))
    long_answer = "Notes.\n\n| name | value |\n| --- | --- |\n" + rows + "\n" + ANSWER
    assert len(long_answer) > BACKGROUND_CHARS
    view = _view(qtbot, long_answer, Status.COMPLETE)
    assert view.tables.searching and view.tables.blocks == []  # the window is not held up
    qtbot.waitUntil(lambda: not view.tables.searching, timeout=30_000)  # type: ignore[attr-defined]
    assert [block.kind for block in view.tables.blocks] == ["table", "table", "csv"]
    assert view.tables.blocks[0].shape == (1501, 2)
    assert view.tables.isVisible() and len(view.tables.copy_buttons) == 3


def test_a_long_answer_with_small_tables_is_searched_at_once(qtbot: object) -> None:
    long_answer = "Notes.\n\n" + "- a point worth making\n" * 3000 + "\n" + ANSWER
    view = _view(qtbot, long_answer, Status.COMPLETE)
    assert not view.tables.searching  # only the blocks with a table were parsed
    assert [block.kind for block in view.tables.blocks] == ["table", "csv"]
