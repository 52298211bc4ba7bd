"""The composer's Fields toggle with the real worker and the demo: a checked table, Copy CSV."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import jsonschema
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from app.chat.structured_answer import value_of
from app.engines.openai_client import ServerSettings
from app.structured.request import from_document
from app.ui.conversations.conversation_library import attach_conversations
from app.ui.main_window import MainWindow
from app.ui.structured.answer_table import AnswerTable
from tests.scripted_openai import scripted_server, text_reply

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


VALID = '{"title": "Tom", "count": 2, "kind": "cat"}'


def test_a_server_that_cannot_constrain_asks_once_more_and_marks_the_table_not_constrained(
    qtbot: QtBot, engine_window: MainWindow, data_dir: Path
) -> None:
    # A real HTTP server on 127.0.0.1 behind the `transformers` preset (it ignores
    # response_format): the fields go in the prompt, the first answer is not valid, the
    # second is, and the table says it was not constrained, also once saved and reopened.
    window = engine_window
    library = attach_conversations(window, data_dir)

    def ask(settings: ServerSettings) -> None:
        with qtbot.waitSignal(window.bridge.model_ready, timeout=60_000):
            window.bridge.use_server(settings)
        window.composer.fields.request = from_document(SCHEMA)
        window.composer.fields.setChecked(True)
        window.composer.input.setPlainText("What is in the picture?")
        with qtbot.waitSignal(
            window.answer_ended, timeout=60_000, check_params_cb=lambda s: s == "complete"
        ):
            window.composer.send_button.click()

    def note() -> str:
        views = window.assistant_views()
        tables = [b for b in views[-1].blocks() if isinstance(b, AnswerTable)]
        assert len(views) == 1 and len(tables) == 1
        header = [tables[0].table.horizontalHeaderItem(c).text() for c in range(3)]
        assert header == ["title", "count", "kind"]  # the answer's order, also reopened
        assert tables[0].table.item(0, 0).text() == "Tom"
        return tables[0].note.text()

    with scripted_server() as (state, url):
        state.replies += [text_reply('Sure: {"title": "Tom"}'), text_reply(VALID)]
        ask(ServerSettings(url, "m", preset="transformers"))
        assert len(state.bodies) == 2
        assert all("response_format" not in body for body in state.bodies)
        assert "JSON Schema" in json.dumps(state.bodies[0]["messages"][-1])
        assert not window.error_blocks()
        assert note().startswith("Not constrained") and "second try" in note()
        assert library.saver is not None
        library.saver.flush()
        cid = library.saver.stored_id()
        assert cid is not None
        window.new_chat()
        assert library.open(cid)
        assert note().startswith("Not constrained")

        # A server that takes response_format is asked to hold the answer to the fields.
        window.new_chat()
        state.replies.append(text_reply(VALID))
        ask(ServerSettings(url, "m"))
        assert state.bodies[-1]["response_format"]["json_schema"]["schema"]["required"] == [
            "title", "count", "kind"
        ]  # fmt: skip
        assert note() == "Checked against the fields asked for."
