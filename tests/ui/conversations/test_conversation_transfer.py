"""Export file names suggested from a conversation's title."""

from __future__ import annotations

from app.ui.conversations.conversation_transfer import suggested_name


def test_suggested_names_keep_words_and_drop_path_characters() -> None:
    assert suggested_name("What is in ../../etc/passwd?") == "What is in etc passwd"
    assert suggested_name("Café — “quotes”: ok") == "Café quotes ok"
    assert suggested_name("") == "conversation"
    assert suggested_name("///") == "conversation"
    assert len(suggested_name("word " * 40)) <= 60
