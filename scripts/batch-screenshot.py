"""Make docs/batch.png (the Batch window) and docs/structured-answer.png (the Fields toggle).

The batch is four pictures with three fields; the chat question is asked with the same fields.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/batch-screenshot.py docs [CHECKPOINT]

CHECKPOINT defaults to .demo/bf16 (random weights: the answers are nonsense, but every
one is valid for the fields, which is what the window shows). The data folder is a
temporary one, so no job of yours is touched.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

SCHEMA = {
    "type": "object",
    "properties": {
        "product": {"type": "string", "maxLength": 8, "description": "what is shown"},
        "price": {"type": "number", "minimum": 0, "maximum": 999},
        "in_stock": {"type": "boolean"},
    },
    "required": ["product", "price", "in_stock"],
    "additionalProperties": False,
}
COLOURS = [(61, 123, 224), (224, 120, 61), (60, 170, 110), (170, 60, 150)]


def _pictures(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, colour in enumerate(COLOURS):
        picture = Image.new("RGB", (160, 120), (245, 245, 240))
        ImageDraw.Draw(picture).rounded_rectangle((30, 20, 130, 100), 12, fill=colour)
        picture.save(folder / f"catalog-{i + 1}.png")
    return folder


def _wait(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        QTest.qWait(50)


def main(out_dir: Path, model: Path) -> int:
    with tempfile.TemporaryDirectory() as data:
        os.environ["MAVERICK_DESK_DATA_DIR"] = data
        app = QApplication(sys.argv)
        from app.ui.bridge.bridge import WorkerBridge
        from app.ui.main_window import MainWindow
        from app.ui.settings.settings_store import SettingsStore

        window = MainWindow(WorkerBridge(model), SettingsStore(Path(data) / "s.ini"))
        window.show()
        ready: list[object] = []
        window.bridge.model_ready.connect(ready.append)
        window.bridge.start()
        _wait(lambda: ready, 300)
        batch = window.dialogs.open_batch_window()
        batch.setup.add_paths([str(_pictures(Path(data) / "catalog"))])
        batch.setup.prompt.setPlainText("What product is this, its price, and is it in stock?")
        batch.setup.use_fields.setChecked(True)
        batch.setup.fields.set_schema(SCHEMA)
        batch.setup.fields.tabs.setCurrentIndex(0)
        QTest.qWait(300)
        batch.grab().save(str(out_dir / "batch-setup.png"))
        # The JSON tab keeps the schema's tight bounds (random weights write to the limit).
        batch.setup.fields.schema_text.setPlainText(json.dumps(SCHEMA))
        batch.setup.fields.tabs.setCurrentIndex(1)
        batch.setup.start_button.click()
        _wait(lambda: "items/s" in batch.view.figures.text(), 600)
        QTest.qWait(500)
        batch.grab().save(str(out_dir / "batch-running.png"))
        _wait(lambda: batch.run is None, 600)
        QTest.qWait(300)
        batch.grab().save(str(out_dir / "batch.png"))
        batch.close()
        toggle = window.composer.fields
        toggle.setChecked(True)
        toggle.dialog.editor.schema_text.setPlainText(json.dumps(SCHEMA))
        toggle.dialog.editor.tabs.setCurrentIndex(1)
        toggle.dialog.accept()
        window.composer.add_files([str(Path(data) / "catalog" / "catalog-2.png")])
        window.composer.input.setPlainText("What product is this, its price, and is it in stock?")
        QTest.qWait(300)
        window.grab().save(str(out_dir / "structured-toggle.png"))
        ended: list[object] = []
        window.answer_ended.connect(ended.append)
        window.composer.send_button.click()
        _wait(lambda: ended, 600)
        QTest.qWait(500)
        window.grab().save(str(out_dir / "structured-answer.png"))
        window.close()
        batch.shutdown()
        del app
    return 0


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    checkpoint = Path(sys.argv[2] if len(sys.argv) > 2 else ".demo/bf16")
    raise SystemExit(main(out, checkpoint))
