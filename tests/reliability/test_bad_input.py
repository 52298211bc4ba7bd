"""Bad input of issue 9 through the real entry points: the window's composer, `ask`, and
attaching a document. Each gets a sentence naming the file and what is wrong; afterwards
the same window (or command) still answers.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from app.documents import pdf as pdf_module
from app.documents.attachments import (
    AttachmentError,
    AttachmentRequest,
    plan_attachments,
    prepare_attachment,
)
from app.ui.bridge.bridge import WorkerBridge
from app.ui.composer.pdf_page_dialog import PdfPageDialog
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.ui.transcript.conversation import Status

from .bad_files import BAD_IMAGES, PASSWORD, TEXTS, write_bad_files
from .conftest import record

ROOT = Path(__file__).resolve().parents[2]
LOAD_MS = 120_000


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_bad_files(tmp_path_factory.mktemp("bad-input"))


@pytest.fixture
def window(qtbot: object, demo_bf16: Path, data_dir: Path) -> Iterator[MainWindow]:
    win = MainWindow(WorkerBridge(demo_bf16), SettingsStore(data_dir / "settings.ini"))
    win.show()
    win.settings_panel.set_value("max_new_tokens", 16)
    win.settings_panel.set_value("seed", 3)
    yield win
    win.close()
    win.bridge.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _answer(qtbot: object, window: MainWindow, text: str, images: list[str] | None = None) -> str:
    with qtbot.waitSignal(window.answer_ended, timeout=LOAD_MS) as ended:  # type: ignore[attr-defined]
        assert window.send(text, images or [])
    return str(ended.args[0])


def _picker(qtbot: object, window: MainWindow, path: Path) -> PdfPageDialog:
    """Attach a PDF and return its page picker, which must open within 2 s."""
    attacher = window.composer.pdf_attacher
    started = time.perf_counter()
    with qtbot.waitSignal(attacher.dialog_opened, timeout=5_000) as opened:  # type: ignore[attr-defined]
        window.composer.add_files([str(path)])
    assert time.perf_counter() - started < 2.0, path.name
    dialog = opened.args[0]
    assert isinstance(dialog, PdfPageDialog)
    return dialog


def test_the_window_explains_every_bad_file_and_keeps_answering(
    qtbot: object, window: MainWindow, bad: dict[str, Path], tmp_path: Path
) -> None:
    composer = window.composer
    window.bridge.start()  # loads while the files are tried
    tried = []
    for name in [*BAD_IMAGES, "loop_pdf"]:
        started = time.perf_counter()
        composer.add_files([str(bad[name])])
        took = time.perf_counter() - started
        assert not composer.chips(), name
        assert composer.notice.isVisible(), name
        notice = composer.notice.text()
        assert notice.startswith("Not attached: ") and bad[name].name in notice, notice
        if name in BAD_IMAGES:
            assert re.search(BAD_IMAGES[name], notice), notice
        assert took < 2.0, f"{name} took {took:.2f} s"
        tried.append(name)

    # PDFs that can be opened go to the page picker, quickly, whatever their size.
    thousand = _picker(qtbot, window, bad["pages_1000"])
    assert thousand.page_count == 1000 and len(thousand.pages()) == 5  # the image limit
    thousand.range_edit.clear()
    qtbot.keyClicks(thousand.range_edit, "999-1000")  # type: ignore[attr-defined]
    assert thousand.pages() == [999, 1000]
    thousand.accept()
    qtbot.waitUntil(lambda: len(composer.chips()) == 2, timeout=30_000)  # type: ignore[attr-defined]
    assert [chip.label for chip in composer.chips()] == [
        "thousand-pages.pdf, page 999",
        "thousand-pages.pdf, page 1000",
    ]
    composer.clear()
    locked = _picker(qtbot, window, bad["encrypted_pdf"])
    assert "locked.pdf is protected by a password" in locked.password_message.text()
    qtbot.keyClicks(locked.password_edit, "guess")  # type: ignore[attr-defined]
    locked.unlock_button.click()
    assert "The password for locked.pdf is wrong" in locked.password_message.text()
    locked.reject()
    repaired = _picker(qtbot, window, bad["broken_xref_pdf"])
    assert repaired.page_count == 3  # pdfium rebuilds the cross-reference table
    repaired.reject()
    qtbot.waitUntil(lambda: composer.pdf_attacher.dialog is None)  # type: ignore[attr-defined]
    assert not composer.chips()
    tried += ["pages_1000", "encrypted_pdf", "broken_xref_pdf"]

    # A file removed between the drop and Send: a sentence, nothing sent.
    doomed = tmp_path / "holiday.png"
    doomed.write_bytes(bad["good_png"].read_bytes())
    composer.add_files([str(doomed)])
    assert len(composer.chips()) == 1
    doomed.unlink()
    composer.input.setPlainText("What is in this picture?")
    composer.send_button.click()
    assert not window.conversation.messages
    assert "holiday.png was moved or deleted after it was attached" in composer.notice.text()
    composer.clear()

    # 200,000 characters: refused by the model's context with a sentence, not a freeze.
    started = time.perf_counter()
    assert _answer(qtbot, window, TEXTS["long"]) == Status.ERROR.value
    assert time.perf_counter() - started < 60
    assert any("more than the model's context" in b.text for b in window.error_blocks())

    # Right-to-left marks, emoji, combining marks and NUL: answered and shown.
    window.new_chat()
    assert _answer(qtbot, window, TEXTS["mixed"]) == Status.COMPLETE.value
    assert window.conversation.messages[0].text == TEXTS["mixed"]

    # And the window still answers a plain question with an image.
    window.new_chat()
    assert _answer(qtbot, window, "Describe it.", [str(bad["good_jpg"])]) == "complete"
    record("bad_input_window", files=tried, texts=["200,000 characters", "RTL/emoji/NUL"])


def _ask(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "ask", *args, "--max-new-tokens", "8", "--quiet"],
        input=stdin, capture_output=True, text=True, timeout=180, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "name", "message"),
    [("--image", name, message) for name, message in BAD_IMAGES.items()]
    + [
        ("--attach", "encrypted_pdf", r"locked\.pdf is protected by a password.*--password"),
        ("--attach", "loop_pdf", r"loop\.pdf is a symbolic link that leads nowhere"),
        ("--attach", "text_png", r"shopping-list\.png .*not an image"),
    ],
)
def test_ask_refuses_bad_files_in_one_sentence_before_loading(
    bad: dict[str, Path], demo_bf16: Path, flag: str, name: str, message: str
) -> None:
    started = time.perf_counter()
    result = _ask("What is this?", flag, str(bad[name]), "--model", str(demo_bf16))
    assert result.returncode == 2, result.stderr
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr
    assert time.perf_counter() - started < 30  # the model was never loaded


def test_ask_takes_a_long_or_strange_prompt_from_stdin(demo_bf16: Path) -> None:
    long = _ask("-", "--model", str(demo_bf16), stdin=TEXTS["long"])
    assert long.returncode != 0
    assert "more than the model's context of 65,536" in long.stderr, long.stderr
    assert "Traceback" not in long.stderr
    mixed = _ask("-", "--model", str(demo_bf16), "--seed", "1", stdin=TEXTS["mixed"])
    assert mixed.returncode == 0, mixed.stderr
    assert mixed.stdout.strip()


def test_ask_attaches_a_thousand_page_pdf_without_drawing_every_page(
    bad: dict[str, Path], demo_bf16: Path
) -> None:
    result = _ask("Summarise.", "--attach", str(bad["pages_1000"]), "--model", str(demo_bf16))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_document_attach_draws_only_the_pages_it_sends(
    bad: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[int] = []
    render = pdf_module.PdfFile.render

    def counting(self: pdf_module.PdfFile, number: int, width: int, height: int) -> object:
        drawn.append(number)
        return render(self, number, width, height)

    monkeypatch.setattr(pdf_module.PdfFile, "render", counting)
    started = time.perf_counter()
    (plan,) = plan_attachments([AttachmentRequest(bad["pages_1000"])], image_limit=5)
    prepared = prepare_attachment(plan)
    took = time.perf_counter() - started
    assert plan.page_count == 1000 and plan.page_numbers == (1, 2, 3, 4, 5)
    assert "has 1000 pages; sending pages 1-5" in plan.notices[0]
    assert prepared is not None and len(prepared.images) == 5
    assert sorted(set(drawn)) == [1, 2, 3, 4, 5]
    assert took < 10, took

    with pytest.raises(AttachmentError, match="protected by a password") as caught:
        plan_attachments([AttachmentRequest(bad["encrypted_pdf"])])
    assert caught.value.password_wanted
    (opened,) = plan_attachments([AttachmentRequest(bad["encrypted_pdf"], password=PASSWORD)])
    assert opened.page_numbers == (1, 2, 3)

    # pdfium rebuilds a broken cross-reference table; if it could not, it would be a sentence.
    try:
        (repaired,) = plan_attachments([AttachmentRequest(bad["broken_xref_pdf"])])
        outcome = f"repaired, {repaired.page_count} pages"
    except AttachmentError as exc:
        outcome = str(exc)
        assert "broken-xref.pdf" in outcome
    record("bad_input_documents", thousand_pages_s=round(took, 2), broken_xref=outcome)
