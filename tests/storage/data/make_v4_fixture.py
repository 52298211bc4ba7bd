"""Write the schema-4 fixture with the schema-4 code itself (not part of the test run).

`v4-store/` (a data folder with a database) was written by running this file against
commit f8cfce1, the last commit whose store wrote schema 4 (before documents were kept):

    git archive f8cfce1 app | tar -x -C /tmp/v4-code
    PYTHONPATH=/tmp/v4-code python tests/storage/data/make_v4_fixture.py tests/storage/data

Committed as files so that the migration test reads what version 4 really wrote.
Never regenerate them with newer code.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from app.storage import ConversationStore, MessageStatus
from app.storage.schema import SCHEMA_VERSION


def main(out: Path) -> None:
    assert SCHEMA_VERSION == 4, "run this with the schema-4 code (see the docstring)"
    folder = out / "v4-store"
    shutil.rmtree(folder, ignore_errors=True)
    with ConversationStore.open(folder) as store:
        cid = store.create_conversation(settings={"temperature": 0.2})
        store.add_user_message(cid, "What does the harbour report say about ferries?")
        answer = store.begin_assistant_message(cid)
        store.finish_assistant_message(
            answer, MessageStatus.COMPLETE, text="They leave at nine.", stats={"tokens": 5}
        )
        store.set_last_opened_conversation(cid)
    for leftover in folder.glob("*.lock"):
        leftover.unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
