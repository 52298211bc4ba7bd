"""``maverick-desk demo-checkpoint``: write the tiny random-weight Maverick and its FP8 twin."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.paths import demo_checkpoint_root


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo-checkpoint",
        help="write the demo checkpoint (random weights) and its FP8 twin",
        description=(
            "Write a tiny Llama 4 Maverick with random weights to DIR/bf16 and its FP8 "
            "compressed-tensors twin to DIR/fp8. Deterministic: the same files every time."
        ),
    )
    parser.add_argument(
        "dir", nargs="?", type=Path, help=f"output folder (default: {demo_checkpoint_root()})"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.generators.demo import write_demo_checkpoint

    out = args.dir or demo_checkpoint_root()
    try:
        bf16, fp8 = write_demo_checkpoint(out)
    except OSError as exc:
        print(f"maverick-desk demo-checkpoint: cannot write {out}: {exc}", file=sys.stderr)
        return 1
    print(f"bf16 checkpoint: {bf16}")
    print(f"fp8 twin:        {fp8}")
    print("Random weights: its answers are gibberish. It exists to run the app without a GPU.")
    return 0
