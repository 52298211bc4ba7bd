"""Citation links and what each answer was sent: the Qt-free part of cited pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.documents.citations import AnswerSources, cite_url, parse_cite_url
from app.documents.doc_index import THIN_PAGE_CHARS, open_document
from app.documents.doc_plan import plan_documents
from app.documents.scan_reader import ScanRun, pages_to_read
from tests.documents.long_pdf import scanned_page, write_pdf


def test_a_citation_link_names_its_document_and_page_and_nothing_else_parses() -> None:
    url = cite_url("Q3 report & notes.pdf", 12)
    assert url.startswith("cite:12?doc=") and " " not in url
    assert parse_cite_url(url) == ("Q3 report & notes.pdf", 12)
    for other in ("https://example.org/12", "cite:x?doc=a.pdf", "cite:3", "cite:3?doc="):
        assert parse_cite_url(other) is None


def test_an_answer_knows_the_pages_its_request_carried(tmp_path: Path) -> None:
    filler = ["The archive keeps ledgers, maps and letters from the old harbour."] * 8
    pages: list = [[f"Page {n}: {'lighthouse' if n == 7 else 'warehouse'} records.", *filler]
                   for n in range(1, 13)]  # fmt: skip
    doc = open_document(write_pdf(tmp_path / "harbour.pdf", pages))
    plan = plan_documents([doc], "Who kept the lighthouse?", budget_tokens=400, image_limit=0)
    sources = AnswerSources.from_context(plan)
    sent = plan.sources[0].text_pages
    assert 7 in sent and len(sent) < 12  # retrieval: the best page and its neighbours
    unsent = next(n for n in range(1, 13) if n not in sent)
    cites = sources.find(f"Kept by Ada [p. 7], not by Bo [harbour p. {unsent}] [other p. 2].")
    assert [(c.document, c.page, c.sent) for c in cites] == [
        ("harbour.pdf", 7, True),
        ("harbour.pdf", unsent, False),
    ]  # [other p. 2] names no attached document: not a citation
    unknown = AnswerSources(("harbour.pdf",))  # an answer reopened: pages not known
    assert [c.sent for c in unknown.find(f"[p. {unsent}]")] == [True]
    assert AnswerSources(()).find("[p. 1]") == []
    doc.close()


def test_a_scan_run_reads_a_page_at_a_time_with_an_estimate_and_resumes(tmp_path: Path) -> None:
    text = ["Text page one with enough words to stand for itself."] * 6
    pages: list = [text, scanned_page("A"), scanned_page("B"), scanned_page("C")]
    doc = open_document(write_pdf(tmp_path / "scans.pdf", pages))
    assert doc.info.text_pages == 1
    now = [100.0]
    run = ScanRun(doc, clock=lambda: now[0])
    assert run.next_page == 2
    with pytest.raises(ValueError, match="not the page being read"):
        run.page_read(3, "out of turn")
    now[0] += 20.0
    step = run.page_read(2, "  Invoice " + "walrus " * THIN_PAGE_CHARS)
    assert (step.done, step.total, step.seconds_left) == (1, 3, 40.0)
    assert "about 40 s left" in step.line()
    assert doc.search("walrus")[0].number == 2
    assert doc.info.text_pages == 2  # the strip's count follows
    # Stopped here (the window simply asks no more); a new run starts at page 3.
    again = ScanRun(doc)
    assert again.todo == [3, 4] == pages_to_read(doc)
    doc.close()
