"""A batch job resumes on the engine it was started with, saved whole (never its key)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.batch.engine_choice import (
    describe,
    engine_settings,
    resume_on,
    saved_server,
    unavailable,
)
from app.batch.jobs import JobStore, NewItem
from app.engines.openai_client import ServerSettings
from app.engines.presets import preset_named

AZURE = preset_named("azure").settings(resource="acme")


def test_a_server_is_saved_whole_without_its_key_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(str(AZURE.api_key_env), "sk-never-in-the-store")
    with JobStore(tmp_path / "jobs.sqlite") as store:
        job_id = store.create(
            "in", "Q?", [NewItem("a.png", "a.png", "a.png")], schema=None,
            settings=engine_settings(AZURE, ""),
        )  # fmt: skip
        settings = store.job(job_id).settings
        assert saved_server(settings) == AZURE  # the key header, the api-version query
        moved = store.update_settings(job_id, {"concurrency": 3})
        assert moved.settings["concurrency"] == 3 and saved_server(moved.settings) == AZURE
    assert b"sk-never-in-the-store" not in (tmp_path / "jobs.sqlite").read_bytes()
    assert "sk-never" not in json.dumps(settings)
    assert describe(settings) == f"the server {AZURE.model} at {AZURE.base_url}"


def test_older_jobs_are_read_as_well_as_they_can_be() -> None:
    window_job = {"engine": "server", "server": "http://h:1/v1", "model": "m", "api_key_env": "K"}
    assert saved_server(window_job) == ServerSettings("http://h:1/v1", "m", "K")
    cli_job = {"engine": "server", "server": None, "model": "", "preset": "azure",
               "fill": ["resource=acme"], "api_key_env": None}  # fmt: skip
    assert saved_server(cli_job) == AZURE
    with pytest.raises(ValueError, match="needs"):
        saved_server({**cli_job, "fill": []})
    assert saved_server({"engine": "local", "model": "/m"}) is None


def test_why_a_jobs_engine_cannot_be_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_INFERENCE_CREDENTIAL", raising=False)
    server_job = engine_settings(AZURE, "")
    assert "AZURE_INFERENCE_CREDENTIAL that holds its API key is not set" in str(
        unavailable(server_job)
    )
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", "k")
    assert unavailable(server_job) is None
    gone = engine_settings(None, tmp_path / "gone")
    assert unavailable(gone) == f"its model folder {tmp_path / 'gone'} is not there"
    assert unavailable({**gone, "demo_if_missing": True}) is None


def test_resume_takes_the_jobs_engine_else_says_why_and_offers_the_windows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_INFERENCE_CREDENTIAL", "k")
    here = tmp_path / "model"
    here.mkdir()
    other = ServerSettings("http://other:8000/v1", "x")
    # Its server, whatever the window uses now.
    assert resume_on(1, engine_settings(AZURE, ""), None, here) == (AZURE, None)
    assert resume_on(1, engine_settings(AZURE, ""), other, here) == (AZURE, None)
    # Its local model, when the window has it; else a sentence offering the window's engine.
    assert resume_on(2, engine_settings(None, here), None, here) == (None, None)
    server, why = resume_on(2, engine_settings(None, here), other, here)
    assert server is None and why == (
        "Job 2 was started on the local model model, which cannot be used now: the window's "
        "engine is now the server x at http://other:8000/v1 (Model and engine, Ctrl+M, "
        "chooses another). Resume it there once it can be used, or on the window's engine, "
        "the server x at http://other:8000/v1."
    )
    monkeypatch.delenv("AZURE_INFERENCE_CREDENTIAL")
    server, why = resume_on(3, engine_settings(AZURE, ""), None, here)
    assert server is None and "is not set" in str(why) and "the local model model" in str(why)
    # A job that names no engine (made before engines were saved) runs on the window's.
    assert resume_on(4, {"max_new_tokens": 4}, other, here) == (other, None)
