"""The Batch window with the real worker and the demo: a job runs to done, pauses, resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from pytestqt.qtbot import QtBot

from app.batch.jobs import DONE, RUNNING
from app.structured.fields import Field
from app.ui.batch.batch_window import BatchWindow
from app.ui.main_window import MainWindow

# Tight bounds so that random weights finish quickly; the grammar keeps every answer valid.
SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 6},
        "count": {"type": "integer", "minimum": 0, "maximum": 9},
        "outdoor": {"type": "boolean"},
    },
    "required": ["title", "count", "outdoor"],
    "additionalProperties": False,
}
RUN_TIMEOUT_MS = 300_000


def _images(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (40, 30), (i * 60 % 255, 90, 160)).save(folder / f"photo{i}.png")
    return folder


def _open(window: MainWindow) -> BatchWindow:
    batch = window.dialogs.open_batch_window()
    assert window.batch_action.shortcut().toString() == "Ctrl+B"
    return batch


def _fill(batch: BatchWindow, folder: Path) -> None:
    batch.setup.add_paths([str(folder)])
    batch.setup.prompt.setPlainText("Describe the picture.")
    batch.setup.use_fields.setChecked(True)
    batch.setup.fields.tabs.setCurrentIndex(1)
    batch.setup.fields.schema_text.setPlainText(json.dumps(SCHEMA))


def test_a_folder_with_fields_runs_to_done_and_exports_a_csv_with_a_bom(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    batch = _open(window)
    batch.setup.start_button.click()  # nothing added yet: a sentence, no job
    assert "Add the images" in batch.setup.problem.text()
    _fill(batch, _images(tmp_path / "in", 3))
    batch.setup.start_button.click()
    assert batch.run is not None
    qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    job = batch.store.jobs()[0][0]
    assert job.state == "finished" and batch.store.counts(job.id)[DONE] == 3
    table = batch.view.table
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header[3:6] == ["title", "count", "outdoor"]
    assert table.rowCount() == 3 and table.item(0, 0).text() == "photo0.png"
    assert all(table.item(r, 2).text() == DONE for r in range(3))
    assert not table.item(0, 0).icon().isNull()  # its thumbnail
    assert all(table.item(r, 4).text().isdigit() for r in range(3))
    assert batch.view.progress.value() == 3
    out = tmp_path / "results.csv"
    batch.view.export_wanted.emit(str(out))
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[0].startswith("item,source,status,title,count,outdoor")
    assert "Saved the table" in batch.view.notice.text()


def test_pause_holds_the_job_and_resume_finishes_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    batch = _open(window)
    batch.setup.add_paths([str(_images(tmp_path / "in", 3))])
    batch.setup.prompt.setPlainText("Describe the picture.")
    batch.setup.max_tokens.setValue(24)  # free text, short: the pause is what is tested
    batch.setup.start_button.click()
    run = batch.run
    assert run is not None
    qtbot.waitUntil(lambda: batch.view.job is not None, timeout=RUN_TIMEOUT_MS)
    batch.view.pause_button.click()  # the item in flight finishes; then the run holds
    assert run.paused and batch.view.resume_button.isEnabled()
    job_id = batch.view.job.id
    qtbot.waitUntil(lambda: batch.store.counts(job_id)[RUNNING] == 0, timeout=RUN_TIMEOUT_MS)
    held = batch.store.counts(job_id)[DONE]
    qtbot.wait(1000)
    assert held < 3 and batch.store.counts(job_id)[DONE] == held  # nothing more runs
    assert batch.run is run and run.running  # held, not ended
    batch.view.resume_button.click()
    qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    assert batch.store.counts(job_id)[DONE] == 3
    assert batch.store.job(job_id).state == "finished"


def test_reopening_lists_an_unfinished_job_and_resume_runs_only_what_is_left(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    # A job a killed app left: one item saved, one left "running", one never started.
    from app.batch.inputs import collect
    from app.batch.jobs import JobStore

    with JobStore() as store:
        items = collect([_images(tmp_path / "in", 3)]).items
        job_id = store.create(
            "in", "Describe it.", items, schema=None, settings={"max_new_tokens": 4}
        )
        first = store.claim(job_id)
        assert first is not None
        store.finish(first, text="saved before the kill")
        assert store.claim(job_id) is not None  # running when the app died
    batch = _open(window)
    assert batch.job_ids() == [job_id]
    assert "Job 1 · open · 1/3 done" in batch.job_list.item(0).text()
    batch.show_job(job_id)
    assert batch.stack.currentWidget() is batch.view
    batch.view.resume_button.click()
    qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    finished = batch.store.items(job_id)
    assert [i.status for i in finished] == [DONE] * 3
    assert finished[0].result_text == "saved before the kill" and finished[0].attempts == 1
    assert "finished" in batch.job_list.item(0).text()


def test_the_field_editor_says_what_is_wrong_and_builds_a_bounded_schema(
    qtbot: QtBot, tmp_path: Path
) -> None:
    from app.structured.schema import SchemaError
    from app.ui.structured.field_editor import FieldEditor

    editor = FieldEditor()
    qtbot.addWidget(editor)
    editor.set_fields([Field("price", "number", "in euros"), Field("", "text")])
    try:
        editor.request()
        raise AssertionError("a field with no name was taken")
    except SchemaError as exc:
        assert str(exc) == "Field 2 has no name."
    assert editor.problem.text() == "Field 2 has no name."
    editor.table.removeRow(1)
    editor.add_field(Field("kind", "one-of", choices=("cat", "dog")))
    request = editor.request()
    assert request.schema["properties"]["kind"]["enum"] == ["cat", "dog"]
    assert request.schema["required"] == ["price", "kind"] and request.budget > 0
    # Saved, it is the field list `batch --schema` reads; opened, the same fields again.
    from app.structured.request import load_schema_file

    editor.save(tmp_path / "fields.json")
    assert load_schema_file(tmp_path / "fields.json").schema == request.schema
    other = FieldEditor()
    qtbot.addWidget(other)
    other.open(tmp_path / "fields.json")
    assert other.fields() == editor.fields()
    (tmp_path / "list.json").write_text("[1, 2]")
    try:
        other.open(tmp_path / "list.json")
        raise AssertionError("a list was taken for a schema")
    except SchemaError as exc:
        assert str(exc) == "list.json is not a JSON Schema or a field list."
    editor.set_schema({"type": "object", "properties": {"a": {"type": "object"}}})
    assert editor.tabs.currentIndex() == 1  # not a field shape: shown as JSON
    editor.schema_text.setPlainText("{nope")
    try:
        editor.request()
        raise AssertionError("bad JSON was taken")
    except SchemaError as exc:
        assert "not JSON" in str(exc)


def test_on_a_real_transformers_serve_items_run_n_at_a_time(
    qtbot: QtBot, unstarted_window: MainWindow, demo_server: object, tmp_path: Path
) -> None:
    from app.engines.openai_client import ServerSettings

    model = demo_server.argv[2]  # type: ignore[attr-defined]
    unstarted_window.bridge.use_server(ServerSettings(demo_server.base_url, model), start=False)  # type: ignore[attr-defined]
    batch = _open(unstarted_window)
    assert batch.setup.concurrency.isEnabled() and "server in use" in batch.setup.engine.text()
    batch.setup.add_paths([str(_images(tmp_path / "in", 4))])
    batch.setup.prompt.setPlainText("Name the colour.")
    batch.setup.max_tokens.setValue(4)
    batch.setup.concurrency.setValue(3)
    batch.setup.start_button.click()
    qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    job = batch.store.jobs()[0][0]
    assert job.settings["engine"] == "server" and job.settings["concurrency"] == 3
    items = batch.store.items(job.id)
    assert [i.status for i in items] == [DONE] * 4 and all(i.attempts == 1 for i in items)
    assert batch.view.table.horizontalHeaderItem(3).text() == "answer"


def test_a_failed_item_says_why_and_retry_failed_runs_only_it(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from app.batch.inputs import collect
    from app.batch.jobs import FAILED, JobStore

    with JobStore() as store:
        items = collect([_images(tmp_path / "in", 2)]).items
        job_id = store.create("in", "Name it.", items, schema=None, settings={"max_new_tokens": 4})
        for _ in range(2):
            item = store.claim(job_id)
            assert item is not None
            if item.idx == 0:
                store.finish(item, text="kept")
            else:
                store.fail(item, "The server refused the image.")
        store.set_state(job_id, "finished")
    batch = _open(window)
    batch.show_job(job_id)
    failed_cell = batch.view.table.item(1, 2)
    assert failed_cell.text() == FAILED and failed_cell.toolTip() == "The server refused the image."
    assert batch.view.table.item(1, batch.view.table.columnCount() - 1).text() == (
        "The server refused the image."
    )
    assert batch.view.retry_button.isEnabled() and not batch.view.resume_button.isEnabled()
    batch.view.retry_button.click()
    qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    done = batch.store.items(job_id)
    assert [i.status for i in done] == [DONE, DONE]
    assert done[0].result_text == "kept" and done[0].attempts == 1 and done[1].attempts == 2
    assert not batch.view.retry_button.isEnabled()


def test_pdfs_chosen_as_whole_documents_are_one_row_each(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from tests.documents.long_pdf import write_pdf

    folder = tmp_path / "in"
    folder.mkdir()
    write_pdf(folder / "a.pdf", [["Invoice 17."], ["Total: 40 EUR."]])
    write_pdf(folder / "b.pdf", [["Receipt 3."], ["Paid."], ["Thanks."]])
    batch = _open(window)
    _fill(batch, folder)
    batch.setup.pdf_as.setCurrentIndex(batch.setup.pdf_as.findData("documents"))
    batch.setup.start_button.click()
    qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    job = batch.store.jobs()[0][0]
    assert job.settings["pdf_as"] == "documents"
    assert [(i.label, i.status) for i in batch.store.items(job.id)] == [
        ("a.pdf", DONE),
        ("b.pdf", DONE),
    ]
    assert batch.view.table.rowCount() == 2


def test_a_job_resumes_on_the_engine_it_was_started_with_or_offers_the_windows(
    qtbot: QtBot, unstarted_window: MainWindow, tmp_path: Path
) -> None:
    from app.batch.engine_choice import engine_settings
    from app.batch.inputs import collect
    from app.batch.jobs import JobStore
    from app.engines.openai_client import ServerSettings
    from tests.engines.hosted_provider import running

    with running() as started_on, running() as window_engine:
        items = collect([_images(tmp_path / "in", 2)]).items
        own = ServerSettings(f"{started_on.root}/v1", "m")
        with JobStore() as store:
            settings = {**engine_settings(own, ""), "max_new_tokens": 4, "concurrency": 2}
            job_id = store.create("in", "Name it.", items, schema=None, settings=settings)
            local = {**engine_settings(None, tmp_path / "gone"), "max_new_tokens": 4}
            lost_id = store.create("in", "Name it.", items, schema=None, settings=local)
        now = ServerSettings(f"{window_engine.root}/v1", "w")
        unstarted_window.bridge.use_server(now, start=False)
        batch = _open(unstarted_window)
        # Started on a server: it goes on there, whatever the window uses now.
        batch.show_job(job_id)
        batch.view.resume_button.click()
        qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
        assert [i.status for i in batch.store.items(job_id)] == [DONE, DONE]
        assert len(started_on.seen) == 2 and not window_engine.seen
        # Started on a local model that is not the window's: a sentence, and the choice.
        batch.show_job(lost_id)
        batch.view.resume_button.click()
        assert batch.run is None and batch.view.window_engine_button.isVisible()
        notice = batch.view.notice.text()
        assert notice.startswith("Job 2 was started on the local model gone, which cannot be")
        assert f"on the window's engine, the server w at {window_engine.root}/v1." in notice
        batch.view.window_engine_button.click()
        qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
        assert [i.status for i in batch.store.items(lost_id)] == [DONE, DONE]
        assert len(window_engine.seen) == 2 and not batch.view.window_engine_button.isVisible()
        assert batch.store.job(lost_id).settings["server"] == now.base_url  # it goes on there


def test_a_server_batch_sends_the_windows_key_for_its_preset_and_never_saves_it(
    qtbot: QtBot,
    unstarted_window: MainWindow,
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.engines.presets import preset_named
    from tests.engines.hosted_provider import running

    secret = "sk-window-batch-9f2e-never-saved"
    with running("azure") as provider:
        # The window's engine: an Azure preset, its key in the variable the window names.
        azure = preset_named("azure").settings(base_url=f"{provider.root}/models")
        monkeypatch.setenv(str(azure.api_key_env), secret)
        unstarted_window.bridge.use_server(azure, start=False)
        batch = _open(unstarted_window)
        batch.setup.add_paths([str(_images(tmp_path / "in", 2))])
        batch.setup.prompt.setPlainText("Name the colour.")
        batch.setup.max_tokens.setValue(4)
        batch.setup.start_button.click()
        qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
    job = batch.store.jobs()[0][0]
    assert [i.status for i in batch.store.items(job.id)] == [DONE, DONE]
    posts = [seen for seen in provider.seen if seen.method == "POST"]
    assert len(posts) == 2 and all(seen.headers["api-key"] == secret for seen in posts)
    assert job.settings["server_settings"]["api_key_header"] == "api-key"
    for path in (data_dir / "batch").glob("jobs.sqlite*"):
        assert secret.encode() not in path.read_bytes()


def test_encrypted_pdfs_are_asked_a_password_and_a_wrong_one_leaves_only_them_out(
    qtbot: QtBot, unstarted_window: MainWindow, tmp_path: Path, data_dir: Path
) -> None:
    import pypdf

    from app.engines.openai_client import ServerSettings
    from tests.documents.long_pdf import scanned_page, write_pdf
    from tests.engines.hosted_provider import running

    folder = tmp_path / "in"
    folder.mkdir()
    write_pdf(folder / "plain.pdf", [["Nothing locked here."]])
    writer = pypdf.PdfWriter(clone_from=write_pdf(tmp_path / "s.pdf", [scanned_page("4471")]))
    writer.encrypt("s3cret", algorithm="RC4-128")
    with open(folder / "locked.pdf", "wb") as out:
        writer.write(out)
    asked: list[list[str]] = []
    with running() as provider:
        unstarted_window.bridge.use_server(ServerSettings(f"{provider.root}/v1", "m"), start=False)
        batch = _open(unstarted_window)
        for password, pdf_as in (("wrong", 0), ("s3cret", 1)):
            batch.ask_password = lambda names, p=password: asked.append(names) or p  # type: ignore[method-assign]
            batch.show_setup()
            batch.setup.files.clear()
            batch.setup.add_paths([str(folder)])
            batch.setup.prompt.setPlainText("Code?")
            batch.setup.pdf_as.setCurrentIndex(pdf_as)  # pages, then whole documents
            batch.setup.start_button.click()
            qtbot.waitUntil(lambda: batch.run is None, timeout=RUN_TIMEOUT_MS)
            if password == "wrong":
                assert batch.view.notice.text().startswith(
                    "Left out: locked.pdf: The password for locked.pdf is wrong."
                )
        assert asked == [["locked.pdf"], ["locked.pdf"]]
        wrong, right = sorted(job.id for job, _ in batch.store.jobs())
        assert [i.label for i in batch.store.items(wrong)] == ["plain.pdf p. 1"]
        items = batch.store.items(right)
        assert [(i.label, i.status) for i in items] == [("locked.pdf", DONE), ("plain.pdf", DONE)]
        posts = [seen.json() for seen in provider.seen if seen.method == "POST"]
        assert "image_url" in json.dumps(posts[1])  # the scan page, drawn with the password
    for path in (data_dir / "batch").glob("jobs.sqlite*"):
        assert b"s3cret" not in path.read_bytes()
