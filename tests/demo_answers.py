"""Questions whose greedy answers on the demo checkpoint run long.

The demo has random weights, so how long it answers greedily depends on the question and
on the CPU's bf16 kernels: "Write ten chapters." ran 1,402 tokens on one Xeon and 18 on
an AMD EPYC. Tests that need an answer still streaming seconds later (to stop it, kill
it, or watch it being saved) take the `long_question` fixture (tests/conftest.py): the
first of LONG_CANDIDATES whose greedy answer, on this machine, runs past
LONG_ANSWER_MIN_TOKENS. If none does, those tests fail with that reason instead of
being flaky.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LONG_CANDIDATES = (
    "Write ten chapters.",
    "Count to a thousand.",
    "Write a very long essay about rivers.",
    "List every country and its capital.",
    "Tell me everything about the ocean.",
    "Write a novel.",
)
LONG_ANSWER_MIN_TOKENS = 1200

_FIND = """
import sys
from pathlib import Path
from app.inference.engine import ChatMessage, Engine
from app.vocabulary.sampling import Sampling
from app.inference.loader import load_model

engine = Engine(load_model(Path(sys.argv[1])))
wanted = int(sys.argv[2])
for question in sys.argv[3:]:
    result = engine.generate(
        [ChatMessage("user", question)],
        Sampling(max_new_tokens=wanted, temperature=0.0),
        lambda ids: None,
    )
    print(f"{result.finish_reason} {result.generated_tokens} {question}", flush=True)
    if result.finish_reason == "length":
        break
"""


def find_long_question(checkpoint: Path) -> tuple[str | None, str]:
    """The first candidate that runs long here (in a child process: no torch in the
    test process), and what each tried candidate did."""
    proc = subprocess.run(
        [sys.executable, "-c", _FIND, str(checkpoint), str(LONG_ANSWER_MIN_TOKENS),
         *LONG_CANDIDATES],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    tried = [line.split(" ", 2) for line in proc.stdout.splitlines() if line.strip()]
    report = "; ".join(f"{q!r}: {reason} after {n} tokens" for reason, n, q in tried)
    if proc.returncode != 0:
        return None, f"the search failed: {proc.stderr.strip().splitlines()[-1:]}"
    long = [q for reason, _, q in tried if reason == "length"]
    return (long[0] if long else None), report
