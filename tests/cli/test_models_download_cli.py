"""`maverick-desk models download`: the real command against a local hub, killed and rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli import main
from app.downloads.transfer import CHUNK_BYTES
from tests.downloads.fake_hub import FakeRepo, demo_repo, serving

SHARD = "model-00003-of-00005.safetensors"
ROOT = Path(__file__).resolve().parents[2]


def _command(repo: FakeRepo, target: Path) -> list[str]:
    return [sys.executable, "-m", "app", "models", "download", repo.repo_id, "--dir", str(target)]


def test_a_killed_download_continues_where_it_stopped(
    demo_bf16: Path, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    repo = demo_repo(demo_bf16)
    repo.hold_after[SHARD] = CHUNK_BYTES + 40_000  # the shard stalls part-way…
    target = tmp_path / "model"
    with serving(repo) as url:
        env = dict(os.environ, HF_ENDPOINT=url, MAVERICK_DESK_DATA_DIR=str(data_dir))
        env.pop("HF_TOKEN", None)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        process = subprocess.Popen(
            _command(repo, target), env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 60
            partials = target / ".download"
            while not any(p.stat().st_size >= CHUNK_BYTES for p in partials.glob(f"{SHARD}*.part")):
                assert process.poll() is None, "the download ended before it was killed"
                assert time.monotonic() < deadline, "no partial file appeared"
                time.sleep(0.05)
            process.send_signal(signal.SIGKILL)  # …and the process dies there
            process.wait(10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            if process.stdout is not None:
                process.stdout.close()
        assert not (target / SHARD).exists()
        done_before = {p.name for p in target.iterdir() if p.is_file()}
        assert done_before, "files finished before the kill stay"

        del repo.hold_after[SHARD]
        repo.requests.clear()
        monkeypatch.setenv("HF_ENDPOINT", url)
        assert main(["models", "download", repo.repo_id, "--dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert "already here" in out and "every file matches the hub's checksum" in out
    gets = [r for r in repo.requests if r[0] == "GET"]
    assert ("GET", SHARD, f"bytes={CHUNK_BYTES}-") in gets, gets
    assert not any(r[1] in done_before for r in gets), "finished files are not fetched again"
    for path in demo_bf16.iterdir():
        assert (target / path.name).read_bytes() == path.read_bytes(), path.name
    assert main(["models"]) == 0
    assert str(target) in capsys.readouterr().out  # in the library now


def test_a_gated_repository_fails_with_the_licence_page(
    demo_bf16: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    repo = demo_repo(demo_bf16)
    repo.gated = True
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with serving(repo) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        assert main(["models", "download", repo.repo_id, "--dir", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err
    assert f"Accept the licence at {url}/{repo.repo_id}" in err and "HF_TOKEN" in err
