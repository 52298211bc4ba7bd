"""Hostile checkpoints: pickle weights, remote code, and sizes meant to exhaust memory.

Pickle files could run code when read, `trust_remote_code` would run the folder's Python,
and a config.json with absurd sizes would have the loader build (or allocate) a model
far beyond the machine. Each is met by the real entry points (the checkpoint check, the
worker, `maverick-desk info`) with a sentence, and nothing runs or allocates.
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.checkpoints.checkpoint import CheckpointError, inspect_checkpoint
from app.engines.managed_server import TEMPLATES
from app.workers import protocol as p
from app.workers.client import WorkerClient

from .conftest import record

ROOT = Path(__file__).resolve().parents[2]

ABSURD = [
    ("text_config", "hidden_size", 10**9),
    ("text_config", "num_hidden_layers", 10**6),
    ("text_config", "num_local_experts", 10**7),
    ("text_config", "intermediate_size", 10**10),
    ("text_config", "vocab_size", 10**12),
    ("text_config", "max_position_embeddings", 10**15),
    ("text_config", "num_attention_heads", -4),
    ("text_config", "head_dim", 0),
    ("text_config", "hidden_size", "64"),
    ("text_config", "num_hidden_layers", 8.5),
    ("vision_config", "image_size", 10**7),
    ("vision_config", "num_hidden_layers", 10**5),
]


class _RunsCode:
    """Unpickling this writes the file named `marker` (the classic pickle payload)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return builtins.exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


@pytest.fixture
def copy(tmp_path: Path, demo_bf16: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(demo_bf16, target)
    return target


def _set(folder: Path, section: str, key: str, value: object) -> None:
    config = json.loads((folder / "config.json").read_text())
    config[section][key] = value
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(("section", "key", "value"), ABSURD)
def test_absurd_config_sizes_are_refused_by_the_check(
    copy: Path, section: str, key: str, value: object
) -> None:
    _set(copy, section, key, value)
    started = time.perf_counter()
    with pytest.raises(CheckpointError, match=rf"sets {section}\.{key} to .*config\.json"):
        inspect_checkpoint(copy)
    assert time.perf_counter() - started < 1.0


def test_a_config_that_does_not_match_its_weights_is_refused(copy: Path) -> None:
    _set(copy, "text_config", "hidden_size", 4096)  # plausible, but the weights are 64 wide
    with pytest.raises(CheckpointError, match="hidden size is 4,096, but the weights"):
        inspect_checkpoint(copy)


def test_a_header_that_claims_a_huge_tensor_is_refused(copy: Path) -> None:
    shard = next(copy.glob("*.safetensors"))
    data = shard.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    name = next(k for k in header if k != "__metadata__")
    header[name]["shape"] = [10**9, 10**9]
    text = json.dumps(header).encode()
    shard.write_bytes(struct.pack("<Q", len(text)) + text + data[8 + length :])
    with pytest.raises(CheckpointError, match=rf"is damaged: tensor {name} claims shape"):
        inspect_checkpoint(copy)


def _peak_rss(pid: int) -> int:
    """VmHWM: the most memory the process ever had resident, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def test_worker_refuses_absurd_config_before_allocating_then_loads_a_good_one(
    copy: Path, demo_bf16: Path
) -> None:
    _set(copy, "text_config", "hidden_size", 10**9)
    client = WorkerClient()
    client.start()
    try:
        rid = client.load(copy)
        events = list(client.events_for(rid, timeout=120))
        error = events[-1]
        assert isinstance(error, p.Error) and error.error_kind == "bad_checkpoint", error
        assert "text_config.hidden_size to 1,000,000,000" in error.message
        # No stage after the check ran: nothing was built from the config.
        assert {e.stage for e in events if isinstance(e, p.LoadProgress)} <= {"checking shards"}
        peak = _peak_rss(client.pid or 0)
        # The embedding alone would be 554 x 1e9 x 2 bytes; torch and transformers take ~0.8 GiB.
        assert peak < 2 * 2**30, peak
        rid = client.load(demo_bf16)  # the same worker keeps working
        assert isinstance(list(client.events_for(rid, timeout=120))[-1], p.Ready)
    finally:
        client.shutdown(timeout=10)
    record("hostile_checkpoint", case="hidden_size 1e9 via worker", peak_rss_mib=peak // 2**20)


def test_pickle_weights_and_remote_code_never_run(copy: Path, tmp_path: Path) -> None:
    """A folder with a code-running pickle and an auto_map to its own Python loads safely."""
    pickle_marker = tmp_path / "pickle-ran"
    code_marker = tmp_path / "remote-code-ran"
    (copy / "pytorch_model.bin").write_bytes(pickle.dumps(_RunsCode(pickle_marker)))
    evil = f"open({str(code_marker)!r}, 'w').write('pwned')\n"
    (copy / "evil_model.py").write_text(evil + "class Evil: pass\n")
    (copy / "evil_processor.py").write_text(evil + "class Evil: pass\n")
    config = json.loads((copy / "config.json").read_text())
    config["auto_map"] = {"AutoModel": "evil_model.Evil", "AutoConfig": "evil_model.Evil"}
    (copy / "config.json").write_text(json.dumps(config))
    for name in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        path = copy / name
        if path.is_file():
            data = json.loads(path.read_text())
            data["auto_map"] = {"AutoProcessor": "evil_processor.Evil"}
            path.write_text(json.dumps(data))

    client = WorkerClient()
    client.start()
    try:
        rid = client.load(copy)
        last = list(client.events_for(rid, timeout=120))[-1]
    finally:
        client.shutdown(timeout=10)
    assert isinstance(last, p.Ready), last  # the safetensors weights load; the rest is ignored
    assert not pickle_marker.exists(), "the pickle was unpickled"
    assert not code_marker.exists(), "the checkpoint's own Python ran"

    # Only pickle weights: refused by `maverick-desk info` with a sentence, nothing runs.
    for shard in copy.glob("*.safetensors"):
        shard.unlink()
    (copy / "model.safetensors.index.json").unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "app", "info", "--model", str(copy)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    assert result.returncode != 0
    assert "pickle" in result.stderr and "arbitrary code" in result.stderr
    assert not pickle_marker.exists()


def test_trust_remote_code_is_never_turned_on() -> None:
    """No call in the app passes trust_remote_code other than False; no server template asks."""
    offenders = []
    for path in (ROOT / "app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                value = node.value
                if not (isinstance(value, ast.Constant) and value.value is False):
                    offenders.append(f"{path}:{value.lineno}")
            if isinstance(node, ast.Dict):  # kwargs = {"trust_remote_code": False, ...}
                for key, item in zip(node.keys, node.values, strict=True):
                    named = isinstance(key, ast.Constant) and key.value == "trust_remote_code"
                    if named and not (isinstance(item, ast.Constant) and item.value is False):
                        offenders.append(f"{path}:{item.lineno}")
    assert not offenders
    assert not [t for t in TEMPLATES.values() if "trust-remote-code" in t]
