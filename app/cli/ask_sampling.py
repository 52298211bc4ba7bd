"""`ask`'s sampling flags: read into the chat's `Sampling`, checked by its one rule set."""

from __future__ import annotations

import argparse
from typing import Any

from app.chat.vocabulary import Sampling

FLAGS = {name: "--" + name.replace("_", "-") for name in Sampling.__dataclass_fields__}


def add_arguments(parser: Any) -> None:
    parser.add_argument("--max-new-tokens", type=int, default=256, metavar="N")
    parser.add_argument(
        "--temperature", type=float, default=0.6, metavar="T", help="0 for greedy (default 0.6)"
    )
    parser.add_argument("--top-p", type=float, default=0.9, metavar="P", help="default 0.9")
    parser.add_argument(
        "--min-p",
        type=float,
        default=0.0,
        metavar="P",
        help="drop tokens less likely than P times the likeliest (default 0: off)",
    )
    parser.add_argument("--seed", type=int, metavar="S", help="random seed for sampling")


def sampling_of(args: argparse.Namespace) -> Sampling:
    return Sampling(args.max_new_tokens, args.temperature, args.top_p, args.min_p, args.seed)


def problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the sampling flags, named as flags; None if nothing."""
    return sampling_of(args).problem(FLAGS)
