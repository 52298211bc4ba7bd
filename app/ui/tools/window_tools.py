"""The window's tools: one `ToolHost` for the enabled servers, and answers that use them.

Reads `mcp.json` and the tool settings beside it; starts a host for the enabled servers
(none: tools are off, and answers go straight to the bridge). When either file changes
(the Tools dialog saves them, or the user edits mcp.json) the settings are read again and
the enabled servers are started and stopped to match, after the answer in progress (the
host itself is made again only when its call timeout or result limit changed). The Tools
dialog shows and controls this same host, so each server runs once. The host stops, and
the folder of the tools' images is removed, when the window closes.

Whenever what the model would be offered changes (a server became ready, failed or
stopped; a tool was enabled or disabled) `tools_offered` carries the definitions, so the
context meter counts them from start-up on. The host tells of its servers' changes from its
own thread; a queued signal brings that to the GUI thread (no polling).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QFileSystemWatcher, QObject, QThreadPool, QTimer, Signal

from app.tools.catalog import ToolCatalog
from app.tools.config import ConfigError, ServerConfig, default_config_path, load_config
from app.tools.tool_settings import (
    SettingsError,
    ToolSettings,
    default_settings_path,
    load_settings,
    save_settings,
)
from app.ui.bridge.bridge import WorkerBridge
from app.ui.tools.tool_answer import ToolAnswer
from app.ui.transcript.assistant_message_view import AssistantMessageView
from app.workers import protocol as p

if TYPE_CHECKING:  # the MCP SDK (half a second) loads when a server is first enabled
    from app.tools.host import ToolHost
    from app.tools.server_runner import ServerState

log = logging.getLogger(__name__)

RELOAD_DELAY_MS = 300  # a save is a rename and a write or two: read once it settled


class WindowTools(QObject):
    """Tools for the window's answers: `active` says whether an answer should use them."""

    host_changed = Signal()  # the host was (re)started or stopped, or its servers changed
    answer_started = Signal(object)  # ToolAnswer
    tools_offered = Signal(list)  # the definitions the model is offered now
    _server_changed = Signal()  # from the host's thread: a server's status changed

    def __init__(
        self,
        bridge: WorkerBridge,
        config_path: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bridge = bridge
        self.config_path = config_path or default_config_path()
        self.settings_path = default_settings_path(self.config_path)
        self.settings = ToolSettings()
        self.problem: str | None = None  # why mcp.json or the settings cannot be used
        self.host: ToolHost | None = None
        self._running_key: tuple[Any, ...] = ()
        self.answer: ToolAnswer | None = None
        self._offered: list[dict[str, Any]] = []
        self._server_changed.connect(self._offer)  # queued: emitted on the host's thread
        self._reload_waiting = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # closing a host
        self._image_dir: Path | None = None  # made for the first answer with tools
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_file_changed)
        self._watcher.directoryChanged.connect(self._on_file_changed)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DELAY_MS)
        self._reload_timer.timeout.connect(self.reload)
        self.reload()

    # ------------------------------------------------------------ state
    @property
    def active(self) -> bool:
        """Whether a server is enabled (an answer then goes through the tool loop)."""
        return self.host is not None

    @property
    def image_dir(self) -> Path | None:
        """Where the tools' images are written (removed when the window closes)."""
        return self._image_dir

    def offered(self) -> list[dict[str, Any]]:
        """The definitions of the tools the model is offered: enabled, of ready servers."""
        return ToolCatalog(self.host.tools(), self.settings).definitions() if self.host else []

    def _offer(self) -> None:
        offered = self.offered()
        if offered != self._offered:
            self._offered = offered
            self.tools_offered.emit(offered)

    def _on_server_state(self, _state: ServerState) -> None:
        self._server_changed.emit()  # runs on the host's thread: only a signal crosses

    def owns(self, request_id: str | None) -> bool:
        return self.answer is not None and self.answer.request_id == request_id

    # ------------------------------------------------------------ answers
    def answer_for(
        self, view: AssistantMessageView, deliver: Callable[[p.Message], None], image_limit: int
    ) -> ToolAnswer:
        """The session's strategy for an answer through the tool loop, drawn into `view`.

        `deliver` takes its events (the session's `handle`); `image_limit`: how many
        images the request may carry, tool images included.
        """
        assert self.host is not None, "answers with tools are for when tools are active"
        if self._image_dir is None:
            self._image_dir = Path(tempfile.mkdtemp(prefix="maverick-tool-images-"))
        answer = ToolAnswer(
            self._bridge, self.host, self.settings, self._save, view, deliver,
            self._image_dir, image_limit, self,
        )  # fmt: skip
        answer.ended.connect(self._on_answer_ended)
        self.answer = answer
        self.answer_started.emit(answer)
        return answer

    def _on_answer_ended(self) -> None:
        answer = self.sender()
        if answer is self.answer:
            self.answer = None
        if isinstance(answer, ToolAnswer):
            answer.deleteLater()
        if self._reload_waiting:
            self.reload()

    def _save(self, settings: ToolSettings) -> None:
        try:
            save_settings(settings, self.settings_path)
        except OSError as exc:
            log.warning("saving the tool settings failed: %s", exc)

    # ------------------------------------------------------------ settings and host
    def reload(self) -> None:
        """Read mcp.json and the settings again; restart the host if what runs changed."""
        if self.answer is not None:  # not under a running answer: after it
            self._reload_waiting = True
            return
        self._reload_waiting = False
        self._watch()
        try:
            servers = load_config(self.config_path) if self.config_path.exists() else []
            settings = load_settings(self.settings_path)
        except (ConfigError, SettingsError) as exc:
            self.problem = str(exc)
            log.warning("tools are off: %s", exc)
            self._stop_host()
            self._offer()
            return
        self.problem = None
        self.settings = settings
        enabled = [server for server in servers if settings.is_enabled(server)]
        key = _host_key(enabled, settings)
        if self.host is not None and key == self._running_key:
            self._offer()  # a tool enabled or disabled, a policy changed
            return
        if self.host is not None and enabled and key[1:] == self._running_key[1:]:
            self._change_servers(enabled)  # the servers that stay keep running
            self._running_key = key
            self.host_changed.emit()
            self._offer()
            return
        self._stop_host()
        if enabled:
            from app.tools.host import ToolHost

            self.host = ToolHost(
                settings.call_timeout_s, settings.result_limit, on_change=self._on_server_state
            )
            self.host.start(enabled)
            self._running_key = key
        self.host_changed.emit()
        self._offer()

    def _change_servers(self, enabled: list[ServerConfig]) -> None:
        assert self.host is not None
        wanted = {server.name: server.fingerprint() for server in enabled}
        for name, fingerprint in self._running_key[0]:
            if wanted.get(name) != fingerprint:  # disabled, or what it runs changed
                self.host.stop_server(name, wait=False)  # ends on the host's thread
        self.host.start(enabled)  # those not running yet

    def _stop_host(self, wait: bool = False) -> None:
        """Forget the host; it closes on a pool thread, or here with `wait`.

        Waiting for its servers' process groups took most of a second on the GUI thread.
        """
        host, self.host, self._running_key = self.host, None, ()
        if host is not None:
            if wait:
                host.close()
            else:
                self._pool.start(host.close)
            self.host_changed.emit()

    def _watch(self) -> None:
        folder = self.config_path.parent
        paths = [str(p) for p in (self.config_path, self.settings_path) if p.exists()]
        paths += [str(folder)] if folder.is_dir() else []
        stale = set(self._watcher.files() + self._watcher.directories()) - set(paths)
        if stale:
            self._watcher.removePaths(list(stale))
        missing = set(paths) - set(self._watcher.files() + self._watcher.directories())
        if missing:
            self._watcher.addPaths(list(missing))

    def _on_file_changed(self, path: str) -> None:
        self._reload_timer.start()

    def close(self) -> None:
        """Stop the answer in progress and the servers; remove the tools' images."""
        self._reload_timer.stop()
        if self.answer is not None:
            self.answer.abandoned = True
            self.answer.stop()
            self.answer.join(15.0)
        self._pool.waitForDone(15_000)
        self._stop_host(wait=True)
        if self._image_dir is not None:
            shutil.rmtree(self._image_dir, ignore_errors=True)
            self._image_dir = None


def _host_key(enabled: list[ServerConfig], settings: ToolSettings) -> tuple[Any, ...]:
    servers = tuple(sorted((s.name, s.fingerprint()) for s in enabled))
    return servers, settings.call_timeout_s, settings.result_limit
