"""The ``maverick-desk`` command: the window by default, or a subcommand."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from app import __version__
from app.cli import (
    ask,
    batch,
    conversations,
    demo_checkpoint,
    docs,
    info,
    install_desktop_entry,
    models,
    preflight,
    serve,
    server,
    tools,
)
from app.logs import setup_logging

SUBCOMMANDS = (
    ask,
    batch,
    info,
    demo_checkpoint,
    models,
    preflight,
    conversations,
    docs,
    install_desktop_entry,
    server,
    serve,
    tools,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maverick-desk",
        description=(
            "Chat with Llama 4 Maverick about images and documents on your own machine. "
            "With no subcommand, opens the window."
        ),
    )
    parser.add_argument("--version", action="version", version=f"maverick-desk {__version__}")
    parser.add_argument("--model", help="checkpoint folder for the window (default: the demo)")
    parser.add_argument(
        "--screenshot",
        metavar="OUT.png",
        help="open the window, optionally ask --demo-question, save a screenshot and exit",
    )
    parser.add_argument("--demo-question", metavar="TEXT", help="with --screenshot: ask this")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="FILE",
        help="with --screenshot: attach this image (repeatable)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging()
    if args.command is None:
        from app.launch.display_check import prepare_qt

        # Before Qt loads: Qt's own message names neither the library nor the package.
        install = os.environ.get("MAVERICK_DESK_INSTALL_SYSTEM_LIBRARIES") == "1"
        problem = prepare_qt(os.environ, install=install)
        if problem:
            print(f"maverick-desk: {problem}", file=sys.stderr)
            return 1
        from app.ui.app import run_app

        return run_app(args)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
