"""`ask`'s sampling flags: one per setting of the chat's `Sampling`, checked by its rule set.

The flags are made from the settings' knobs (`app.vocabulary.sampling`): a new setting
there is a new flag here, with its help.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from app.vocabulary.sampling import KNOBS, Sampling

FLAGS = {name: "--" + name.replace("_", "-") for name in KNOBS}
ASK_DEFAULTS = {"max_new_tokens": 256}  # a command-line answer is shorter than the window's


def add_arguments(parser: Any) -> None:
    for field in dataclasses.fields(Sampling):
        knob = KNOBS[field.name]
        default = ASK_DEFAULTS.get(field.name, field.default)
        whole = "int" in str(field.type)
        parser.add_argument(
            FLAGS[field.name],
            type=int if whole else float,
            default=default,
            metavar="N" if whole else "X",
            help=knob.help,
        )


def sampling_of(args: argparse.Namespace) -> Sampling:
    return Sampling(**{name: getattr(args, name) for name in KNOBS})


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the sampling flags, named as flags; None if nothing."""
    return sampling_of(args).problem(FLAGS)
