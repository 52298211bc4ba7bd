"""A whole-PDF batch item's request: its text whole or its best pages, thin pages as images."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.batch.documents import DocumentTurns
from app.batch.inputs import collect, locked_pdfs
from app.batch.jobs import Job, JobStore
from app.batch.runner import ItemFailed
from tests.documents.long_pdf import scanned_page, write_pdf

LONG = [f"Line {n}: the boiler in Oslo was checked and found in order." for n in range(6)]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAVERICK_DESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _job(settings: dict) -> Job:
    return Job(1, "docs", "q", None, {"engine": "server", **settings}, "open", 0.0)


def test_the_text_goes_whole_or_best_pages_and_thin_pages_as_images(tmp_path: Path) -> None:
    pdf = write_pdf(
        tmp_path / "report.pdf",
        [LONG, ["Cover note: the code is 4471.", *LONG], Image.new("RGB", (90, 120), "gray")],
    )
    [new] = collect([pdf], pdf_as="documents").items
    store = JobStore()
    [item] = store.items(store.create("d", "q", [new], schema=None, settings={}))
    pdf.unlink()  # the job reads its own copy
    turns = DocumentTurns()
    whole = turns.turn(_job({}), item, "What is the code?")
    assert "[p. 1]" in whole.text and "[p. 2]" in whole.text and "4471" in whole.text
    assert whole.text.endswith("What is the code?")
    assert len(whole.images) == 1 and Image.open(whole.images[0]).width > 0  # the scan page
    part = turns.turn(_job({"doc_budget": 160}), item, "What is the code?")
    assert "4471" in part.text and "[p. 1]" not in part.text  # the page that matches
    with pytest.raises(ItemFailed, match="missing"):
        Path(item.document or "").unlink()
        turns.turn(_job({}), item, "What is the code?")


def test_an_encrypted_pdf_opens_with_the_password_else_is_left_out_with_a_sentence(
    tmp_path: Path,
) -> None:
    import pypdf

    folder = tmp_path / "in"
    folder.mkdir()
    write_pdf(folder / "plain.pdf", [["Nothing locked here."]])
    scan = write_pdf(tmp_path / "scan.pdf", [["The code is 4471."], scanned_page("Scan")])
    writer = pypdf.PdfWriter(clone_from=scan)
    writer.encrypt("s3cret", algorithm="RC4-128")
    with open(folder / "locked.pdf", "wb") as out:
        writer.write(out)
    assert locked_pdfs([folder]) == [folder / "locked.pdf"]
    hint = "Give its password with --password."
    for pdf_as in ("pages", "documents"):
        found = collect([folder], pdf_as=pdf_as, password_hint=hint)
        assert found.left_out == [f"locked.pdf: locked.pdf is protected by a password. {hint}"]
        found = collect([folder], pdf_as=pdf_as, password="wrong")
        assert [i.source for i in found.items] == [str(folder / "plain.pdf")]  # others go on
        assert "The password for locked.pdf is wrong" in found.left_out[0]
    pages = collect([folder], password="s3cret").items
    assert [i.label for i in pages] == ["locked.pdf p. 1", "locked.pdf p. 2", "plain.pdf p. 1"]
    # Whole: indexed with the password when the job is made; its scan page is drawn with
    # the run's password (never saved), and without it the item says what to do.
    new = collect([folder], pdf_as="documents", password="s3cret").items[0]
    store = JobStore()
    [item] = store.items(store.create("d", "q", [new], schema=None, settings={}))
    with pytest.raises(ItemFailed, match=r"^locked.pdf is protected by a password\. Give its"):
        DocumentTurns().turn(_job({}), item, "What is the code?")
    turn = DocumentTurns("s3cret").turn(_job({}), item, "What is the code?")
    assert "4471" in turn.text and len(turn.images) == 2  # both pages are thin
    assert b"s3cret" not in (tmp_path / "data" / "batch" / "jobs.sqlite").read_bytes()
