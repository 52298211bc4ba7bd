"""What the model sees, shown before sending: chip grids and costs, the context meter."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap

from app.documents.context import ContextMeter, MeterTurn
from app.documents.quick_actions import DEFAULT_QUICK_ACTIONS
from app.documents.tiling import ProcessorSettings, tile_grid
from app.ui.bridge.bridge import WorkerBridge
from app.ui.composer.tile_overlay import GRID_COLOUR, with_tile_grid
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.workers import protocol as p
from tests.ui.conftest import LOAD_TIMEOUT_MS, _close
from tests.ui.drag_and_drop import drop_files


def test_chip_shows_the_grid_and_cost_the_tiling_module_works_out(
    unstarted_window: MainWindow, images: dict[str, Path], demo_bf16: Path
) -> None:
    settings = ProcessorSettings.from_checkpoint(demo_bf16)
    drop_files(unstarted_window, [images["wide"], images["tall"]], over=unstarted_window.composer)
    wide, tall = unstarted_window.composer.chips()
    for chip, size in ((wide, (640, 360)), (tall, (150, 500))):
        expected = tile_grid(*size, settings)
        assert chip.grid == expected
        assert chip.cost_text == expected.label()
        assert f"{expected.image_tokens:,} tokens" in chip.toolTip()
    # 640×360 on the demo's 112 px tiles is several tiles plus the global view.
    assert wide.grid.has_global_view and "+ global view" in wide.cost_text


def test_the_overlay_outlines_each_tile_in_the_thumbnail() -> None:
    grid = tile_grid(1000, 1000, ProcessorSettings(tile_size=500, max_patches=4))
    assert (grid.rows, grid.cols) == (2, 2)
    blank = QPixmap(100, 100)
    blank.fill(QColor("white"))
    image = with_tile_grid(blank, grid).toImage()
    assert image.pixelColor(50, 20) == GRID_COLOUR  # the line between the two columns
    assert image.pixelColor(20, 50) == GRID_COLOUR  # between the two rows
    assert image.pixelColor(25, 25) == QColor("white")  # inside a tile


def test_context_meter_counts_text_images_and_history_before_sending(
    qtbot: object, unstarted_window: MainWindow, images: dict[str, Path], demo_bf16: Path
) -> None:
    composer = unstarted_window.composer
    meter = ContextMeter(demo_bf16)
    answer_tokens = unstarted_window.settings_panel.values().max_new_tokens
    qtbot.keyClicks(composer.input, "How many bars are there?")  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: composer.context_meter.estimate is not None)  # type: ignore[attr-defined]
    first = composer.context_meter.estimate
    assert first is not None
    expected = meter.estimate([MeterTurn("user", "How many bars are there?")], answer_tokens)
    assert first == expected and first.image_tokens == 0
    shown = composer.context_meter.label.text()
    assert f"{first.total:,} / {first.context_length:,} tokens" in shown

    drop_files(unstarted_window, [images["wide"]], over=composer)
    [chip] = composer.chips()
    qtbot.waitUntil(lambda: composer.context_meter.estimate != first)  # type: ignore[attr-defined]
    with_image = composer.context_meter.estimate
    assert with_image is not None
    assert with_image.image_tokens == chip.grid.image_tokens and with_image.image_count == 1

    # Earlier messages count too.
    history = [p.ChatTurn("user", "Hello there", []), p.ChatTurn("assistant", "Hi! Ask away.")]
    composer.set_history(history, answer_tokens)
    composer.refresh_context()
    later = composer.context_meter.estimate
    assert later is not None and later.text_tokens > with_image.text_tokens


def test_a_request_past_the_context_is_not_sent(
    qtbot: object, unstarted_window: MainWindow
) -> None:
    composer = unstarted_window.composer
    qtbot.waitUntil(lambda: composer.context_meter.meter is not None)  # type: ignore[attr-defined]
    composer.input.setPlainText("Describe it.")
    composer.refresh_context()
    estimate = composer.context_meter.estimate
    assert estimate is not None and estimate.fits and estimate.context_length > 0
    composer.set_history([], estimate.context_length)  # no room left for the question
    with qtbot.assertNotEmitted(composer.send_requested):  # type: ignore[attr-defined]
        qtbot.mouseClick(composer.send_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert "more than the model's context" in composer.notice.text()
    assert "over the limit" in composer.context_meter.label.text()
    assert composer.text() == "Describe it."  # nothing lost


def test_quick_actions_appear_with_an_attachment_and_fill_the_prompt(
    qtbot: object, unstarted_window: MainWindow, images: dict[str, Path]
) -> None:
    composer = unstarted_window.composer
    assert not composer.quick_actions.isVisibleTo(composer)
    drop_files(unstarted_window, [images["wide"]], over=composer)
    assert composer.quick_actions.isVisibleTo(composer)
    titles = [button.text() for button in composer.quick_actions.buttons]
    assert titles == [action.title for action in DEFAULT_QUICK_ACTIONS]
    chart = DEFAULT_QUICK_ACTIONS[2]
    qtbot.mouseClick(composer.quick_actions.buttons[2], Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
    assert composer.text() == chart.prompt and composer.send_button.isEnabled()
    with qtbot.waitSignal(composer.send_requested) as sent:  # type: ignore[attr-defined]
        qtbot.keyClick(composer.input, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert sent.args == [chart.prompt, [str(images["wide"].resolve())]]


def test_the_meter_counts_once_a_demo_written_after_the_window_opened_is_ready(
    qtbot: object, data_dir: Path
) -> None:
    # A first launch: the demo checkpoint does not exist until the worker writes it.
    folder = data_dir / "demo-checkpoint" / "bf16"
    window = MainWindow(
        WorkerBridge(folder, create_demo_if_missing=True), SettingsStore(data_dir / "s.ini")
    )
    window.show()
    try:
        meter = window.composer.context_meter
        qtbot.waitUntil(lambda: "unknown" in meter.label.text(), timeout=10_000)  # type: ignore[attr-defined]
        assert meter.estimate is None
        with qtbot.waitSignal(window.bridge.model_ready, timeout=LOAD_TIMEOUT_MS):  # type: ignore[attr-defined]
            window.bridge.start()
        qtbot.keyClicks(window.composer.input, "How many bars?")  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: meter.estimate is not None, timeout=20_000)  # type: ignore[attr-defined]
        assert "tokens" in meter.label.text()
    finally:
        _close(window)
