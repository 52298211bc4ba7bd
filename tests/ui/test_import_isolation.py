"""The UI process never imports torch or transformers, even with the model loaded.

Nor, with the local worker as the engine, the openai client (0.4 s of the start-up), nor
the Local API's HTTP stack (uvicorn, Starlette) before the user turns the API on, nor the
MCP SDK while no tool server is enabled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import sys, time
from app.ui.app import build_window, make_application

app = make_application()
window = build_window(sys.argv[1])
window.show()
window.bridge.start()
deadline = time.monotonic() + 120
while window.bridge.ready is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
assert window.bridge.ready is not None, "the model did not load"
heavy = ("torch", "transformers", "accelerate", "torchvision", "compressed_tensors", "openai",
         "uvicorn", "starlette", "mcp")
print("LOADED" if window.bridge.ready else "", ",".join(m for m in heavy if m in sys.modules))
window.close()
window.bridge.close()
"""


def test_window_with_a_loaded_model_keeps_torch_out_of_the_ui_process(
    demo_bf16: Path, data_dir: Path
) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MAVERICK_DESK_DATA_DIR=str(data_dir))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(demo_bf16)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[0] == "LOADED "  # loaded, and no heavy module listed
