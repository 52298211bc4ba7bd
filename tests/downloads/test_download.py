"""Downloads against a local hub: whole, resumed, refused, damaged, out of space."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.downloads.hub import read_plan
from app.downloads.plan import PARTIAL_DIR, DownloadError
from app.downloads.progress import FINISHED, Progress, SpeedMeter, format_duration
from app.downloads.transfer import CHUNK_BYTES, Download, has_partials
from tests.downloads.fake_hub import FakeRepo

SHARD = "model-00002-of-00005.safetensors"


def _same_files(target: Path, source: Path) -> None:
    for path in source.iterdir():
        assert (target / path.name).read_bytes() == path.read_bytes(), path.name


def _whole_where_present(target: Path, repo: FakeRepo) -> None:
    """Every file in place is the hub's file, byte for byte (nothing half-moved)."""
    for name, data in repo.files.items():
        if (target / name).exists():
            assert (target / name).read_bytes() == data, name


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_reads_the_files_then_downloads_and_checks_them(
    hub: str, repo: FakeRepo, tmp_path: Path, demo_bf16: Path
) -> None:
    target = tmp_path / "model"
    served = dict(repo.files)
    repo.files["original/consolidated.00.pth"] = b"pickled weights the app refuses"
    plan = read_plan(repo.repo_id, target=target)
    assert not target.exists(), "reading the plan writes nothing"
    assert {f.name: f.size for f in plan.files} == {n: len(d) for n, d in served.items()}
    assert [f.name for f in plan.skipped] == ["original/consolidated.00.pth"]
    assert plan.total_bytes == sum(len(d) for d in served.values())
    assert all(f.sha256 for f in plan.files if f.name.endswith(".safetensors"))
    reports: list[Progress] = []

    assert Download(plan, reports.append).run() == "finished"

    _same_files(target, demo_bf16)
    assert not (target / "original").exists()
    assert not any(r[1].startswith("original/") for r in repo.requests)
    assert not (target / PARTIAL_DIR).exists()
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert reports[-1].stage == FINISHED and reports[-1].done == plan.total_bytes
    assert reports[-1].files_done == len(plan.files)
    assert all(r.file_done <= r.file_total for r in reports)
    # a second run finds everything in place and fetches nothing
    before = len(repo.requests)
    assert Download(read_plan(repo.repo_id, target=target)).run() == "finished"
    assert [r for r in repo.requests[before:] if r[0] == "GET"] == []


def test_a_connection_cut_mid_file_is_continued_with_a_range_request(
    hub: str, repo: FakeRepo, tmp_path: Path, demo_bf16: Path
) -> None:
    repo.cut_after[SHARD] = CHUNK_BYTES + 40_000
    plan = read_plan(repo.repo_id, target=tmp_path / "model")
    assert Download(plan).run() == "finished"
    gets = [r for r in repo.requests if r[:2] == ("GET", SHARD)]
    assert gets == [("GET", SHARD, ""), ("GET", SHARD, f"bytes={CHUNK_BYTES}-")]
    _same_files(tmp_path / "model", demo_bf16)


def test_pause_keeps_the_partial_file_and_the_next_run_continues_it(
    hub: str, repo: FakeRepo, tmp_path: Path, demo_bf16: Path
) -> None:
    repo.hold_after[SHARD] = CHUNK_BYTES + 40_000
    plan = read_plan(repo.repo_id, target=tmp_path / "model")
    download = Download(plan)
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(download.run()))
    thread.start()
    partial = plan.partial_path(next(f for f in plan.files if f.name == SHARD))
    _wait_for(lambda: partial.is_file() and partial.stat().st_size >= CHUNK_BYTES)
    download.pause()
    repo.release.set()
    thread.join(10)
    assert outcome == ["paused"]
    assert partial.stat().st_size == CHUNK_BYTES
    assert has_partials(plan.target)

    del repo.hold_after[SHARD]
    assert Download(read_plan(repo.repo_id, target=plan.target)).run() == "finished"
    assert ("GET", SHARD, f"bytes={CHUNK_BYTES}-") in repo.requests
    _same_files(plan.target, demo_bf16)


def test_a_server_that_ignores_range_gets_the_file_again_from_the_start(
    hub: str, repo: FakeRepo, tmp_path: Path, demo_bf16: Path
) -> None:
    repo.cut_after[SHARD] = CHUNK_BYTES + 40_000
    repo.ignore_range = True
    plan = read_plan(repo.repo_id, target=tmp_path / "model")
    reports: list[Progress] = []
    assert Download(plan, reports.append).run() == "finished"
    assert ("GET", SHARD, f"bytes={CHUNK_BYTES}-") in repo.requests  # asked, answered 200
    assert max(r.done for r in reports) == plan.total_bytes == reports[-1].done
    _same_files(plan.target, demo_bf16)


def test_cancel_deletes_the_partial_files(hub: str, repo: FakeRepo, tmp_path: Path) -> None:
    repo.hold_after[SHARD] = CHUNK_BYTES + 40_000
    plan = read_plan(repo.repo_id, target=tmp_path / "model")
    download = Download(plan)
    outcome: list[str] = []
    thread = threading.Thread(target=lambda: outcome.append(download.run()))
    thread.start()
    partial = plan.partial_path(next(f for f in plan.files if f.name == SHARD))
    _wait_for(lambda: partial.is_file() and partial.stat().st_size >= CHUNK_BYTES)
    download.cancel()
    repo.release.set()
    thread.join(10)
    assert outcome == ["cancelled"]
    assert not (plan.target / PARTIAL_DIR).exists()
    assert not (plan.target / SHARD).exists()


@pytest.mark.parametrize("token", [None, "hf_not_accepted"])
def test_a_gated_repository_names_its_licence_page(
    hub: str, repo: FakeRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    repo.gated = True
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    with pytest.raises(DownloadError) as caught:
        read_plan(repo.repo_id, target=tmp_path / "model")
    message = str(caught.value)
    assert f"{hub}/{repo.repo_id}" in message and "HF_TOKEN" in message
    assert ("has no access" in message) == bool(token), message
    assert ("HEAD", min(repo.files, key=lambda n: len(repo.files[n])), "") in repo.requests
    assert not (tmp_path / "model").exists()


def test_a_damaged_file_is_deleted_and_named(
    hub: str, repo: FakeRepo, tmp_path: Path, demo_bf16: Path
) -> None:
    repo.damaged.add(SHARD)
    plan = read_plan(repo.repo_id, target=tmp_path / "model")
    with pytest.raises(DownloadError, match=f"{SHARD} arrived damaged \\(SHA-256"):
        Download(plan).run()
    assert not (plan.target / SHARD).exists()
    assert not any((plan.target / PARTIAL_DIR).glob(f"{SHARD}*.part"))
    _whole_where_present(plan.target, repo)  # the others stopped or finished, none spoilt
    repo.damaged.clear()  # the next run fetches it anew
    assert Download(read_plan(repo.repo_id, target=plan.target)).run() == "finished"
    _same_files(plan.target, demo_bf16)


def test_not_enough_free_space_is_refused_before_anything_is_written(
    hub: str, repo: FakeRepo, tmp_path: Path
) -> None:
    plan = read_plan(repo.repo_id, target=tmp_path / "model")
    with pytest.raises(DownloadError) as caught:
        Download(plan, free=lambda _folder: 1000).run()
    assert "needs 2.0 MiB more" in str(caught.value) and "only 1000 B free" in str(caught.value)
    assert not plan.target.exists()
    assert not any(r[0] == "GET" for r in repo.requests)


def _mount_tmpfs(folder: Path, size: int) -> None:
    folder.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if made.returncode != 0:  # mounting needs root; the faked reading above runs everywhere
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mounts real tmpfs disks of a given size; unmounts them afterwards."""
    mounted: list[Path] = []

    def mount(size: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        _mount_tmpfs(folder, size)
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_is_refused_up_front_and_stops_cleanly_when_it_fills(
    hub: str, repo: FakeRepo, tmpfs: Callable[[int], Path]
) -> None:
    small = tmpfs(1 << 20)
    plan = read_plan(repo.repo_id, target=small / "model")
    with pytest.raises(DownloadError, match=r"needs 2\.0 MiB more.* has only 1\.0 MiB free"):
        Download(plan).run()
    assert not plan.target.exists()

    # A disk whose free space covers the bytes but not the 4 KiB pages each file rounds up
    # to: the check passes, then the kernel says the disk is full part-way.
    page = 4096
    snug = tmpfs((plan.total_bytes + page - 1) // page * page + page)
    plan = read_plan(repo.repo_id, target=snug / "model")
    with pytest.raises(DownloadError, match="is full .* downloaded, kept"):
        Download(plan).run()
    _whole_where_present(plan.target, repo)
    assert not all((plan.target / name).exists() for name in repo.files), "one did not fit"


def test_a_bad_repository_id_gets_a_sentence(hub: str) -> None:
    with pytest.raises(DownloadError, match="not a repository id"):
        read_plan("not a repo!")
    with pytest.raises(DownloadError, match="no repository someone/else"):
        read_plan("someone/else")


def test_an_unreachable_hub_gets_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed.getsockname()[1]}")
        with pytest.raises(DownloadError, match=r"Cannot reach http://127\.0\.0\.1:\d+ \("):
            read_plan("test-org/demo-model")


def test_a_refused_token_is_named(hub: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "hf_revoked")
    with pytest.raises(DownloadError, match="refused the token in MY_TOKEN"):
        read_plan("test-org/demo-model", token_env="MY_TOKEN")


def test_speed_and_time_left() -> None:
    meter = SpeedMeter(window_s=10)
    assert meter.eta(100) is None
    meter.add(0.0, 0)
    meter.add(2.0, 2_000_000)
    assert meter.speed() == pytest.approx(1_000_000)
    assert meter.eta(5_000_000) == pytest.approx(5.0)
    assert format_duration(3725) == "1 h 02 min"
    assert format_duration(200) == "3 min 20 s"
