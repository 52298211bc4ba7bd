"""docs/scaling.{json,md,png}: each benchmark script's section is kept when the other writes."""

from __future__ import annotations

import json
from pathlib import Path

from bench.scaling_docs import CONTEXT, FOLLOW_UPS, update

CONTEXT_FIGURES = {
    "measured": "2026-12-03 07:00 UTC on a test machine",
    "new_tokens": 32,
    "rows": [["text", 1000, 997, 43.2, 247.9], ["images", 2, 479, 51.4, 251.6]],
}
FOLLOW_UP_FIGURES = {
    "measured": "2026-12-03 07:10 UTC on a test machine",
    "setup": "Five photos in turn 1.",
    "turns": [
        {"turn": 1, "prompt": 4000, "cached": 0, "with_ms": 1200.0, "without_ms": 1190.0},
        {"turn": 2, "prompt": 4100, "cached": 3584, "with_ms": 60.0, "without_ms": 1250.0},
    ],
}


def test_each_section_is_kept_and_drawn(tmp_path: Path) -> None:
    update(CONTEXT, CONTEXT_FIGURES, docs=tmp_path)
    first = (tmp_path / "scaling.md").read_text(encoding="utf-8")
    assert "| text, ~1,000 tokens | 997 | 43 | 247.9 |" in first
    assert "| 2 image(s) + question | 479 | 51 | 251.6 |" in first
    assert "Follow-up turns" not in first  # not measured yet
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"

    update(FOLLOW_UPS, FOLLOW_UP_FIGURES, docs=tmp_path)
    both = (tmp_path / "scaling.md").read_text(encoding="utf-8")
    assert "| text, ~1,000 tokens | 997 | 43 | 247.9 |" in both  # the other script's figures
    assert "| 2 | 4,100 | 3,584 | 60 | 1250 | 0.048 |" in both
    assert "(2026-12-03 07:10 UTC on a test machine)" in both
    stored = json.loads((tmp_path / "scaling.json").read_text(encoding="utf-8"))
    assert stored == {CONTEXT: CONTEXT_FIGURES, FOLLOW_UPS: FOLLOW_UP_FIGURES}

    update(CONTEXT, {**CONTEXT_FIGURES, "rows": CONTEXT_FIGURES["rows"][:1]}, docs=tmp_path)
    again = (tmp_path / "scaling.md").read_text(encoding="utf-8")
    assert "2 image(s)" not in again and "| 2 | 4,100 | 3,584 |" in again
