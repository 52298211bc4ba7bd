"""The composer's Fields toggle with the real worker and the demo: a checked table, Copy CSV."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.chat.structured_answer import value_of
from app.ui.main_window import MainWindow
from app.ui.structured.answer_table import AnswerTable

SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 6},
        "count": {"type": "integer", "minimum": 0, "maximum": 9},
        "kind": {"type": "string", "enum": ["cat", "dog"]},
    },
    "required": ["title", "count", "kind"],
    "additionalProperties": False,
}


def test_a_question_with_fields_is_answered_as_a_checked_table_with_copy_csv(
    qtbot: QtBot, window: MainWindow
) -> None:
    toggle = window.composer.fields
    toggle.setChecked(True)  # opens the field editor
    dialog = toggle.dialog
    assert dialog.isVisible()
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.editor.tabs.setCurrentIndex(1)
    dialog.editor.schema_text.setPlainText('{"type": "object", "properties": 3}')
    ok.click()  # a wrong schema: a sentence, and the dialog stays
    assert dialog.isVisible() and "properties" in dialog.editor.problem.text()
    dialog.editor.schema_text.setPlainText(json.dumps(SCHEMA))
    ok.click()
    assert not dialog.isVisible() and toggle.isChecked()
    assert toggle.text() == "{ }  Fields: title, count, kind"
    window.composer.input.setPlainText("What is in the picture?")
    with qtbot.waitSignal(window.answer_ended, timeout=300_000) as ended:
        window.composer.send_button.click()
    assert ended.args == ["complete"]
    assert not toggle.isChecked()  # the fields went with that one question
    answer = window.conversation.messages[-1]
    value = value_of(answer.stats)
    jsonschema.validate(value, SCHEMA)  # random weights, yet valid: the grammar did it
    assert json.loads(answer.text) == value
    tables = [b for b in window.assistant_views()[-1].blocks() if isinstance(b, AnswerTable)]
    assert len(tables) == 1
    table = tables[0].table
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header == ["title", "count", "kind"] and table.rowCount() == 1
    assert table.item(0, 1).text() == str(value["count"])
    tables[0].copy_button.click()
    rows = list(csv.reader(io.StringIO(QApplication.clipboard().text())))
    assert rows[0] == ["title", "count", "kind"]
    assert rows[1][1:] == [str(value["count"]), value["kind"]] and len(rows) == 2
