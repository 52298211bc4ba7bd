from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.storage import ConversationStore, MessageStatus, Role, StorageError


def test_messages_come_back_in_order_with_status_stats_and_images(
    rich: int, store: ConversationStore, images: dict[str, Path]
) -> None:
    cid = rich
    conversation = store.load_conversation(cid)
    assert [m.position for m in conversation.messages] == list(range(6))
    assert [m.role for m in conversation.messages] == [Role.USER, Role.ASSISTANT] * 3
    assert [m.status for m in conversation.messages] == [
        MessageStatus.COMPLETE,
        MessageStatus.COMPLETE,
        MessageStatus.COMPLETE,
        MessageStatus.STOPPED,
        MessageStatus.COMPLETE,
        MessageStatus.ERROR,
    ]
    assert conversation.messages[1].text == "A yellow circle on blue, and a red bar on green."
    assert conversation.messages[1].stats == {"tokens": 12, "seconds": 0.8125, "tok_s": 14.77}
    assert conversation.messages[3].text == "I was stopped half-"
    assert conversation.messages[4].text == "Tabs\tand NUL \x00 and ``` fences"
    assert conversation.settings == {"temperature": 0.7, "system": "Be brief."}
    first = conversation.messages[0].attachments
    assert [a.name for a in first] == ["wide.png", "tall.jpg"]
    assert (first[0].width, first[0].height, first[0].mime) == (640, 360, "image/png")
    assert (first[1].width, first[1].height, first[1].mime) == (150, 500, "image/jpeg")
    for a in first:
        assert (
            a.path.read_bytes() == images["wide" if a.name == "wide.png" else "tall"].read_bytes()
        )
        assert a.path.name.startswith(hashlib.sha256(a.path.read_bytes()).hexdigest())
        assert a.path.parent.name == a.sha256[:2]


def test_identical_images_are_stored_once_and_survive_the_originals(
    rich: int, store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid = rich
    copy = tmp_path / "copy-of-wide.png"
    copy.write_bytes(images["wide"].read_bytes())
    store.add_user_message(cid, "same picture, other name", [copy])
    stored = sorted(p for p in store.images.root.rglob("*") if p.is_file())
    assert len(stored) == 2  # wide (sent three times) and tall
    for original in (images["wide"], images["tall"], copy):
        original.unlink()
    conversation = store.load_conversation(cid)
    assert all(p.is_file() for p in conversation.image_paths())
    assert len(conversation.image_paths()) == 4


def test_the_title_comes_from_the_first_question_and_can_be_renamed(
    store: ConversationStore,
) -> None:
    cid = store.create_conversation()
    question = (
        "   Could you   describe\nthe architecture of Llama 4 Maverick, especially its experts?  "
    )
    store.add_user_message(cid, question)
    store.add_user_message(cid, "A later question does not change the title")
    title = store.list_conversations()[0].title
    assert title == "Could you describe the architecture of Llama 4 Maverick…"
    assert len(title) <= 60
    store.rename(cid, "  Llama   notes \n")
    assert store.load_conversation(cid).title == "Llama notes"
    short = store.create_conversation()
    store.add_user_message(short, "Hi")
    assert store.load_conversation(short).title == "Hi"


def test_conversations_are_listed_newest_first(store: ConversationStore) -> None:
    first = store.create_conversation("first")
    second = store.create_conversation("second")
    assert [c.id for c in store.list_conversations()] == [second, first]
    store.add_user_message(first, "bump")
    listed = store.list_conversations()
    assert [c.id for c in listed] == [first, second]
    assert [c.message_count for c in listed] == [1, 0]


def test_streaming_updates_only_touch_a_streaming_answer(store: ConversationStore) -> None:
    cid = store.create_conversation()
    mid = store.begin_assistant_message(cid)
    assert store.get_message(mid).status is MessageStatus.STREAMING
    store.save_streaming_text(mid, "Hello")
    store.append_streaming_text(mid, ", world")
    assert store.get_message(mid).text == "Hello, world"
    store.finish_assistant_message(mid, MessageStatus.COMPLETE)
    assert store.get_message(mid).text == "Hello, world"
    with pytest.raises(StorageError, match="not an answer being written"):
        store.append_streaming_text(mid, "late")
    with pytest.raises(StorageError, match="cannot finish as 'streaming'"):
        store.finish_assistant_message(mid, MessageStatus.STREAMING)


def test_unfinished_answers_become_interrupted_on_reopen_by_the_owner(
    data_dir: Path, images: dict[str, Path]
) -> None:
    first = ConversationStore.open(data_dir)
    cid = first.create_conversation()
    mid = first.begin_assistant_message(cid)
    first.save_streaming_text(mid, "partial answer")
    # Another process (say the command line) opens the store while the answer streams:
    # it must not mark the live answer as interrupted.
    second = ConversationStore.open(data_dir)
    assert second.get_message(mid).status is MessageStatus.STREAMING
    assert second.notices == []
    second.close()
    first.append_streaming_text(mid, " still streaming")
    first.close()  # the app goes away without finishing
    third = ConversationStore.open(data_dir)
    message = third.get_message(mid)
    assert (message.status, message.text) == (
        MessageStatus.INTERRUPTED,
        "partial answer still streaming",
    )
    assert "1 answer(s) were being written" in third.notices[0]
    third.close()


def test_last_opened_conversation_is_remembered_and_forgotten(data_dir: Path) -> None:
    with ConversationStore.open(data_dir) as store:
        assert store.last_opened_conversation() is None
        cid = store.create_conversation()
        store.set_last_opened_conversation(cid)
    with ConversationStore.open(data_dir) as store:
        assert store.last_opened_conversation() == cid
        store.move_to_trash(cid)
        assert store.last_opened_conversation() is None  # not reopened from the Trash
        store.restore(cid)
        assert store.last_opened_conversation() == cid
        store.set_last_opened_conversation(None)
        assert store.last_opened_conversation() is None


def test_bad_images_and_missing_conversations_get_sentences(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid = store.create_conversation()
    with pytest.raises(StorageError, match="not a readable image"):
        store.add_user_message(cid, "look", [images["text"]])
    with pytest.raises(StorageError, match="empty"):
        store.add_user_message(cid, "look", [images["truncated"].with_name("empty.png")])
    with pytest.raises(StorageError, match="Could not read .*gone.png"):
        store.add_user_message(cid, "look", [images["wide"].with_name("gone.png")])
    assert store.load_conversation(cid).messages == ()
    with pytest.raises(StorageError, match="There is no conversation 999"):
        store.load_conversation(999)
    with pytest.raises(StorageError, match="There is no conversation 999"):
        store.add_user_message(999, "hello")
    with pytest.raises(StorageError, match="settings"):
        store.update_settings(cid, {"bad": float("nan")})


def test_deleting_from_a_position_drops_later_messages_and_their_search_entries(
    store: ConversationStore,
) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "first question about zebras")
    answer = store.begin_assistant_message(cid)
    store.finish_assistant_message(answer, MessageStatus.COMPLETE, text="zebras have stripes")
    store.add_user_message(cid, "second question about okapis")
    store.begin_assistant_message(cid)

    assert store.delete_messages_from(cid, 1) == 3
    kept = store.load_conversation(cid).messages
    assert [m.text for m in kept] == ["first question about zebras"]
    assert [h.message_id for h in store.search("stripes")] == []
    assert store.search("okapis") == []
    again = store.begin_assistant_message(cid)
    assert store.load_conversation(cid).messages[-1].id == again
    assert store.load_conversation(cid).messages[-1].position == 1
    with pytest.raises(StorageError, match="no conversation"):
        store.delete_messages_from(cid + 100, 0)
