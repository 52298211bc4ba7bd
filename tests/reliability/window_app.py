"""The real window in a process of its own, asking question after question until killed.

Run by test_app_kills.py as ``python window_app.py MODEL IMAGE`` with
$MAVERICK_DESK_DATA_DIR set. It builds what ``maverick-desk`` builds (`MainWindow`, its
`WorkerBridge` and, through `attach_conversations`, the real `ConversationStore` and
`ConversationSaver`) and shows it offscreen. The model loads first; then it prints
``{"e": "ready"}`` and waits for a line on stdin before it attaches the conversations
(so the test can start the next app while this one streams, and only one app at a time
has the store open). Then it sends questions through `MainWindow.send`, an image with
every other one, and reports each question only after the saver's writer thread wrote
it (`ConversationSaver.flush`). Answers are saved by the saver alone, as in the app: when
they start, twice a second while they stream, and when they end.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer

from app.ui.app import make_application
from app.ui.bridge.bridge import WorkerBridge
from app.ui.conversations.conversation_library import attach_conversations
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main() -> None:
    model, image = Path(sys.argv[1]), sys.argv[2]
    app = make_application()
    bridge = WorkerBridge(model)
    window = MainWindow(bridge, SettingsStore())
    window.settings_panel.set_value("max_new_tokens", 400)
    window.show()
    loading = QEventLoop()
    bridge.model_ready.connect(lambda ready: loading.quit())
    bridge.model_failed.connect(lambda text: sys.exit(f"loading failed: {text}"))
    bridge.start()
    loading.exec()
    say(e="ready", worker=bridge.client.pid)
    sys.stdin.readline()

    library = attach_conversations(window)  # opens the store, reopens the last conversation
    assert library.saver is not None
    window.new_chat()
    number = 0

    def ask() -> None:
        nonlocal number
        number += 1
        question = f"Question {number} from process {bridge.client.pid}: describe the picture."
        images = [image] if number % 2 else []
        if number % 4 == 1 and number > 1:
            window.new_chat()  # several conversations, and never past the image limit
        window.settings_panel.set_value("seed", number)
        if not window.send(question, images):
            sys.exit(f"the window refused question {number}")
        library.saver.flush()  # the saver writes on its own thread: reported once written
        say(e="asked", text=question, images=len(images))

    first_token = [True]

    def on_token(rid: str, text: str) -> None:
        if first_token[0]:
            first_token[0] = False
            say(e="streaming")

    def on_answer_ended(status: str) -> None:
        say(e="answered", status=status, text=window.conversation.messages[-1].text)
        first_token[0] = True
        QTimer.singleShot(0, ask)

    bridge.token_received.connect(on_token)
    window.answer_ended.connect(on_answer_ended)
    QTimer.singleShot(0, ask)
    app.exec()


if __name__ == "__main__":
    main()
