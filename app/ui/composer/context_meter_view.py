"""The context meter under the composer: this request's tokens against the model's context.

It counts what the worker will count (chat template, tokenizer, each image's tile grid;
see `app.documents.context`) for the conversation so far plus the message being written,
before anything is sent. The checkpoint's tokenizer is loaded in a background thread
when the model folder is set; until then the meter says it is counting.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThreadPool, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from app.documents.context import ContextError, ContextEstimate, ContextMeter, MeterTurn
from app.documents.tiling import MAVERICK, ProcessorSettings, TileGrid, TilingError, tile_grid
from app.inference.images import ImageError, image_facts
from app.ui.background.pool_job import PoolJob
from app.workers import protocol as p

log = logging.getLogger(__name__)


class ContextMeterView(QWidget):
    """A bar and a line of figures; `estimate` holds the last count (None if unknown)."""

    meter_loaded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings: ProcessorSettings = MAVERICK
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._jobs: list[PoolJob] = []
        self.setAccessibleName("Context meter")
        self.estimate: ContextEstimate | None = None
        self._folder: Path | None = None
        self._meter: ContextMeter | None = None
        self._failed = ""
        self._history: list[MeterTurn] = []
        self._answer_tokens = 0
        self._tools: list[dict[str, Any]] = []  # the definitions offered with each request
        self._context_limit = 0  # a server's documented context, over the checkpoint's
        self._document_tokens = 0  # the attached documents' share of the next request
        self._documents_note = ""  # which pages the last question sent, as text and images
        self._grids: dict[str, TileGrid] = {}
        self.bar = QProgressBar(self)
        self.bar.setObjectName("contextBar")
        self.bar.setAccessibleName("Context used")
        self.bar.setTextVisible(False)
        self.bar.setRange(0, 1000)
        self.bar.setFixedWidth(90)
        self.bar.setFixedHeight(6)
        self.label = QLabel(self)
        self.label.setObjectName("contextLabel")
        self.label.setAccessibleName("Context figures")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)

    @property
    def meter(self) -> ContextMeter | None:
        """The token counter for the checkpoint (None while loading or if it cannot be)."""
        return self._meter

    def set_model_folder(self, folder: Path, settings: ProcessorSettings) -> None:
        """Count for this checkpoint; its tokenizer loads in the background.

        The same folder again is a no-op unless its last load failed (a demo checkpoint
        is written by the worker after the window opens, so it is tried again then).
        """
        if folder == self._folder and not self._failed:
            return
        self._folder = folder
        self.settings = settings
        self._meter = None
        self._failed = ""
        self._grids.clear()
        # Reads the checkpoint's tokenizer and chat template off the GUI thread.
        job = PoolJob(
            lambda _job: ContextMeter(folder), errors=(ContextError, TilingError), key=folder
        )
        job.signals.succeeded.connect(self._on_loaded)
        job.signals.failed.connect(self._on_failed)
        if self._pool.activeThreadCount() == 0:
            self._jobs.clear()
        self._jobs.append(job)
        job.start_on(self._pool)

    def _on_loaded(self, folder: Path, meter: ContextMeter) -> None:
        if folder == self._folder:
            self._meter = meter
            self.meter_loaded.emit()

    def _on_failed(self, folder: Path, exc: Exception) -> None:
        log.warning("no context meter for %s: %s", folder, exc)
        if folder == self._folder:
            self._failed = str(exc)
            self.meter_loaded.emit()

    def shutdown(self) -> None:
        """Wait for a tokenizer still loading, so no thread outlives the window."""
        self._pool.waitForDone()

    def set_context_limit(self, tokens: int) -> None:
        """Count against `tokens` (a server's documented context); 0: the checkpoint's own."""
        self._context_limit = tokens

    def set_documents(self, tokens: int, note: str) -> None:
        """The documents' tokens in the next request, and what the last question sent."""
        self._document_tokens = max(0, tokens)
        self._documents_note = note

    def set_history(self, turns: list[p.ChatTurn], answer_tokens: int) -> None:
        """The conversation so far (as the worker will get it) and room kept for the answer."""
        self._history = [
            MeterTurn(
                turn.role,
                turn.text,
                tuple(self.grid_for(path) for path in turn.images),
                tuple(turn.tool_calls),
            )
            for turn in turns
        ]
        self._answer_tokens = answer_tokens

    def set_tools(self, definitions: list[dict[str, Any]]) -> None:
        """The tool definitions each request carries (they cost tokens every time)."""
        self._tools = list(definitions)

    def grid_for(self, path: str, grid: TileGrid | None = None) -> TileGrid:
        """The tile grid of an image file (remembered: decoding is the cost)."""
        if grid is not None:
            self._grids[path] = grid
        if path not in self._grids:
            try:
                facts = image_facts(path)
                self._grids[path] = tile_grid(facts.width, facts.height, self.settings)
            except (ImageError, TilingError):
                self._grids[path] = tile_grid(1, 1)  # a missing image: the worker will say so
        return self._grids[path]

    def update_request(self, text: str, grids: list[TileGrid]) -> ContextEstimate | None:
        """Count the history plus a new user message; show and return the estimate."""
        meter = self.meter
        if meter is None:
            self.estimate = None
            self.bar.setValue(0)
            self.label.setText("Context: unknown" if self._failed else "Context: counting…")
            self.label.setToolTip(self._failed or "The model's tokenizer is still loading.")
            return None
        turns = [*self._history, MeterTurn("user", text, tuple(grids))]
        try:
            estimate = meter.estimate(turns, self._answer_tokens, self._tools)
        except ContextError as exc:
            self._failed = str(exc)
            self.label.setText("Context: unknown")
            self.label.setToolTip(str(exc))
            return None
        if self._context_limit:
            estimate = dataclasses.replace(estimate, context_length=self._context_limit)
        if self._document_tokens:
            estimate = dataclasses.replace(
                estimate,
                text_tokens=estimate.text_tokens + self._document_tokens,
                document_tokens=self._document_tokens,
            )
        self.estimate = estimate
        self.bar.setValue(min(1000, round(estimate.fraction * 1000)))
        over = not estimate.fits
        self.bar.setProperty("over", "true" if over else "false")
        self.label.setProperty("over", "true" if over else "false")
        for widget in (self.bar, self.label):
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        of = f" / {estimate.context_length:,}" if estimate.context_length else ""
        self.label.setText(
            f"{estimate.total:,}{of} tokens" + ("  — over the limit" if over else "")
        )
        problem = estimate.problem()
        tip = estimate.breakdown() + (f"\n\n{problem}" if problem else "")
        if self._documents_note:
            tip += f"\n\nLast question: {self._documents_note}"
        self.label.setToolTip(tip)
        self.bar.setToolTip(tip)
        self.setAccessibleDescription(tip)
        return estimate
