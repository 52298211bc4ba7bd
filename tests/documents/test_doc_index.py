"""Whole documents: the page index, what a question sends, and page citations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.documents.citations import find_citations
from app.documents.doc_index import (
    DocumentError,
    IndexCancelled,
    index_folder,
    open_document,
    split_text_pages,
)
from app.documents.doc_plan import plan_documents
from tests.documents.long_pdf import write_locked_pdf, write_pdf, write_report

SCANNED = (40, 41, 200)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("MAVERICK_DESK_DATA_DIR", str(folder))
    return folder


@pytest.fixture(scope="module")
def report(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, list[tuple[int, str, str, str]]]:
    folder = tmp_path_factory.mktemp("report")
    return write_report(folder / "report.pdf", pages=300, facts=50, scanned=SCANNED)


def test_a_300_page_pdf_is_indexed_once_and_searched_by_page(report: tuple) -> None:
    path, facts = report
    seen: list[tuple[int, int]] = []
    doc = open_document(path, progress=lambda done, total: seen.append((done, total)))
    assert doc.info.page_count == 300
    assert doc.info.text_pages == 300 - len(SCANNED)
    assert set(SCANNED) <= set(doc.thin_pages())
    assert seen[-1] == (300, 300)
    page, sentence, question, _answer = facts[0]
    assert sentence in doc.page_text(page)
    assert doc.search(question)[0].number == page
    built = doc.path.stat().st_mtime_ns
    doc.close()
    # A second open, even through another path to the same bytes, reads the same index.
    copy = path.parent / "copy of report.pdf"
    copy.write_bytes(path.read_bytes())
    again = open_document(copy, progress=lambda *_: pytest.fail("indexed twice"))
    assert again.path.stat().st_mtime_ns == built
    assert not again.changed
    again.close()


def test_a_file_changed_on_disk_is_indexed_again_and_says_so(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "memo.pdf", [["The launch is on Monday."]])
    first = open_document(path)
    first.close()
    write_pdf(path, [["The launch moved to Friday."], ["Second page"]])
    second = open_document(path)
    assert second.changed
    assert second.info.page_count == 2
    assert second.search("launch")[0].number == 1
    assert "Friday" in second.page_text(1)
    second.close()


def test_cancelled_indexing_leaves_nothing_and_bad_files_get_sentences(
    tmp_path: Path, report: tuple
) -> None:
    path, _facts = report
    with pytest.raises(IndexCancelled, match="cancelled"):
        open_document(path, should_stop=lambda: True)
    assert not list(index_folder().glob("*.sqlite")) and not list(index_folder().glob("*.tmp"))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DocumentError, match="damaged"):
        open_document(broken)
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    with pytest.raises(DocumentError, match="empty"):
        open_document(empty)
    other = tmp_path / "data.bin"
    other.write_bytes(b"\x00\x01")
    with pytest.raises(DocumentError, match="neither a PDF nor a text"):
        open_document(other)


def test_an_encrypted_pdf_asks_for_its_password(tmp_path: Path) -> None:
    locked = write_locked_pdf(tmp_path / "locked.pdf", "Secret plans for the harbour.", "pw")
    with pytest.raises(DocumentError, match="password"):
        open_document(locked)
    doc = open_document(locked, password="pw")
    assert "harbour" in doc.page_text(1)
    doc.close()


def test_an_index_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    doc = open_document(write_pdf(tmp_path / "a.pdf", [["hello"]]))
    doc.close()
    with sqlite3.connect(doc.path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'format'")
    before = doc.path.read_bytes()
    with pytest.raises(DocumentError, match="newer version"):
        open_document(tmp_path / "a.pdf")
    assert doc.path.read_bytes() == before


def test_text_and_markdown_files_are_cut_into_pages(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 120 for i in range(40)]
    notes = tmp_path / "notes.md"
    notes.write_text("\n\n".join(paragraphs), encoding="utf-8")
    doc = open_document(notes)
    assert doc.info.kind == "text" and doc.info.page_count > 5
    assert doc.search("Paragraph 39")[0].number == doc.info.page_count
    doc.close()
    assert all(len(page) <= 3_000 for page in split_text_pages("x\n" * 5_000))


def test_a_document_that_fits_goes_whole_with_page_markers(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "short.pdf", [["Alpha page"], ["Beta page"], ["Gamma page"]])
    doc = open_document(path)
    plan = plan_documents([doc], "What is on the beta page?", budget_tokens=10_000)
    assert plan.whole
    assert plan.sources[0].text_pages == (1, 2, 3)
    assert plan.text.index("[p. 1]\nAlpha") < plan.text.index("[p. 2]\nBeta")
    assert "[p. N]" in plan.text  # the instruction to cite
    # The block does not depend on the question, so a follow-up reuses the prompt cache.
    assert plan_documents([doc], "Gamma?", budget_tokens=10_000).text == plan.text
    assert "pages 1-3 of 3 as text" in plan.summary()
    doc.close()


def test_retrieval_sends_the_answers_page_for_at_least_90_percent_of_50_questions(
    report: tuple,
) -> None:
    path, facts = report
    doc = open_document(path)
    hits = 0
    for page, _sentence, question, _answer in facts:
        plan = plan_documents([doc], question, budget_tokens=8_000)
        assert not plan.whole
        assert plan.tokens <= 8_000
        hits += page in plan.sources[0].text_pages
    assert hits / len(facts) >= 0.9, f"recall@sent {hits}/{len(facts)}"
    plan = plan_documents([doc], facts[0][2], budget_tokens=8_000)
    pages = plan.sources[0].text_pages
    assert list(pages) == sorted(pages)
    assert facts[0][0] - 1 in pages or facts[0][0] + 1 in pages  # a neighbour came along
    assert len(plan.sources[0].image_pages) <= 5
    assert set(plan.sources[0].image_pages) <= set(doc.thin_pages())
    assert "best-ranked pages" in plan.summary()
    doc.close()


def test_several_documents_are_named_in_markers_and_citations(tmp_path: Path) -> None:
    a = open_document(write_pdf(tmp_path / "alpha.pdf", [["Oslo harbour opens at six."]]))
    b = open_document(write_pdf(tmp_path / "beta.pdf", [["Riga market"], ["Riga closes at nine."]]))
    plan = plan_documents([a, b], "When does Riga close?", budget_tokens=10_000)
    assert "[beta.pdf p. 2]\nRiga closes" in plan.text
    answer = "It closes at nine [beta p. 2], the harbour at six [alpha.pdf p. 1] [beta p. 9]."
    cites = find_citations(answer, ["alpha.pdf", "beta.pdf"], plan.sent)
    assert [(c.document, c.page, c.sent) for c in cites] == [
        ("beta.pdf", 2, True),
        ("alpha.pdf", 1, True),
        ("beta.pdf", 9, False),
    ]
    assert answer[cites[0].start : cites[0].end] == "[beta p. 2]"
    a.close()
    b.close()


def test_single_document_citations_and_ranges() -> None:
    cites = find_citations("See [p. 3] and [pp. 7-9], not [x] or [page 4].", ["r.pdf"])
    assert [c.page for c in cites] == [3, 7, 8, 9]
    assert find_citations("[p. 2]", ["a.pdf", "b.pdf"]) == []  # which one? not a link


def test_scanned_pages_are_read_once_and_a_stopped_run_resumes(tmp_path: Path) -> None:
    from app.documents.scan_reader import pages_to_read, read_scanned_pages
    from tests.documents.long_pdf import scanned_page

    text = ["Text page one with enough words to stand for itself."] * 6
    pages: list = [text, scanned_page("A"), scanned_page("B"), ["Figure 3: caption only"]]
    doc = open_document(write_pdf(tmp_path / "scans.pdf", pages))
    assert pages_to_read(doc) == [2, 3, 4]  # a figure with a caption is worth reading too
    asked: list[int] = []

    def ask(number: int) -> str:
        asked.append(number)
        return f"Transcribed zeppelin hangar of page {number}"

    assert read_scanned_pages(doc, ask, should_stop=lambda: len(asked) == 1) == 1
    assert doc.search("zeppelin")[0].number == 2
    assert pages_to_read(doc) == [3, 4]
    steps: list = []
    assert read_scanned_pages(doc, ask, progress=steps.append) == 2
    assert asked == [2, 3, 4]  # page 2 was not read again
    assert steps[-1].done == 2 and steps[-1].total == 2 and "read page 4" in steps[-1].line()
    assert doc.page_sources()[3] == "model"
    assert pages_to_read(doc) == []
    doc.close()
