from __future__ import annotations

import os
from pathlib import Path

from app.storage import ConversationStore


def test_trash_undo_and_empty(rich: int, store: ConversationStore, images: dict[str, Path]) -> None:
    keep = rich  # uses wide and tall
    doomed = store.create_conversation("doomed")
    store.add_user_message(doomed, "only the tall one", [images["tall"]])
    other = images["wide"].with_name("blue.png")
    from PIL import Image

    Image.new("RGB", (32, 32), (0, 0, 255)).save(other)
    store.add_user_message(doomed, "and a blue square", [other])

    store.move_to_trash(doomed)
    assert [c.id for c in store.list_conversations()] == [keep]
    assert [c.id for c in store.list_conversations(trash=True)] == [doomed]
    assert store.list_conversations(trash=True)[0].deleted_at is not None

    store.restore(doomed)  # Undo
    assert {c.id for c in store.list_conversations()} == {keep, doomed}
    assert store.list_conversations(trash=True) == []

    store.move_to_trash(doomed)
    blue = store.load_conversation(doomed).messages[1].attachments[0].path
    tall = store.load_conversation(doomed).messages[0].attachments[0].path
    store.image_grace_s = 0.0
    old = blue.stat().st_mtime - 3600
    os.utime(blue, (old, old))
    os.utime(tall, (old, old))
    assert store.empty_trash() == 1
    assert store.list_conversations(trash=True) == []
    assert [c.id for c in store.list_conversations()] == [keep]
    assert not blue.exists()  # nobody else used it
    assert tall.exists()  # still used by the kept conversation
    assert store.search("blue square") == []
    assert len(store.load_conversation(keep).messages) == 6


def test_recent_images_survive_emptying_the_trash(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "x", [images["wide"]])
    path = store.load_conversation(cid).image_paths()[0]
    store.move_to_trash(cid)
    assert store.empty_trash() == 1
    assert path.exists()  # younger than the grace period: another process may be using it
