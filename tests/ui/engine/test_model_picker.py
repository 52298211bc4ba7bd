"""The model picker: the demo's bf16 and FP8 twins, a broken copy, and reloading the worker."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt

from app.checkpoints import library
from app.ui.app import build_window, resolve_model
from app.ui.engine.engine_store import EngineStore
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from tests.ui.conftest import LOAD_TIMEOUT_MS

ANSWER_TIMEOUT_MS = 120_000


def test_picking_fp8_reloads_the_worker_and_is_remembered(
    qtbot: object, window: MainWindow, demo_root: Path, demo_fp8: Path, demo_bf16: Path
) -> None:
    bridge = window.bridge
    dialog = window.open_engine_dialog()
    picker = dialog.picker
    assert dialog.local_radio.isChecked() and not dialog.server_radio.isChecked()
    picker.add_folder(demo_root)
    rows = {row.path.resolve(): row for row in picker.rows}
    bf16, fp8 = rows[demo_bf16.resolve()], rows[demo_fp8.resolve()]
    assert (bf16.entry.precision, fp8.entry.precision) == ("bf16", "fp8 (compressed-tensors)")
    assert bf16.files == fp8.files == "complete"
    assert bf16.fits and bf16.verdict.startswith("fits: about ")
    assert fp8.entry.size_bytes < bf16.entry.size_bytes
    items = {item.data(0, Qt.ItemDataRole.UserRole): item for item in picker._items()}
    assert items[str(demo_bf16)].font(0).bold() and not items[str(demo_fp8)].font(0).bold()
    assert items[str(demo_fp8)].text(1) == "fp8 (compressed-tensors)"

    old_pid = bridge.client.pid
    stages: list[str] = []
    bridge.model_loading.connect(lambda stage, done, total: stages.append(stage))
    assert picker.select_path(demo_fp8)
    assert "fp8" in picker.details.text() and "Fits in" in picker.details.text()
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS) as ready:  # type: ignore[attr-defined]
        qtbot.mouseClick(picker.use_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    loaded = ready.args[0]
    assert Path(loaded.path).resolve() == demo_fp8.resolve()
    assert bridge.client.pid != old_pid and bridge.client.alive  # a fresh process
    assert "starting the model worker" in stages and len(stages) > 2  # shown in the status bar
    assert loaded.quantisation in window.status.model_label.text()
    assert window.status.progress.isHidden()
    assert library.chosen_model() == demo_fp8.resolve()
    assert resolve_model(None) == (demo_fp8.resolve(), False)  # the next start loads it
    items = {item.data(0, Qt.ItemDataRole.UserRole): item for item in picker._items()}
    assert items[str(demo_fp8.resolve())].font(0).bold()

    # The reloaded worker answers.
    window.settings_panel.set_value("max_new_tokens", 6)
    with qtbot.waitSignal(window.answer_ended, timeout=ANSWER_TIMEOUT_MS) as ended:  # type: ignore[attr-defined]
        assert window.send("Hello")
    assert ended.args == ["complete"] and window.assistant_views()[-1].message.text


def test_an_incomplete_copy_says_what_is_missing_and_cannot_be_chosen(
    qtbot: object, unstarted_window: MainWindow, demo_bf16: Path, tmp_path: Path
) -> None:
    shelf = tmp_path / "shelf"
    broken = shelf / "half-downloaded"
    shutil.copytree(demo_bf16, broken)
    (broken / "model-00003-of-00005.safetensors").unlink()
    picker = unstarted_window.open_engine_dialog().picker
    picker.add_folder(shelf)
    row = next(r for r in picker.rows if r.path.resolve() == broken.resolve())
    assert row.entry.status == library.INCOMPLETE
    assert "model-00003-of-00005.safetensors" in row.files
    assert row.verdict == "not checked" and row.fits is None
    assert picker.select_path(broken)
    assert not picker.use_button.isEnabled()
    assert "model-00003-of-00005.safetensors" in picker.details.text()
    assert library.load_settings().folders == [str(shelf.resolve())]
    assert not unstarted_window.bridge.client.alive  # nothing was loaded


def test_the_picker_and_preflight_keep_torch_out_of_the_ui_process(demo_root: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "import app.ui.engine.engine_dialog\n"
        "from app.ui.engine.model_rows import describe_row, library_entries, machine_devices\n"
        "devices, _ = machine_devices()\n"
        "rows = [describe_row(e, devices) for e in library_entries([Path(sys.argv[1])])]\n"
        "assert rows and rows[0].fits, rows\n"
        "heavy = ('torch', 'transformers', 'accelerate', 'torchvision', 'compressed_tensors')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(demo_root / "fp8")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""  # no heavy module was imported


def _reload_with_choices(qtbot: object, window: MainWindow) -> p.Ready:
    """Press Use this model; the worker's `Ready` for the reload."""
    bridge = window.bridge
    picker = window.open_engine_dialog().picker
    with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_TIMEOUT_MS) as ready:  # type: ignore[attr-defined]
        qtbot.mouseClick(picker.use_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    result: p.Ready = ready.args[0]
    return result


def _saved(data_dir: Path) -> EngineStore:
    return EngineStore(SettingsStore(data_dir / "settings.ini"))


def _next_start(check: Callable[[MainWindow], None]) -> None:
    """`check` on the window a restart of the app would build."""
    again = build_window(None)
    try:
        check(again)
    finally:
        again.bridge.close()
        again.deleteLater()


def test_the_attention_choice_reloads_the_worker_with_it_and_is_remembered(
    qtbot: object, window: MainWindow, demo_bf16: Path, data_dir: Path
) -> None:
    assert window.bridge.ready is not None and window.bridge.ready.runtime["attention"] == "sdpa"
    picker = window.open_engine_dialog().picker
    assert picker.attention_choice() == "sdpa"
    assert picker.select_path(demo_bf16)
    picker.set_attention("eager")
    ready = _reload_with_choices(qtbot, window)
    assert ready.runtime["attention"] == "eager"  # what the worker's model runs with
    assert _saved(data_dir).attention == "eager"

    def remembered(again: MainWindow) -> None:
        assert again.bridge.attention == "eager"

    _next_start(remembered)


def test_the_cached_conversations_choice_reloads_the_worker_with_it_and_is_remembered(
    qtbot: object, window: MainWindow, demo_bf16: Path, data_dir: Path
) -> None:
    assert window.bridge.ready is not None and window.bridge.ready.runtime["prompt_cache"] == "1"
    picker = window.open_engine_dialog().picker
    assert picker.cache_entries_choice() == 1
    assert picker.cache_entries.specialValueText() == "Off"  # 0 reads "Off"
    assert picker.select_path(demo_bf16)
    picker.set_cache_entries(3)
    assert _reload_with_choices(qtbot, window).runtime["prompt_cache"] == "3"  # what it keeps
    assert _saved(data_dir).prompt_cache_entries == 3

    def remembered(again: MainWindow) -> None:
        assert again.bridge.prompt_cache_entries == 3
        assert again.open_engine_dialog().picker.cache_entries_choice() == 3

    _next_start(remembered)
    # Off: the worker keeps nothing; an unreadable saved value falls back to the default.
    picker.set_cache_entries(0)
    assert _reload_with_choices(qtbot, window).runtime["prompt_cache"] == "0"
    store = _saved(data_dir)
    assert store.prompt_cache_entries == 0
    store._write({"engine/prompt_cache_entries": "lots"})
    assert _saved(data_dir).prompt_cache_entries == 1
    store._write({"engine/prompt_cache_entries": 999})
    assert _saved(data_dir).prompt_cache_entries == 16


def test_free_empties_the_workers_kept_caches_and_says_how_much(
    qtbot: object, window: MainWindow
) -> None:
    bridge = window.bridge
    dialog = window.open_engine_dialog()
    picker = dialog.picker
    question = [p.ChatTurn("user", "Compare the regions in the table. " * 120)]  # > 512 tokens

    def answer() -> p.Done:
        with qtbot.waitSignal(bridge.generation_finished, timeout=LOAD_TIMEOUT_MS) as done:  # type: ignore[attr-defined]
            bridge.generate(question, Sampling(2, 0.0, 1.0))
        result: p.Done = done.args[0]
        return result

    answer()
    assert answer().cached_prompt_tokens > 0  # the first one's cache was kept
    with qtbot.waitSignal(bridge.cache_freed, timeout=30_000) as freed:  # type: ignore[attr-defined]
        qtbot.mouseClick(picker.free_cache_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert freed.args[0] > 0
    assert picker.notice.isVisibleTo(dialog) and picker.notice.text().startswith("Freed ")
    assert "iB of kept KV caches" in picker.notice.text()
    assert answer().cached_prompt_tokens == 0  # prefilled everything again (and kept it)
    with qtbot.waitSignal(bridge.cache_freed, timeout=30_000) as freed:  # type: ignore[attr-defined]
        qtbot.mouseClick(picker.free_cache_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert freed.args[0] > 0
    with qtbot.waitSignal(bridge.cache_freed, timeout=30_000) as freed:  # type: ignore[attr-defined]
        qtbot.mouseClick(picker.free_cache_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert freed.args[0] == 0 and picker.notice.text() == "No KV cache was kept."
