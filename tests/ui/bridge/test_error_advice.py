"""Every kind of error, from the worker or a server, reaches the user with what to do."""

from __future__ import annotations

from pathlib import Path

from app.engines.server_errors import SERVER_ERROR_KINDS
from app.ui.bridge.bridge import WorkerBridge
from app.ui.bridge.error_advice import ADVICE, FALLBACK, advice_for
from app.workers import protocol as p


def test_every_protocol_error_kind_has_its_own_advice() -> None:
    assert set(ADVICE) == set(p.ERROR_KINDS)
    assert set(SERVER_ERROR_KINDS) <= set(ADVICE)
    for kind in p.ERROR_KINDS:
        advice = advice_for(kind)
        assert advice != FALLBACK or kind == "generation_failed", kind
        assert advice[0].isupper() and advice.endswith("."), (kind, advice)
    # Distinct problems get distinct advice.
    assert len(set(ADVICE.values())) == len(ADVICE)


def test_the_bridge_adds_the_advice_to_each_error(qtbot: object, demo_bf16: Path) -> None:
    bridge = WorkerBridge(demo_bf16)
    try:
        for kind in p.ERROR_KINDS:
            rid = f"request-{kind}"
            # As the worker's reader thread (or the server engine) would deliver it.
            with qtbot.waitSignal(bridge.generation_failed, timeout=5000) as failed:  # type: ignore[attr-defined]
                bridge._on_event(p.Error(rid, kind, f"Something went wrong ({kind})."))
            request_id, text = failed.args
            assert request_id == rid
            assert text == f"Something went wrong ({kind}). {ADVICE[kind]}"
        assert not bridge.client.alive  # no worker was needed
    finally:
        bridge.close()
