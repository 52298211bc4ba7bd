from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.workers import protocol as p
from app.workers.client import WorkerClient


@pytest.fixture
def client() -> object:
    worker = WorkerClient()
    worker.start()
    yield worker
    worker.shutdown(timeout=10)


def _load(client: WorkerClient, folder: Path, **kwargs: object) -> list[p.Message]:
    rid = client.load(folder, **kwargs)  # type: ignore[arg-type]
    return list(client.events_for(rid, timeout=120))


def test_missing_and_truncated_shards_fail_before_loading(
    client: WorkerClient, tmp_path: Path, demo_bf16: Path
) -> None:
    missing = shutil.copytree(demo_bf16, tmp_path / "missing")
    (missing / "model-00002-of-00005.safetensors").unlink()
    events = _load(client, missing)
    error = events[-1]
    assert isinstance(error, p.Error) and error.error_kind == "bad_checkpoint"
    assert (
        "model-00002-of-00005.safetensors" in error.message
        and "Finish the download" in error.message
    )
    assert not any(isinstance(e, p.LoadProgress) and e.stage == "loading weights" for e in events)

    truncated = shutil.copytree(demo_bf16, tmp_path / "truncated")
    shard = truncated / "model-00003-of-00005.safetensors"
    shard.write_bytes(shard.read_bytes()[:-1])
    events = _load(client, truncated)
    error = events[-1]
    assert isinstance(error, p.Error) and error.error_kind == "bad_checkpoint"
    assert "model-00003-of-00005.safetensors is truncated: 1 bytes" in error.message
    checked = [
        e.done for e in events if isinstance(e, p.LoadProgress) and e.stage == "checking shards"
    ]
    assert checked == [0, 1, 2]  # stopped at the third shard


def test_loading_reports_shards_and_bytes(client: WorkerClient, demo_fp8: Path) -> None:
    events = _load(client, demo_fp8)
    assert isinstance(events[-1], p.Ready), events[-1]
    progress = [e for e in events if isinstance(e, p.LoadProgress)]
    shards = [(e.done, e.total) for e in progress if e.stage == "checking shards"]
    assert shards[1:] == [(n, 5) for n in range(1, 6)]
    weights = [e for e in progress if e.stage == "loading weights"]
    size = sum(f.stat().st_size for f in demo_fp8.glob("*.safetensors"))
    assert len(weights) > 10 and {e.bytes_total for e in weights} == {size}
    done = [e.bytes_done for e in weights]
    assert done == sorted(done) and done[0] == 0 and done[-1] == size


def test_a_cancelled_load_ends_in_cancelled_and_the_worker_loads_again(
    client: WorkerClient, demo_bf16: Path
) -> None:
    rid = client.load(demo_bf16)
    client.cancel(rid)  # arrives while the worker is still importing torch
    events = list(client.events_for(rid, timeout=120))
    assert isinstance(events[-1], p.Cancelled) and events[-1].generated_tokens == 0
    assert isinstance(_load(client, demo_bf16)[-1], p.Ready)


def test_cancelling_between_weights(demo_bf16: Path) -> None:
    from app.inference.loader import LoadCancelled, load_model

    seen: list[tuple[object, ...]] = []
    calls = 0

    def stop() -> bool:
        nonlocal calls
        calls += 1
        return calls > 20  # 5 shard checks, then part of the weights

    with pytest.raises(LoadCancelled):
        load_model(demo_bf16, progress=lambda *a: seen.append(a), should_stop=stop)
    stages = [a[0] for a in seen]
    assert "loading weights" in stages and "loading processor" not in stages
    import transformers.core_model_loading as loading

    assert not callable(getattr(loading.tqdm, "__wrapped__", None))
    assert type(loading.tqdm).__name__ == "_tqdm_cls"  # the hook is removed afterwards


def test_unknown_attention_is_refused(client: WorkerClient, demo_bf16: Path) -> None:
    events = _load(client, demo_bf16, attn="fast")
    assert isinstance(events[-1], p.Error) and events[-1].error_kind == "load_failed"
    assert "use one of sdpa, flex_attention, eager" in events[-1].message
