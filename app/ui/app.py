"""Start the window: ``maverick-desk`` with no subcommand.

The window shows first; the worker process starts and loads the model right after,
in the background. With ``--screenshot OUT.png`` the app waits for the model (and the
answer to ``--demo-question``), saves a picture of the window and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.paths import MODEL_ENV, default_model
from app.ui.bridge.bridge import WorkerBridge
from app.ui.conversations.conversation_library import attach_conversations
from app.ui.engine.engine_store import SERVER, EngineStore
from app.ui.look.theme import apply_app_font
from app.ui.main_window import MainWindow
from app.ui.screenshot import take_screenshot
from app.ui.settings.settings_store import SettingsStore
from app.ui.tools.window_tools import WindowTools
from app.ui.window_state import WindowState

log = logging.getLogger(__name__)


def resolve_model(model_arg: str | None) -> tuple[Path, bool]:
    """The checkpoint to load, and whether it is the demo that may be written on first run.

    ``--model``, else the model chosen in the picker (``maverick-desk models --use``),
    else $MAVERICK_DESK_MODEL or the demo, as for ``maverick-desk preflight``.
    """
    import os

    from app.checkpoints.library import LibraryError, chosen_model

    if model_arg:
        return Path(model_arg).expanduser(), False
    try:
        chosen = chosen_model()
    except LibraryError as exc:
        log.warning("%s", exc)
        chosen = None
    if chosen is not None and chosen.is_dir():
        return chosen, False
    return default_model(), not os.environ.get(MODEL_ENV)


def make_application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Maverick Desk")
    app.setOrganizationName("maverick-desk")
    app.setDesktopFileName("maverick-desk")
    apply_app_font(app)
    return app


def build_window(model_arg: str | None = None) -> MainWindow:
    """The window and its bridge, not yet started (tests and benchmarks use this too)."""
    model, create_demo = resolve_model(model_arg)
    store = SettingsStore()
    bridge = WorkerBridge(model, create_demo_if_missing=create_demo)
    engines = EngineStore(store)
    bridge.attention = engines.attention
    bridge.prompt_cache_entries = engines.prompt_cache_entries
    if model_arg is None and engines.engine == SERVER:
        bridge.use_server(engines.server_settings(), start=False)  # remembered across restarts
    window = MainWindow(bridge, store)
    window.use_tools(WindowTools(bridge, parent=window))
    attach_conversations(window)
    WindowState(window, window.splitter).restore()
    return window


def run_app(args: argparse.Namespace) -> int:
    """Open the window and run until it closes; returns the exit status."""
    if (args.demo_question or args.image) and not args.screenshot:
        print("maverick-desk: --demo-question and --image go with --screenshot.", file=sys.stderr)
        return 2
    app = make_application()
    window = build_window(args.model)
    window.show()
    QTimer.singleShot(0, lambda: window.bridge.start(window.settings_panel.values().image_limit))

    async def main() -> int:
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        app.lastWindowClosed.connect(closed.set)
        if args.screenshot:
            code = await take_screenshot(
                window, Path(args.screenshot), args.demo_question, args.image
            )
            window.close()
            return code
        await closed.wait()
        return 0

    try:
        return int(qasync.run(main()))
    finally:
        window.bridge.close()
