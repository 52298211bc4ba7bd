"""Help > About: versions from the UI process and, once loaded, from the worker."""

from __future__ import annotations

import re

import PySide6
import pytest
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QApplication

from app import __version__
from app.ui.help.about_info import NOT_LOADED, about_rows, about_text
from app.ui.main_window import MainWindow
from tests.ui.conftest import LOAD_TIMEOUT_MS


def _value(text: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s+(.*)$", text, re.MULTILINE)
    assert match, f"no {label!r} line in:\n{text}"
    return match.group(1)


def test_before_the_model_loads_the_worker_versions_read_not_loaded(
    unstarted_window: MainWindow,
) -> None:
    menu = unstarted_window.help_menu
    assert menu.menuAction() in unstarted_window.menuBar().actions()
    dialog = menu.show_about()
    text = dialog.text()
    assert _value(text, "Maverick Desk") == __version__
    assert _value(text, "Qt") == qVersion()
    assert _value(text, "PySide6") == PySide6.__version__
    for label in ("torch", "transformers", "CUDA runtime", "Devices"):
        assert _value(text, label) == NOT_LOADED
    assert NOT_LOADED in dialog.details.text()


def test_the_worker_reports_its_versions_and_copy_puts_them_on_the_clipboard(
    qtbot: object, unstarted_window: MainWindow
) -> None:
    dialog = unstarted_window.help_menu.show_about()
    bridge = unstarted_window.bridge
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS):  # type: ignore[attr-defined]
        bridge.start()
    ready = bridge.ready
    assert ready is not None
    # The open dialog updated itself from the worker's Ready message.
    text = dialog.text()
    assert re.match(r"\d+\.\d+", _value(text, "torch"))
    assert re.match(r"\d+\.\d+", _value(text, "transformers"))
    assert _value(text, "CUDA runtime") == ready.runtime["cuda"]
    assert _value(text, "Devices") == ready.devices[0]
    assert NOT_LOADED not in text and NOT_LOADED not in dialog.details.text()
    dialog.copy_button.click()
    assert QApplication.clipboard().text() == text
    assert dialog.copy_button.text() == "Copied"


EXPERT_PATHS = [("", "sparse top-1 ("), ("dense", "dense (transformers)")]


@pytest.mark.parametrize(("mode", "shown"), EXPERT_PATHS)
def test_about_shows_which_expert_path_the_worker_runs(
    qtbot: object,
    unstarted_window: MainWindow,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    shown: str,
) -> None:
    monkeypatch.setenv("MAVERICK_DESK_EXPERTS", mode)  # the worker inherits the environment
    dialog = unstarted_window.help_menu.show_about()
    assert _value(dialog.text(), "Experts") == NOT_LOADED
    bridge = unstarted_window.bridge
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS):  # type: ignore[attr-defined]
        bridge.start()
    experts = _value(dialog.text(), "Experts")
    assert experts.startswith(shown) and experts == bridge.ready.runtime["experts"]  # type: ignore[union-attr]
    # The tests run with MAVERICK_DESK_COMPILE=off (tests/conftest.py): the worker says so.
    decode = _value(dialog.text(), "Decode")
    assert decode == "eager (transformers generate), MAVERICK_DESK_COMPILE=off"
    assert decode == bridge.ready.runtime["decode"]  # type: ignore[union-attr]
    # The demo has chunked layers; the worker says how they prefill.
    assert (
        _value(dialog.text(), "Chunked attention")
        == "window by window in prefill (checked at load)"
    )


def test_about_text_lines_up_every_row() -> None:
    rows = about_rows(None)
    lines = about_text(None).splitlines()
    assert len(lines) == len(rows)
    starts = {line.index(value) for line, (_, value) in zip(lines, rows, strict=True)}
    assert len(starts) == 1  # one column of values
