"""The code-highlighting warm-up: a short thread that leaves lexers and styles cached."""

from __future__ import annotations

import threading

from app.ui.main_window import MainWindow
from app.ui.markdown.code_warmup import LANGUAGES, UNKNOWN_LANGUAGE, CodeWarmUp
from app.ui.markdown.markdown_html import _lexer, render_markdown


def test_the_warm_up_thread_caches_every_lexer_and_the_failed_lookup() -> None:
    warm = CodeWarmUp()
    warm.start()
    warm.join(30)
    assert not warm.running
    assert warm.milliseconds is not None
    before = _lexer.cache_info()
    for language in (*LANGUAGES, UNKNOWN_LANGUAGE):
        _lexer(language)
    after = _lexer.cache_info()
    assert after.misses == before.misses  # all found in the cache
    assert _lexer(UNKNOWN_LANGUAGE) is None
    # A streamed fence still renders as code while its language is half typed.
    assert "x = 1" in render_markdown("```p\nx = 1\n").html


def test_the_window_warm_up_ends_its_thread(qtbot: object, unstarted_window: MainWindow) -> None:
    warm_up = unstarted_window.warm_up
    qtbot.waitUntil(lambda: warm_up.code.milliseconds is not None, timeout=30_000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not warm_up.running, timeout=30_000)  # type: ignore[attr-defined]
    names = [thread.name for thread in threading.enumerate()]
    assert "code-highlighting-warm-up" not in names
