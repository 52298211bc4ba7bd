"""The transformers range: pyproject.toml and the engine agree, and any other release is refused."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from app.checkpoints.transformers_range import (
    TRANSFORMERS_CEILING,
    TRANSFORMERS_FLOOR,
    TRANSFORMERS_NEWEST,
    installed_transformers,
    transformers_problem,
)

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_allows_exactly_the_engines_range() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    [spec] = [d for d in deps if re.match(r"transformers\b", d)]
    floor = TRANSFORMERS_FLOOR.removesuffix(".0")
    assert spec == f"transformers>={floor},<{TRANSFORMERS_CEILING}"


def test_the_release_this_suite_runs_on_is_allowed() -> None:
    assert transformers_problem(installed_transformers()) is None


@pytest.mark.parametrize("version", [TRANSFORMERS_FLOOR, "5.23.1", TRANSFORMERS_NEWEST])
def test_allowed(version: str) -> None:
    assert transformers_problem(version) is None


@pytest.mark.parametrize(
    "version", ["5.17.0", "5.18.0", "5.22.0", "5.15.2", "5.24.0", "6.0.0", "4.51.3", "garbage"]
)
def test_refused_in_one_sentence_naming_the_release_to_install(version: str) -> None:
    sentence = transformers_problem(version)
    assert sentence is not None
    assert f"transformers {version}" in sentence
    assert f"transformers=={TRANSFORMERS_NEWEST}" in sentence
    assert sentence.count(". ") == 0  # one sentence


def test_missing_transformers_named() -> None:
    sentence = transformers_problem(None)
    assert sentence is not None and "not installed" in sentence
    assert f"transformers=={TRANSFORMERS_NEWEST}" in sentence
