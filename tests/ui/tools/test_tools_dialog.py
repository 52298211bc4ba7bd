"""The Tools dialog against real MCP servers: listing, enabling, policies, failures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.tools.config import ServerConfig
from app.tools.host import ToolHost
from app.tools.tool_settings import load_settings
from app.ui.tools.tools_dialog import SERVER_PAGE, TOOL_PAGE, ToolsDialog
from tests.tools.conftest import stdio_config
from tests.ui.tools.conftest import write_config

START_MS = 30_000


def _select_server(dialog: ToolsDialog, name: str) -> None:
    row = dialog.tree.server_row(name)
    assert row is not None
    dialog.tree.setCurrentItem(row)
    assert dialog.pages.currentIndex() == SERVER_PAGE


def _enable(qtbot: QtBot, dialog: ToolsDialog, name: str) -> None:
    _select_server(dialog, name)
    dialog.server_panel.enabled.click()
    assert dialog.server_panel.enabled.isChecked()


def _wait_for_tools(qtbot: QtBot, dialog: ToolsDialog, name: str) -> None:
    qtbot.waitUntil(lambda: dialog.tree.tool_row(name, "add") is not None, timeout=START_MS)


def _choose(box: object, policy: str) -> None:
    index = box.findData(policy)  # type: ignore[attr-defined]
    box.setCurrentIndex(index)  # type: ignore[attr-defined]
    box.activated.emit(index)  # type: ignore[attr-defined]


def test_a_new_server_shows_its_command_and_does_not_run_until_enabled(
    qtbot: QtBot, dialog: ToolsDialog, host: ToolHost
) -> None:
    _select_server(dialog, "local")
    assert sys.executable in dialog.server_panel.command.text()
    assert "mcp_test_server.py stdio" in dialog.server_panel.command.text()
    assert not dialog.server_panel.enabled.isChecked()
    assert dialog.server_panel.status.text().startswith("Not enabled")
    qtbot.wait(500)  # a few refreshes: still nothing runs
    assert host.state("local") is None
    assert dialog.tree.tool_row("local", "echo") is None

    _enable(qtbot, dialog, "local")
    _wait_for_tools(qtbot, dialog, "local")
    assert host.state("local").status == "ready"  # type: ignore[union-attr]
    assert dialog.server_panel.status.text().startswith("Running,")
    assert "ready with" in dialog.server_panel.log_view.toPlainText()
    assert load_settings(dialog.settings_path).is_enabled(stdio_config("local"))


def test_lists_a_real_servers_tools_with_description_and_schema(
    qtbot: QtBot, dialog: ToolsDialog
) -> None:
    _enable(qtbot, dialog, "local")
    _wait_for_tools(qtbot, dialog, "local")
    row = dialog.tree.server_row("local")
    assert row is not None
    names = {row.child(i).text(0) for i in range(row.childCount())}
    assert {"echo", "add", "red_square", "hang"} <= names
    dialog.tree.setCurrentItem(dialog.tree.tool_row("local", "add"))
    assert dialog.pages.currentIndex() == TOOL_PAGE
    assert dialog.tool_panel.description.text() == "Add two integers."
    schema = json.loads(dialog.tool_panel.schema.toPlainText())
    assert schema["required"] == ["a", "b"]
    assert schema["properties"]["a"]["type"] == "integer"
    assert "\n  " in dialog.tool_panel.schema.toPlainText()  # formatted, not one line


def test_tool_and_policy_choices_are_saved_and_change_what_is_offered(
    qtbot: QtBot, dialog: ToolsDialog
) -> None:
    _enable(qtbot, dialog, "local")
    _wait_for_tools(qtbot, dialog, "local")
    assert {"echo", "add"} <= set(dialog.catalog().names())
    _choose(dialog.server_panel.policy, "always")

    with qtbot.waitSignal(dialog.tools_changed, timeout=5000):
        dialog.tree.tool_row("local", "echo").setCheckState(0, Qt.CheckState.Unchecked)  # type: ignore[union-attr]
    dialog.tree.setCurrentItem(dialog.tree.tool_row("local", "add"))
    assert dialog.tool_panel.policy.currentText() == "As its server (always)"
    with qtbot.waitSignal(dialog.tools_changed, timeout=5000):
        _choose(dialog.tool_panel.policy, "never")
    dialog.tree.setCurrentItem(dialog.tree.tool_row("local", "pid"))
    _choose(dialog.tool_panel.policy, "ask")
    dialog.tool_panel.enabled.click()  # the panel's check box turns a tool off too
    assert dialog.tree.tool_row("local", "pid").checkState(0) == Qt.CheckState.Unchecked  # type: ignore[union-attr]

    saved = load_settings(dialog.settings_path)
    assert saved.servers["local"].policy == "always"
    assert saved.servers["local"].disabled_tools == {"echo", "pid"}
    assert saved.policy_for("local", "add") == "never"
    assert saved.policy_for("local", "pid") == "ask"
    assert saved.policy_for("local", "red_square") == "always"
    offered = set(dialog.catalog().names())
    assert "red_square" in offered and not {"echo", "add", "pid"} & offered

    dialog.tree.setCurrentItem(dialog.tree.tool_row("local", "add"))
    _choose(dialog.tool_panel.policy, "")  # back to the server's policy
    assert load_settings(dialog.settings_path).policy_for("local", "add") == "always"


def test_disabling_a_server_stops_it_and_is_saved(
    qtbot: QtBot, dialog: ToolsDialog, host: ToolHost
) -> None:
    _enable(qtbot, dialog, "local")
    _wait_for_tools(qtbot, dialog, "local")
    dialog.server_panel.enabled.click()
    qtbot.waitUntil(lambda: host.state("local") is None, timeout=START_MS)
    qtbot.waitUntil(lambda: dialog.tree.tool_row("local", "add") is None, timeout=5000)
    assert not load_settings(dialog.settings_path).is_enabled(stdio_config("local"))
    assert dialog.catalog().names() == []


def test_a_failing_server_shows_its_sentence_and_log(
    qtbot: QtBot, dialog: ToolsDialog, config_path: Path
) -> None:
    write_config(config_path, [ServerConfig("ghost", command="/nonexistent/mcp-server")])
    dialog.editor.load()
    assert dialog.editor.save()
    _enable(qtbot, dialog, "ghost")
    qtbot.waitUntil(lambda: "was not found" in dialog.server_panel.error.text(), timeout=START_MS)
    assert dialog.server_panel.error.isVisible()
    assert 'correct "command" in mcp.json' in dialog.server_panel.error.text()
    assert dialog.server_panel.status.text().startswith("Failed")
    qtbot.waitUntil(lambda: "failed:" in dialog.server_panel.log_view.toPlainText(), timeout=5000)
    assert "starting /nonexistent/mcp-server" in dialog.server_panel.log_view.toPlainText()
    row = dialog.tree.server_row("ghost")
    assert row is not None  # the list catches up at the dialog's next refresh
    qtbot.waitUntil(lambda: "was not found" in row.toolTip(1), timeout=5000)


def test_a_bad_edit_shows_the_line_and_is_not_saved(
    qtbot: QtBot, dialog: ToolsDialog, config_path: Path
) -> None:
    good = config_path.read_text(encoding="utf-8")
    dialog.tabs.setCurrentIndex(1)
    broken = good.replace('"args"', '"args" [', 1)  # a JSON syntax error on line 5
    dialog.editor.text.setPlainText(broken)
    dialog.editor.save_button.click()
    message = dialog.editor.message.text()
    assert message.startswith("Not saved: mcp.json, line 5")
    assert "not valid JSON" in message
    assert dialog.editor.text.textCursor().blockNumber() == 4
    assert config_path.read_text(encoding="utf-8") == good

    no_command = '{\n  "mcpServers": {\n    "x": {"cmd": "run"}\n  }\n}\n'
    dialog.editor.text.setPlainText(no_command)
    assert not dialog.editor.save()
    assert "line 3" in dialog.editor.message.text()
    assert 'needs a "command" or a "url" (unknown keys: cmd)' in dialog.editor.message.text()
    assert config_path.read_text(encoding="utf-8") == good
    assert [s.name for s in dialog.servers] == ["local"]


def test_a_server_added_in_the_editor_waits_and_a_changed_command_stops(
    qtbot: QtBot, dialog: ToolsDialog, config_path: Path, host: ToolHost
) -> None:
    _enable(qtbot, dialog, "local")
    _wait_for_tools(qtbot, dialog, "local")
    document = json.loads(config_path.read_text(encoding="utf-8"))
    document["mcpServers"]["second"] = dict(document["mcpServers"]["local"])
    dialog.editor.text.setPlainText(json.dumps(document, indent=2))
    dialog.editor.save_button.click()
    assert dialog.editor.message.text() == "Saved, 2 servers."
    assert json.loads(config_path.read_text(encoding="utf-8")) == document
    assert dialog.tree.server_row("second") is not None
    qtbot.wait(500)
    assert host.state("second") is None  # new: not started until enabled
    assert host.state("local").status == "ready"  # type: ignore[union-attr]

    document["mcpServers"]["local"]["args"].append("--changed")
    dialog.editor.text.setPlainText(json.dumps(document, indent=2))
    assert dialog.editor.save()
    qtbot.waitUntil(lambda: host.state("local") is None, timeout=START_MS)  # must be re-enabled
    _select_server(dialog, "local")
    assert "--changed" in dialog.server_panel.command.text()
    assert not dialog.server_panel.enabled.isChecked()


def test_without_a_host_the_dialog_makes_one_and_stops_it(
    qtbot: QtBot, config_path: Path, data_dir: Path
) -> None:
    tools = ToolsDialog(config_path)
    qtbot.addWidget(tools)
    try:
        with qtbot.waitSignal(tools.host_ready, timeout=START_MS):
            pass
        _enable(qtbot, tools, "local")
        _wait_for_tools(qtbot, tools, "local")
        host = tools.host
        assert host is not None
    finally:
        tools.shutdown()
    assert tools.host is None
    assert not host._thread.is_alive()


def test_ctrl_t_opens_the_tools_dialog_on_the_config_folders_mcp_json(
    qtbot: QtBot, unstarted_window: object, data_dir: Path
) -> None:
    from app.tools.config import default_config_path

    window = unstarted_window
    assert window.tools_action.shortcut().toString() == "Ctrl+T"  # type: ignore[attr-defined]
    window.tools_action.trigger()  # type: ignore[attr-defined]
    tools = window.tools_dialog  # type: ignore[attr-defined]
    assert tools is not None and tools.isVisible()
    assert tools.config_path == default_config_path()
    assert str(data_dir) in str(tools.config_path)
    qtbot.waitUntil(lambda: tools.host is not None, timeout=START_MS)  # made off the GUI thread
    assert window.open_tools_dialog() is tools  # type: ignore[attr-defined]


def test_a_streamable_http_server_is_listed_too(
    qtbot: QtBot, dialog: ToolsDialog, config_path: Path, http_server: str
) -> None:
    document = {"mcpServers": {"web": {"url": http_server, "headers": {"X-Key": "secret"}}}}
    dialog.editor.text.setPlainText(json.dumps(document, indent=2))
    assert dialog.editor.save()
    _select_server(dialog, "web")
    assert dialog.server_panel.command.text() == http_server  # the URL, not the header's value
    _enable(qtbot, dialog, "web")
    _wait_for_tools(qtbot, dialog, "web")
    assert "echo" in dialog.catalog().names()


def test_enabled_tools_reach_the_windows_context_meter(
    qtbot: QtBot, unstarted_window: object, data_dir: Path
) -> None:
    from app.tools.config import default_config_path
    from app.tools.tool_settings import ToolSettings, default_settings_path, save_settings

    path = default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_config(path, [stdio_config("local")])
    settings = ToolSettings()
    settings.set_enabled(stdio_config("local"), True)
    save_settings(settings, default_settings_path(path))
    window = unstarted_window
    composer = window.composer  # type: ignore[attr-defined]
    qtbot.keyClicks(composer.input, "Add 2 and 3.")
    qtbot.waitUntil(lambda: composer.context_meter.estimate is not None, timeout=60_000)
    assert composer.context_meter.estimate.tool_definition_tokens == 0
    window.tools_action.trigger()  # type: ignore[attr-defined]
    qtbot.waitUntil(
        lambda: (composer.context_meter.estimate.tool_definition_tokens or 0) > 0,
        timeout=START_MS,
    )
    assert "Tool definitions: " in composer.context_meter.label.toolTip()


def test_a_newer_settings_file_is_told_and_never_overwritten(
    qtbot: QtBot, config_path: Path, host: ToolHost
) -> None:
    settings_file = config_path.with_name("mcp-settings.json")
    newer = '{"format_version": 99, "servers": {}}\n'
    settings_file.write_text(newer, encoding="utf-8")
    tools = ToolsDialog(config_path, host)
    qtbot.addWidget(tools)
    tools.show()
    try:
        assert tools.banner.isVisible()
        assert "format version 99" in tools.banner.text()
        assert "not saved until it is fixed" in tools.banner.text()
        _enable(qtbot, tools, "local")
        _choose(tools.server_panel.policy, "always")
        assert settings_file.read_text(encoding="utf-8") == newer
    finally:
        tools.shutdown()
