"""SIGKILL the worker 50 times in a row under the real window, at seeded random moments.

Moments: while the model loads, during prefill (the question sent, no token yet), while
the answer streams, and while idle. After each kill the window must show an error within
a few seconds (never hang), leave the composer ready, and the next send must start a new
worker process that answers. What actually happened at each kill is observed, not assumed,
and recorded.
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from app.ui.bridge.bridge import WorkerBridge
from app.ui.main_window import MainWindow
from app.ui.settings.settings_store import SettingsStore
from app.ui.transcript.conversation import Role, Status

from .conftest import record

SEED = 20261123
KILLS = 50
MOMENTS = ("loading", "prefill", "streaming", "idle")
LOAD_MS = 120_000
ERROR_WITHIN_S = 5.0


@pytest.fixture
def window(qtbot: object, demo_bf16: Path, data_dir: Path) -> Iterator[MainWindow]:
    bridge = WorkerBridge(demo_bf16)
    win = MainWindow(bridge, SettingsStore(data_dir / "settings.ini"))
    win.show()
    win.settings_panel.set_value("seed", 7)
    yield win
    win.close()
    win.bridge.close()
    win.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _kill_error_shown(window: MainWindow) -> bool:
    return any("stopped unexpectedly" in b.text for b in window.error_blocks())


# 50 worker starts of ~3.3 s each; a loaded shared machine needs more than the default 300 s.
@pytest.mark.timeout(1200)
def test_fifty_worker_kills_never_hang_and_the_next_send_answers(
    qtbot: object, window: MainWindow
) -> None:
    rng = random.Random(SEED)
    bridge = window.bridge
    seen_pids: set[int] = set()
    tokens: list[str] = []
    bridge.token_received.connect(lambda rid, text: tokens.append(text))
    observed: collections.Counter[str] = collections.Counter()
    answered_after_kill = 0
    injected = []
    worst_error_s = 0.0

    for number in range(KILLS):
        moment = rng.choice(MOMENTS)
        window.new_chat()
        for block in window.error_blocks():
            window.transcript.remove(block)
        tokens.clear()
        # A long answer for the streaming kill, so it is still streaming when it dies.
        window.settings_panel.set_value("max_new_tokens", 400 if moment == "streaming" else 24)
        with qtbot.waitSignal(bridge.model_loading, timeout=LOAD_MS):  # type: ignore[attr-defined]
            assert window.send(f"Question {number}: what is in the picture?")
        pid = bridge.client.pid
        assert pid is not None and pid not in seen_pids, "a send after a kill starts a new worker"
        seen_pids.add(pid)

        detail = 0.0
        if moment == "loading":
            detail = rng.uniform(0.0, 2.5)
            qtbot.wait(int(detail * 1000))  # type: ignore[attr-defined]
        else:
            with qtbot.waitSignal(bridge.model_ready, timeout=LOAD_MS):  # type: ignore[attr-defined]
                pass
            if number > 0:
                answered_after_kill += 1  # the new worker loaded and took the question
            if moment == "prefill":
                detail = rng.uniform(0.0, 0.05)
                time.sleep(detail)  # the question is with the worker; prefill takes ~0.25 s
            elif moment == "streaming":
                detail = rng.randint(1, 6)
                qtbot.waitUntil(lambda d=detail: len(tokens) >= d, timeout=LOAD_MS)  # type: ignore[attr-defined]
            else:
                with qtbot.waitSignal(window.answer_ended, timeout=LOAD_MS) as ended:  # type: ignore[attr-defined]
                    pass
                assert ended.args == [Status.COMPLETE.value]
                detail = rng.uniform(0.0, 0.2)
                qtbot.wait(int(detail * 1000))  # type: ignore[attr-defined]

        phase = (
            "loading"
            if bridge.ready is None
            else "idle"
            if not window.generating
            else "streaming"
            if tokens
            else "prefill"
        )
        answer_before = window.conversation.messages[-1]
        kept_text = answer_before.text if answer_before.status is Status.COMPLETE else None
        killed_at = time.monotonic()
        with qtbot.waitSignal(bridge.worker_died, timeout=10_000):  # type: ignore[attr-defined]
            bridge.client.kill()
        qtbot.waitUntil(lambda: _kill_error_shown(window), timeout=int(ERROR_WITHIN_S * 1000))  # type: ignore[attr-defined]
        worst_error_s = max(worst_error_s, time.monotonic() - killed_at)
        assert not window.generating
        assert window.composer.send_button.text() == "Send"
        if kept_text is not None:  # a finished answer survives the kill untouched
            assert window.conversation.messages[-1].text == kept_text
            assert window.conversation.messages[-1].status is Status.COMPLETE
        observed[phase] += 1
        injected.append({"n": number, "aimed": moment, "observed": phase, "after": detail})

    # After the fiftieth kill, one more question: a new worker answers it completely.
    window.new_chat()
    window.settings_panel.set_value("max_new_tokens", 24)
    with qtbot.waitSignal(window.answer_ended, timeout=LOAD_MS) as ended:  # type: ignore[attr-defined]
        assert window.send("Are you back?")
    assert ended.args == [Status.COMPLETE.value]
    assert bridge.client.pid not in seen_pids
    last = window.conversation.messages[-1]
    assert last.role is Role.ASSISTANT and last.text
    answered_after_kill += 1

    record(
        "worker_sigkill",
        seed=SEED,
        kills=KILLS,
        observed=dict(observed),
        answered_after_kill=answered_after_kill,
        worst_seconds_to_error=round(worst_error_s, 3),
        injected=injected,
    )
    assert sum(observed.values()) == KILLS
    # Every moment was hit, not just aimed at.
    assert set(observed) == set(MOMENTS), observed
