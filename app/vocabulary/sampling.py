"""How an answer is drawn: the sampling settings, named once for every front end and engine.

`Sampling` is what the window's settings, ``ask``'s flags, the local API, the worker
protocol, the worker's engine and the server engines all say. Each setting's `Knob`
(its field's metadata) tells every edge what it needs: the label and the rule in a
sentence, the command-line help, how an OpenAI-compatible server takes it (a standard
parameter, or in ``extra_body`` as vLLM reads its own), whether transformers' ``generate``
takes it under its name, and the value that turns it off. A new setting is a field here;
the edges read the knobs.

This room imports nothing of the app (an import-linter contract), so the protocol
(`app.workers`), the engine (`app.inference`) and the local API may all use it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["KNOBS", "SAMPLING_NAMES", "Knob", "Sampling"]

Server = Literal["standard", "extra", ""]
Transformers = Literal["when_sampling", "always", ""]


@dataclass(frozen=True)
class Knob:
    """What one sampling setting is to each edge of the app."""

    label: str  # as the window shows it, and the start of its sentences
    help: str  # the command line's help for its flag
    low: float | None = None  # bounds; None: unbounded
    high: float | None = None
    low_open: bool = False  # the bound itself is not allowed
    high_open: bool = False
    rule: str = ""  # the rest of the sentence when out of bounds
    off: float | None = None  # the value that turns it off: it is then not sent at all
    # How an OpenAI-compatible server takes it: a standard parameter (`server_name`), or in
    # extra_body under the field's name (vLLM, SGLang and llama.cpp read their extras there).
    server: Server = "standard"
    server_name: str = ""  # the standard parameter's name, if not the field's
    # transformers' generate() takes it under the field's name: always, or only when
    # sampling (temperature > 0); "" when the engine handles it itself.
    transformers: Transformers = ""
    step: float = 0.01  # the window's spin box step

    def allows(self, value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )


def _knob(default: Any, knob: Knob) -> Any:
    return field(default=default, metadata={"knob": knob})


@dataclass(frozen=True)
class Sampling:
    """How an answer is drawn. `temperature` 0 is greedy; a knob at its `off` value is off.

    Fields are positional in this order (older callers); add new ones at the end.
    """

    max_new_tokens: int = _knob(
        512,
        Knob("Max new tokens", "at most this many tokens (default 256)", low=1,
             rule="must be at least 1.", server_name="max_tokens", step=1),
    )  # fmt: skip
    temperature: float = _knob(
        0.6,
        Knob("Temperature", "0 for greedy (default 0.6)", low=0,
             rule="must not be negative (0 means greedy)."),
    )  # fmt: skip
    top_p: float = _knob(
        0.9,
        Knob("Top p", "default 0.9", low=0, low_open=True, high=1,
             rule="must be greater than 0 and at most 1."),
    )  # fmt: skip
    min_p: float = _knob(
        0.0,
        Knob("Min p", "drop tokens less likely than X times the likeliest (default 0: off)",
             low=0, high=1, high_open=True,
             rule="must be at least 0 and less than 1 (0 turns it off).", off=0.0,
             server="extra", transformers="when_sampling"),
    )  # fmt: skip
    seed: int | None = _knob(None, Knob("Seed", "random seed for sampling", step=1))
    repetition_penalty: float = _knob(
        1.0,
        Knob("Repetition penalty",
             "above 1, tokens already in the conversation are less likely (default 1: off)",
             low=0, low_open=True, high=2,
             rule="must be greater than 0 and at most 2 (1 turns it off).", off=1.0,
             server="extra", transformers="always", step=0.05),
    )  # fmt: skip

    def problem(self, names: Mapping[str, str] | None = None) -> str | None:
        """A sentence saying what is wrong with these settings, or None.

        `names` says each field as the user knows it (a label, a command-line flag).
        """
        for name, knob in KNOBS.items():
            if not knob.allows(getattr(self, name)):
                said = (names or SAMPLING_NAMES).get(name, knob.label)
                return f"{said} {knob.rule}"
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form saved with a conversation."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sampling:
        """Settings saved by any version: unknown keys are ignored, missing ones default."""
        return cls(**{key: data[key] for key in KNOBS if key in data})

    def is_on(self, name: str) -> bool:
        """Whether the setting `name` is not at its `off` value."""
        return bool(getattr(self, name) != KNOBS[name].off)

    def server_params(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(standard parameters, extra_body) of an OpenAI-compatible request; seed None left out."""
        standard: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, knob in KNOBS.items():
            value = getattr(self, name)
            if value is None or (knob.off is not None and value == knob.off):
                continue
            if knob.server == "extra":
                extra[name] = value
            elif knob.server == "standard":
                standard[knob.server_name or name] = value
        return standard, extra

    def generate_kwargs(self, sampling: bool) -> dict[str, Any]:
        """What transformers' ``generate`` takes under the settings' own names (None: off).

        `sampling`: temperature > 0 (some settings only apply then).
        """
        kwargs: dict[str, Any] = {}
        for name, knob in KNOBS.items():
            if knob.transformers == "always" or (knob.transformers == "when_sampling" and sampling):
                kwargs[name] = getattr(self, name) if self.is_on(name) else None
        return kwargs


KNOBS: Mapping[str, Knob] = {f.name: f.metadata["knob"] for f in dataclasses.fields(Sampling)}
SAMPLING_NAMES: Mapping[str, str] = {name: knob.label for name, knob in KNOBS.items()}
