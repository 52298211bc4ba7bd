"""The context meter's parts: they add up to the total; enabled tools' definitions count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.documents.context import ContextMeter, MeterTurn
from app.documents.tiling import ProcessorSettings, tile_grid
from app.tools.catalog import ToolCatalog
from app.tools.host import ToolHost
from app.tools.tool_settings import ToolSettings
from app.ui.composer.context_meter_view import ContextMeterView
from app.workers import protocol as p
from tests.tools.conftest import stdio_config


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ToolHost]:
    with ToolHost(logs=tmp_path / "logs", ping_interval_s=0.3) as tool_host:
        tool_host.start([stdio_config("local")])
        assert tool_host.wait_ready(30)
        yield tool_host


def test_parts_add_up_and_tool_definitions_grow_with_enabled_tools(
    qtbot: QtBot, demo_bf16: Path, host: ToolHost, images: dict[str, Path]
) -> None:
    view = ContextMeterView()
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.meter_loaded, timeout=60_000):
        view.set_model_folder(demo_bf16, ProcessorSettings.from_checkpoint(demo_bf16))
    history = [
        p.ChatTurn("user", "What is 2 + 2?"),
        p.ChatTurn("assistant", "", tool_calls=[{"name": "add", "arguments": {"a": 2, "b": 2}}]),
        p.ChatTurn("tool", "4", [str(images["wide"])], tool_call_id="call-1"),
        p.ChatTurn("assistant", "It is 4."),
    ]
    view.set_history(history, answer_tokens=64)
    grid = tile_grid(150, 500, view.settings)
    plain = view.update_request("And 3 + 3?", [grid])
    assert plain is not None
    assert sum(tokens for _, tokens in plain.parts()) == plain.total
    parts = dict(plain.parts())
    assert parts["Tool definitions"] == 0
    assert parts["Tool results"] > 0 and parts["Earlier messages"] > 0
    assert parts["Your text"] > 0 and parts["Room for the answer"] == 64
    assert parts["Images"] == plain.image_tokens > grid.image_tokens  # the tool's image too
    assert "Tool results: " in view.label.toolTip() and "Total: " in view.label.toolTip()

    settings = ToolSettings()
    settings.set_tool_enabled("local", "big", False)
    some = ToolCatalog(host.tools(), settings).definitions()
    view.set_tools(some)
    fewer = view.update_request("And 3 + 3?", [grid])
    view.set_tools(ToolCatalog(host.tools()).definitions())
    every = view.update_request("And 3 + 3?", [grid])
    assert fewer is not None and every is not None
    assert 0 < fewer.tool_definition_tokens < every.tool_definition_tokens
    assert every.total - plain.total == every.tool_definition_tokens
    assert sum(tokens for _, tokens in every.parts()) == every.total
    assert f"Tool definitions: {every.tool_definition_tokens:,}" in view.label.toolTip()
    view.shutdown()


def test_tool_part_is_the_difference_with_and_without_definitions(
    demo_bf16: Path, host: ToolHost
) -> None:
    """As the worker counts Done.tool_tokens: the prompt with the definitions minus without."""
    meter = ContextMeter(demo_bf16)
    tools = ToolCatalog(host.tools()).definitions()
    turns = [MeterTurn("user", "Add 2 and 2.")]
    with_tools = meter.estimate(turns, tools=tools)
    without = meter.estimate(turns)
    assert with_tools.tool_definition_tokens == with_tools.text_tokens - without.text_tokens
    assert with_tools.your_text_tokens == without.your_text_tokens
