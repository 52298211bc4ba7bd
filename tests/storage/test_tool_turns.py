"""An answer's tool calls, approvals and results: saved, searched, exported, imported."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from app.storage import ConversationStore, MessageStatus, StorageError, export_json, import_json
from app.storage.html_export import html_text
from app.storage.markdown_export import markdown_text
from app.storage.schema import SCHEMA_VERSION, V1_SCHEMA, V2_CHANGES, V3_CHANGES

NAN = float("nan")
WEATHER_ARGS = {"city": "Reykjavík", "days": 3}


def _turns(chart: Path) -> list[dict[str, object]]:
    return [
        {
            "role": "assistant",
            "text": "Let me look that up.",
            "tool_calls": [{"id": "call_1", "name": "weather", "arguments": WEATHER_ARGS}],
        },
        {
            "role": "tool",
            "text": "Sleet and northerly gales ```bad fence``` all week.",
            "tool_call_id": "call_1",
            "tool_name": "weather",
            "server": "forecasts",
            "images": [str(chart)],
            "decision": "run",
        },
        {
            "role": "assistant",
            "text": "",
            "tool_calls": [{"id": "call_2", "name": "delete_files", "arguments": {"path": "/"}}],
        },
        {
            "role": "tool",
            "text": "The user declined the call to 'delete_files'.",
            "tool_call_id": "call_2",
            "tool_name": "delete_files",
            "server": "files",
            "is_error": True,
            "decision": "deny",
            "reason": "never on my disk",
        },
    ]


def _answer_with_tools(store: ConversationStore, images: dict[str, Path]) -> tuple[int, int]:
    cid = store.create_conversation()
    store.add_user_message(cid, "Weather in Reykjavík?", [images["wide"]])
    answer = store.begin_assistant_message(cid)
    store.save_streaming_text(answer, "Pack a coat.")
    store.finish_assistant_message(
        answer, MessageStatus.COMPLETE, stats={"tokens": 3}, tool_turns=_turns(images["tall"])
    )
    return cid, answer


def test_tool_turns_are_saved_in_order_with_their_images(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid, answer = _answer_with_tools(store, images)
    question, saved = store.load_conversation(cid).messages
    assert saved.text == "Pack a coat."
    assert saved.attachments == ()  # the tool's image is not the user's attachment
    assert [a.name for a in question.attachments] == [images["wide"].name]
    roles = [(t.role, t.tool_name, t.decision) for t in saved.tool_turns]
    assert roles == [
        ("assistant", "", ""),
        ("tool", "weather", "run"),
        ("assistant", "", ""),
        ("tool", "delete_files", "deny"),
    ]
    asked, result, _, denied = saved.tool_turns
    assert asked.tool_calls == ({"id": "call_1", "name": "weather", "arguments": WEATHER_ARGS},)
    assert result.server == "forecasts" and not result.is_error
    (chart,) = result.images
    assert chart.path.read_bytes() == images["tall"].read_bytes()
    assert (chart.width, chart.height) > (0, 0)
    assert denied.is_error and denied.reason == "never on my disk"
    # The image store's clean-up keeps a tool's image: it is referenced.
    store.image_grace_s = 0  # no grace period: an unreferenced image would go now
    assert store.empty_trash() == 0 and chart.path.is_file()
    # A question's images sent again as context are the user's only.
    assert store.load_conversation(cid).image_paths() == [question.attachments[0].path]


def test_search_finds_words_only_in_a_tool_result_or_call(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid, answer = _answer_with_tools(store, images)
    (hit,) = store.search("sleet")
    assert hit.message_id == answer
    assert "\x02Sleet\x03" in hit.snippet  # the excerpt comes from the result, marked
    question = store.load_conversation(cid).messages[0].id
    assert {h.message_id for h in store.search("Reykjavík")} == {question, answer}
    assert [h.message_id for h in store.search("declined")] == [answer]
    assert store.search("gales northerly")[0].message_id == answer


def test_bad_tool_turns_are_refused_with_a_sentence_and_the_answer_kept(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid = store.create_conversation()
    store.add_user_message(cid, "Hi")
    answer = store.begin_assistant_message(cid)
    store.save_streaming_text(answer, "Partial")
    for turns, sentence in [
        ([{"role": "system", "text": "x"}], "turn 1 is not an assistant or tool turn"),
        ([{"role": "tool", "text": 5}], "turn 1 text is not text"),
        ([{"role": "tool", "text": "", "decision": "maybe"}], "unknown decision 'maybe'"),
        ([{"role": "assistant", "tool_calls": [{"id": "1"}]}], "malformed tool calls"),
        (
            [
                {
                    "role": "assistant",
                    "tool_calls": [{"name": "n", "arguments": {"x": float("nan")}}],
                }
            ],
            "arguments are not JSON",
        ),
    ]:
        with pytest.raises(StorageError, match=sentence):
            store.finish_assistant_message(answer, MessageStatus.COMPLETE, tool_turns=turns)
    missing = [{"role": "tool", "text": "", "images": [str(images["wide"].parent / "gone.png")]}]
    with pytest.raises(StorageError, match="gone.png"):
        store.finish_assistant_message(answer, MessageStatus.COMPLETE, tool_turns=missing)
    saved = store.load_conversation(cid).messages[-1]
    assert (saved.status, saved.text, saved.tool_turns) == (MessageStatus.STREAMING, "Partial", ())


def test_json_export_carries_tool_turns_and_imports_back_identically(
    store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid, _ = _answer_with_tools(store, images)
    first = export_json(store, [cid], tmp_path / "one.json")
    document = json.loads(first.read_text(encoding="utf-8"))
    (message_doc,) = [m for m in document["conversations"][0]["messages"] if m["tool_turns"]]
    (image_doc,) = message_doc["tool_turns"][1]["images"]
    assert image_doc["sha256"] in document["images"]
    assert len(document["images"]) == 2  # the question's picture and the tool's chart

    (imported,) = import_json(store, first)
    again = export_json(store, [imported], tmp_path / "two.json")
    assert again.read_bytes() == first.read_bytes()
    copy = store.load_conversation(imported).messages[-1]
    assert [t.tool_name for t in copy.tool_turns if t.role == "tool"] == ["weather", "delete_files"]
    assert len(store.search("sleet")) == 2  # the imported copy is searchable too


def test_a_tool_image_missing_from_the_file_refuses_the_import(
    store: ConversationStore, images: dict[str, Path], tmp_path: Path
) -> None:
    cid, _ = _answer_with_tools(store, images)
    path = export_json(store, [cid], tmp_path / "one.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    message_doc = document["conversations"][0]["messages"][-1]
    chart_hash = message_doc["tool_turns"][1]["images"][0]["sha256"]
    del document["images"][chart_hash]
    path.write_text(json.dumps(document), encoding="utf-8")
    before = store.list_conversations()
    with pytest.raises(StorageError, match=r"tool_turns\[1\]\.images\[0\]\.sha256"):
        import_json(store, path)
    assert store.list_conversations() == before


def test_markdown_and_html_exports_show_the_calls_approvals_and_results(
    store: ConversationStore, images: dict[str, Path]
) -> None:
    cid, _ = _answer_with_tools(store, images)
    text, files = markdown_text(store, cid)
    assert "**Tool calls**" in text
    assert 'weather({"city": "Reykjavík", "days": 3})' in text
    assert "**Result of forecasts · weather (run once, approved)**" in text
    assert "**Result of files · delete_files (error; denied: never on my disk)**" in text
    assert "````\nSleet and northerly gales ```bad fence``` all week.\n````" in text
    assert text.index("Tool calls") < text.index("Pack a coat.")
    assert len(files) == 2  # the chart goes into images/ beside the question's picture

    html = html_text(store, cid)
    assert '<details class="tool"><summary>Tool calls</summary>' in html
    assert '<details class="tool error"><summary>Result of files · delete_files' in html
    assert "```bad fence```" in html and "<script" not in html
    assert html.count("data:image/png;base64,") == 1  # the question's picture
    assert html.count("data:image/jpeg;base64,") == 1  # the tool's chart, inside its result


def test_a_branch_keeps_the_tool_turns(store: ConversationStore, images: dict[str, Path]) -> None:
    cid, answer = _answer_with_tools(store, images)
    copy = store.branch_conversation(answer)
    branched = store.load_conversation(copy).messages[-1]
    assert [t.tool_name for t in branched.tool_turns] == ["", "weather", "", "delete_files"]
    assert branched.tool_turns[1].images[0].path.is_file()
    assert branched.attachments == ()


def test_a_version_3_database_is_upgraded_and_its_messages_stay_searchable(
    data_dir: Path,
) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(data_dir / "conversations.sqlite3")
    for script in (V1_SCHEMA, V2_CHANGES, V3_CHANGES):
        db.executescript(script)
    db.execute("PRAGMA user_version = 3")
    db.execute(
        "INSERT INTO conversations (id, title, created, updated, shown_root) "
        "VALUES (1, 'Old', 'x', 'x', 1)"
    )
    db.execute(
        "INSERT INTO messages (id, conversation, parent, position, role, text, status, created) "
        "VALUES (1, 1, NULL, 0, 'user', 'an ancient zeppelin question', 'complete', 'x')"
    )
    db.commit()
    db.close()
    with ConversationStore.open(data_dir) as store:
        assert any(f"to {SCHEMA_VERSION}" in n for n in store.notices)
        assert [h.message_id for h in store.search("zeppelin")] == [1]
        (message,) = store.load_conversation(1).messages
        assert message.tool_turns == ()
