"""`maverick-desk ask`, `info` and `demo-checkpoint` as a user runs them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "app"]


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


def test_ask_streams_an_answer(demo_bf16: Path, images: dict[str, Path]) -> None:
    result = run(
        "ask", "--model", str(demo_bf16), "--image", str(images["wide"]),
        "--temperature", "0", "--max-new-tokens", "12", "What is in this picture?",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "demo: random weights" in result.stderr
    assert "12 generated" in result.stderr and "tokens/s" in result.stderr
    # A first question: nothing of its prompt comes from the worker's KV cache.
    prompt = re.search(r"\[prompt (\d+) tokens", result.stderr)
    assert prompt and f"0 of {int(prompt[1]):,} prompt tokens cached" in result.stderr


def test_ask_same_seed_same_answer(demo_bf16: Path) -> None:
    # Sampled with min-p too: the setting reaches the worker's generate call.
    args = ("ask", "--model", str(demo_bf16), "--seed", "7", "--max-new-tokens", "10")
    args += ("--min-p", "0.2", "Hi")
    first, second = run(*args), run(*args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_ask_writes_demo_when_missing(data_dir: Path) -> None:
    result = run("ask", "--max-new-tokens", "3", "--quiet", "Hello")
    assert result.returncode == 0, result.stderr
    assert (data_dir / "demo-checkpoint" / "bf16" / "config.json").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--image", "{empty}"], "empty.png is empty (0 bytes)"),
        (["--image", "{text}"], "notes.png is not an image that can be read"),
        (["--image", "{truncated}"], "truncated.png is damaged or truncated"),
        (["--image", "/nonexistent/cat.jpg"], "cat.jpg: the file does not exist"),
        (["--image", "{wide}"] * 6, "6 images in one request; the limit is 5"),
        (["--top-p", "0"], "--top-p must be greater than 0"),
        (["--max-new-tokens", "0"], "--max-new-tokens must be at least 1"),
        (["--min-p", "1"], "--min-p must be at least 0 and less than 1 (0 turns it off)"),
    ],
)
def test_ask_bad_input_one_line(
    demo_bf16: Path, images: dict[str, Path], extra: list[str], message: str
) -> None:
    args = [a.format(**{k: str(v) for k, v in images.items()}) for a in extra]
    result = run("ask", "--model", str(demo_bf16), *args, "What is this?")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.stdout == ""


def _copy(demo_bf16: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(demo_bf16, target)
    return target


def test_ask_bad_checkpoints(demo_bf16: Path, tmp_path: Path) -> None:
    missing = run("ask", "--model", str(tmp_path / "nope"), "Hi")
    assert missing.returncode == 1 and "does not exist" in missing.stderr.splitlines()[-1]

    model = _copy(demo_bf16, tmp_path)
    shard = sorted(model.glob("*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[:1000])
    truncated = run("ask", "--model", str(model), "Hi")
    assert truncated.returncode == 1
    assert f"{shard.name} is truncated" in truncated.stderr.splitlines()[-1]


def test_info(demo_bf16: Path, demo_fp8: Path) -> None:
    result = run("info", "--model", str(demo_bf16))
    assert result.returncode == 0, result.stderr
    assert "Llama4ForConditionalGeneration" in result.stdout
    assert "demo: random weights" in result.stdout
    assert "5 safetensors shard(s)" in result.stdout
    assert "sparse: only the routed expert runs" in result.stdout
    assert "512-token steps (MAVERICK_DESK_PREFILL_STEP=512)" in result.stdout  # conftest
    fp8 = run("info", "--model", str(demo_fp8))
    assert "fp8 (compressed-tensors)" in fp8.stdout


def test_info_refuses_pickle(tmp_path: Path, demo_bf16: Path) -> None:
    model = tmp_path / "pickled"
    model.mkdir()
    shutil.copy(demo_bf16 / "config.json", model)
    (model / "pytorch_model.bin").write_bytes(b"\x80\x04")
    result = run("info", "--model", str(model))
    assert result.returncode == 1 and "refuses them" in result.stderr


def test_demo_checkpoint_command(tmp_path: Path) -> None:
    result = run("demo-checkpoint", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "fp8" / "config.json").is_file()
    assert "Random weights" in result.stdout


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("maverick-desk ")
    for sub in ("ask", "info", "demo-checkpoint"):
        result = run(sub, "--help")
        assert result.returncode == 0 and "usage: maverick-desk" in result.stdout
