"""The UI side of the app never pulls in torch or transformers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CHECK = """
import sys
import app.cli, app.workers.client, app.workers.protocol
import app.checkpoints.checkpoint, app.inference.images
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


def test_the_bridge_room_imports_no_widgets() -> None:
    """app.ui.bridge turns the model's events into signals: QtCore only, never a widget."""
    bridge = Path(__file__).resolve().parent.parent / "app" / "ui" / "bridge"
    qt: set[str] = set()
    for module in bridge.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                qt.add(node.module)
            elif isinstance(node, ast.Import):
                qt.update(alias.name for alias in node.names)
    qt = {name for name in qt if name.startswith("PySide6")}
    assert qt and qt <= {"PySide6.QtCore"}, qt
