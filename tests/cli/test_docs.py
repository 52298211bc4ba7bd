"""`maverick-desk docs index|show|search FILE`, run as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.documents.long_pdf import write_report


def _docs(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAVERICK_DESK_DATA_DIR": str(data)}
    return subprocess.run(
        [sys.executable, "-m", "app", "docs", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_index_search_and_show_a_report(tmp_path: Path) -> None:
    path, facts = write_report(tmp_path / "report.pdf", pages=60, facts=5, scanned=(3,))
    data = tmp_path / "data"
    indexed = _docs("index", str(path), data=data)
    assert indexed.returncode == 0, indexed.stderr
    assert "report.pdf: 60 pages, 59 with a text layer" in indexed.stdout
    page, _sentence, question, answer = facts[0]
    found = _docs("search", str(path), question, "--limit", "1", data=data)
    assert found.stdout.startswith(f"p. {page}\t"), found.stdout
    assert answer in found.stdout
    shown = _docs("show", str(path), data=data)
    assert "p. 3: 0 characters (no text)" in shown.stdout
    missing = _docs("show", str(path), "--page", "61", data=data)
    assert missing.returncode == 1
    assert "has 60 pages; there is no page 61" in missing.stderr
    (tmp_path / "x.pdf").write_bytes(b"%PDF-1.4 nothing else")
    broken = _docs("index", str(tmp_path / "x.pdf"), data=data)
    assert broken.returncode == 1 and "damaged" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_read_scans_through_the_real_worker_then_show_says_so(
    tmp_path: Path, demo_bf16: Path
) -> None:
    path, _facts = write_report(tmp_path / "scans.pdf", pages=3, facts=1, scanned=(2,))
    data = tmp_path / "data"
    read = _docs(
        "read-scans", str(path), "--model", str(demo_bf16), "--max-new-tokens", "3", data=data
    )
    assert read.returncode == 0, read.stderr
    assert "1 pages without text to read" in read.stdout
    assert "read page 2 (1 of 1" in read.stderr
    shown = _docs("show", str(path), data=data)
    assert "p. 2:" in shown.stdout and "(read by the model)" in shown.stdout
    again = _docs("read-scans", str(path), "--model", str(demo_bf16), data=data)
    assert "nothing to read" in again.stdout
