"""Download a model (Model and engine → Local models → Download…).

A repository id (the Maverick FP8 preset, or any typed), the folder it goes to, the
files and sizes read from the hub, per-file and total progress with speed and time
left, and Pause, Resume and Cancel. The work runs in `DownloadRunner`, off the UI
thread; a paused, failed or interrupted download continues from its partial files.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.checkpoints.checkpoint import human_bytes
from app.downloads.hub import token_from_env
from app.downloads.plan import DEFAULT_TOKEN_ENV, PRESETS, DownloadPlan, default_target
from app.downloads.progress import CHECKED, CHECKING, FINISHED, Progress
from app.downloads.transfer import has_partials
from app.ui.engine.download_runner import DownloadRunner

_STEPS = 1000  # progress bars count in thousandths


class DownloadDialog(QDialog):
    """Fetches a checkpoint from the hub; emits `model_downloaded` with its folder."""

    model_downloaded = Signal(object)  # Path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download a model")
        self.setAccessibleName("Download a model")
        self.resize(760, 560)
        self.runner = DownloadRunner(self)
        self._items: dict[str, QTreeWidgetItem] = {}
        self._folder_edited = False
        self._listing = False  # the run in hand only reads the file list
        self._active: dict[str, Progress] = {}  # files being fetched or checked now

        self.repo = QComboBox(self)
        self.repo.setEditable(True)
        self.repo.addItems(PRESETS)
        self.repo.setAccessibleName("Repository to download (owner/name)")
        self.repo.currentTextChanged.connect(self._on_repo_changed)
        self.revision = QLineEdit("main", self)
        self.revision.setAccessibleName("Branch, tag or commit")
        self.folder = QLineEdit(self)
        self.folder.setAccessibleName("Folder to download into")
        self.folder.textEdited.connect(self._on_folder_edited)
        choose = QPushButton("Choose…", self)
        choose.clicked.connect(self._on_choose_clicked)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(choose)
        self.token_note = QLabel(self)
        self.token_note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Repository", self.repo)
        form.addRow("Revision", self.revision)
        form.addRow("Folder", folder_row)
        form.addRow("Token", self.token_note)

        self.files = QTreeWidget(self)
        self.files.setAccessibleName("Files of the repository")
        self.files.setHeaderLabels(["File", "Size", "Done"])
        self.files.setRootIsDecorated(False)
        self.files.setUniformRowHeights(True)
        header = self.files.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.total_bar = _bar(self, "Downloaded in total")
        self.file_bar = _bar(self, "Downloaded of the current file")
        self.total_label = QLabel(self)
        self.total_label.setAccessibleName("Total, speed and time left")
        self.file_label = QLabel(self)
        self.notice = QLabel(self)
        self.notice.setAccessibleName("Download notice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.list_button = QPushButton("List files", self)
        self.list_button.clicked.connect(self._on_list_clicked)
        self.download_button = QPushButton("Download", self)
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self._on_download_clicked)
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.clicked.connect(self.runner.pause)
        self.resume_button = QPushButton("Resume", self)
        self.resume_button.clicked.connect(self._on_download_clicked)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop and delete the partial files (finished files stay)")
        self.cancel_button.clicked.connect(self.runner.cancel)
        close = QPushButton("Close", self)
        close.setToolTip("Close this window; a running download goes on")
        close.clicked.connect(self.hide)
        buttons = QHBoxLayout()
        for button in (self.list_button, self.download_button, self.pause_button):
            buttons.addWidget(button)
        buttons.addWidget(self.resume_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.files, 1)
        layout.addWidget(self.total_label)
        layout.addWidget(self.total_bar)
        layout.addWidget(self.file_label)
        layout.addWidget(self.file_bar)
        layout.addWidget(self.notice)
        layout.addLayout(buttons)

        self.runner.plan_read.connect(self._on_plan_read)
        self.runner.progress_made.connect(self._on_progress_made)
        self.runner.download_finished.connect(self._on_download_finished)
        self.runner.download_paused.connect(self._on_download_paused)
        self.runner.download_cancelled.connect(self._on_download_cancelled)
        self.runner.download_failed.connect(self._on_download_failed)
        self._on_repo_changed(self.repo.currentText())
        self._set_state("idle")

    # ------------------------------------------------------------ public
    def repo_id(self) -> str:
        return self.repo.currentText().strip()

    def target(self) -> Path | None:
        text = self.folder.text().strip()
        return Path(text).expanduser() if text else None

    def shutdown(self) -> None:
        """Pause a running download and wait for it (the window closes)."""
        self.runner.shutdown()

    # ------------------------------------------------------------ internals
    def _set_state(self, state: str) -> None:
        """idle, running or paused: which buttons can be pressed."""
        running = state == "running"
        for widget in (self.repo, self.revision, self.folder, self.list_button):
            widget.setEnabled(not running)
        self.download_button.setEnabled(state == "idle")
        self.pause_button.setEnabled(running)
        self.resume_button.setEnabled(state == "paused")
        self.cancel_button.setEnabled(state != "idle")
        token = "is set" if token_from_env(DEFAULT_TOKEN_ENV) else "is not set"
        self.token_note.setText(
            f"Read from the environment variable {DEFAULT_TOKEN_ENV}, which {token}; never "
            "stored. Gated models (Llama 4) need one from an account that accepted the licence."
        )

    def _say(self, text: str, error: bool = False) -> None:
        self.notice.setStyleSheet("color: #b42318;" if error else "")
        self.notice.setText(text)

    def _start(self, read_only: bool) -> None:
        self._active.clear()
        if not self.repo_id():
            self._say("Type a repository id (owner/name) first.", error=True)
            return
        self._say("Reading the file list from the hub…")
        revision = self.revision.text().strip() or "main"
        if self.runner.start(self.repo_id(), revision, self.target(), read_only=read_only):
            self._listing = read_only
            self._set_state("running")

    def _on_list_clicked(self) -> None:
        self._start(read_only=True)

    def _on_download_clicked(self) -> None:
        self._start(read_only=False)

    def _on_repo_changed(self, text: str) -> None:
        if self._folder_edited or not text.strip():
            return
        folder = default_target(text.strip())
        self.folder.setText(str(folder))
        if has_partials(folder):
            self._say(f"An unfinished download is in {folder}: Download continues it.")

    def _on_folder_edited(self, _text: str) -> None:
        self._folder_edited = True

    def _on_choose_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Download into")
        if folder:
            self.folder.setText(folder)
            self._folder_edited = True

    def _on_plan_read(self, plan: DownloadPlan) -> None:
        self.files.clear()
        self._items = {}
        for file in plan.files:
            present = plan.bytes_present(file)
            done = "✓" if plan.is_done(file) else f"{present / file.size:.0%}" if present else ""
            item = QTreeWidgetItem([file.name, human_bytes(file.size), done])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            self.files.addTopLevelItem(item)
            self._items[file.name] = item
        missing = plan.bytes_missing()
        have = plan.total_bytes - missing
        self.total_bar.setValue(int(_STEPS * have / plan.total_bytes) if plan.total_bytes else 0)
        self.total_label.setText(
            f"{len(plan.files)} files, {human_bytes(plan.total_bytes)}"
            + (f"; {human_bytes(have)} already here" if have else "")
            + (f"; {len(plan.skipped)} unused files skipped" if plan.skipped else "")
            + f" · into {plan.target}"
        )
        if self._listing:
            partial = has_partials(plan.target)
            self._set_state("paused" if partial else "idle")
            self._say("Resume continues the download." if partial else "Download starts it.")
        else:
            self._say("Checking the free disk space, then downloading…")

    def _on_progress_made(self, progress: Progress) -> None:
        self.total_bar.setValue(int(_STEPS * progress.fraction))
        files = f"{progress.files_done} of {progress.files_total} files done"
        self.total_label.setText(f"{progress.summary()} · {files}")
        checked = progress.stage in (CHECKED, FINISHED)
        if checked:
            self._active.pop(progress.file, None)
        else:
            self._active[progress.file] = progress
        item = self._items.get(progress.file)
        if item is not None:
            item.setText(2, "✓" if checked else f"{progress.file_fraction:.0%}")
        # The bar follows the first file in hand (files go several at once; the list shows each).
        shown = next((self._active[n] for n in self._items if n in self._active), None)
        if shown is not None:
            self.file_bar.setValue(int(_STEPS * shown.file_fraction))
            doing = "checking" if shown.stage == CHECKING else "downloading"
            more = f" (and {len(self._active) - 1} more at once)" if len(self._active) > 1 else ""
            self.file_label.setText(f"{shown.file}: {doing}{more}")
        self._say("")

    def _on_download_finished(self, folder: Path) -> None:
        self._set_state("idle")
        self.total_bar.setValue(_STEPS)
        self.file_bar.setValue(_STEPS)
        for item in self._items.values():
            item.setText(2, "✓")
        self._say(f"Downloaded into {folder}; every file matches the hub's checksum.")
        self.model_downloaded.emit(folder)

    def _on_download_paused(self) -> None:
        self._set_state("paused")
        self._say("Paused: the partial files are kept; Resume continues where it stopped.")

    def _on_download_cancelled(self) -> None:
        self._set_state("idle")
        self.total_bar.setValue(0)
        self.file_bar.setValue(0)
        self._say("Cancelled: the partial files were deleted (finished files stay).")

    def _on_download_failed(self, message: str) -> None:
        plan = self.runner.plan
        self._set_state("paused" if plan is not None and has_partials(plan.target) else "idle")
        self._say(message, error=True)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        self.hide()  # a running download goes on; the app's shutdown pauses it
        event.ignore()


def _bar(parent: QWidget, name: str) -> QProgressBar:
    bar = QProgressBar(parent)
    bar.setRange(0, _STEPS)
    bar.setAccessibleName(name)
    bar.setTextVisible(True)
    bar.setFormat("%p%")
    return bar
