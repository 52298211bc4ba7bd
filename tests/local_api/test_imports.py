"""The local API can run in the window's process: it loads no torch, no Qt."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
from app.local_api.serving import LocalApi, ServeOptions
api = LocalApi(ServeOptions(port=1))  # builds the Starlette app and the uvicorn server
heavy = ("torch", "transformers", "accelerate", "torchvision", "PySide6")
print(",".join(sorted(m for m in heavy if m in sys.modules)))
"""


def test_local_api_imports_no_torch_and_no_qt() -> None:
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
