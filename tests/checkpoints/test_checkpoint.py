"""Bad checkpoint folders get a clear message before anything is loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.checkpoints.checkpoint import CheckpointError, inspect_checkpoint


@pytest.fixture
def copy(tmp_path: Path, demo_bf16: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(demo_bf16, target)
    return target


def test_demo_is_fine(demo_bf16: Path) -> None:
    info = inspect_checkpoint(demo_bf16)
    assert info.total_parameters > info.active_parameters > 0
    assert info.context_length == 65536


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        inspect_checkpoint(tmp_path / "nowhere")


def test_no_config(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no config.json"):
        inspect_checkpoint(tmp_path)


def test_other_architecture(copy: Path) -> None:
    config = json.loads((copy / "config.json").read_text())
    config["architectures"] = ["LlamaForCausalLM"]
    config["model_type"] = "llama"
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="LlamaForCausalLM.*Llama 4"):
        inspect_checkpoint(copy)


def test_pickle_weights_refused(copy: Path) -> None:
    for shard in copy.glob("*.safetensors"):
        shard.unlink()
    (copy / "model.safetensors.index.json").unlink()
    (copy / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(CheckpointError, match="pickle"):
        inspect_checkpoint(copy)


def test_truncated_safetensors(copy: Path) -> None:
    shard = sorted(copy.glob("*.safetensors"))[2]
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=f"{shard.name} is truncated"):
        inspect_checkpoint(copy)


def test_missing_shard(copy: Path) -> None:
    sorted(copy.glob("*.safetensors"))[1].unlink()
    with pytest.raises(CheckpointError, match="1 of 5 weight shards .* missing"):
        inspect_checkpoint(copy)


def test_garbage_header(copy: Path) -> None:
    shard = sorted(copy.glob("*.safetensors"))[0]
    shard.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!" + b"\0" * 64)
    with pytest.raises(CheckpointError, match="not a valid safetensors"):
        inspect_checkpoint(copy)
