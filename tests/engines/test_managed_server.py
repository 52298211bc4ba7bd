"""`ManagedServer`: templates, start, readiness, log, stop, and no process left behind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from threading import current_thread

import pytest

from app.engines.managed_server import (
    TEMPLATES,
    ManagedServer,
    ServerStartError,
    fill_template,
    free_port,
    group_alive,
)
from app.engines.openai_client import ServerSettings, ask_server
from app.vocabulary.sampling import Sampling
from app.workers import protocol as p

PY = sys.executable


def wait_gone(pgid: int, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_vllm_template_fills_and_keeps_json() -> None:
    argv = fill_template(
        TEMPLATES["vllm"],
        {"model": "/models/My Maverick", "gpus": 8, "context": 430000, "host": "0.0.0.0",
         "port": 8000},
    )  # fmt: skip
    assert argv == [
        "vllm", "serve", "/models/My Maverick", "--tensor-parallel-size", "8",
        "--max-model-len", "430000", "--limit-mm-per-prompt", '{"image": 5}',
        "--enable-auto-tool-choice", "--tool-call-parser", "llama4_pythonic",
        "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip


def test_template_problems_are_explained() -> None:
    with pytest.raises(ServerStartError, match=r"needs a value for \{gpus\}"):
        fill_template("vllm serve {model} --tp {gpus}", {"model": "m"})
    with pytest.raises(ServerStartError, match="cannot be read"):
        fill_template("vllm serve '{model}", {"model": "m"})
    with pytest.raises(ServerStartError, match="was not found"):
        ManagedServer("no-such-server-binary-xyz {model}", model="m").start()


def test_transformers_serve_lifecycle(demo_bf16: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    progress: list[float] = []
    server = ManagedServer(
        TEMPLATES["transformers"] + " --device cpu",
        model=str(demo_bf16),
        port=free_port(),
        env={"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"},
        on_log_line=lines.append,
    )
    server.start()
    pgid = server.pid
    assert pgid is not None and group_alive(pgid)
    try:
        started = time.monotonic()
        assert server.wait_until_ready(timeout_s=180, on_progress=progress.append) == []
        ready_s = time.monotonic() - started
        print(f"transformers serve ready in {ready_s:.1f} s")
        assert progress and progress == sorted(progress)
        settings = ServerSettings(server.base_url, str(demo_bf16))
        final = ask_server(
            settings,
            [p.ChatTurn("user", "Hi")],
            lambda e: None,
            sampling=Sampling(max_new_tokens=3),
        )
        assert isinstance(final, p.Done)
    finally:
        code = server.stop()
    assert code is not None and not server.running
    assert wait_gone(pgid), "the server's process group is still there"
    assert any("Uvicorn running on" in line for line in lines)
    assert "Uvicorn running on" in server.log_tail(50)
    assert server.probe() is None  # nothing answers any more


def test_early_exit_quotes_the_log() -> None:
    script = "import sys; print('loading weights'); print('CUDA error: no GPU'); sys.exit(3)"
    server = ManagedServer(f'{PY} -c "{script}" {{model}}', model="m", port=free_port())
    server.start()
    with pytest.raises(ServerStartError) as caught:
        server.wait_until_ready(timeout_s=30, poll_s=0.05)
    message = str(caught.value)
    assert "stopped before it was ready (exit code 3)" in message
    assert "CUDA error: no GPU" in message
    assert not server.running


def test_timeout_stops_the_server() -> None:
    server = ManagedServer(
        f"{PY} -c 'import time; time.sleep(60)' {{model}}", model="m", port=free_port()
    )
    server.start()
    pgid = server.pid or 0
    started = time.monotonic()
    with pytest.raises(ServerStartError, match=r"did not answer at .* within 1 s and was stopped"):
        server.wait_until_ready(timeout_s=1, poll_s=0.1)
    assert time.monotonic() - started < 10
    assert wait_gone(pgid)


def test_stop_takes_children_that_ignore_sigterm(tmp_path: Path) -> None:
    # A server that starts a helper which ignores SIGTERM, as multi-process servers do.
    script = tmp_path / "server.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys, time
            child = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            child += "print('child up', flush=True); time.sleep(120)"
            subprocess.Popen([{PY!r}, "-c", child])
            print("server up", flush=True)
            time.sleep(120)
            """
        )
    )
    lines: list[str] = []
    server = ManagedServer(f"{PY} {script} {{model}}", model="m", on_log_line=lines.append)
    server.start()
    pgid = server.pid or 0
    deadline = time.monotonic() + 30
    while "child up" not in lines:
        assert time.monotonic() < deadline, lines
        time.sleep(0.05)
    started = time.monotonic()
    server.stop(grace_s=1)
    assert time.monotonic() - started < 10
    assert wait_gone(pgid)


def test_servers_are_stopped_when_the_app_exits(tmp_path: Path) -> None:
    # The app forgets to call stop(); the atexit hook must still end the process group.
    program = textwrap.dedent(
        f"""
        from app.engines.managed_server import ManagedServer
        server = ManagedServer({PY!r} + " -c 'import time; time.sleep(120)' {{model}}", model="m")
        server.start()
        print(server.pid, flush=True)
        """
    )
    result = subprocess.run(
        [PY, "-c", program], capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pgid = int(result.stdout.strip())
    assert wait_gone(pgid), "a server outlived the app"


def test_async_wait_reads_model_ids_on_the_loop_thread(tmp_path: Path) -> None:
    # A real HTTP server that answers /v1/models only after a moment, like a loading model.
    (tmp_path / "v1").mkdir()
    body = '{"object": "list", "data": [{"id": "meta-llama/Maverick"}, {"id": "other"}]}'
    script = tmp_path / "slow_server.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import pathlib, subprocess, sys, time
            time.sleep(1.5)
            pathlib.Path({str(tmp_path / "v1" / "models")!r}).write_text({body!r})
            args = ["--bind", sys.argv[1], "--directory", {str(tmp_path)!r}, sys.argv[2]]
            sys.exit(subprocess.call([sys.executable, "-m", "http.server", *args]))
            """
        )
    )
    server = ManagedServer(f"{PY} {script} {{host}} {{port}}", model="m", port=free_port())
    threads: list[str] = []

    async def main() -> list[str]:
        return await server.wait_until_ready_async(
            timeout_s=30, poll_s=0.1, on_progress=lambda _: threads.append(current_thread().name)
        )

    server.start()
    try:
        assert asyncio.run(main()) == ["meta-llama/Maverick", "other"]
    finally:
        server.stop()
    assert threads and set(threads) == {"MainThread"}
