"""Conversations as trees: Regenerate and Edit add versions, nothing is thrown away."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.storage import ConversationStore, MessageStatus, StorageError


def _answer(store: ConversationStore, cid: int, text: str, after: int | None = None) -> int:
    mid = store.begin_assistant_message(cid, after=after)
    store.append_streaming_text(mid, text)
    store.finish_assistant_message(mid, MessageStatus.COMPLETE, stats={"tokens": len(text)})
    return mid


def _regenerate(store: ConversationStore, answer: int, text: str) -> int:
    mid = store.add_answer_version(answer)
    store.append_streaming_text(mid, text)
    store.finish_assistant_message(mid, MessageStatus.COMPLETE)
    return mid


def _texts(store: ConversationStore, cid: int) -> list[str]:
    return [m.text for m in store.shown_path(cid)]


def _sound(store: ConversationStore, cid: int) -> None:
    assert store.check_tree(cid) == []
    with store.reading("check") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.fixture
def chat(store: ConversationStore) -> tuple[int, list[int]]:
    """q1 a1 q2 a2 q3 a3, one path."""
    cid = store.create_conversation()
    ids = []
    for n in (1, 2, 3):
        ids.append(store.add_user_message(cid, f"q{n}").id)
        ids.append(_answer(store, cid, f"a{n}"))
    return cid, ids


def test_regenerate_three_times_keeps_every_answer_and_shows_the_newest(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, ids = chat
    a3 = ids[-1]
    versions = [a3] + [_regenerate(store, a3, f"a3 take {n}") for n in (2, 3, 4)]
    assert _texts(store, cid)[-1] == "a3 take 4"
    siblings = store.siblings(a3)
    assert siblings.ids == tuple(versions)
    assert (siblings.index, siblings.count, siblings.label) == (0, 4, "1 / 4")
    assert store.siblings(versions[2]).label == "3 / 4"
    shown = store.shown_path(cid)[-1]
    assert (shown.version, shown.version_count, shown.parent_id) == (4, 4, ids[-2])
    store.show_version(versions[1])
    assert _texts(store, cid) == ["q1", "a1", "q2", "a2", "q3", "a3 take 2"]
    store.show_version(a3)
    assert _texts(store, cid)[-1] == "a3"
    assert store.get_message(a3).stats == {"tokens": 2}
    assert store.load_conversation(cid).other_versions == 3
    _sound(store, cid)


def test_editing_a_middle_question_keeps_the_old_tail_and_remembers_choices_below(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, (q1, a1, q2, a2, q3, a3) = chat
    a3b = _regenerate(store, a3, "a3 second")
    store.show_version(a3)  # the user went back to the first a3 before editing q2
    edited = store.add_question_version(q2, "q2 edited")
    assert (edited.parent_id, edited.position, edited.version, edited.version_count) == (
        a1,
        2,
        2,
        2,
    )
    answer = _answer(store, cid, "a2 for the edit")  # answers the edited question
    assert store.get_message(answer).parent_id == edited.id
    assert _texts(store, cid) == ["q1", "a1", "q2 edited", "a2 for the edit"]
    store.show_version(q2)  # back to the old question: its whole old tail, as it was left
    assert _texts(store, cid) == ["q1", "a1", "q2", "a2", "q3", "a3"]
    store.show_version(a3b)
    store.show_version(edited.id)
    store.show_version(q2)
    assert _texts(store, cid)[-1] == "a3 second"
    positions = [m.position for m in store.shown_path(cid)]
    assert positions == list(range(6))
    _sound(store, cid)


def test_the_shown_versions_survive_reopening(
    data_dir: Path, store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, ids = chat
    second = _regenerate(store, ids[1], "a1 again")  # a new a1 with nothing under it yet
    store.add_user_message(cid, "q2 on the new branch")
    store.show_version(ids[1])
    before = _texts(store, cid)
    store.close()
    with ConversationStore.open(data_dir) as reopened:
        assert _texts(reopened, cid) == before == ["q1", "a1", "q2", "a2", "q3", "a3"]
        reopened.show_version(second)
        assert _texts(reopened, cid) == ["q1", "a1 again", "q2 on the new branch"]
        _sound(reopened, cid)


def test_the_whole_tree_lists_every_version_by_depth_then_oldest_first(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, (q1, a1, q2, a2, q3, a3) = chat
    b = _regenerate(store, a1, "a1 b")
    tree = store.load_tree(cid)
    assert [m.id for m in tree.messages] == [q1, a1, b, q2, a2, q3, a3]
    assert [m.id for m in tree.children(None)] == [q1]
    assert [m.id for m in tree.children(q1)] == [a1, b]
    assert tree.shown_ids == {q1, b}
    assert tree.shown_child == {q1: b, a1: q2, q2: a2, a2: q3, q3: a3}


def test_showing_a_message_sets_every_fork_on_its_way(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, (q1, a1, q2, a2, q3, a3) = chat
    store.add_question_version(q1, "q1 other")
    _answer(store, cid, "a1 other")
    assert _texts(store, cid) == ["q1 other", "a1 other"]
    hit = next(h for h in store.search("a2") if h.message_id == a2)
    assert hit.shown is False
    assert store.show_message(a2) == cid
    assert _texts(store, cid) == ["q1", "a1", "q2", "a2", "q3", "a3"]
    assert next(h for h in store.search("a2") if h.message_id == a2).shown is True


def test_search_finds_text_in_a_hidden_version(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, ids = chat
    store.add_user_message(cid, "ask about zeppelins")
    first = _answer(store, cid, "Zeppelins are rigid airships.")
    _regenerate(store, first, "Blimps have no frame.")
    hits = store.search("rigid")
    assert [(h.message_id, h.shown) for h in hits] == [(first, False)]
    store.show_message(hits[0].message_id)
    assert _texts(store, cid)[-1] == "Zeppelins are rigid airships."


def test_branch_into_a_new_conversation_copies_the_path_up_to_a_message(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid = store.create_conversation("Pictures", settings={"temperature": 0.2})
    q1 = store.add_user_message(cid, "what is this?", [images["wide"]])
    a1 = _answer(store, cid, "a circle")
    _regenerate(store, a1, "a yellow circle")
    store.show_version(a1)
    store.add_user_message(cid, "and now?")
    streaming = store.begin_assistant_message(cid)
    store.append_streaming_text(streaming, "half an ans")
    new = store.branch_conversation(streaming)
    copied = store.load_conversation(new)
    assert copied.title == "Pictures (branch)" and copied.settings == {"temperature": 0.2}
    assert [m.text for m in copied.messages] == [
        "what is this?",
        "a circle",
        "and now?",
        "half an ans",
    ]
    assert copied.messages[1].stats == {"tokens": 8}
    assert copied.messages[1].created == store.get_message(a1).created
    assert copied.messages[-1].status is MessageStatus.INTERRUPTED
    assert copied.messages[0].attachments[0].sha256 == q1.attachments[0].sha256
    assert copied.other_versions == 0
    short = store.branch_conversation(a1, title="Just the start")
    assert _texts(store, short) == ["what is this?", "a circle"]
    assert store.load_conversation(short).title == "Just the start"
    assert store.get_message(streaming).status is MessageStatus.STREAMING  # original untouched
    assert store.load_tree(cid).messages[2].text == "a yellow circle"
    for c in (cid, new, short):
        _sound(store, c)


def test_delete_messages_from_cuts_the_shown_path_and_keeps_other_versions(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    """What Regenerate and Edit did before versions, and the window still calls."""
    cid, (q1, a1, q2, a2, q3, a3) = chat
    other = _regenerate(store, a1, "a1 other")  # a hidden sibling must survive the cut
    store.show_version(a1)
    assert store.delete_messages_from(cid, 1) == 5  # a1 and everything under it
    assert _texts(store, cid) == ["q1"]
    assert [m.id for m in store.load_tree(cid).messages] == [q1, other]
    _sound(store, cid)
    # The window then saves its new answer at the end of the shown path, under q1.
    new = store.begin_assistant_message(cid)
    assert store.get_message(new).parent_id == q1
    assert store.get_message(new).position == 1
    assert store.siblings(new).ids == (other, new)
    assert store.delete_messages_from(cid, 5) == 0
    assert store.delete_messages_from(cid, 0) == 3
    assert _texts(store, cid) == [] and store.load_tree(cid).messages == ()
    assert store.add_user_message(cid, "fresh start").position == 0
    _sound(store, cid)


def test_the_trash_empties_a_tree_completely(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, ids = chat
    _regenerate(store, ids[1], "x")
    store.add_question_version(ids[0], "y")
    store.move_to_trash(cid)
    assert store.empty_trash() == 1
    with store.reading("count") as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_wrong_requests_get_a_sentence(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, (q1, a1, *_) = chat
    other = store.create_conversation()
    cases = [
        (lambda: store.add_answer_version(q1), f"Message {q1} is a question, not an answer."),
        (
            lambda: store.add_question_version(a1, "x"),
            f"Message {a1} is an answer, not a question.",
        ),
        (lambda: store.add_answer_version(999), "There is no message 999."),
        (lambda: store.siblings(999), "There is no message 999."),
        (lambda: store.show_version(999), "There is no message 999."),
        (lambda: store.show_message(999), "There is no message 999."),
        (lambda: store.branch_conversation(999), "There is no message 999."),
        (
            lambda: store.begin_assistant_message(other, after=q1),
            f"Message {q1} belongs to another conversation than {other}.",
        ),
    ]
    for call, sentence in cases:
        with pytest.raises(StorageError) as caught:
            call()
        assert str(caught.value) == sentence
    assert _texts(store, other) == []
    assert store.check_tree(cid) == []


def test_a_broken_shown_choice_is_reported_and_the_path_stops_before_it(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    cid, (q1, a1, q2, *_) = chat
    with store.writing("break it") as conn:
        conn.execute("UPDATE messages SET shown_child = ? WHERE id = ?", (q2, q1))
    assert store.check_tree(cid) == [f"message {q1} shows message {q2}, which does not follow it"]
    assert _texts(store, cid) == ["q1"]


def test_an_answer_streams_on_a_branch_that_is_no_longer_shown(
    store: ConversationStore, chat: tuple[int, list[int]]
) -> None:
    """The user switches versions while an answer is still being written."""
    cid, (q1, a1, q2, a2, q3, a3) = chat
    edited = store.add_question_version(q3, "q3 edited")
    streaming = store.begin_assistant_message(cid)
    store.append_streaming_text(streaming, "half")
    store.show_version(q3)  # the user looks at the old question meanwhile
    store.append_streaming_text(streaming, " and the rest")
    store.finish_assistant_message(streaming, MessageStatus.COMPLETE)
    assert _texts(store, cid)[-1] == "a3"
    follow_up = store.add_user_message(cid, "a follow-up to the hidden answer", after=streaming)
    assert (follow_up.parent_id, follow_up.position) == (streaming, 6)
    assert _texts(store, cid)[-1] == "a3"  # adding below a hidden message shows nothing new
    store.show_version(edited.id)
    assert _texts(store, cid)[-3:] == [
        "q3 edited",
        "half and the rest",
        "a follow-up to the hidden answer",
    ]
    _sound(store, cid)
