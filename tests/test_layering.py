"""The UI side of the app never pulls in torch or transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECK = """
import sys
import app.cli, app.workers.client, app.workers.protocol
import app.inference.checkpoint, app.inference.images
app.cli.build_parser()
heavy = ("torch", "transformers", "accelerate", "torchvision")
print(",".join(sorted(m for m in heavy if m in sys.modules)))
"""


def test_client_side_imports_no_torch() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 0 broken" in result.stdout or " 0 broken" in result.stdout
