"""`maverick-desk ask --schema FILE`: locally, on a server that constrains, on one that cannot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.structured.answer import check_answer
from app.structured.request import load_schema_file
from tests.scripted_openai import scripted_server, text_reply

CLI = [sys.executable, "-m", "app"]
TIGHT = {
    "format": "maverick-desk.fields",
    "version": 1,
    "fields": [
        {"name": "kind", "type": "one-of", "choices": ["cat", "dog"]},
        {"name": "seen", "type": "date"},
        {"name": "indoors", "type": "yes/no"},
    ],
}
VALID = '{"kind": "cat", "seen": "2026-12-07", "indoors": true}'


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=240)


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    path = tmp_path / "pet.json"
    path.write_text(json.dumps(TIGHT), encoding="utf-8")
    return path


def test_ask_with_a_schema_prints_checked_json(demo_bf16: Path, schema_file: Path) -> None:
    result = run("ask", "--model", str(demo_bf16), "--schema", str(schema_file), "--temperature",
                 "0", "What animal is this?")  # fmt: skip
    assert result.returncode == 0, result.stderr
    request = load_schema_file(schema_file)
    value = check_answer(result.stdout, request.schema, "stop", request.budget)
    assert list(value) == ["kind", "seen", "indoors"]
    assert "[constrained to the schema;" in result.stderr


def test_ask_with_a_broken_schema_says_where(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"type": "object", "properties": {"n": {"type": "nmber"}}}', encoding="utf-8")
    result = run("ask", "--schema", str(path), "Hi")
    assert result.returncode == 2
    assert result.stderr.startswith("maverick-desk ask: bad.json: The schema is not valid JSON")
    assert "at properties → n → type" in result.stderr
    assert result.stdout == ""


def test_a_server_is_asked_for_json_schema_output(schema_file: Path) -> None:
    with scripted_server() as (state, url):
        state.replies.append(text_reply(VALID))
        result = run("ask", "--server", url, "--model", "m", "--schema", str(schema_file), "Hi")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(VALID)
    sent = state.bodies[0]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"] == load_schema_file(schema_file).schema
    assert "constrained to the schema by" in result.stderr


def test_a_provider_without_json_schema_gets_it_in_the_prompt_and_one_retry(
    schema_file: Path,
) -> None:
    with scripted_server() as (state, url):
        state.replies += [text_reply('Sure! {"kind": "bird"}'), text_reply(VALID)]
        result = run("ask", "--preset", "transformers", "--server", url, "--schema",
                     str(schema_file), "Hi")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(VALID)
    assert len(state.bodies) == 2
    assert all("response_format" not in body for body in state.bodies)
    assert "JSON Schema" in json.dumps(state.bodies[0]["messages"][-1])
    assert "not JSON" in result.stderr and "Asking once more" in result.stderr
    assert "[not constrained:" in result.stderr


def test_two_invalid_answers_are_a_failure_marked_not_constrained(schema_file: Path) -> None:
    with scripted_server() as (state, url):
        state.replies += [text_reply('{"kind": "bird"}'), text_reply(VALID.replace("cat", "cow"))]
        result = run("ask", "--preset", "transformers", "--server", url, "--schema",
                     str(schema_file), "Hi")  # fmt: skip
    assert result.returncode == 1
    assert "does not match the schema at kind: 'cow' is not one of" in result.stderr
    assert "(not constrained" in result.stderr
    assert result.stdout == ""


def test_a_server_that_ignores_the_schema_gets_no_result_through(
    demo_server: Any, schema_file: Path
) -> None:
    # `transformers serve` takes response_format and ignores it; the demo's random text is
    # then checked against the schema like any answer, and refused with a sentence.
    result = run("ask", "--server", demo_server.base_url, "--model", demo_server.argv[2],
                 "--schema", str(schema_file), "--temperature", "0", "Hi")  # fmt: skip
    assert result.returncode == 1
    assert "maverick-desk ask: The answer" in result.stderr
    assert result.stdout == ""
