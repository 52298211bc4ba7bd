from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.cli import main

REPO = "models--meta-llama--Llama-4-Maverick-17B-128E-Instruct-FP8"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_fp8: Path) -> Path:
    snapshot = tmp_path / "hub" / REPO / "snapshots" / "abc123"
    shutil.copytree(demo_fp8, snapshot)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    return snapshot


def test_models_lists_adds_and_chooses(
    hub: Path, tmp_path: Path, demo_bf16: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "Llama 4 Maverick demo (random weights)" in out and str(hub) in out
    assert "ready" in out and "fp8 (compressed-tensors)" in out and "997 K / " in out

    folder = tmp_path / "mine"
    shutil.copytree(demo_bf16, folder / "bf16")
    assert main(["models", "--add", str(folder), "--use", str(folder / "bf16")]) == 0
    out = capsys.readouterr().out
    assert f"Added {folder.resolve()}." in out
    chosen = [line for line in out.splitlines() if line.startswith("*")]
    assert len(chosen) == 1 and "bf16" in chosen[0]

    assert main(["models", "--remove", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Your folders: none" in out
    assert str(folder / "bf16") in out  # still listed: it is the chosen model


def test_models_refuses_to_choose_an_incomplete_checkpoint(
    hub: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (hub / "model-00004-of-00005.safetensors").unlink()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "incomplete" in out and "model-00004-of-00005.safetensors" in out
    assert main(["models", "--use", str(hub)]) == 1
    err = capsys.readouterr().err
    assert "Cannot choose" in err and "Finish the download" in err


def test_preflight_with_given_gpus(demo_fp8: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["preflight", "--model", str(demo_fp8), "--gpus", "2x4GB", "--context", "4096"]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("Fits on 2 × 4 GB GPUs with ")
    assert "about 4,096 tokens of context" in out
    assert "weights         1.4 MiB (FP8 experts)" in out

    assert main(["preflight", "--model", str(demo_fp8), "--gpus", "1x1GB"]) == 3
    assert capsys.readouterr().out.startswith("Does not fit on 1 × 1 GB GPU:")


def test_preflight_without_gpus_uses_the_cpu(
    demo_bf16: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # This machine has no nvidia-smi; on one with GPUs the first line names them instead.
    assert main(["preflight", "--model", str(demo_bf16)]) == 0
    out = capsys.readouterr().out
    assert "in CPU memory" in out or "GPU" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--gpus", "lots"], "Cannot read the GPU list"),
        (["--context", "0"], "--context must be at least 1"),
        (["--context", "9999999", "--gpus", "8x80GB"], "allows at most 65,536 tokens"),
    ],
)
def test_preflight_bad_arguments(
    demo_bf16: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preflight", "--model", str(demo_bf16), *argv]) == 2
    assert message in capsys.readouterr().err


def test_preflight_names_a_missing_or_truncated_shard(
    tmp_path: Path, demo_fp8: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = shutil.copytree(demo_fp8, tmp_path / "missing")
    (missing / "model-00005-of-00005.safetensors").unlink()
    assert main(["preflight", "--model", str(missing), "--gpus", "8x80GB"]) == 1
    err = capsys.readouterr().err
    assert "1 of 5 weight shards named in model.safetensors.index.json are missing" in err
    assert "model-00005-of-00005.safetensors" in err

    truncated = shutil.copytree(demo_fp8, tmp_path / "truncated")
    shard = truncated / "model-00001-of-00005.safetensors"
    shard.write_bytes(shard.read_bytes()[:5000])
    assert main(["preflight", "--model", str(truncated), "--gpus", "8x80GB"]) == 1
    err = capsys.readouterr().err
    assert "model-00001-of-00005.safetensors is truncated" in err and "Download or copy" in err
