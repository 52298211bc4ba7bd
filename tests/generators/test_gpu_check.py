"""`scripts/gpu-check.sh`: the smoke mode runs on the CPU, the full mode's parts hold together."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.generators.gpu_check import extrapolate

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
    assert report["experts_label"].startswith("sparse top-1 (2 of 2 MoE layers")
    assert report["greedy_tokens_match"] is True
    assert report["fp8"]["checkpoint"]["ok"] and report["failures"] == []
    for path in ("dense", "sparse"):
        assert report[path]["decode_tokens_per_s"] > 0 and report[path]["prefill_s"] > 0
    assert report["extrapolation"]["sparse_tokens_per_s_48_layers_8_gpus"] > 0
    assert "extrapolation" in report["extrapolation"]["note"]
    # The smoke checkpoint has each kind of layer Maverick has, timed separately.
    kinds = {"dense", "moe_rope", "moe_nope"}
    assert set(report["sparse"]["decode_layer_s"]) == kinds
    # The prefill runs as the engine's does, in each step size, timed by kind of layer.
    steps = report["sparse"]["prefill"]
    assert [step["step_tokens"] for step in steps] == [512, 1024]
    assert all(set(step["prefill_layer_s"]) == kinds for step in steps)
    assert all(step["prefill_tokens_per_s"] > 0 for step in steps)
    # tests/conftest.py turns compiling off; test_compiled_timing_... compiles.
    assert report["compiled"] == "not timed: MAVERICK_DESK_COMPILE=off"
    assert report["chunked_attention"] == "window by window in prefill (checked at load)"
    arithmetic = report["extrapolation"]["arithmetic"]
    key = "sparse_prefill_tokens_per_s_48_layers_8_gpus_step_1024"
    assert arithmetic[key].startswith("1024 tokens / (24 × ") and "12 × " in arithmetic[key]
    assert f"gpu-check: {key}: 1024 tokens / (24 × " in result.stderr
    assert not (tmp_path / "checkpoint").exists()  # the checkpoint is removed afterwards


def test_compiled_timing_compiles_the_step_and_one_layer_once_each(demo_bf16: Path) -> None:
    import torch
    from torch._dynamo.utils import counters

    from app.generators.step_timing import compiled_decode, layer_counts
    from app.inference.compiled_decode import check_prompt
    from app.inference.loader import load_model

    model = load_model(demo_bf16).model
    prompt = check_prompt(model)
    with torch.inference_mode():
        expected = model.generate(prompt, do_sample=False, max_new_tokens=4, min_new_tokens=4)
    torch._dynamo.reset()  # nothing compiled by an earlier test in this process is reused
    graphs = counters["stats"]["unique_graphs"]
    got = compiled_decode(model, prompt, 4, kinds=("dense",))
    # Two graphs (the whole step, one dense layer), none again while timed: the times
    # are of compiled runs, not of compiling.
    assert counters["stats"]["unique_graphs"] - graphs == 2
    assert got["greedy_tokens"] == expected[0, prompt.shape[1] :].tolist()
    assert got["layer_counts"] == layer_counts(model) == {"dense": 4, "moe_rope": 2, "moe_nope": 2}
    assert set(got["decode_layer_s"]) == {"dense"} and got["decode_layer_s"]["dense"] > 0
    assert set(got["eager_layer_s"]) == {"dense"} and got["decode_tokens_per_s"] > 0


def test_missing_package_names_it_and_exits_2(tmp_path: Path) -> None:
    bare = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    result = _run(tmp_path, str(bare / "bin" / "python"), "--smoke")
    assert result.returncode == 2
    assert "missing Python packages: torch, transformers" in result.stderr


def test_a_checkpoint_with_dequantised_experts_fails(tmp_path: Path, demo_bf16: Path) -> None:
    out = tmp_path / "gpu-check.json"
    result = _run(
        tmp_path, sys.executable, "--smoke", "--checkpoint", str(demo_bf16), "--out", str(out)
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "FAILED: 8 of 8 routed expert weights in the checkpoint are not FP8" in result.stderr
    assert not json.loads(out.read_text())["fp8"]["checkpoint"]["ok"]


def test_dequantised_experts_in_memory_are_caught(demo_fp8: Path) -> None:
    # What the GPU path inspects, run on the CPU, where the loader dequantises FP8.
    from app.generators.fp8_proof import loaded_experts, memory_matches, moe_kernels
    from app.inference.loader import load_model

    model = load_model(demo_fp8).model
    experts = loaded_experts(model)
    assert experts["modules"] > 0 and experts["dtypes"] == ["torch.bfloat16"]
    assert not experts["ok"]
    moe = next(layer for layer in model.language_model.model.layers if layer.is_moe_layer)
    kernels = moe_kernels(model, moe)
    assert not kernels["ok"] and kernels["ops"]  # matmuls ran, none of them FP8
    assert memory_matches(109, 100)["ok"] and not memory_matches(190, 100)["ok"]


def test_missing_torchvision_is_a_sentence_and_exits_2(tmp_path: Path) -> None:
    # Every package this Python sees except torchvision, through one folder of links.
    import sysconfig

    seen = tmp_path / "packages"
    seen.mkdir()
    stdlib = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    for entry in sys.path:
        folder = Path(entry)
        if not entry or entry in stdlib or not folder.is_dir() or "lib-dynload" in entry:
            continue
        for item in folder.iterdir():
            link = seen / item.name
            if not item.name.startswith("torchvision") and not link.exists():
                link.symlink_to(item)
    bare = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    site = next((bare / "lib").glob("python*/site-packages"))
    (site / "packages.pth").write_text(f"{seen}\n")
    result = _run(tmp_path, str(bare / "bin" / "python"), "--smoke")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "torchvision is missing" in result.stderr and "Traceback" not in result.stderr


def test_extrapolation_times_each_kind_of_layer_and_adds_hooks_and_hops() -> None:
    per = {"dense": 0.01, "moe_rope": 0.04, "moe_nope": 0.05}
    counts = {"dense": 2, "moe_rope": 1, "moe_nope": 1}
    # 0.2 s a token: 0.11 in the four layers, 0.09 elsewhere (embedding, lm_head).
    prefill = {  # 1,024 tokens in 2 steps of 512: 2 s, of which 1.1 in the four layers
        "step_tokens": 512,
        "prefill_s": 2.0,
        "prefill_tokens_per_s": 512.0,
        "prefill_layer_s": {k: 10 * v for k, v in per.items()},
    }
    run = {
        "decode_tokens_per_s": 5.0,
        "decode_layer_s": per,
        "decode_layer_counts": counts,
        "prefill": [prefill],
    }
    compiled = {"decode_tokens_per_s": 10.0, "decode_layer_s": per, "layer_counts": counts}
    got = extrapolate(run, run, {"hook_s": 0.001, "hop_s": 0.002}, compiled)
    token = 24 * 0.01 + 12 * 0.04 + 12 * 0.05 + 48 * 0.001 + 7 * 0.002 + 0.09
    assert abs(got["sparse_tokens_per_s_48_layers_8_gpus"] - 1 / token) < 1e-9
    # Each prefill step adds the hooks and the hops once.
    steps = 10 * (24 * 0.01 + 12 * 0.04 + 12 * 0.05) + 2 * (48 * 0.001 + 7 * 0.002) + 0.9
    key = "sparse_prefill_tokens_per_s_48_layers_8_gpus_step_512"
    assert abs(got[key] - 1024 / steps) < 1e-6
    # The compiled step has no hook inside its graph: hops only; its rest is 0.1 - 0.11 < 0.
    compiled_token = 24 * 0.01 + 12 * 0.04 + 12 * 0.05 + 7 * 0.002
    assert abs(got["compiled_tokens_per_s_48_layers_8_gpus"] - 1 / compiled_token) < 1e-9
    assert got["arithmetic"]["compiled_tokens_per_s_48_layers_8_gpus"] == (
        "1 / (24 × 10 ms (dense) + 12 × 40 ms (moe_rope) + 12 × 50 ms (moe_nope) + "
        "14 ms hooks and hops + 0 ms rest = 1334 ms) = 0.7496 tokens/s"
    )
    assert "extrapolation" in got["note"] and got["layers"]["moe_nope"] == 12


def test_print_wheels_lists_compressed_tensors_and_what_it_needs(tmp_path: Path) -> None:
    result = _run(tmp_path, sys.executable, "--print-wheels")
    assert result.returncode == 0, result.stderr[-2000:]
    pins = result.stdout.split()
    names = {pin.split("==")[0] for pin in pins}
    assert all("==" in pin for pin in pins)
    assert {"compressed-tensors", "pydantic", "pydantic-core", "accelerate"} <= names
    assert not names & {"torch", "transformers", "torchvision", "numpy"}
    assert "pip download --only-binary=:all:" in result.stderr and "3.12" in result.stderr


def test_wheels_install_from_a_folder_without_an_index(tmp_path: Path) -> None:
    import zipfile

    from app.generators.check_wheels import install_from

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "gpucheck_probe-1.0-py3-none-any.whl", "w") as whl:
        whl.writestr("gpucheck_probe/__init__.py", "CARRIED = True\n")
        info = "gpucheck_probe-1.0.dist-info"
        meta = "Metadata-Version: 2.1\nName: gpucheck-probe\nVersion: 1.0\n"
        whl.writestr(f"{info}/METADATA", meta)
        tag = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        whl.writestr(f"{info}/WHEEL", tag)
        whl.writestr(f"{info}/RECORD", "")
    saved = list(sys.path)
    try:
        assert install_from(wheels, ["gpucheck-probe==1.0"]) is None
        import gpucheck_probe  # type: ignore[import-not-found]

        assert gpucheck_probe.CARRIED
    finally:
        sys.path[:] = saved
        sys.modules.pop("gpucheck_probe", None)
    problem = install_from(wheels, ["compressed-tensors==0.20.1"])
    assert problem is not None and "from " + str(wheels) + " failed" in problem
