"""The real window in a process of its own, asking, regenerating and editing until killed.

Run by test_app_kills.py as ``python window_app.py MODEL IMAGE SEED`` with
$MAVERICK_DESK_DATA_DIR set. It builds what ``maverick-desk`` builds (`MainWindow`, its
`WorkerBridge` and, through `attach_conversations`, the real `ConversationStore` and
`ConversationSaver`) and shows it offscreen. The model loads first; then it prints
``{"e": "ready"}`` and waits for a line on stdin before it attaches the conversations
(so the test can start the next app while this one streams, and only one app at a time
has the store open).

It goes on in the conversation the last app was killed in (a new chat once it holds four
questions, so never past the image limit). Each step, drawn from `random.Random(SEED)`,
is one of what a user does: send a new question through `MainWindow.send` (an image with
every other one); click Regenerate under the last answer; or click Edit on one of the
questions shown, then Send with a new text, which makes a second version of the question
and answers it. Each step is reported only after the saver's writer thread wrote it
(`ConversationSaver.flush`), with the stored ids of the old and the new version. Answers
are saved by the saver alone, as in the app: when they start, twice a second while they
stream, and when they end.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QAbstractButton

from app.ui.app import make_application
from app.ui.bridge.bridge import WorkerBridge
from app.ui.conversations.conversation_library import attach_conversations
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.ui.transcript.conversation import Role
from app.ui.transcript.user_message_view import UserMessageView

QUESTIONS_PER_CHAT = 4
REGENERATE = 0.3  # the chance a step regenerates the last answer (when there is one)
EDIT = 0.3  # the chance a step edits one of the questions shown


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main() -> None:
    model, image, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
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
    pid = bridge.client.pid
    say(e="ready", worker=pid)
    sys.stdin.readline()

    library = attach_conversations(window)  # opens the store, reopens the last conversation
    saver = library.saver
    assert saver is not None
    number = 0

    def questions() -> int:
        return sum(m.role is Role.USER for m in window.conversation.messages)

    def stored(window_id: str) -> int:
        saver.flush()  # the book is read here only while the writer is idle
        store_id = saver.store_message_id(window_id)
        if store_id is None:
            sys.exit(f"message {window_id} was not saved")
        return store_id

    def ask() -> None:
        if questions() >= QUESTIONS_PER_CHAT:
            window.new_chat()
        question = f"Question {number} from process {pid}: describe the picture."
        images = [] if questions() % 2 else [image]
        if not window.send(question, images):
            sys.exit(f"the window refused question {number}")
        new = stored(window.conversation.messages[-2].id)
        say(e="asked", text=question, images=len(images), new=new)

    def regenerate() -> None:
        view = window.assistant_views()[-1]
        old, old_text = stored(view.message.id), view.message.text
        view.regenerate_button.click()
        if not window.generating:
            sys.exit("Regenerate started no answer")
        new = stored(window.conversation.messages[-1].id)
        say(e="regenerated", old=old, old_text=old_text, new=new)

    def edit(view: UserMessageView) -> None:
        old, old_text = stored(view.message.id), view.message.text
        [button] = [b for b in view.findChildren(QAbstractButton) if b.text() == "Edit"]
        button.click()
        text = f"Question {number} from process {pid}, edited: describe the picture again."
        window.composer.input.setPlainText(text)  # the images stay in the composer
        window.composer.send_button.click()
        question = window.conversation.messages[-2]
        if not window.generating or question.text != text:
            sys.exit(f"the window did not send the edited question {number}")
        say(
            e="edited",
            old=old,
            old_text=old_text,
            new=stored(question.id),
            text=text,
            images=len(question.images),
        )

    def step() -> None:
        nonlocal number
        number += 1
        window.settings_panel.set_value("seed", number)
        messages = window.conversation.messages
        answers = window.assistant_views()
        shown = [w for w in window.transcript.items() if isinstance(w, UserMessageView)]
        roll = rng.random()
        if roll < REGENERATE and messages and answers and answers[-1].message is messages[-1]:
            regenerate()
        elif roll < REGENERATE + EDIT and shown:
            edit(rng.choice(shown))
        else:
            ask()

    first_token = [True]

    def on_token(rid: str, text: str) -> None:
        if first_token[0]:
            first_token[0] = False
            say(e="streaming")

    def on_answer_ended(status: str) -> None:
        say(e="answered", status=status, text=window.conversation.messages[-1].text)
        first_token[0] = True
        QTimer.singleShot(0, step)

    bridge.token_received.connect(on_token)
    window.answer_ended.connect(on_answer_ended)
    QTimer.singleShot(0, step)
    app.exec()


if __name__ == "__main__":
    main()
