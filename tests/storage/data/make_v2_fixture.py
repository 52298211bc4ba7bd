"""Write the schema-2 fixtures with the schema-2 code itself (not part of the test run).

`v2-store/` (a data folder: database and images) and `v2-export.json` were written by
running this file against commit da4698e, the last commit whose store wrote schema 2:

    git archive da4698e app | tar -x -C /tmp/v2-code
    PYTHONPATH=/tmp/v2-code python tests/storage/data/make_v2_fixture.py tests/storage/data

They are committed as files so that the migration test keeps reading what version 2
really wrote, whatever the code becomes. Never regenerate them with newer code.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from app.storage import ConversationStore, MessageStatus, export_json
from app.storage.schema import SCHEMA_VERSION


def main(out: Path) -> None:
    assert SCHEMA_VERSION == 2, "run this with the schema-2 code (see the docstring)"
    folder = out / "v2-store"
    shutil.rmtree(folder, ignore_errors=True)
    pictures = out / "v2-pictures"
    pictures.mkdir(exist_ok=True)
    wide = Image.new("RGB", (64, 36), (30, 90, 200))
    ImageDraw.Draw(wide).ellipse((20, 8, 44, 28), fill=(250, 200, 0))
    wide.save(pictures / "wide.png")
    Image.new("RGB", (15, 50), (20, 160, 60)).save(pictures / "tall.jpg", quality=90)
    with ConversationStore.open(folder) as store:
        rich = store.create_conversation(settings={"temperature": 0.7, "system": "Be brief."})
        store.add_user_message(
            rich,
            "What is in these two pictures? 🐎",
            [pictures / "wide.png", pictures / "tall.jpg"],
        )
        # A regenerate as version 2 did it: the first answer is deleted, ids keep a gap.
        first = store.begin_assistant_message(rich)
        store.finish_assistant_message(first, MessageStatus.COMPLETE, text="A first try.")
        store.delete_messages_from(rich, 1)
        answer = store.begin_assistant_message(rich)
        store.append_streaming_text(answer, "A yellow circle on blue, ")
        store.append_streaming_text(answer, "and a green bar.")
        store.finish_assistant_message(
            answer, MessageStatus.COMPLETE, stats={"tokens": 12, "seconds": 0.8125}
        )
        store.add_user_message(rich, 'Escape <script>alert("x")</script> & "zeppelin"\nتست')
        stopped = store.begin_assistant_message(rich)
        store.save_streaming_text(stopped, "I was stopped half-")
        store.finish_assistant_message(stopped, MessageStatus.STOPPED, stats={"tokens": 4})
        store.add_user_message(rich, "Tabs\tand ``` fences", [pictures / "wide.png"])
        failed = store.begin_assistant_message(rich)
        store.finish_assistant_message(failed, MessageStatus.ERROR, stats={"error": "boom"})

        trashed = store.create_conversation("Old and deleted")
        store.add_user_message(trashed, "a zeppelin in the Trash")
        store.move_to_trash(trashed)

        store.create_conversation("Nothing said yet")

        crashed = store.create_conversation()
        store.add_user_message(crashed, "Tell me about airships")
        left = store.begin_assistant_message(crashed)
        store.append_streaming_text(left, "Airships are")  # the app 'crashed' here
        store.set_last_opened_conversation(rich)
        export_json(store, [rich, crashed], out / "v2-export.json")
    shutil.rmtree(pictures)
    (folder / "conversations.lock").unlink(missing_ok=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
