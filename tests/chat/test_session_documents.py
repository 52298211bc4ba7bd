"""Documents in a chat session: whole in the system turn when they fit, else the best pages."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from app.chat.session import ChatSession, SessionObserver
from app.chat.vocabulary import DocumentRef
from app.documents.doc_index import index_folder
from app.documents.doc_plan import IMAGE_TOKENS, MARGIN_TOKENS, DocumentContext, approximate_tokens
from app.workers import protocol as p
from tests.chat.test_session import FakeEngine, done
from tests.documents.long_pdf import scanned_page, write_pdf, write_report


class Sent(SessionObserver):
    def __init__(self) -> None:
        self.contexts: list[DocumentContext] = []

    def documents_sent(self, context: DocumentContext) -> None:
        self.contexts.append(context)


def _messages(engine: FakeEngine, n: int = -1) -> list[Any]:
    return engine.asked[n]["messages"]


def test_a_document_that_fits_sits_in_the_system_turn_the_same_for_each_question(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    session = ChatSession(engine, system_prompt=lambda: "Be brief.")
    sent = Sent()
    session.observers.append(sent)
    more = ["The harbour office answers questions about timetables and tickets."] * 4
    pages: list = [["The ferry leaves at nine.", *more], scanned_page("chart"), ["Tickets.", *more]]
    doc = session.documents.attach(write_pdf(tmp_path / "ferry.pdf", pages))
    assert session.documents.attach(tmp_path / "ferry.pdf") is doc  # the same bytes: once
    session.send("When does the ferry leave?")
    first = _messages(engine)
    assert first[0].role == "system" and first[0].text.startswith("Be brief.\n\n")
    assert "[p. 1]\nThe ferry leaves at nine." in first[0].text
    assert first[-1].text == "When does the ferry leave?"
    assert len(first[-1].images) == 1  # the thin page 2, drawn for the tiles
    assert Path(first[-1].images[0]).is_file()
    assert sent.contexts[-1].whole and sent.contexts[-1].sources[0].image_pages == (2,)
    session.handle(p.Token(session.request_id or "", "At nine [p. 1].", []))
    session.handle(done(session.request_id or ""))
    session.send("And the price?")
    second = _messages(engine)
    assert second[0] == first[0]  # unchanged: a follow-up reuses the prompt cache
    assert [t.role for t in second[1:]] == ["user", "assistant", "user"]
    session.documents.remove(doc.info.sha256)
    session.handle(done(session.request_id or ""))
    session.send("Anything else?")
    assert "[p. 1]" not in _messages(engine)[0].text


def test_a_long_document_sends_the_pages_that_rank_best_for_the_question(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    session = ChatSession(engine)
    path, facts = write_report(tmp_path / "report.pdf", pages=120, facts=3)
    session.documents.attach(path)
    session.documents.budget = lambda: 3_000
    page, _sentence, question, _answer = facts[0]
    session.send(question)
    system = _messages(engine)[0]
    assert system.role == "system" and f"[p. {page}]" in system.text
    assert not session.documents.last.whole  # type: ignore[union-attr]
    assert page in session.documents.last.sources[0].text_pages  # type: ignore[union-attr]


def test_the_budget_is_the_engines_context_less_the_conversation_and_the_answer(
    tmp_path: Path,
) -> None:
    engine = FakeEngine()
    session = ChatSession(engine)
    path, facts = write_report(tmp_path / "report.pdf", pages=120, facts=3, scanned=(7,))
    session.documents.attach(path)
    session.documents.answer_tokens = lambda: 1_000
    session.documents.context_length = 8_192  # a small model: the report does not fit
    page, _sentence, question, _answer = facts[0]
    session.send(question)
    plan = session.documents.last
    assert plan is not None and not plan.whole
    asked = session.conversation.turns()
    used = sum(approximate_tokens(t.text) for t in asked) + 1_000 + MARGIN_TOKENS
    assert plan.budget == 8_192 - used - IMAGE_TOKENS  # and room for its one scanned page
    assert plan.tokens <= plan.budget and page in plan.sources[0].text_pages
    session.handle(done(session.request_id or ""))
    session.documents.context_length = 1_048_576  # Maverick's own context: all of it fits
    session.send("And the rest?")
    assert session.documents.last is not None and session.documents.last.whole
    tokens, note = session.documents.meter_share(session.conversation.turns())
    assert tokens > 20_000 and note.startswith("Documents (whole) — report.pdf: pages 1-120")


def test_a_conversations_documents_come_back_with_it_and_a_new_one_has_none(
    tmp_path: Path,
) -> None:
    session = ChatSession(FakeEngine())
    changes: list[list[str]] = []

    class Changes(SessionObserver):
        def documents_changed(self, problems: list[str]) -> None:
            changes.append(problems)

    session.observers.append(Changes())
    doc = session.documents.attach(write_pdf(tmp_path / "ferry.pdf", [["Ferries at nine."]]))
    kept_copy = session.documents.files.path_for(doc.info.sha256, "ferry.pdf")
    assert kept_copy.read_bytes() == (tmp_path / "ferry.pdf").read_bytes()  # copied in at once
    assert session.conversation.documents == [
        DocumentRef(doc.info.sha256, "ferry.pdf", str(kept_copy))
    ]
    kept = session.conversation
    session.new_chat()
    assert session.documents.documents == [] and session.conversation.documents == []
    copy = tmp_path / "kept.pdf"  # as the store keeps it: named by hash, elsewhere
    copy.write_bytes((tmp_path / "ferry.pdf").read_bytes())
    gone = DocumentRef("0" * 64, "gone.pdf", str(tmp_path / "gone.pdf"))
    damaged = tmp_path / "tides.md"  # its page index was damaged since
    damaged.write_text("Tides come from the moon.", encoding="utf-8")
    sha = hashlib.sha256(damaged.read_bytes()).hexdigest()
    (index_folder() / f"{sha}.sqlite").write_bytes(b"not a database " * 100)
    broken = DocumentRef(sha, "tides.md", str(damaged))
    kept.documents = [DocumentRef(doc.info.sha256, "ferry.pdf", str(copy)), gone, broken]
    session.open(kept)
    (reopened,) = session.documents.documents
    assert reopened.info.name == "ferry.pdf" and reopened.source_path == copy
    assert changes[-1][0] == (
        f"gone.pdf is missing from the data folder ({gone.path}); attach it again."
    )
    assert changes[-1][1].startswith("The page index of tides.md cannot be read")
    refs = [r.name for r in session.documents.refs()]
    assert refs == ["ferry.pdf", "gone.pdf", "tides.md"]  # still kept with the conversation


def test_a_file_changed_on_disk_is_indexed_again_and_replaces_the_old_one(
    tmp_path: Path,
) -> None:
    session = ChatSession(FakeEngine())
    notes = tmp_path / "notes.md"
    notes.write_text("The ferry leaves at nine.", encoding="utf-8")
    first = session.documents.attach(notes)
    kept = Path(session.conversation.documents[0].path)
    notes.write_text("The ferry leaves at ten.", encoding="utf-8")
    second = session.documents.attach(notes)
    assert second.changed and second.info.sha256 != first.info.sha256
    assert session.documents.documents == [second]
    assert [r.sha256 for r in session.conversation.documents] == [second.info.sha256]
    assert kept.read_text(encoding="utf-8") == "The ferry leaves at nine."  # the old copy stays
    session.send("When does the ferry leave?")
    assert "at ten" in session.documents.last.text  # type: ignore[union-attr]
    assert "at nine" not in session.documents.last.text  # type: ignore[union-attr]
