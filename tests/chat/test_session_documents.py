"""Documents in a chat session: whole in the system turn when they fit, else the best pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.chat.session import ChatSession, SessionObserver
from app.documents.doc_plan import DocumentContext
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
