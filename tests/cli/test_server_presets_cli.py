"""`maverick-desk server presets` and `server test --preset` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.engines.presets import PRESETS
from tests.engines.hosted_provider import running

CLI = [sys.executable, "-m", "app"]
SECRET = "sk-cli-0d9e8f7a6b5c4d3e-not-in-any-file"


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "server", *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, "MAVERICK_DESK_DATA_DIR": str(tmp_path / "data"),
             "MAVERICK_DESK_LOG_LEVEL": "DEBUG", **env},
    )  # fmt: skip


def test_presets_lists_every_provider_with_what_it_needs(tmp_path: Path) -> None:
    result = run(["presets"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for preset in PRESETS:
        assert f"{preset.name}  {preset.title}" in out
        assert f"model    {preset.model}" in out
    assert "key      $AZURE_INFERENCE_CREDENTIAL (sent as api-key)" in out
    assert "query    api-version=2024-05-01-preview" in out
    assert "header   HTTP-Referer (optional)" in out and "header   X-Title (optional)" in out
    assert "5 images a request, 524,288 tokens of context" in out
    assert out.count("hosted: images and text leave this machine") == 6


def test_test_with_a_preset_sends_its_key_header_and_query(tmp_path: Path) -> None:
    with running("azure") as provider:
        result = run(
            ["test", "--preset", "azure", "--server", f"{provider.root}/models"],
            tmp_path, AZURE_INFERENCE_CREDENTIAL=SECRET,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "serves 1 model(s):\n  served-model" in result.stdout
    (seen,) = provider.seen
    assert seen.path == "/models/models" and seen.query == {"api-version": "2024-05-01-preview"}
    assert seen.headers["api-key"] == SECRET and "authorization" not in seen.headers
    assert SECRET not in result.stdout + result.stderr
    logs = list((tmp_path / "data").rglob("*.log"))
    assert logs and "GET" in logs[0].read_text(encoding="utf-8")
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []


def test_test_with_a_preset_says_what_is_missing(tmp_path: Path) -> None:
    result = run(["test", "--preset", "azure"], tmp_path)
    assert result.returncode == 2
    assert (
        "Azure AI Foundry's address https://{resource}.services.ai.azure.com/models needs "
        "{resource} filled in." in result.stderr
    )
    result = run(["test", "--preset", "together"], tmp_path, TOGETHER_API_KEY="")
    assert result.returncode == 1
    assert "TOGETHER_API_KEY that should hold the API key is not set" in result.stderr
    result = run(["test", "--preset", "azure", "--fill", "resource"], tmp_path)
    assert result.returncode == 2 and "--fill takes NAME=VALUE, not “resource”" in result.stderr
    result = run(["test", "--preset", "nope"], tmp_path)
    assert result.returncode == 2 and "There is no preset “nope”" in result.stderr
    result = run(["test"], tmp_path)
    assert result.returncode == 2 and "--server URL or --preset NAME" in result.stderr


def test_ask_with_a_preset_uses_its_model_and_headers(
    tmp_path: Path, images: dict[str, Path]
) -> None:
    with running("openrouter") as provider:
        result = subprocess.run(
            [*CLI, "ask", "--preset", "openrouter", "--server", f"{provider.root}/api/v1",
             "--image", str(images["wide"]), "--quiet", "What is this?"],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "MAVERICK_DESK_DATA_DIR": str(tmp_path / "data"),
                 "OPENROUTER_API_KEY": SECRET},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Two cats on a sofa."
    (seen,) = provider.seen
    assert seen.path == "/api/v1/chat/completions"
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    body = seen.json()
    assert body["model"] == "meta-llama/llama-4-maverick"
    assert body["messages"][-1]["content"][-1]["image_url"]["url"].startswith("data:image/png")
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert leaks == []
