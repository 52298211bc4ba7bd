"""A new batch job: its files or folders, the question (or a quick action), fields, N at once."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.batch.inputs import IMAGE_SUFFIXES
from app.documents.quick_actions import DEFAULT_QUICK_ACTIONS, QuickActionError, load_quick_actions
from app.structured.request import StructuredRequest
from app.structured.schema import SchemaError
from app.ui.structured.field_editor import FieldEditor

MAX_CONCURRENCY = 64
MAX_TOKENS = 65_536


class SetupError(ValueError):
    """What is missing from the new job, as a sentence."""


class BatchSetup(QWidget):
    """The form of a new job; `start_requested` once Start is pressed."""

    start_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("New batch job")
        self.files = QListWidget(self)
        self.files.setAccessibleName("Files and folders")
        self.files.setMaximumHeight(110)
        add_files = QPushButton("Add files…", self)
        add_files.clicked.connect(self._on_add_files_clicked)
        add_folder = QPushButton("Add folder…", self)
        add_folder.clicked.connect(self._on_add_folder_clicked)
        clear = QPushButton("Clear", self)
        clear.clicked.connect(self.files.clear)
        self.recursive = QCheckBox("Include sub-folders", self)
        file_buttons = QHBoxLayout()
        for widget in (add_files, add_folder, clear, self.recursive):
            file_buttons.addWidget(widget)
        file_buttons.addStretch(1)
        self.pdf_as = QComboBox(self)
        self.pdf_as.setAccessibleName("How PDFs are asked")
        self.pdf_as.addItem("Each page is an item", "pages")
        self.pdf_as.addItem("Each PDF is one item, asked as a whole document", "documents")
        self.pdf_as.setToolTip(
            "A whole document is asked with its text (all of it if it fits the model's "
            "context, else the pages that best match the question) and its figure or scan "
            "pages as images"
        )

        self.quick_action = QComboBox(self)
        self.quick_action.setAccessibleName("Quick action")
        self.quick_action.addItem("Quick action…", "")
        try:
            actions = load_quick_actions()
        except QuickActionError:
            actions = list(DEFAULT_QUICK_ACTIONS)  # the composer says what is wrong with the file
        for action in actions:
            self.quick_action.addItem(action.title, action.prompt)
        self.quick_action.activated.connect(self._on_quick_action_activated)
        self.prompt = QPlainTextEdit(self)
        self.prompt.setAccessibleName("Question for every item")
        self.prompt.setPlaceholderText("The question asked of every image and PDF page")
        self.prompt.setMaximumHeight(80)

        self.max_tokens = QSpinBox(self)
        self.max_tokens.setRange(1, MAX_TOKENS)
        self.max_tokens.setValue(512)
        self.max_tokens.setAccessibleName("Longest answer in tokens")
        self.max_tokens.setToolTip("For free-text answers; fields get the budget that covers them")
        self.use_fields = QCheckBox("Answer with fields (one column each)", self)
        self.fields = FieldEditor(self)
        self.fields.setEnabled(False)
        self.use_fields.toggled.connect(self.fields.setEnabled)
        self.use_fields.toggled.connect(lambda on: self.max_tokens.setEnabled(not on))

        self.engine = QLabel(self)
        self.engine.setWordWrap(True)
        self.concurrency = QSpinBox(self)
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(4)
        self.concurrency.setAccessibleName("Requests at once")
        self.concurrency.setToolTip("How many items a server answers at once")
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c0392b;")
        self.problem.hide()
        self.start_button = QPushButton("Start", self)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self._on_start_clicked)

        form = QFormLayout()
        form.addRow("Inputs:", self.files)
        form.addRow("", _wrap(self, file_buttons))
        form.addRow("PDFs:", self.pdf_as)
        prompt_row = QVBoxLayout()
        prompt_row.addWidget(self.quick_action)
        prompt_row.addWidget(self.prompt)
        form.addRow("Question:", _wrap(self, prompt_row))
        form.addRow("Longest answer:", self.max_tokens)
        form.addRow("", self.use_fields)
        form.addRow("Fields:", self.fields)
        form.addRow("Engine:", self.engine)
        form.addRow("At once:", self.concurrency)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.start_button)
        layout.addLayout(bottom)

    # ------------------------------------------------------------ state
    def set_engine(self, description: str, server: bool) -> None:
        """Say which engine answers; only a server answers several items at once."""
        self.engine.setText(description)
        self.concurrency.setEnabled(server)
        self.concurrency.setSuffix("" if server else "  (a server only; the local model takes one)")

    def add_paths(self, paths: list[str]) -> None:
        present = {self.files.item(i).text() for i in range(self.files.count())}
        for path in paths:
            if path and path not in present:
                self.files.addItem(path)
                present.add(path)

    def paths(self) -> list[str]:
        return [self.files.item(i).text() for i in range(self.files.count())]

    def structured(self) -> StructuredRequest | None:
        """The fields asked for, or None for free-text answers; raises `SetupError`."""
        if not self.use_fields.isChecked():
            return None
        try:
            return self.fields.request()
        except SchemaError as exc:
            raise SetupError(str(exc)) from None

    def check(self) -> tuple[list[str], str, StructuredRequest | None]:
        """The inputs, the question and the fields; raises `SetupError` with a sentence."""
        paths = self.paths()
        if not paths:
            raise SetupError("Add the images, PDFs or folders to run over.")
        prompt = self.prompt.toPlainText().strip()
        if not prompt:
            raise SetupError("Write the question asked of every item, or pick a quick action.")
        return paths, prompt, self.structured()

    def show_problem(self, sentence: str) -> None:
        self.problem.setText(sentence)
        self.problem.setVisible(bool(sentence))

    # ------------------------------------------------------------ slots
    def _on_start_clicked(self) -> None:
        self.start_requested.emit()

    def _on_quick_action_activated(self, index: int) -> None:
        prompt = self.quick_action.itemData(index)
        if prompt:
            self.prompt.setPlainText(str(prompt))
        self.quick_action.setCurrentIndex(0)

    def _on_add_files_clicked(self) -> None:
        patterns = " ".join(f"*{s}" for s in (*IMAGE_SUFFIXES, ".pdf"))
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Add images or PDFs", "", f"Images and PDFs ({patterns})"
        )
        self.add_paths(paths)

    def _on_add_folder_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of images or PDFs")
        self.add_paths([folder])


def _wrap(parent: QWidget, layout: QHBoxLayout | QVBoxLayout) -> QWidget:
    widget = QWidget(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    widget.setLayout(layout)
    return widget
