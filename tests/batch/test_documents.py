"""A whole-PDF batch item's request: its text whole or its best pages, thin pages as images."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from app.batch.documents import DocumentTurns
from app.batch.inputs import collect
from app.batch.jobs import Job, JobStore
from app.batch.runner import ItemFailed
from tests.documents.long_pdf import write_pdf

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
