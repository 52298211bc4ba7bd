"""Exports of conversations with versions: JSON keeps the tree, Markdown and HTML the shown one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.storage import (
    ConversationStore,
    MessageStatus,
    export_html,
    export_json,
    export_markdown,
    import_json,
)


@pytest.fixture
def tree(store: ConversationStore, images: dict[str, Path]) -> int:
    """Three versions of an answer, an edited question with its own answer, choices below."""
    cid = store.create_conversation("Versions", settings={"temperature": 0.5})
    q1 = store.add_user_message(cid, "Describe the picture", [images["wide"]])
    a1 = store.begin_assistant_message(cid)
    store.finish_assistant_message(a1, MessageStatus.COMPLETE, text="A circle.", stats={"t": 1})
    for text in ("A yellow circle.", "A yellow circle on blue."):
        mid = store.add_answer_version(a1)
        store.finish_assistant_message(mid, MessageStatus.COMPLETE, text=text)
    store.show_version(a1)
    q2 = store.add_user_message(cid, "Bigger?")
    a2 = store.begin_assistant_message(cid)
    store.finish_assistant_message(a2, MessageStatus.STOPPED, text="It is 240 pix")
    a2b = store.add_answer_version(a2)
    store.finish_assistant_message(a2b, MessageStatus.COMPLETE, text="240 pixels wide.")
    store.show_version(a2)  # a hidden choice below q2, remembered while q2 is hidden
    edited = store.add_question_version(q2.id, "Smaller?", [images["tall"]])
    store.begin_assistant_message(cid)  # left streaming: exported as interrupted
    assert q1.position == 0 and edited.version == 2
    return cid


def test_json_keeps_the_whole_tree_and_round_trips_byte_identical(
    tree: int, store: ConversationStore, tmp_path: Path
) -> None:
    first = export_json(store, [tree], tmp_path / "first.json")
    document = json.loads(first.read_text("utf-8"))
    (conversation,) = document["conversations"]
    messages = conversation["messages"]
    assert len(messages) == 9 and conversation["shown_root"] == 0
    # By depth, then oldest first: q1 | a1 a1' a1'' | q2 q2-edited | a2 a2' answer-to-edit
    assert [m["parent"] for m in messages] == [None, 0, 0, 0, 1, 1, 4, 4, 5]
    assert [m["shown_child"] for m in messages] == [1, 5, None, None, 6, 8, None, None, None]
    assert messages[-1]["status"] == "interrupted"
    with ConversationStore.open(tmp_path / "elsewhere") as other:
        (new_id,) = import_json(other, first)
        assert other.check_tree(new_id) == []
        shown = [m.text for m in other.shown_path(new_id)]
        assert shown == ["Describe the picture", "A circle.", "Smaller?", ""]
        hidden_q2 = other.load_tree(new_id).messages[4]
        other.show_version(hidden_q2.id)
        assert other.shown_path(new_id)[-1].text == "It is 240 pix"  # the remembered choice
        other.show_version(other.load_tree(new_id).messages[5].id)
        second = export_json(other, [new_id], tmp_path / "second.json")
    assert first.read_bytes() == second.read_bytes()
    (again,) = import_json(store, second)
    assert export_json(store, [again], tmp_path / "third.json").read_bytes() == first.read_bytes()


def test_markdown_and_html_show_the_shown_version_and_count_the_others(
    tree: int, store: ConversationStore, tmp_path: Path
) -> None:
    line = (
        "This export shows the versions that were shown; 4 other versions (from Regenerate "
        "or Edit) are kept in Maverick Desk and in its JSON export."
    )
    markdown = export_markdown(store, tree, tmp_path / "md").read_text("utf-8")
    assert f"*{line}*" in markdown
    assert "A circle." in markdown and "Smaller?" in markdown
    assert "A yellow circle" not in markdown and "Bigger?" not in markdown
    assert "## Maverick · " in markdown and " · version 1 of 3\n" in markdown
    assert " · version 2 of 2\n" in markdown  # the edited question
    html = export_html(store, tree, tmp_path / "c.html").read_text("utf-8")
    assert f'<p class="meta">{line}</p>' in html
    assert "Bigger?" not in html and "version 1 of 3" in html
    store.show_version(store.siblings(store.shown_path(tree)[1].id).ids[2])
    assert "A yellow circle on blue." in export_markdown(store, tree, tmp_path / "md2").read_text(
        "utf-8"
    )


def test_a_conversation_without_versions_says_nothing_about_them(
    store: ConversationStore, tmp_path: Path
) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "hello")
    markdown = export_markdown(store, cid, tmp_path / "md").read_text("utf-8")
    html = export_html(store, cid, tmp_path / "c.html").read_text("utf-8")
    assert "other version" not in markdown and "other version" not in html
    assert "version 1 of" not in markdown
