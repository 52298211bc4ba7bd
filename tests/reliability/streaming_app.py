"""A stand-in for the app process: the real worker answers, the real store saves.

Run by test_app_kills.py as ``python streaming_app.py DATA_DIR MODEL IMAGE``. It starts the
worker and loads the model, prints ``{"e": "ready"}``, and waits for a line on stdin
before it opens the store (so the test can start the next one while this one loads).
Then it asks question after question and saves each answer the way the window's saver
does: `add_user_message`, `begin_assistant_message`, `append_streaming_text` for every
piece of text, `finish_assistant_message`. Each save is reported on stdout as one JSON
line only after it returned, so whatever the test has read was committed. It runs until
it is killed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.storage import ConversationStore, MessageStatus
from app.workers import protocol as p
from app.workers.client import WorkerClient


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def main() -> None:
    folder, model, image = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    worker = WorkerClient()
    worker.start()
    rid = worker.load(model)
    last = list(worker.events_for(rid, timeout=120))[-1]
    assert isinstance(last, p.Ready), last
    say(e="ready", worker=worker.pid)
    sys.stdin.readline()
    store = ConversationStore.open(folder)
    cid = store.create_conversation()
    say(e="conversation", cid=cid)
    number = 0
    while True:
        number += 1
        question = f"Question {number} from process {worker.pid}: describe the picture."
        images = [Path(image)] if number % 2 else []
        user = store.add_user_message(cid, question, images)
        say(e="user", mid=user.id, text=question, images=len(images))
        mid = store.begin_assistant_message(cid)
        say(e="begin", mid=mid)
        turns = [p.ChatTurn("user", question, [str(i) for i in images])]
        rid = worker.generate(turns, max_new_tokens=48, seed=number)
        text = ""
        for event in worker.events_for(rid, timeout=60):
            if isinstance(event, p.Token) and event.text:
                store.append_streaming_text(mid, event.text)
                text += event.text
                say(e="saved", mid=mid, chunk=event.text)
            elif isinstance(event, p.Done):
                store.finish_assistant_message(mid, MessageStatus.COMPLETE, text=text)
                say(e="finished", mid=mid)
            elif not isinstance(event, p.Token):
                raise RuntimeError(f"unexpected {event}")


if __name__ == "__main__":
    main()
