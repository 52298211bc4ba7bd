"""The worker says which expert path it runs: sparse by default, loop or dense when asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workers import protocol as p
from app.workers.client import WorkerClient


def _ready(checkpoint: Path, env: dict[str, str]) -> p.Ready | p.Error:
    client = WorkerClient(env=env)
    client.start()
    try:
        rid = client.load(checkpoint)
        last = list(client.events_for(rid, timeout=120))[-1]
        assert isinstance(last, p.Ready | p.Error), last
        return last
    finally:
        client.shutdown(timeout=10)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("", "sparse top-1 (4 of 4 MoE layers, grouped matmul over stacked bf16 Linear experts)"),
        ("loop", "sparse top-1 (4 of 4 MoE layers, per-expert Linear experts)"),
        ("dense", "dense (transformers)"),
    ],
)
def test_ready_reports_the_experts_path(demo_fp8: Path, mode: str, expected: str) -> None:
    ready = _ready(demo_fp8, {"MAVERICK_DESK_EXPERTS": mode})
    assert isinstance(ready, p.Ready), ready
    assert ready.runtime["experts"] == expected


def test_unknown_mode_is_a_clear_load_error(demo_bf16: Path) -> None:
    error = _ready(demo_bf16, {"MAVERICK_DESK_EXPERTS": "fastest"})
    assert isinstance(error, p.Error) and error.error_kind == "load_failed"
    assert "MAVERICK_DESK_EXPERTS='fastest' is not a mode the app knows" in error.message
