from __future__ import annotations

from app.storage import HIT_END, HIT_START, ConversationStore, MessageStatus, hit_segments


def _conversation(store: ConversationStore, question: str, answer: str) -> tuple[int, int]:
    cid = store.create_conversation()
    store.add_user_message(cid, question)
    mid = store.begin_assistant_message(cid)
    store.finish_assistant_message(mid, MessageStatus.COMPLETE, text=answer)
    return cid, mid


def test_search_finds_words_highlights_them_and_ranks_the_best_first(
    store: ConversationStore,
) -> None:
    horses, horse_answer = _conversation(
        store,
        "Tell me about wild horses",
        "Mustangs are free-roaming horses; a maverick horse is an unbranded horse.",
    )
    _conversation(store, "What is a tensor?", "A multi-dimensional array of numbers.")
    _, once = _conversation(store, "Draw a horse", "Here is a sketch.")
    hits = store.search("horse")
    assert {h.message_id for h in hits} >= {horse_answer}
    assert all(h.conversation_id != 2 for h in hits)
    best = hits[0]
    assert (best.conversation_id, best.message_id) == (horses, horse_answer)  # bm25: most hits
    assert f"{HIT_START}horse{HIT_END}" in best.snippet
    assert ("horse", True) in hit_segments(best.snippet)
    assert "".join(text for text, _ in hit_segments(best.snippet)) == (
        "Mustangs are free-roaming horses; a maverick horse is an unbranded horse."
    )


def test_search_is_literal_prefix_aware_and_accent_insensitive(store: ConversationStore) -> None:
    cid, mid = _conversation(store, "Café au lait?", 'He said "NEAR" AND (OR) * -x')
    assert [h.message_id for h in store.search("cafe")] == [mid - 1]
    assert [h.message_id for h in store.search("caf")] == [mid - 1]  # typing: prefix
    assert [h.message_id for h in store.search('"NEAR" AND (OR')] == [mid]  # no syntax errors
    assert store.search("   ") == []
    assert store.search("*") == []


def test_long_messages_give_a_cut_snippet_around_the_hit(store: ConversationStore) -> None:
    long_text = " ".join(["filler"] * 300) + " needle " + " ".join(["padding"] * 300)
    _conversation(store, "question", long_text)
    hit = store.search("needle")[0]
    assert f"{HIT_START}needle{HIT_END}" in hit.snippet
    assert len(hit.snippet) < 300
    assert "…" in hit.snippet


def test_streaming_text_is_searchable_and_trashed_conversations_are_hidden(
    store: ConversationStore,
) -> None:
    cid = store.create_conversation()
    mid = store.begin_assistant_message(cid)
    store.append_streaming_text(mid, "zebras ")
    store.append_streaming_text(mid, "giraffes")
    assert [h.message_id for h in store.search("giraffes")] == [mid]
    store.save_streaming_text(mid, "only okapis now")
    assert store.search("zebras") == []
    store.move_to_trash(cid)
    assert store.search("okapis") == []
    assert [h.message_id for h in store.search("okapis", include_trash=True)] == [mid]
