"""``python -m app.launch [--install]``: check what the window needs, without opening it.

Exit status 0: the window can open; 1: it cannot, and the sentence on stderr says why.
With --install, missing Debian/Ubuntu packages are installed first where root or
password-less sudo allows (.ci/run does this for the capture test's Xvfb).
"""

from __future__ import annotations

import argparse
import os
import sys

from app.launch.display_check import prepare_qt


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m app.launch", description=__doc__)
    parser.add_argument("--install", action="store_true", help="install what is missing (apt)")
    problem = prepare_qt(os.environ, install=parser.parse_args().install)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


sys.exit(main())
