"""`scripts/gpu-check.sh`: the smoke mode runs on the CPU, the full mode's parts hold together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.inference.gpu_check import extrapolate

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu-check.sh"


def _run(tmp_path: Path, python: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": python}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_smoke_runs_through_the_loader_dense_and_sparse(tmp_path: Path) -> None:
    out = tmp_path / "gpu-check.json"
    result = _run(tmp_path, sys.executable, "--smoke", "--out", str(out), "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["mode"].startswith("smoke") and report["device"] == ["CPU"]
    assert report["quantisation"] == "fp8 dequantised to bf16"
    assert report["experts_class"] == "SequentialLlama4TextExperts"
    assert report["stayed_fp8"] is False  # no FP8 matmul on a CPU
    assert report["experts_label"].startswith("sparse top-1 (1 of 1 MoE layers")
    assert report["greedy_tokens_match"] is True
    for path in ("dense", "sparse"):
        assert report[path]["decode_tokens_per_s"] > 0 and report[path]["prefill_s"] > 0
    assert report["extrapolation"]["sparse_tokens_per_s_48_layers_8_gpus"] > 0
    assert not (tmp_path / "checkpoint").exists()  # the checkpoint is removed afterwards


def test_missing_package_names_it_and_exits_2(tmp_path: Path) -> None:
    bare = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    result = _run(tmp_path, str(bare / "bin" / "python"), "--smoke")
    assert result.returncode == 2
    assert "missing Python packages: torch, transformers" in result.stderr


def test_extrapolation_counts_24_dense_and_24_moe_layers() -> None:
    run = {"decode_tokens_per_s": 10.0, "decode_layer_s": {"dense": 0.01, "moe": 0.05}}
    # 0.1 s a token: 0.06 in the two layers, 0.04 elsewhere; 48 layers: 24 x 0.06 + 0.04.
    got = extrapolate(run, run)["sparse_tokens_per_s_48_layers_8_gpus"]
    assert abs(got - 1 / (24 * 0.06 + 0.04)) < 1e-9
