"""What drawing the streaming tail costs while a long code block arrives.

The tail of an answer is drawn again up to ~30 times a second. Inside an open code
fence, highlighting all of the code at each drawing costs time linear in its length;
`render_markdown(streaming=True)` (what the window uses for the tail) lexes only the
newest lines and keeps the rest. This renders the tail of a 200-line Python block line
by line, both ways, and reports the HTML generation per drawing (Qt's layout comes
after, the same both ways).

Usage: python bench/code_highlight.py [--lines 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Result, emit  # noqa: E402


def main() -> None:
    from app.ui.markdown.markdown_html import preload_highlighting, render_markdown

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=200)
    args = parser.parse_args()
    preload_highlighting(["python"], ["friendly"])
    code = "".join(
        f"def f_{i}(rows):\n" if i % 2 == 0 else f"    return sum(r['x'] * {i} for r in rows)\n"
        for i in range(args.lines)
    )
    lines = code.splitlines(keepends=True)
    results = []
    for streaming, name in ((False, "whole block each drawing"), (True, "kept pieces (the app)")):
        times = []
        for shown in range(1, len(lines) + 1):
            started = time.perf_counter()
            render_markdown("```python\n" + "".join(lines[:shown]), streaming=streaming)
            times.append((time.perf_counter() - started) * 1000)
        results.append(
            Result(
                f"tail drawing of an open {args.lines}-line code block, {name}: last line",
                times[-1],
                "ms",
                detail=f"worst {max(times):.1f} ms, all {len(times)} drawings {sum(times):.0f} ms",
            )
        )
    emit(results)


if __name__ == "__main__":
    main()
