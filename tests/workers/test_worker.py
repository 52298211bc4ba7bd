"""The real worker process: streaming, cancel, errors, death, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from transformers import AutoProcessor, Llama4ForConditionalGeneration

from app.vocabulary.sampling import Sampling
from app.workers import protocol as p
from app.workers import worker as worker_module
from app.workers.client import WorkerClient

MAX_NEW = 32


def _reference_tokens(folder: Path, text: str, image_paths: list[Path]) -> list[int]:
    """Plain transformers in this process: the chat template, the processor, greedy generate."""
    from PIL import Image

    model = Llama4ForConditionalGeneration.from_pretrained(folder, dtype=torch.bfloat16)
    processor = AutoProcessor.from_pretrained(folder)
    content = [{"type": "image"} for _ in image_paths] + [{"type": "text", "text": text}]
    prompt = processor.apply_chat_template(
        [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=False
    )
    pil = [Image.open(path).convert("RGB") for path in image_paths]
    inputs = processor(text=prompt, images=pil or None, return_tensors="pt")
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    out = model.generate(**inputs, max_new_tokens=MAX_NEW, do_sample=False)
    return [int(t) for t in out[0, inputs["input_ids"].shape[1] :]]


def _collect(client: WorkerClient, rid: str, timeout: float = 120) -> list[p.Message]:
    return list(client.events_for(rid, timeout=timeout))


def _greedy(client: WorkerClient, text: str, images: list[Path], max_new: int = MAX_NEW) -> str:
    turn = p.ChatTurn("user", text, [str(i) for i in images])
    return client.generate([turn], sampling=Sampling(max_new_tokens=max_new, temperature=0.0))


@pytest.mark.parametrize("with_images", [False, True], ids=["text", "two-images"])
def test_stream_matches_in_process_generate(
    worker: WorkerClient, demo_bf16: Path, images: dict[str, Path], with_images: bool
) -> None:
    paths = [images["wide"], images["tall"]] if with_images else []
    question = "What is in this picture?"
    events = _collect(worker, _greedy(worker, question, paths))
    tokens = [e for e in events if isinstance(e, p.Token)]
    done = events[-1]
    assert isinstance(done, p.Done), done
    streamed = [i for e in tokens for i in e.token_ids]
    expected = _reference_tokens(demo_bf16, question, paths)
    assert streamed == expected
    tokenizer = AutoProcessor.from_pretrained(demo_bf16).tokenizer
    assert "".join(e.text for e in tokens) == tokenizer.decode(expected, skip_special_tokens=True)
    assert done.generated_tokens == len(expected)
    assert (done.image_tokens > 0) == with_images
    assert done.time_to_first_token_s > 0 and done.tokens_per_s > 0


def test_cancel_mid_stream_then_serve_next(worker: WorkerClient, long_question: str) -> None:
    rid = _greedy(worker, long_question, [], max_new=2000)
    received = 0
    events = []
    for event in worker.events_for(rid, timeout=60):
        events.append(event)
        if isinstance(event, p.Token):
            received += len(event.token_ids)
            if received >= 3 and not any(isinstance(e, p.Cancel) for e in events):
                worker.cancel(rid)
                events.append(p.Cancel(rid))
                sent_at = time.monotonic()
    assert isinstance(events[-1], p.Cancelled)
    assert time.monotonic() - sent_at < 2.0
    streamed = sum(len(e.token_ids) for e in events if isinstance(e, p.Token))
    assert events[-1].generated_tokens == streamed < 2000
    # The same worker serves the next request.
    follow = _collect(worker, _greedy(worker, "Hi there", [], max_new=5))
    assert isinstance(follow[-1], p.Done) and follow[-1].generated_tokens == 5


def test_exception_inside_generation_arrives_as_error(demo_bf16: Path) -> None:
    client = WorkerClient(env={"MAVERICK_DESK_INJECT_FAULT": "raise-after-tokens:3"})
    client.start()
    try:
        assert isinstance(_collect(client, client.load(demo_bf16))[-1], p.Ready)
        started = time.monotonic()
        events = _collect(client, _greedy(client, "Hi", [], max_new=50), timeout=30)
        error = events[-1]
        assert isinstance(error, p.Error), error
        assert error.error_kind == "generation_failed"
        assert "InjectedFault" in error.message
        assert "generate" in error.traceback  # raised from inside model.generate
        assert sum(len(e.token_ids) for e in events if isinstance(e, p.Token)) == 3
        assert time.monotonic() - started < 30
        assert client.alive  # the worker survives a failed generation
    finally:
        client.shutdown()


def test_killed_mid_stream_reported_within_two_seconds(
    worker: WorkerClient, long_question: str
) -> None:
    rid = _greedy(worker, long_question, [], max_new=5000)
    for event in worker.events_for(rid, timeout=60):
        if isinstance(event, p.Token):
            break
    killed_at = time.monotonic()
    assert worker.pid is not None
    os.kill(worker.pid, signal.SIGKILL)
    died = [e for e in worker.events_for(rid, timeout=5) if isinstance(e, p.WorkerDied)]
    assert died and died[0].exit_code == -signal.SIGKILL
    assert time.monotonic() - killed_at < 2.0
    assert not worker.alive


def test_bad_checkpoint_reported(tmp_path: Path) -> None:
    client = WorkerClient()
    client.start()
    try:
        error = _collect(client, client.load(tmp_path / "missing"))[-1]
        assert isinstance(error, p.Error) and error.error_kind == "bad_checkpoint"
        assert "does not exist" in error.message
        not_loaded = _collect(client, _greedy(client, "hi", []))[-1]
        assert isinstance(not_loaded, p.Error) and not_loaded.error_kind == "not_loaded"
    finally:
        client.shutdown()


def test_transformers_outside_the_range_refused_before_loading(
    tmp_path: Path, demo_bf16: Path
) -> None:
    # A distribution record claiming 5.17.0 ahead of the real one on the worker's path:
    # the worker reads the version from the metadata, as it would on such a machine.
    from app.checkpoints.transformers_range import TRANSFORMERS_NEWEST

    record = tmp_path / "transformers-5.17.0.dist-info"
    record.mkdir()
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: transformers\nVersion: 5.17.0\n")
    client = WorkerClient(env={"PYTHONPATH": str(tmp_path)})
    client.start()
    try:
        error = _collect(client, client.load(demo_bf16))[-1]
        assert isinstance(error, p.Error) and error.error_kind == "load_failed"
        assert "transformers 5.17.0" in error.message
        assert f"transformers=={TRANSFORMERS_NEWEST}" in error.message
    finally:
        client.shutdown()


@pytest.mark.parametrize(
    ("key", "message"),
    [("empty", "empty"), ("text", "not an image"), ("truncated", "truncated")],
)
def test_bad_image_reported(
    worker: WorkerClient, images: dict[str, Path], key: str, message: str
) -> None:
    error = _collect(worker, _greedy(worker, "What is this?", [images[key]]))[-1]
    assert isinstance(error, p.Error) and error.error_kind == "bad_input"
    assert message in error.message


def test_too_many_images_reported(worker: WorkerClient, images: dict[str, Path]) -> None:
    error = _collect(worker, _greedy(worker, "Compare", [images["wide"]] * 6))[-1]
    assert isinstance(error, p.Error) and error.error_kind == "bad_input"
    assert "6 images in one request; the limit is 5" in error.message


def test_shutdown_leaves_no_process(demo_bf16: Path) -> None:
    client = WorkerClient()
    client.start()
    pid = client.pid
    assert pid is not None
    assert client.shutdown(timeout=10) == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_worker_and_its_torch_threads_yield_the_cpu_to_the_app(worker: WorkerClient) -> None:
    assert worker.pid is not None
    process = psutil.Process(worker.pid)
    mine = psutil.Process().nice()
    assert process.nice() == min(19, mine + worker_module.DEFAULT_NICE)
    # Torch's threads were started after the nice call (the model is loaded): all inherit it.
    threads = [t.id for t in process.threads()]
    assert len(threads) > 2
    for tid in threads:
        assert os.getpriority(os.PRIO_PROCESS, tid) == process.nice(), tid


@pytest.mark.parametrize(
    ("setting", "increment"), [("0", 0), ("3", 3), ("", 10), ("fast", 10), ("-5", 0)]
)
def test_worker_priority_setting(setting: str, increment: int) -> None:
    # In a child process, since a nice value can only go up.
    environ = {worker_module.NICE_ENV: setting}
    code = (
        "import os; from app.workers.worker import lower_priority; "
        f"before = os.nice(0); print(lower_priority({environ!r}) - before)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == min(increment, 19 - os.nice(0))
