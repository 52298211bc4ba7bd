"""The Download dialog drives a real download from a local hub, pauses, resumes, lists it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.checkpoints.checkpoint import human_bytes
from app.downloads import transfer
from app.downloads.transfer import CHUNK_BYTES, has_partials
from app.ui.engine.download_runner import DownloadRunner
from app.ui.engine.model_picker import ModelPicker
from tests.downloads.fake_hub import demo_repo, serving

SHARD = "model-00004-of-00005.safetensors"
TIMEOUT_MS = 20_000


def test_download_pause_resume_and_the_model_appears_in_the_list(
    qtbot: object, demo_bf16: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = demo_repo(demo_bf16)
    repo.hold_after[SHARD] = CHUNK_BYTES + 40_000
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(transfer, "REPORT_EVERY_S", 0.0)  # every piece, for the stalled one
    picker = ModelPicker(demo_bf16)
    qtbot.addWidget(picker)  # type: ignore[attr-defined]
    click = qtbot.mouseClick  # type: ignore[attr-defined]
    with serving(repo) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        dialog = picker.open_download()
        assert dialog.repo.currentText() == "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8"
        assert "HF_TOKEN, which is not set" in dialog.token_note.text()
        dialog.repo.setEditText(repo.repo_id)
        target = Path(dialog.folder.text())
        assert target.name == "test-org--demo-model"  # the default follows the repository
        runner = dialog.runner

        with qtbot.waitSignal(runner.plan_read, timeout=TIMEOUT_MS):  # type: ignore[attr-defined]
            click(dialog.download_button, Qt.MouseButton.LeftButton)
        rows = {
            dialog.files.topLevelItem(i).text(0): dialog.files.topLevelItem(i)  # type: ignore[union-attr]
            for i in range(dialog.files.topLevelItemCount())
        }
        qtbot.waitUntil(  # type: ignore[attr-defined]
            lambda: (
                "12 of 13 files done" in dialog.total_label.text() and rows[SHARD].text(2) == "60%"
            ),  # every file but the stalled shard
            timeout=TIMEOUT_MS,
        )
        assert set(rows) == set(repo.files)
        assert rows[SHARD].text(1) == human_bytes(len(repo.files[SHARD]))
        assert rows["config.json"].text(2) == "✓"
        assert "of 2.0 MiB" in dialog.total_label.text()
        assert dialog.file_label.text() == f"{SHARD}: downloading"
        assert dialog.file_bar.value() == int(1000 * CHUNK_BYTES / len(repo.files[SHARD]))
        assert not dialog.download_button.isEnabled() and dialog.pause_button.isEnabled()

        with qtbot.waitSignal(runner.download_paused, timeout=TIMEOUT_MS):  # type: ignore[attr-defined]
            click(dialog.pause_button, Qt.MouseButton.LeftButton)
            repo.release.set()
        assert has_partials(target) and not (target / SHARD).exists()
        assert dialog.resume_button.isEnabled() and "Paused" in dialog.notice.text()

        del repo.hold_after[SHARD]
        with qtbot.waitSignal(dialog.model_downloaded, timeout=TIMEOUT_MS) as done:  # type: ignore[attr-defined]
            click(dialog.resume_button, Qt.MouseButton.LeftButton)
        assert done.args == [target]
        assert ("GET", SHARD, f"bytes={CHUNK_BYTES}-") in repo.requests
        assert dialog.total_bar.value() == dialog.total_bar.maximum()
        assert "every file matches" in dialog.notice.text()
        qtbot.waitUntil(lambda: not runner.running, timeout=TIMEOUT_MS)  # type: ignore[attr-defined]
    assert picker.selected_path() == target  # listed and selected in Local models
    row = next(r for r in picker.rows if r.path == target)
    assert row.entry.ready and row.files == "complete"
    dialog.shutdown()


def test_cancel_while_paused_deletes_the_partial_files(
    qtbot: object, demo_bf16: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The download thread lingers after its last signal, as a descheduled thread may:
    # Cancel pressed then must still find the run over (it once waited for the thread
    # to end, and a Cancel in that gap did nothing).
    last_word = DownloadRunner._end

    def lingering(runner: DownloadRunner, signal: object, *args: object) -> None:
        last_word(runner, signal, *args)  # type: ignore[arg-type]
        time.sleep(0.5)

    monkeypatch.setattr(DownloadRunner, "_end", lingering)
    repo = demo_repo(demo_bf16)
    repo.hold_after[SHARD] = CHUNK_BYTES + 40_000
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with serving(repo) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        from app.ui.engine.download_dialog import DownloadDialog

        dialog = DownloadDialog()
        qtbot.addWidget(dialog)  # type: ignore[attr-defined]
        dialog.repo.setEditText(repo.repo_id)
        target = Path(dialog.folder.text())
        dialog.download_button.click()
        qtbot.waitUntil(  # type: ignore[attr-defined]
            lambda: any((target / ".download").glob(f"{SHARD}*.part")), timeout=TIMEOUT_MS
        )
        with qtbot.waitSignal(dialog.runner.download_paused, timeout=TIMEOUT_MS):  # type: ignore[attr-defined]
            dialog.pause_button.click()
            repo.release.set()
        assert has_partials(target) and dialog.cancel_button.isEnabled()
        with qtbot.waitSignal(dialog.runner.download_cancelled, timeout=TIMEOUT_MS):  # type: ignore[attr-defined]
            dialog.cancel_button.click()
        assert not has_partials(target) and not (target / SHARD).exists()
        assert (target / "config.json").is_file()  # finished files stay
        assert dialog.download_button.isEnabled() and "Cancelled" in dialog.notice.text()
        dialog.shutdown()
