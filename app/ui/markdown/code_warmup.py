"""Load Pygments' lexers and styles on a background thread before the first answer.

Two one-time costs hit the first code block of a session on the main thread: importing
a language's lexer module, and, the first time a fence names a language Pygments has no
lexer for, its scan of every installed package's entry points for plugin lexers (about
20–35 ms). While an answer streams, the fence line arrives a few characters at a time
(```` ```p ````, ```` ```py ````…), so the first streamed code block always asks for a name
that does not exist. Both are plain Python and release the GIL every few milliseconds,
so doing them on a thread while the model loads keeps the window responsive.
"""

from __future__ import annotations

import logging
import threading
import time

from app.ui.look.theme import THEMES
from app.ui.markdown.markdown_html import preload_highlighting

log = logging.getLogger(__name__)

LANGUAGES = ("python", "javascript", "typescript", "bash", "json", "sql", "c", "cpp", "rust")
UNKNOWN_LANGUAGE = "p"  # what a streamed ```python fence asks for first


def warm_up_code_highlighting() -> float:
    """Pay the lexer and style costs now; returns the milliseconds it took."""
    started = time.perf_counter()
    styles = [palette.code_style for palette in THEMES.values()]
    preload_highlighting([*LANGUAGES, UNKNOWN_LANGUAGE], styles)
    return (time.perf_counter() - started) * 1000


class CodeWarmUp:
    """Runs `warm_up_code_highlighting` once on a short-lived thread."""

    def __init__(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="code-highlighting-warm-up", daemon=True
        )
        self.milliseconds: float | None = None

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self.milliseconds = warm_up_code_highlighting()
            log.info("code highlighting warmed up in %.0f ms", self.milliseconds)
        except Exception:  # a failed warm-up only costs speed later; never the app
            log.exception("warming up code highlighting failed")
