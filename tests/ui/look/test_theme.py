"""Light and dark themes, following the system; the text size of messages and composer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pygments.styles import get_style_by_name
from pygments.token import Keyword
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.ui.look.theme import DARK, LIGHT, current_palette
from app.ui.main_window import MainWindow
from app.ui.settings.appearance_settings import AppearanceSettings
from app.ui.settings.settings_store import SettingsStore
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.ui.transcript.conversation import Message, Role, Status

ANSWER = "Some code:\n\n```python\ndef double(x):\n    return x * 2\n```\n\nDone.\n"


def _keyword_colour(style: str) -> str:
    return "#" + str(get_style_by_name(style).style_for_token(Keyword)["color"]).lower()


@pytest.fixture
def answered(qtbot: object, unstarted_window: MainWindow) -> Iterator[MainWindow]:
    """The window showing a user message and a finished answer with a code block."""
    window = unstarted_window
    window.send("Show me code")  # the worker is not started: the request waits
    view = AssistantMessageView(Message(Role.ASSISTANT, ANSWER, status=Status.COMPLETE))
    window.transcript.add(view)
    qtbot.waitUntil(lambda: view.body.settled)  # type: ignore[attr-defined]
    yield window
    window.theme.set_mode("light")


def _answer_html(window: MainWindow) -> str:
    view = window.assistant_views()[-1]
    return "".join(browser.toHtml().lower() for browser in view.body.browsers())


def test_switching_the_theme_restyles_the_transcript_already_shown(
    qtbot: object, answered: MainWindow
) -> None:
    window = answered
    look = window.settings_panel.appearance
    look.set_theme_mode("light")
    assert _keyword_colour("friendly") in _answer_html(window)

    look.set_theme_mode("dark")
    qtbot.waitUntil(lambda: window.assistant_views()[-1].body.settled)  # type: ignore[attr-defined]
    html = _answer_html(window)
    assert _keyword_colour(DARK.code_style) in html
    assert _keyword_colour(LIGHT.code_style) not in html
    assert "def double" in window.assistant_views()[-1].body.plain_text()
    assert current_palette() is DARK
    assert DARK.transcript_bg in window.styleSheet()
    window_colour = QApplication.palette().color(QPalette.ColorRole.Window).name()
    assert window_colour == DARK.window_bg
    user_view = window.transcript.items()[0]
    user_css = user_view.text_view.document().defaultStyleSheet()  # type: ignore[attr-defined]
    assert DARK.accent in user_css

    look.set_theme_mode("light")
    qtbot.waitUntil(lambda: window.assistant_views()[-1].body.settled)  # type: ignore[attr-defined]
    assert _keyword_colour(LIGHT.code_style) in _answer_html(window)
    assert LIGHT.transcript_bg in window.styleSheet()


def test_system_mode_follows_the_desktop_colour_scheme(answered: MainWindow) -> None:
    window = answered
    window.settings_panel.appearance.set_theme_mode("system")
    hints = QGuiApplication.styleHints()
    # The offscreen platform cannot switch its scheme, so the desktop's signal is sent here.
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert current_palette() is DARK
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert current_palette() is LIGHT
    window.settings_panel.appearance.set_theme_mode("light")
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert current_palette() is LIGHT  # a chosen theme ignores the desktop


def test_text_size_applies_live_and_is_remembered(
    qtbot: object, answered: MainWindow, data_dir: Path
) -> None:
    window = answered
    look = window.settings_panel.appearance
    browser = window.assistant_views()[-1].body.browsers()[0]
    qtbot.waitUntil(lambda: browser.height() > 0)  # type: ignore[attr-defined]
    small_height = browser.height()
    look.font_size.setValue(look.font_size.value() + 8)
    size = look.font_size.value()
    assert browser.font().pointSize() == size
    assert browser.document().defaultFont().pointSize() == size
    assert window.composer.input.font().pointSize() == size
    qtbot.waitUntil(lambda: browser.height() > small_height)  # type: ignore[attr-defined]
    # The window's chrome keeps its size.
    assert window.settings_panel.reset_button.font().pointSize() != size

    again = AppearanceSettings(SettingsStore(data_dir / "settings.ini"))
    qtbot.addWidget(again)  # type: ignore[attr-defined]
    assert again.font_size.value() == size
    look.set_theme_mode("dark")
    third = AppearanceSettings(SettingsStore(data_dir / "settings.ini"))
    qtbot.addWidget(third)  # type: ignore[attr-defined]
    assert third.theme_mode == "dark"
