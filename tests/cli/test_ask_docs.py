"""`maverick-desk ask --doc`: whole documents through the real worker and the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.documents.long_pdf import write_locked_pdf, write_report


def _ask(*args: str, data: Path, demo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(data)}
    command = [sys.executable, "-m", "app", "ask", "--model", str(demo), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)


def test_a_long_report_sends_its_best_pages_and_its_scans_as_images(
    tmp_path: Path, demo_bf16: Path
) -> None:
    path, facts = write_report(tmp_path / "report.pdf", pages=80, facts=5, scanned=(12,))
    page, _sentence, question, _answer = facts[0]
    done = _ask(
        "--doc", str(path), "--doc-budget", "2500", "--temperature", "0",
        "--max-new-tokens", "4", question, data=tmp_path / "data", demo=demo_bf16,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = re.search(r"\[Documents \(too long .*\) — report\.pdf: pages (.*) of 80 as text, "
                     r"(.*) as images\]", done.stderr)  # fmt: skip
    assert line, done.stderr
    sent = {int(n) for part in line.group(1).split(",") for n in _span(part)}
    assert page in sent
    assert line.group(2) == "12"
    assert re.search(r"\[prompt \d+ tokens \([1-9]\d* image\)", done.stderr)


def test_bad_documents_are_refused_before_a_model_loads(tmp_path: Path, demo_bf16: Path) -> None:
    locked = write_locked_pdf(tmp_path / "locked.pdf", "Plans.", "pw")
    refused = _ask("--doc", str(locked), "Why?", data=tmp_path / "data", demo=demo_bf16)
    assert refused.returncode == 2
    assert "password" in refused.stderr and "--doc-password" in refused.stderr
    assert "loading" not in refused.stderr and "Traceback" not in refused.stderr


def _span(part: str) -> range:
    first, _, last = part.partition("-")
    return range(int(first), int(last or first) + 1)


def test_the_budget_follows_the_hosted_presets_context() -> None:
    import argparse

    from app.cli.ask_documents import _engine_context
    from app.engines.presets import preset_named

    together = argparse.Namespace(preset="together")
    assert _engine_context(together, None) == preset_named("together").context_tokens == 524_288
    assert _engine_context(argparse.Namespace(preset=None), None) == 0  # --server: unknown
