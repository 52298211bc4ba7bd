"""Tools (Ctrl+T): the MCP servers of mcp.json, their tools, and the user's choices.

A server runs only once the user enabled it here, after seeing its command (an imported
or pasted config never starts anything by itself). Choices are saved at once, atomically,
in mcp-settings.json beside mcp.json. The servers run on the `ToolHost`'s own thread;
this dialog only starts them and reads their states on a timer, so the window never
waits for a server to start (stopping one, which does wait, runs on a pool thread).

In the window the dialog shows the window's `WindowTools` host: its choices are saved and
`WindowTools.reload` starts or stops the servers, so each server runs once, for the
dialog and the answers alike. Alone (its tests, no window) it makes a host of its own.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QThreadPool, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.storage.errors import StorageError
from app.tools.catalog import ToolCatalog
from app.tools.config import ConfigError, ServerConfig, default_config_path, load_config
from app.tools.tool_settings import (
    SettingsError,
    ToolSettings,
    default_settings_path,
    load_settings,
    save_settings,
)
from app.ui.background.pool_job import PoolJob
from app.ui.tools.config_editor import ConfigEditor
from app.ui.tools.policy_box import AS_SERVER
from app.ui.tools.server_panel import ServerPanel
from app.ui.tools.server_tree import ServerTree
from app.ui.tools.tool_panel import ToolPanel

if TYPE_CHECKING:  # the MCP SDK loads on a pool thread, with the host
    from app.tools.host import ToolHost
    from app.tools.server_runner import ServerState, ToolInfo
    from app.ui.tools.window_tools import WindowTools

log = logging.getLogger(__name__)

REFRESH_MS = 300
SERVERS_TAB, CONFIG_TAB = range(2)
NOTHING, SERVER_PAGE, TOOL_PAGE = range(3)


def _make_host(settings: ToolSettings) -> ToolHost:
    from app.tools.host import ToolHost  # imports the MCP SDK: half a second

    return ToolHost(settings.call_timeout_s, settings.result_limit)


class ToolsDialog(QDialog):
    """Lists servers and tools, enables them, sets policies, edits mcp.json.

    Pass the window's `WindowTools` to show and control its servers, or a `ToolHost` to
    share; without either the dialog makes its own host (on a pool thread) and `shutdown`
    stops it with every server.
    """

    tools_changed = Signal()  # what the model is offered may differ: see `catalog()`
    host_ready = Signal()

    def __init__(
        self,
        config_path: Path | None = None,
        host: ToolHost | None = None,
        parent: QWidget | None = None,
        tools: WindowTools | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Tools")
        self.setAccessibleName("Tools")
        self.resize(900, 600)
        self.config_path = config_path or default_config_path()
        self.settings_path = default_settings_path(self.config_path)
        self._tools = tools
        self.host = tools.host if tools is not None else host
        self._owns_host = tools is None and host is None
        self._pool = QThreadPool(self)
        self._jobs: list[PoolJob] = []
        self._stopping: set[str] = set()
        self._offered: tuple[str, ...] = ()
        self._made: ToolHost | None = None  # set on the pool thread, before the signal
        self._selected: tuple[str, str] | None = None
        self.servers: list[ServerConfig] = []
        self.settings = ToolSettings()
        self._can_save = True

        self.banner = QLabel(self)
        self.banner.setObjectName("toolsBanner")
        self.banner.setAccessibleName("Tools notice")
        self.banner.setWordWrap(True)
        self.banner.hide()
        self.tree = ServerTree(self)
        self.server_panel = ServerPanel(self)
        self.tool_panel = ToolPanel(self)
        hint = QLabel("Choose a server to see what it runs, or a tool to see its schema.", self)
        hint.setWordWrap(True)
        self.pages = QStackedWidget(self)
        for page in (hint, self.server_panel, self.tool_panel):
            self.pages.addWidget(page)
        splitter = QSplitter(self)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([380, 520])  # room for a server's state beside the tool names
        self.editor = ConfigEditor(self.config_path, self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(splitter, "Servers")
        self.tabs.addTab(self.editor, "mcp.json")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.hide)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)

        self.tree.server_selected.connect(self._on_server_selected)
        self.tree.tool_selected.connect(self._on_tool_selected)
        self.tree.tool_toggled.connect(self._on_tool_toggled)
        self.server_panel.enabled_toggled.connect(self._on_server_enabled_toggled)
        self.server_panel.policy_chosen.connect(self._on_server_policy_chosen)
        self.tool_panel.enabled_toggled.connect(self._on_tool_enabled_toggled)
        self.tool_panel.policy_chosen.connect(self._on_tool_policy_chosen)
        self.editor.config_saved.connect(self._on_config_saved)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

        self._load()
        if tools is not None:
            tools.host_changed.connect(self._on_window_host_changed)
            self._start_enabled()
        elif self.host is None:
            job = PoolJob(self._make_host)
            job.signals.succeeded.connect(self._on_host_made)
            self._run(job)
        else:
            self._start_enabled()
        self.timer.start()

    # ------------------------------------------------------------ files
    def _load(self) -> None:
        problems = []
        try:
            self.settings = load_settings(self.settings_path)
        except SettingsError as exc:
            self._can_save = False
            problems.append(f"{exc} Changes made here are not saved until it is fixed.")
        try:
            self.servers = load_config(self.config_path)
        except ConfigError as exc:
            problems.append(f"{exc} Correct it in the mcp.json tab.")
            self.tabs.setCurrentIndex(CONFIG_TAB)
        self.editor.load()
        self._say(" ".join(problems))
        self.refresh()

    def _save(self) -> None:
        if not self._can_save:
            return
        try:
            save_settings(self.settings, self.settings_path)
        except StorageError as exc:
            self._say(f"{exc} The change holds until the app closes.")
        self.refresh()

    def _say(self, text: str) -> None:
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    # ------------------------------------------------------------ servers
    def _config(self, name: str) -> ServerConfig | None:
        return next((server for server in self.servers if server.name == name), None)

    def _state(self, name: str) -> ServerState | None:
        return self.host.state(name) if self.host is not None else None

    def _run(self, job: PoolJob) -> None:
        if self._pool.activeThreadCount() == 0:
            self._jobs.clear()
        self._jobs.append(job)
        job.start_on(self._pool)

    def _make_host(self, _job: PoolJob) -> ToolHost:
        self._made = _make_host(self.settings)
        return self._made

    def _on_host_made(self, _key: object, host: ToolHost) -> None:
        self.host = host
        self._start_enabled()
        self.host_ready.emit()

    def _on_window_host_changed(self) -> None:
        if self._tools is not None:
            self.host = self._tools.host
            self.refresh()

    def _start_enabled(self) -> None:
        if self._tools is not None:  # the window's host runs what the settings enable
            self._tools.reload()
            self.refresh()
            return
        if self.host is None:
            return
        chosen = [s for s in self.servers if self.settings.is_enabled(s)]
        self.host.start(s for s in chosen if s.name not in self._stopping)
        self.refresh()

    def _stop(self, name: str) -> None:
        if self._tools is not None:  # the settings no longer enable it: the window stops it
            self._tools.reload()
            return
        host = self.host
        if host is None or host.state(name) is None or name in self._stopping:
            return
        self._stopping.add(name)
        job = PoolJob(lambda _job: host.stop_server(name), key=name)
        job.signals.succeeded.connect(self._on_server_stopped)
        self._run(job)

    def _on_server_stopped(self, name: str, _result: object) -> None:
        self._stopping.discard(name)
        self._start_enabled()  # enabled again while it stopped, or changed in mcp.json

    def catalog(self) -> ToolCatalog:
        """The tools the model is offered now: of running servers, enabled, not "never"."""
        return ToolCatalog(self.host.tools() if self.host else [], self.settings)

    # ------------------------------------------------------------ showing
    def refresh(self) -> None:
        """Show the servers' states as they are now (the timer calls this)."""
        states = {s.name: st for s in self.servers if (st := self._state(s.name)) is not None}
        self.tree.show_servers(self.servers, self.settings, states)
        if self._selected is not None and self.pages.currentIndex() == SERVER_PAGE:
            config = self._config(self._selected[0])
            if config is not None:
                enabled = self.settings.is_enabled(config)
                self.server_panel.show_state(enabled, states.get(config.name))
        offered = tuple(self.catalog().names())
        if offered != self._offered:
            self._offered = offered
            self.tools_changed.emit()

    def _on_server_selected(self, name: str) -> None:
        config = self._config(name)
        if config is None:
            return
        self._selected = (name, "")
        self.server_panel.show_server(config, self.settings, self._state(name))
        self.pages.setCurrentIndex(SERVER_PAGE)

    def _tool(self, server: str, tool: str) -> ToolInfo | None:
        state = self._state(server)
        tools = state.tools if state is not None else []
        return next((t for t in tools if t.name == tool), None)

    def _on_tool_selected(self, server: str, tool: str) -> None:
        info = self._tool(server, tool)
        if info is None:
            return
        self._selected = (server, tool)
        self.tool_panel.show_tool(info, self.settings)
        self.pages.setCurrentIndex(TOOL_PAGE)

    # ------------------------------------------------------------ choices
    def _on_server_enabled_toggled(self, enabled: bool) -> None:
        config = self._config(self._selected[0]) if self._selected else None
        if config is None:
            return
        self.settings.set_enabled(config, enabled)
        self._save()
        if enabled:
            self._start_enabled()
        else:
            self._stop(config.name)
        self.server_panel.show_state(enabled, self._state(config.name))

    def _on_server_policy_chosen(self, policy: str) -> None:
        if self._selected is not None:
            self.settings.set_policy(self._selected[0], policy)
            self._save()

    def _on_tool_toggled(self, server: str, tool: str, enabled: bool) -> None:
        self.settings.set_tool_enabled(server, tool, enabled)
        self._save()
        if self._selected == (server, tool):
            info = self._tool(server, tool)
            if info is not None:
                self.tool_panel.show_tool(info, self.settings)

    def _on_tool_enabled_toggled(self, enabled: bool) -> None:
        if self._selected is not None and self._selected[1]:
            self._on_tool_toggled(*self._selected, enabled)

    def _on_tool_policy_chosen(self, policy: str) -> None:
        if self._selected is None or not self._selected[1]:
            return
        server, tool = self._selected
        if policy == AS_SERVER:
            entry = self.settings.servers.get(server)
            if entry is not None:
                entry.tool_policies.pop(tool, None)
        else:
            self.settings.set_policy(server, policy, tool)
        self._save()

    def _on_config_saved(self, servers: list[ServerConfig]) -> None:
        self.servers = servers
        self._say("")
        # A server gone from mcp.json, or whose command changed, stops (it must be enabled
        # again); one that is new waits to be enabled.
        keep = {s.name for s in servers if self.settings.is_enabled(s)}
        running = [state.name for state in self.host.states()] if self.host else []
        for name in running:
            if name not in keep:
                self._stop(name)
        self.refresh()
        selected = self._selected
        if selected is not None and self._config(selected[0]) is None:
            self._selected = None
            self.pages.setCurrentIndex(NOTHING)
        elif selected is not None and not selected[1]:
            self._on_server_selected(selected[0])  # what it runs may have changed

    # ------------------------------------------------------------ ending
    def shutdown(self) -> None:
        """Stop the timer and, if the dialog made the host, every server it runs."""
        self.timer.stop()
        if self._tools is not None:
            self._tools.host_changed.disconnect(self._on_window_host_changed)
        self._pool.waitForDone()
        host = self.host or self._made
        if self._owns_host and host is not None:
            host.close()
            self.host = self._made = None
