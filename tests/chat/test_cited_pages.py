"""Per answer, the pages its request carried: kept by a session observer, no Qt."""

from __future__ import annotations

from pathlib import Path

from app.chat.cited_pages import CitedPages
from app.chat.session import ChatSession
from tests.chat.test_session import FakeEngine, done
from tests.documents.long_pdf import write_pdf


def test_each_answer_keeps_the_pages_its_own_request_sent(tmp_path: Path) -> None:
    session = ChatSession(FakeEngine())
    cited = CitedPages(lambda: [d.info.name for d in session.documents.documents])
    session.observers.append(cited)
    filler = ["Rows of barrels, crates and nets fill the old customs shed."] * 8
    pages: list = [[f"Page {n}: {'walrus' if n == 9 else 'otter'} sighted.", *filler]
                   for n in range(1, 13)]  # fmt: skip
    session.documents.attach(write_pdf(tmp_path / "log.pdf", pages))
    session.documents.budget = lambda: 400  # too small for all: the best pages go
    session.send("Where was the walrus sighted?")
    first = session.answer
    assert first is not None
    session.handle(done(session.request_id or ""))
    session.documents.budget = lambda: 100_000  # now it fits whole
    session.send("Anything else?")
    second = session.answer
    assert second is not None
    assert cited.sources_of(first.id).was_sent("log.pdf", 9)
    assert not cited.sources_of(first.id).was_sent("log.pdf", 2)
    assert cited.sources_of(second.id).was_sent("log.pdf", 2)  # the whole document went
    question = session.conversation.messages[0]
    stored = cited.sources_of(question.id)  # not an answer this session asked
    assert stored.names == ("log.pdf",) and stored.sent is None
    session.documents.close()


def test_an_answer_reopened_with_its_documents_links_its_citations_unmarked(
    tmp_path: Path,
) -> None:
    session = ChatSession(FakeEngine())
    filler = ["The ferry timetable changes in spring and autumn each year."] * 8
    session.documents.attach(write_pdf(tmp_path / "ferry.pdf", [filler] * 12))
    session.documents.budget = lambda: 400
    session.send("When does the ferry leave?")
    session.handle(done(session.request_id or ""))
    reopened = ChatSession(FakeEngine())  # as after a restart: the conversation's documents
    cited = CitedPages(lambda: [d.info.name for d in reopened.documents.documents])
    reopened.observers.append(cited)
    reopened.open(session.conversation)
    answer = reopened.conversation.messages[-1]
    (citation,) = cited.sources_of(answer.id).find("It leaves at nine [p. 11].")
    assert (citation.document, citation.page, citation.sent) == ("ferry.pdf", 11, True)
    session.documents.close()
    reopened.documents.close()
