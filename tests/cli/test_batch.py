"""`maverick-desk batch` with the real worker and the demo: constrained tables, kills, resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

# Every field type the editor offers, with tight bounds so random weights finish quickly.
SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 8, "description": "what it shows"},
        "count": {"type": "integer", "minimum": 0, "maximum": 99},
        "seen": {"type": "string", "format": "date"},
        "outdoor": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 2},
        "mood": {"type": "string", "enum": ["calm", "busy"]},
    },
    "required": ["title", "count", "seen", "outdoor", "tags", "mood"],
    "additionalProperties": False,
}


def _images(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (48, 32), (i * 20 % 255, 90, 160)).save(folder / f"photo{i:02d}.png")
    return folder


def _batch(*args: str, data: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(data)}
    return subprocess.Popen(
        [sys.executable, "-m", "app", "batch", "--quiet", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def test_a_folder_gives_a_table_of_answers_valid_for_every_field_type(
    tmp_path: Path, demo_bf16: Path
) -> None:
    from app.structured.request import load_schema_file

    fields = tmp_path / "schema.json"
    fields.write_text(json.dumps(SCHEMA))
    out = tmp_path / "results.csv"
    proc = _batch(
        str(_images(tmp_path / "in", 4)), "--prompt", "Describe the picture.",
        "--schema", str(fields), "--out", str(out), "--model", str(demo_bf16),
        data=tmp_path / "data",
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "4 done, 0 failed of 4" in stderr
    schema = load_schema_file(fields).schema
    with sqlite3.connect(tmp_path / "data" / "batch" / "jobs.sqlite") as db:
        answers = [json.loads(r[0]) for r in db.execute("SELECT result_json FROM items")]
    assert len(answers) == 4
    for value in answers:  # random weights, yet every answer is valid: the grammar did it
        jsonschema.validate(value, schema)
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["item"] for r in rows] == [f"photo{i:02d}.png" for i in range(4)]
    assert all(r["constrained"] == "yes" and r["mood"] in ("calm", "busy") for r in rows)


def _done(db_path: Path) -> dict[int, tuple[float, str]]:
    try:
        with sqlite3.connect(db_path, timeout=30) as db:
            rows = db.execute("SELECT idx, finished, result_text FROM items WHERE status='done'")
            return {int(i): (float(f), str(t)) for i, f, t in rows}
    except sqlite3.OperationalError:
        return {}


def _wait_for(db_path: Path, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while len(_done(db_path)) < count:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.2)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


ITEMS = 12


@pytest.mark.slow
def test_killing_the_app_or_the_worker_loses_no_saved_result_and_reruns_none(
    tmp_path: Path, demo_bf16: Path
) -> None:
    data = tmp_path / "data"
    db_path = data / "batch" / "jobs.sqlite"
    # Enough work that the job cannot end between a poll (0.2 s) and the kill on a fast CPU.
    args = ["--prompt", "Name it.", "--model", str(demo_bf16), "--max-new-tokens", "32"]
    proc = _batch(str(_images(tmp_path / "in", ITEMS)), *args, data=data)
    snapshots = []
    _wait_for(db_path, 1, proc)
    snapshots.append(_done(db_path))
    os.killpg(proc.pid, signal.SIGKILL)  # the app and its worker, at once
    proc.wait()
    proc = _batch("--resume", "1", *args, data=data)
    _wait_for(db_path, len(snapshots[-1]) + 1, proc)
    snapshots.append(_done(db_path))
    workers = _children(proc.pid)
    assert workers, "the worker process was not found"
    for pid in workers:
        os.kill(pid, signal.SIGKILL)  # the worker alone: the app says so and stops
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, (stderr, workers, len(_done(db_path)))
    assert "maverick-desk batch --resume 1" in stderr
    snapshots.append(_done(db_path))
    proc = _batch("--resume", "1", *args, data=data)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    final = _done(db_path)
    assert len(final) == ITEMS
    for snapshot in snapshots:  # a saved result is never answered again, nor lost
        assert all(final[idx] == saved for idx, saved in snapshot.items())
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_batch_on_a_real_transformers_serve(
    tmp_path: Path, demo_server: object, concurrency: int
) -> None:
    out = tmp_path / "results.jsonl"
    proc = _batch(
        str(_images(tmp_path / "in", 5)), "--prompt", "Name the colour.",
        "--server", demo_server.base_url, "--model", demo_server.argv[2],  # type: ignore[attr-defined]
        "--concurrency", str(concurrency), "--max-new-tokens", "4", "--out", str(out),
        data=tmp_path / "data",
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "5 done, 0 failed of 5" in stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["item"] for r in records] == [f"photo{i:02d}.png" for i in range(5)]
    assert all(r["status"] == "done" and r["result"] for r in records)
    with sqlite3.connect(tmp_path / "data" / "batch" / "jobs.sqlite") as db:
        settings = json.loads(db.execute("SELECT settings FROM jobs").fetchone()[0])
        attempts = [n for (n,) in db.execute("SELECT attempts FROM items")]
    assert settings["engine"] == "server" and settings["concurrency"] == concurrency
    assert attempts == [1] * 5  # each item asked once


def test_pdfs_as_whole_documents_give_one_valid_row_each(tmp_path: Path, demo_bf16: Path) -> None:
    from app.structured.request import load_schema_file
    from tests.documents.long_pdf import write_pdf

    folder = tmp_path / "in"
    folder.mkdir()
    scan = Image.new("RGB", (120, 160), (200, 210, 220))  # a page with no text layer
    write_pdf(folder / "invoice.pdf", [["Invoice 17 from Acme.", "Total: 40 EUR."], scan])
    write_pdf(folder / "receipt.pdf", [["Receipt 3."], ["Paid in cash."], ["Thank you."]])
    fields = tmp_path / "schema.json"
    fields.write_text(json.dumps(SCHEMA))
    out = tmp_path / "results.jsonl"
    proc = _batch(
        str(folder), "--pdf-as", "documents", "--prompt", "Describe the document.",
        "--schema", str(fields), "--out", str(out), "--model", str(demo_bf16),
        data=tmp_path / "data",
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "Job 1: 2 items." in stderr and "2 done, 0 failed of 2" in stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["item"] for r in rows] == ["invoice.pdf", "receipt.pdf"]
    schema = load_schema_file(fields).schema
    with sqlite3.connect(tmp_path / "data" / "batch" / "jobs.sqlite") as db:
        stored = db.execute("SELECT document, result_json FROM items ORDER BY idx").fetchall()
    for document, value in stored:  # the PDF is the store's copy; the answer is valid
        assert Path(document).is_file() and Path(document).parent.name == "documents"
        jsonschema.validate(json.loads(value), schema)


def test_pdfs_as_whole_documents_on_a_real_transformers_serve(
    tmp_path: Path, demo_server: object
) -> None:
    from tests.documents.long_pdf import write_pdf

    folder = tmp_path / "in"
    folder.mkdir()
    scan = Image.new("RGB", (120, 160), (200, 210, 220))  # no text layer: sent as an image
    write_pdf(folder / "invoice.pdf", [["Invoice 17 from Acme.", "Total: 40 EUR."], scan])
    write_pdf(folder / "receipt.pdf", [["Receipt 3."], ["Paid in cash."]])
    out = tmp_path / "results.jsonl"
    proc = _batch(
        str(folder), "--pdf-as", "documents", "--prompt", "Describe the document.",
        "--server", demo_server.base_url, "--model", demo_server.argv[2],  # type: ignore[attr-defined]
        "--concurrency", "2", "--max-new-tokens", "4", "--out", str(out),
        data=tmp_path / "data",
    )  # fmt: skip
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "2 done, 0 failed of 2" in stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["item"] for r in rows] == ["invoice.pdf", "receipt.pdf"]
    assert all(r["status"] == "done" and r["result"] for r in rows)
    with sqlite3.connect(tmp_path / "data" / "batch" / "jobs.sqlite") as db:
        documents = [d for (d,) in db.execute("SELECT document FROM items ORDER BY idx")]
    assert all(Path(d).is_file() and Path(d).parent.name == "documents" for d in documents)


def test_resume_runs_on_the_jobs_own_server_with_its_key_header_else_says_why(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.batch.engine_choice import engine_settings
    from app.batch.inputs import collect
    from app.batch.jobs import JobStore
    from app.engines.presets import preset_named
    from tests.engines.hosted_provider import running

    secret = "sk-batch-resume-4b1d-never-saved"
    variable = "AZURE_INFERENCE_CREDENTIAL"
    monkeypatch.delenv(variable, raising=False)
    with running("azure") as provider, running() as other:
        # As the Batch window saves a job started on an Azure preset: key header and query.
        azure = preset_named("azure").settings(base_url=f"{provider.root}/models")
        items = collect([_images(tmp_path / "in", 3)]).items
        with JobStore() as store:
            settings = {**engine_settings(azure, ""), "concurrency": 2, "max_new_tokens": 8}
            job_id = store.create("in", "Name it.", items, schema=None, settings=settings)
            local = engine_settings(None, tmp_path / "moved-model")
            lost_id = store.create("in", "Name it.", items[:1], schema=None, settings=local)
        proc = _batch("--resume", str(job_id), data=data_dir)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2 and stderr.startswith(
            f"maverick-desk batch: job 1 was started on the server {azure.model} at "
            f"{provider.root}/models, which cannot be used now: the environment variable "
            f"{variable} that holds its API key is not set. To go on with another engine"
        )
        assert not provider.seen
        monkeypatch.setenv(variable, secret)
        proc = _batch("--resume", str(job_id), data=data_dir)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "3 done, 0 failed of 3" in stderr, stderr
        posts = [seen for seen in provider.seen if seen.method == "POST"]
        assert len(posts) == 3
        assert all(seen.headers["api-key"] == secret for seen in posts)
        assert all("authorization" not in seen.headers for seen in posts)
        assert all(seen.query == {"api-version": azure.query["api-version"]} for seen in posts)

        # A local job whose model folder is gone says so; named, another engine takes it.
        proc = _batch("--resume", str(lost_id), data=data_dir)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "its model folder" in stderr and "is not there" in stderr
        proc = _batch("--resume", str(lost_id), "--model", str(tmp_path / "nope"), data=data_dir)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "there is no checkpoint folder at" in stderr
        proc = _batch("--resume", str(lost_id), "--server", f"{other.root}/v1", "--model", "m",
                      data=data_dir)  # fmt: skip
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert f"Job 2 goes on with the server m at {other.root}/v1." in stderr
        assert len([seen for seen in other.seen if seen.method == "POST"]) == 1
    for path in (data_dir / "batch").glob("jobs.sqlite*"):
        assert secret.encode() not in path.read_bytes()


def test_password_opens_encrypted_pdfs_and_a_wrong_one_leaves_only_that_pdf_out(
    tmp_path: Path, data_dir: Path
) -> None:
    from tests.documents.long_pdf import write_locked_pdf, write_pdf
    from tests.engines.hosted_provider import running

    folder = tmp_path / "in"
    folder.mkdir()
    write_pdf(folder / "plain.pdf", [["Nothing locked here."]])
    write_locked_pdf(tmp_path / "locked.pdf", "The code is 4471.", "s3cret").rename(
        folder / "locked.pdf"
    )
    with running() as provider:
        server = ["--server", f"{provider.root}/v1", "--model", "m", "--prompt", "Code?"]
        proc = _batch(str(folder), *server, "--password", "wrong", data=data_dir)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert "left out: locked.pdf: The password for locked.pdf is wrong." in stderr
        assert "1 done, 0 failed of 1" in stderr
        proc = _batch(str(folder), *server, "--pdf-as", "documents", "--password", "s3cret",
                      data=data_dir)  # fmt: skip
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "2 done, 0 failed of 2" in stderr, stderr
    asked = [seen.json()["messages"][-1] for seen in provider.seen if seen.method == "POST"]
    assert any("The code is 4471." in json.dumps(message) for message in asked)
