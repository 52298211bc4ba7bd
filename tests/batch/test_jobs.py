"""Batch jobs without a model: the store, the runner's bookkeeping, inputs and exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import threading
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from app.batch.exports import export
from app.batch.inputs import collect
from app.batch.jobs import DONE, FAILED, PENDING, RUNNING, JobError, JobStore, NewItem
from app.batch.runner import Control, ItemFailed, Outcome, Stopped, run_job

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "tags": {"type": "array"}},
    "required": ["name"],
}


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAVERICK_DESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _job(store: JobStore, n: int, schema: dict | None = None) -> int:
    items = [NewItem(f"img{i}.png", f"/src/img{i}.png", f"/store/{i}.png") for i in range(n)]
    return store.create("test", "Describe it.", items, schema=schema, settings={})


def test_every_item_is_answered_once_n_at_a_time_and_failures_say_why() -> None:
    store = JobStore()
    job_id = _job(store, 40)
    seen: list[int] = []
    lock = threading.Lock()

    def answer(job: object, item: object) -> Outcome:
        with lock:
            seen.append(item.idx)  # type: ignore[attr-defined]
        if item.idx % 10 == 3:  # type: ignore[attr-defined]
            raise ItemFailed("The image is too dark to read.")
        return Outcome(f"answer {item.idx}")  # type: ignore[attr-defined]

    steps: list = []
    counts = run_job(store, job_id, answer, concurrency=4, progress=steps.append)
    assert sorted(seen) == list(range(40))
    assert counts[DONE] == 36 and counts[FAILED] == 4
    assert steps[-1].done == 40 and steps[-1].failed == 4 and steps[-1].seconds_left == 0
    assert store.job(job_id).state == "finished"
    failed = [i for i in store.items(job_id) if i.status == FAILED]
    assert failed[0].error == "The image is too dark to read."
    # Retrying failed items runs only them.
    seen.clear()
    counts = run_job(store, job_id, lambda j, i: Outcome("ok"), retry_failed=True)
    assert counts[DONE] == 40 and seen == []


def test_a_killed_run_resumes_without_running_a_saved_item_again(tmp_path: Path) -> None:
    store = JobStore()
    job_id = _job(store, 6)
    first = store.claim(job_id)
    assert first is not None
    store.finish(first, text="saved before the kill")
    in_flight = store.claim(job_id)  # the process dies here: the item stays "running"
    assert in_flight is not None and store.counts(job_id)[RUNNING] == 1
    store.close()
    again = JobStore()  # a new process opens the same file
    ran: list[int] = []
    counts = run_job(again, job_id, lambda j, i: ran.append(i.idx) or Outcome("new"))
    assert ran == [1, 2, 3, 4, 5]  # item 0 was saved: not run again; item 1 runs again
    assert counts[DONE] == 6
    assert again.items(job_id)[0].result_text == "saved before the kill"
    assert again.items(job_id)[1].attempts == 2
    assert again.integrity() == "ok"


def test_pause_and_cancel_put_the_answer_in_flight_back() -> None:
    store = JobStore()
    job_id = _job(store, 5)
    control = Control()

    def answer(job: object, item: object) -> Outcome:
        if item.idx == 2:  # type: ignore[attr-defined]
            control.cancel()
            raise Stopped()
        return Outcome("ok")

    counts = run_job(store, job_id, answer, control=control)
    assert counts[DONE] == 2 and counts[PENDING] == 3
    assert store.job(job_id).state == "cancelled"
    counts = run_job(store, job_id, lambda j, i: Outcome("later"))
    assert counts[DONE] == 5


def test_a_newer_database_is_refused_untouched(data_dir: Path) -> None:
    store = JobStore()
    store._db.execute("PRAGMA user_version = 99")
    store.close()
    path = data_dir / "batch" / "jobs.sqlite"
    before = path.read_bytes()
    with pytest.raises(JobError, match="newer version"):
        JobStore()
    assert path.read_bytes() == before


def test_inputs_are_copied_so_a_moved_folder_does_not_matter(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, colour in enumerate(["red", "green"]):
        Image.new("RGB", (40, 30), colour).save(folder / f"photo{i}.png")
    Image.new("RGB", (200, 300), "white").save(folder / "scan.pdf")
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"\x89PNG broken")
    collected = collect([folder])
    labels = [item.label for item in collected.items]
    assert labels == ["photo0.png", "photo1.png", "scan.pdf p. 1"]
    assert any("broken.png" in line for line in collected.left_out)
    (folder / "photo0.png").unlink()
    assert Image.open(collected.items[0].image).size == (40, 30)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("x")
    with pytest.raises(JobError, match="no usable images or PDFs"):
        collect([empty])


def test_results_export_as_csv_jsonl_and_xlsx(tmp_path: Path) -> None:
    store = JobStore()
    job_id = _job(store, 3, schema=SCHEMA)
    values = [{"name": "Ærø ferry", "tags": ["boat", "sea"]}, {"name": "=HYPERLINK(1)", "tags": []}]
    for value in values:
        item = store.claim(job_id)
        assert item is not None
        store.finish(item, text=json.dumps(value), value=value, constrained=True)
    item = store.claim(job_id)
    assert item is not None
    store.fail(item, "Cut off at its limit.")
    job, items = store.job(job_id), store.items(job_id)
    export(job, items, tmp_path / "r.csv")
    raw = (tmp_path / "r.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == ["item", "source", "status", "name", "tags", "constrained", "error"]
    assert table[1][3:6] == ["Ærø ferry", "boat; sea", "yes"]
    assert table[2][3] == "'=HYPERLINK(1)"  # a spreadsheet must not run it
    assert table[3][2] == "failed" and table[3][6] == "Cut off at its limit."
    export(job, items, tmp_path / "r.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert lines[0]["result"] == values[0] and lines[2]["error"] == "Cut off at its limit."
    export(job, items, tmp_path / "r.xlsx")
    with zipfile.ZipFile(tmp_path / "r.xlsx") as book:
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "Ærø ferry" in strings and "boat; sea" in strings
    with pytest.raises(JobError, match=".csv, .jsonl, .xlsx"):
        export(job, items, tmp_path / "r.ods")


def test_pdfs_go_as_pages_or_as_whole_documents_copied_by_hash(tmp_path: Path) -> None:
    from tests.documents.long_pdf import write_pdf

    folder = tmp_path / "in"
    folder.mkdir()
    write_pdf(folder / "a.pdf", [["Invoice 17 from Acme."], ["Total: 40 EUR."]])
    write_pdf(folder / "b.pdf", [["Receipt 3."], ["Paid."], ["Thanks."]])
    pages = collect([folder])
    assert [i.label for i in pages.items] == [
        *(f"a.pdf p. {n}" for n in (1, 2)),
        *(f"b.pdf p. {n}" for n in (1, 2, 3)),
    ]
    assert all(i.document is None for i in pages.items)
    whole = collect([folder], pdf_as="documents")
    assert [i.label for i in whole.items] == ["a.pdf", "b.pdf"]
    for item in whole.items:  # the store's copy, named by hash, outlives the folder
        assert item.document is not None
        assert Path(item.document).read_bytes() == (folder / item.label).read_bytes()
        assert (
            Path(item.document).stem == hashlib.sha256(Path(item.document).read_bytes()).hexdigest()
        )
    store = JobStore()
    job_id = store.create("docs", "Sum it up.", whole.items, schema=None, settings={})
    assert [i.document for i in store.items(job_id)] == [i.document for i in whole.items]
    (folder / "x.pdf").write_bytes(b"%PDF-1.4 broken")
    assert any("x.pdf" in s for s in collect([folder], pdf_as="documents").left_out)
    assert len(list(Path(whole.items[0].document).parent.iterdir())) == 2  # no copy of x.pdf
    with pytest.raises(JobError, match="pages or documents"):
        collect([folder], pdf_as="chapters")


def test_a_format_1_store_opens_and_gains_the_document_column(data_dir: Path) -> None:
    path = data_dir / "batch" / "jobs.sqlite"
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, created REAL NOT NULL, name TEXT NOT NULL,"
        " prompt TEXT NOT NULL, schema TEXT, settings TEXT NOT NULL, state TEXT NOT NULL);"
        "CREATE TABLE items (job_id INTEGER NOT NULL, idx INTEGER NOT NULL, label TEXT NOT NULL,"
        " source TEXT NOT NULL, image TEXT NOT NULL, status TEXT NOT NULL, result_text TEXT,"
        " result_json TEXT, constrained INTEGER, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
        " seconds REAL, finished REAL, PRIMARY KEY (job_id, idx));"
        "INSERT INTO jobs VALUES (1, 0, 'old', 'Describe it.', NULL, '{}', 'open');"
        "INSERT INTO items (job_id, idx, label, source, image, status)"
        " VALUES (1, 0, 'a.png', '/src/a.png', '/store/a.png', 'pending');"
        "PRAGMA user_version = 1;"
    )
    old.close()
    with JobStore() as store:
        [item] = store.items(1)
        assert (item.label, item.document, item.status) == ("a.png", None, PENDING)
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == 2
