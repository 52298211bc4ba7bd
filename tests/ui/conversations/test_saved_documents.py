"""A conversation's documents through the saver's book and the store (real SQLite, no Qt).

The window's saver hands the book the session's documents with each sync; reopening
loads them from the store into a session again.
"""

from __future__ import annotations

from pathlib import Path

from app.chat.session import ChatSession
from app.storage import ConversationStore
from app.ui.conversations.saved_book import SavedBook, Shot
from app.ui.conversations.stored_conversation import window_conversation
from tests.chat.test_session import FakeEngine, done
from tests.documents.long_pdf import write_pdf


def _sync(book: SavedBook, store: ConversationStore, session: ChatSession) -> int:
    conversation = session.conversation
    shots = [Shot.of(m) for m in conversation.messages]
    outcome = book.sync(store, conversation.id, shots, [], tuple(conversation.documents))
    assert not outcome.error, outcome.error
    assert outcome.store_id is not None
    return outcome.store_id


def test_documents_are_saved_with_the_conversation_and_come_back_with_it(
    data_dir: Path, tmp_path: Path
) -> None:
    session = ChatSession(FakeEngine())
    original = write_pdf(tmp_path / "ferry.pdf", [["The ferry leaves at nine."] * 6])
    session.documents.attach(original)
    session.send("When does the ferry leave?")
    session.handle(done(session.request_id or ""))
    book = SavedBook()
    with ConversationStore.open(data_dir) as store:
        cid = _sync(book, store, session)
        session.documents.remove(session.documents.documents[0].info.sha256)
        assert _sync(book, store, session) == cid and store.documents(cid) == []
        session.documents.attach(original)
        _sync(book, store, session)
        (kept,) = store.documents(cid)
        assert kept.name == "ferry.pdf" and kept.path.read_bytes() == original.read_bytes()
        original.unlink()  # the user's file goes; the conversation keeps its copy
        session.new_chat()
        assert session.documents.documents == []
        stored = store.load_conversation(cid)
        conversation, _ids = window_conversation(stored, store.documents(cid))
    reopened = ChatSession(FakeEngine())  # as after a restart
    reopened.open(conversation)
    (doc,) = reopened.documents.documents
    assert (doc.info.name, doc.source_path) == ("ferry.pdf", kept.path)
    reopened.send("And on Sundays?")
    assert "[p. 1]\nThe ferry leaves at nine." in reopened.documents.last.text  # type: ignore[union-attr]
