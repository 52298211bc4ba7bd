"""What every benchmark script shares: results in one format, and the demo checkpoint.

Each script prints human-readable lines and, last, one line ``RESULTS {json}`` with a
list of `Result`s; `bench/run_all.py` collects those into docs/benchmarks.json and .md.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    """One measured figure, with its target where the issue sets one."""

    name: str
    value: float
    unit: str
    target: str = ""  # e.g. ">= 0.97", "<= 30"; empty when there is none
    met: bool | None = None
    detail: str = ""  # median and spread, runs, inputs

    def judged(self) -> Result:
        if self.target:
            op, _, bound = self.target.partition(" ")
            limit = float(bound)
            self.met = self.value >= limit if op == ">=" else self.value <= limit
        return self


def spread(values: list[float], digits: int = 3) -> str:
    """'median 1.23 (min 1.1, max 1.4, n=5)'."""
    med = statistics.median(values)
    return (
        f"median {med:.{digits}f} (min {min(values):.{digits}f}, "
        f"max {max(values):.{digits}f}, n={len(values)})"
    )


def emit(results: list[Result]) -> None:
    for r in results:
        mark = "" if r.met is None else ("  [met]" if r.met else "  [MISSED]")
        target = f" (target {r.target})" if r.target else ""
        print(f"{r.name}: {r.value:.4g} {r.unit}{target}{mark}  {r.detail}")
    print("RESULTS " + json.dumps([asdict(r) for r in results]))
    sys.stdout.flush()


def demo_root() -> Path:
    """The demo checkpoint folder (bf16/ and fp8/): .demo/ or $MAVERICK_DESK_TEST_DEMO."""
    root = Path(os.environ.get("MAVERICK_DESK_TEST_DEMO", ROOT / ".demo"))
    if not (root / "bf16" / "config.json").is_file():
        from app.generators.demo import write_demo_checkpoint

        write_demo_checkpoint(root)
    return root
