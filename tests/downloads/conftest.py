"""A fake hub serving the demo checkpoint, with HF_ENDPOINT pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.downloads.fake_hub import FakeRepo, demo_repo, serving


@pytest.fixture
def repo(demo_bf16: Path) -> FakeRepo:
    return demo_repo(demo_bf16)


@pytest.fixture
def hub(repo: FakeRepo, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with serving(repo) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        yield url
