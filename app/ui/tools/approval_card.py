"""The card in the transcript that asks before a tool call runs.

It shows the server, the tool and the full arguments as formatted JSON in a box the user
may edit; Run once, Always allow this tool, or Deny (with an optional reason the model
is told). Edited arguments that are not a JSON object get a sentence on the card and do
not run. Once decided, the card stays in the transcript as a record, read-only.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.tools.tool_loop import Approval, ProposedCall

_DONE_TEXT = {"run": "Ran once.", "always": "Allowed: this tool now runs without asking."}


def parse_arguments(text: str) -> dict[str, Any] | str:
    """The edited arguments as a dict, or the sentence saying why they cannot be used."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            f"The arguments are not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}). Correct them, or press Deny."
        )
    if not isinstance(value, dict):
        return "The arguments must be a JSON object ({…}). Correct them, or press Deny."
    return value


class ApprovalCard(QFrame):
    """Asks whether a proposed call may run; `decided` carries the user's `Approval`."""

    decided = Signal(object)  # Approval

    def __init__(self, proposal: ProposedCall, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.proposal = proposal
        self.decision: Approval | None = None  # None if the answer ended undecided
        self._open = True
        self.setObjectName("toolCard")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName(f"Approve the tool call {proposal.tool} on {proposal.server}")

        self.title = QLabel(
            f"Maverick wants to run the tool <b>{_escape(proposal.tool)}</b> "
            f"of the server <b>{_escape(proposal.server)}</b> with these arguments:",
            self,
        )
        self.title.setWordWrap(True)
        self.arguments = QPlainTextEdit(proposal.arguments_json(), self)
        self.arguments.setObjectName("toolArguments")
        self.arguments.setAccessibleName("Arguments of the tool call (JSON, editable)")
        self.arguments.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lines = proposal.arguments_json().count("\n") + 1
        self.arguments.setFixedHeight(min(max(lines, 3), 14) * 18 + 14)
        self.problem = QLabel(self)
        self.problem.setObjectName("toolCardProblem")
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Problem with the arguments")
        self.problem.setStyleSheet("color: #b42318;")
        self.problem.hide()
        self.reason = QLineEdit(self)
        self.reason.setPlaceholderText("Reason for denying (optional, sent to the model)")
        self.reason.setAccessibleName("Reason for denying the call")

        self.run_button = QPushButton("Run once", self)
        self.always_button = QPushButton("Always allow this tool", self)
        self.deny_button = QPushButton("Deny", self)
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self._on_run_clicked)
        self.always_button.clicked.connect(self._on_always_clicked)
        self.deny_button.clicked.connect(self._on_deny_clicked)
        self.outcome = QLabel(self)
        self.outcome.setObjectName("toolCardOutcome")
        self.outcome.setWordWrap(True)
        self.outcome.hide()

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.always_button)
        buttons.addStretch(1)
        buttons.addWidget(self.reason, 2)
        buttons.addWidget(self.deny_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.arguments)
        layout.addWidget(self.problem)
        layout.addLayout(buttons)
        layout.addWidget(self.outcome)

    @property
    def pending(self) -> bool:
        """Still waiting for the user's decision."""
        return self._open

    def close_unanswered(self, sentence: str) -> None:
        """The answer ended (Stop) before the user decided: the card says so, read-only."""
        if self.pending:
            self._finish(sentence)

    def _on_run_clicked(self) -> None:
        self._decide_to_run("run")

    def _on_always_clicked(self) -> None:
        self._decide_to_run("always")

    def _on_deny_clicked(self) -> None:
        reason = self.reason.text().strip()
        self._decide(Approval("deny", reason=reason), f"Denied{': ' + reason if reason else '.'}")

    def _decide_to_run(self, decision: str) -> None:
        parsed = parse_arguments(self.arguments.toPlainText())
        if isinstance(parsed, str):
            self.problem.setText(parsed)
            self.problem.show()
            return
        edited = None if parsed == self.proposal.arguments else parsed
        approval = Approval("always" if decision == "always" else "run", arguments=edited)
        suffix = " (with the edited arguments)" if edited is not None else ""
        self._decide(approval, _DONE_TEXT[decision] + suffix)

    def _decide(self, approval: Approval, sentence: str) -> None:
        if not self.pending:
            return
        self.decision = approval
        self._finish(sentence)
        self.decided.emit(approval)

    def _finish(self, sentence: str) -> None:
        self._open = False
        self.problem.hide()
        self.arguments.setReadOnly(True)
        for widget in (self.run_button, self.always_button, self.deny_button, self.reason):
            widget.setEnabled(False)
        self.outcome.setText(sentence)
        self.outcome.show()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
